// One webhook as its owner schedules it, in memory: the deliveries due to it (live-channel
// events in a lane ahead of media events), what is in flight, how many may be (adaptive, under
// the webhook's max_in_flight), its rate limit, its pause, its breaker, and for a per_media
// webhook which media are held (ordering.ts). Nothing here touches
// the database: the engine (engine.ts) fills the lanes from intake and from the store, and
// writes outcomes back.
import { AdaptiveLimit } from './concurrency.js';
import { Fifo } from './fifo.js';
import { KeyOrder, type Placement } from './ordering.js';
import { RateLimit } from './rate-limit.js';
import type { EndpointInfo, HealthPolicy, Outcome, PendingDelivery } from '../store/types.js';
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

  /** A per_media webhook's keys held (ordering.ts); null: unordered. */
  order: KeyOrder | null = null;
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
    // A change of ordering comes with a drop of what memory holds (the engine's readEndpoint).
    if (info.ordered !== (this.order !== null)) this.order = info.ordered ? new KeyOrder() : null;
  }

  private setRateLimit(perSecond: number | null): void {
    if (perSecond === this.rateLimit) return;
    this.rateLimit = perSecond;
    if (perSecond === null) this.rate = null;
    else if (this.rate) this.rate.setRate(perSecond);
    else this.rate = new RateLimit(perSecond);
  }

  /** Deliveries in the lanes: what may go out now. */
  get queued(): number {
    return this.live.length + this.media.length;
  }

  /** Deliveries in memory: in the lanes, and parked behind their media's delivery in progress. */
  get held(): number {
    return this.queued + (this.order?.parked ?? 0);
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

  /**
   * Takes a delivery into memory: into its lane, or, on a per_media webhook, parked behind its
   * media's delivery in progress, or left in the store while that one waits for its retry.
   */
  push(d: PendingDelivery): Placement {
    const placed = this.order ? this.order.place(d) : 'queued';
    if (placed === 'left') return placed;
    this.known.add(d.id);
    if (placed === 'queued') this.enter(d);
    return placed;
  }

  /** Whether intake's delivery may be taken from its hands: on a per_media webhook, not before the keys waiting in the store are known. */
  mayTake(d: PendingDelivery): boolean {
    return this.order === null || d.orderKey === null || this.order.learned;
  }

  /** Into its lane: a delivery that may go out in its turn (a parked one whose media's previous delivery ended, too). */
  enter(d: PendingDelivery): void {
    (isLive(d.facts.event) ? this.live : this.media).push(d);
  }

  shift(): PendingDelivery | undefined {
    return this.live.shift() ?? this.media.shift();
  }

  /**
   * A per_media webhook's delivery has its outcome in the store: one that waits for its retry
   * keeps its media held, and what was parked behind it goes back to the store (`dropped` from
   * memory); one that ended lets its media's next one into its lane (`ready`), or, with none
   * parked, has the store's next one loaded (`load`).
   */
  settled(o: Pick<Outcome, 'deliveryId' | 'nextAttemptAt'>): { dropped: number; ready: boolean; load: boolean } {
    if (!this.order) return { dropped: 0, ready: false, load: false };
    if (o.nextAttemptAt !== null) {
      const dropped = this.order.waits(o.deliveryId);
      for (const d of dropped) this.known.delete(d.id);
      return { dropped: dropped.length, ready: false, load: false };
    }
    const { next, load } = this.order.ended(o.deliveryId);
    if (next) this.enter(next);
    return { dropped: 0, ready: next !== undefined, load };
  }

  /** Empties the lanes (a webhook disabled, deleted or given to another node); in-flight ones stay known. */
  drop(): void {
    for (const d of [...this.live.clear(), ...this.media.clear()]) this.known.delete(d.id);
    for (const d of this.order?.drop((id) => this.known.has(id)) ?? []) this.known.delete(d.id);
    this.spilled = true;
  }
}
