// A webhook's rate_limit: at most so many requests a second to its endpoint, which the engine
// honours by asking here before each attempt. A token bucket: it holds up to `burst` tokens,
// refilled continuously at perSecond, and each attempt takes one. The burst defaults to one
// second's worth, max(1, ceil(perSecond)): a backlog goes out as a second's worth at once and then
// at the rate, and a rate below one a second (0.5 = one every 2 s) still lets one through at a
// time. The bucket starts full. Synchronous, and the engine passes the time: no timers, no clock.
//
// Tokens are fractions, so sums such as three thirds can land a hair under one; a bucket within
// EPSILON of a token counts as holding it, and waits are worked out to just past that, so an
// attempt made exactly when take() said to come back gets its token.
const EPSILON = 1e-9;

export function defaultBurst(perSecond: number): number {
  return Math.max(1, Math.ceil(perSecond));
}

export class RateLimit {
  private perMs = 0;
  private burst = 0;
  private tokens: number;
  /** The latest time seen; the bucket is filled up to then. */
  private last: number | undefined;

  constructor(perSecond: number, burst?: number) {
    this.configure(perSecond, burst);
    this.tokens = this.burst;
  }

  /**
   * Takes one token if there is one at `now` and returns 0; otherwise takes nothing and returns
   * the whole ms from `now` until there is one. A clock that goes back gives no tokens: the bucket
   * fills again only once time passes the latest `now` it has seen.
   */
  take(now: number): number {
    if (this.last === undefined) {
      this.last = now;
    } else if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.perMs);
      this.last = now;
    }
    if (this.tokens >= 1 - EPSILON) {
      this.tokens -= 1;
      return 0;
    }
    const behind = this.last - now;
    return Math.ceil(behind + (1 - EPSILON / 2 - this.tokens) / this.perMs);
  }

  /**
   * A new rate (and burst, by default one second's worth of the new rate). The bucket keeps the
   * tokens it has, down to the new burst; the time since the last take() refills at the new rate.
   */
  setRate(perSecond: number, burst?: number): void {
    this.configure(perSecond, burst);
    this.tokens = Math.min(this.tokens, this.burst);
  }

  private configure(perSecond: number, burst: number | undefined): void {
    if (!(Number.isFinite(perSecond) && perSecond > 0)) throw new RangeError(`a rate limit must be above 0 a second, not ${perSecond}`);
    const size = burst ?? defaultBurst(perSecond);
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`a burst must be a whole number of at least 1, not ${size}`);
    this.perMs = perSecond / 1_000;
    this.burst = size;
  }
}
