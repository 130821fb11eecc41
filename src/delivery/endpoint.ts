// One webhook as its owner schedules it, in memory: the deliveries due to it (live-channel
// events in a lane ahead of media events), what is in flight, how many may be (adaptive, under
// the webhook's max_in_flight), its rate limit, its pause and its breaker. Nothing here touches
// the database: the engine (engine.ts) fills the lanes from intake and from the store, and
// writes outcomes back.
import { AdaptiveLimit } from './concurrency.js';
import { Fifo } from './fifo.js';
import { RateLimit } from './rate-limit.js';
import type { EndpointInfo, HealthPolicy, PendingDelivery } from '../store/types.js';
import type { SendResult } from './sender.js';

/** Live-channel events go ahead of media events: an import of 100,000 updates never delays `channel_active`. */
export const isLive = (event: string): boolean => event.startsWith('channel_');

export class Endpoint {
  // Set from the webhook's row by update(), which the constructor calls.
  url!: string;
  accountId!: string;
  active!: boolean;
  /** The webhook's own cap, or the operator's default, bounded by the operator's limit. */
  maxInFlight!: number;
  readonly limit: AdaptiveLimit;
  rate: RateLimit | null = null;
  private rateLimit: number | null = null;
  failures!: number;
  /** No attempt before this (a Retry-After, or the breaker's next probe). */
  pausedUntil!: number;

  private readonly live = new Fifo<PendingDelivery>();
  private readonly media = new Fifo<PendingDelivery>();
  inFlight = 0;
  /** Queued, in flight, or with an outcome not yet written: what a load from the store must skip. */
  readonly known = new Set<string>();
  /**
   * Deliveries whose outcome was written while a load was reading: the load may have seen them
   * still pending (its snapshot came first), so it must not queue them again.
   */
  readonly settledDuringLoad = new Set<string>();
  /** Deliveries retried by hand while in flight: queued again once their attempt ends. */
  readonly retryAfterAttempt = new Set<string>();
  /** The store may hold due deliveries that the lanes do not: load before trusting the lanes. */
  spilled = true;
  loading = false;
  loadAgain = false;
  /** When the store's next not-yet-due delivery comes due (a retry), if any. */
  nextDueAt: number | null = null;
  /** In the engine's round-robin of endpoints with something to send. */
  inRing = false;
  timer: NodeJS.Timeout | undefined;
  timerAt = Infinity;

  constructor(readonly id: string, info: EndpointInfo, bounds: { defaultMaxInFlight: number; maxInFlightLimit: number }) {
    const max = Math.min(info.maxInFlight ?? bounds.defaultMaxInFlight, bounds.maxInFlightLimit);
    this.limit = new AdaptiveLimit({ max, initial: Math.min(4, max) });
    this.update(info, bounds);
  }

  /** What changed in the webhook's row (its URL, cap, rate limit, status). */
  update(info: EndpointInfo, bounds: { defaultMaxInFlight: number; maxInFlightLimit: number }): void {
    this.url = info.url;
    this.accountId = info.accountId;
    this.active = info.status === 'active';
    this.maxInFlight = Math.min(info.maxInFlight ?? bounds.defaultMaxInFlight, bounds.maxInFlightLimit);
    this.limit.setMax(this.maxInFlight);
    this.failures = info.consecutiveFailures;
    this.pausedUntil = info.pausedUntil ?? 0;
    this.setRateLimit(info.rateLimit);
  }

  private setRateLimit(perSecond: number | null): void {
    if (perSecond === this.rateLimit) return;
    this.rateLimit = perSecond;
    if (perSecond === null) this.rate = null;
    else if (this.rate) this.rate.setRate(perSecond);
    else this.rate = new RateLimit(perSecond);
  }

  get queued(): number {
    return this.live.length + this.media.length;
  }

  /** Attempts that may be in flight now: one probe while the breaker is open. */
  cap(breakerThreshold: number): number {
    return this.failures >= breakerThreshold ? 1 : Math.min(this.limit.limit, this.maxInFlight);
  }

  /**
   * How an attempt went, folded into the endpoint's memory as the store folds it into the row
   * (store/health.ts): a success closes the breaker; failures past the threshold open it (one
   * probe at a time, the next after the probe interval); a Retry-After pauses. Overload (a
   * timeout, a refused connection, 5xx, 429) halves the concurrency limit; a quick success grows it.
   */
  observe(result: SendResult, startedWith: number, now: number, health: HealthPolicy, pauseUntil: number | undefined): void {
    if (result.error === null) {
      this.failures = 0;
      this.limit.onSuccess(result.durationMs, startedWith);
    } else {
      this.failures++;
      const status = result.statusCode;
      if (status === null || status === 429 || status >= 500) this.limit.onOverload();
      if (this.failures >= health.breakerThreshold) this.pausedUntil = Math.max(this.pausedUntil, now + health.probeIntervalMs);
    }
    if (pauseUntil !== undefined) this.pausedUntil = Math.max(this.pausedUntil, pauseUntil);
  }

  push(d: PendingDelivery): void {
    this.known.add(d.id);
    (isLive(d.facts.event) ? this.live : this.media).push(d);
  }

  shift(): PendingDelivery | undefined {
    return this.live.shift() ?? this.media.shift();
  }

  /** Empties the lanes (a webhook disabled, deleted or given to another node); in-flight ones stay known. */
  drop(): void {
    for (const d of [...this.live.clear(), ...this.media.clear()]) this.known.delete(d.id);
    this.spilled = true;
  }
}
