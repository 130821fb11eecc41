// How many attempts may be in flight to one endpoint at once, learnt from how the endpoint copes:
// start small, grow while attempts succeed quickly with the limit in use, and cut back when the
// endpoint says it is overloaded (a timeout, a 5xx, a 429, a refused or reset connection).
//
// The rule is AIMD, additive increase and multiplicative decrease, as in TCP congestion control
// and the AIMD limit of Netflix's concurrency-limits: +1 per window of successes (a window is as
// many attempts as the limit, so roughly +1 per round trip), and times backoffRatio (a half) on
// overload. AIMD needs no latency baseline, so it behaves the same for a receiver that answers in
// 5 ms and one that takes 20 s, and for one whose latency swings between the two. A gradient
// limiter (Vegas, Gradient2) sizes the limit from how far latency rises above a learnt minimum
// round trip; a webhook receiver has no such stable baseline (cold starts, queues behind it,
// payloads of every size), so it would chase noise. The one use of latency here is that a
// success slower than slowMs does not count towards growth.
//
// Until the first overload the limit grows in slow start, +1 per success, which doubles it per
// window, so an endpoint allowed 100 gets there in a few round trips rather than a hundred; the
// first overload ends slow start for good. A burst of failures from one window cuts the limit
// once, not to the floor: after a cut, the next `limit before the cut` attempts to end (successes
// or failures; they may all have been in flight when it was cut) neither cut again nor grow.
//
// Growth needs the limit to have been in use: an attempt only counts when it started with at
// least limit - 1 attempts in flight, itself included (TCP grows its window only when the window
// is what holds it back). The slack of one lets attempts started just before a rise still count;
// an endpoint sent one attempt at a time never grows beyond 3, however long it succeeds.
//
// The webhook's max_in_flight (or the operator's default) is the upper bound, set from outside and
// changeable at run time with setMax; if it is below min, it wins. The breaker is the engine's:
// while it is open the engine sends one probe at a time whatever the limit, and reports the
// probe's outcome here as usual, so the limit it resumes with when the breaker closes reflects
// the probes. A failure that says nothing about load (a 4xx other than 429, a TLS or SSRF refusal)
// is not reported at all. Everything is synchronous and takes no clock: the engine passes the
// latency it measured.

export interface AimdOptions {
  /** The limit to start with (clamped to min..max). */
  initial: number;
  /** The floor: the limit never goes below this (unless max is lower). */
  min: number;
  /** The ceiling: max_in_flight or the operator's default. */
  max: number;
  /** The limit is multiplied by this on overload, then rounded down: 0 < backoffRatio < 1. */
  backoffRatio: number;
  /** A success slower than this (ms) does not count towards growth. */
  slowMs: number;
  /** Grow +1 per success (doubling per window) until the first overload. */
  slowStart: boolean;
}

export const AIMD_DEFAULTS: Readonly<AimdOptions> = {
  initial: 4,
  min: 1,
  max: 100,
  backoffRatio: 0.5,
  slowMs: 1_000,
  slowStart: true,
};

export class AdaptiveLimit {
  private current: number;
  private floor: number;
  private ceiling: number;
  private readonly backoffRatio: number;
  private readonly slowMs: number;
  private slowStart: boolean;
  /** Successes counted towards the next +1 (after slow start). */
  private successes = 0;
  /** Attempts still to end before another cut, after a cut. */
  private holdOff = 0;

  constructor(options: Partial<AimdOptions> = {}) {
    const o = { ...AIMD_DEFAULTS, ...options };
    for (const key of ['initial', 'min', 'max'] as const) {
      if (!Number.isInteger(o[key]) || o[key] < 1) throw new RangeError(`${key} must be a whole number of at least 1, not ${o[key]}`);
    }
    if (!(o.backoffRatio > 0 && o.backoffRatio < 1)) throw new RangeError(`backoffRatio must be between 0 and 1, not ${o.backoffRatio}`);
    if (!(o.slowMs >= 0)) throw new RangeError(`slowMs must be 0 or more, not ${o.slowMs}`);
    this.floor = o.min;
    this.ceiling = o.max;
    this.backoffRatio = o.backoffRatio;
    this.slowMs = o.slowMs;
    this.slowStart = o.slowStart;
    this.current = this.clamp(o.initial);
  }

  /** How many attempts may be in flight now: a whole number in min..max. */
  get limit(): number {
    return this.current;
  }

  /** A new upper bound, effective at once: a lower one cuts the limit to it. */
  setMax(max: number): void {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be a whole number of at least 1, not ${max}`);
    this.ceiling = max;
    const clamped = this.clamp(this.current);
    if (clamped !== this.current) {
      this.current = clamped;
      this.successes = 0;
    }
  }

  /**
   * One attempt succeeded after latencyMs. inFlight: how many attempts were in flight to the
   * endpoint when it started, itself included.
   */
  onSuccess(latencyMs: number, inFlight: number): void {
    if (this.holdOff > 0) {
      this.holdOff--;
      return;
    }
    if (latencyMs > this.slowMs || inFlight < this.current - 1 || this.current >= this.ceiling) return;
    if (this.slowStart) {
      this.current++;
      return;
    }
    this.successes++;
    if (this.successes >= this.current) {
      this.current++;
      this.successes = 0;
    }
  }

  /** One attempt met overload: a timeout, a 5xx, a 429, a refused or reset connection. */
  onOverload(): void {
    if (this.holdOff > 0) {
      this.holdOff--;
      return;
    }
    this.holdOff = this.current;
    this.current = this.clamp(Math.floor(this.current * this.backoffRatio));
    this.slowStart = false;
    this.successes = 0;
  }

  private clamp(limit: number): number {
    return Math.max(Math.min(this.floor, this.ceiling), Math.min(limit, this.ceiling));
  }
}
