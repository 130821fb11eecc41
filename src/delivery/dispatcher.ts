// The dispatcher: claims due deliveries in batches, sends each, and writes the outcomes back in
// batches. Intake wakes it directly; otherwise it sleeps until the next delivery comes due.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { payloadBody } from '../catalog/payload.js';
import type { WebhookSecrets } from '../security/webhook-secrets.js';
import { signatureHeaders } from '../signing/headers.js';
import type { ClaimedDelivery, ClaimOptions, HealthPolicy, Outcome, Webhook } from '../store/types.js';
import type { Store } from '../store/ports.js';
import { StorageFull, StoreUnavailable } from '../store/unavailable.js';
import type { Clock } from '../time.js';
import { Backoff } from './backoff.js';
import { nextAttemptAt } from './schedule.js';
import type { Sender } from './sender.js';

export interface DispatcherOptions {
  retrySchedule: readonly number[];
  retryJitter: number;
  leaseMs: number;
  maxInFlight: number;
  /** This node, named on its leases. */
  nodeId: string;
  /** In-flight cap of a webhook that sets none. */
  endpointMaxInFlight: number;
  /** The most a webhook's own max_in_flight counts for. */
  webhookMaxInFlightLimit: number;
  /** Of this dispatcher's places, the most that one account's deliveries may hold. */
  accountMaxInFlight: number;
  health: HealthPolicy;
  /** Told of the webhooks that outcomes disabled (410 Gone, failing too long). */
  onDisabled?: (webhooks: Webhook[]) => void;
  metrics?: Metrics;
  /** Longest sleep between looks at the store, for retries that another process scheduled. */
  idlePollMs?: number;
  /**
   * Deadline of each call into the store (30 s unless given): past it the call counts as the
   * database not answering (StoreUnavailable) and the backoff applies. The store bounds its own
   * calls more tightly (PostgreSQL: HOOKLINE_DATABASE_QUERY_TIMEOUT); this is the backstop that
   * keeps the dispatcher going whatever the store does.
   */
  storeCallTimeoutMs?: number;
  random?: () => number;
}

const CLAIM_BATCH = 256;
const STORE_CALL_TIMEOUT_MS = 30_000;

export class Dispatcher {
  private running = false;
  /** Past the shutdown grace: attempts still in flight are abandoned, their leases handed back. */
  private abandoned = false;
  private pumping = false;
  private pumpAgain = false;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private outcomes: Outcome[] = [];
  private flushing: Promise<void> | undefined;
  /** A flush that found the database unreachable is tried again after a backoff. */
  private flushRetry: NodeJS.Timeout | undefined;
  private idle: (() => void) | undefined;
  /** Shared by claims and flushes: both wait on the same database. */
  private readonly backoff: Backoff;
  private readonly claimOptions: ClaimOptions;
  /** The schedule's longest delay: the most a receiver's Retry-After may hold its webhook back. */
  private readonly longestRetryMs: number;

  constructor(
    private readonly store: Store,
    private readonly sender: Sender,
    private readonly secrets: WebhookSecrets,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: DispatcherOptions,
  ) {
    this.backoff = new Backoff(options.random);
    this.longestRetryMs = Math.max(...options.retrySchedule);
    this.claimOptions = {
      leaseMs: options.leaseMs,
      owner: options.nodeId,
      defaultMaxInFlight: options.endpointMaxInFlight,
      maxInFlightLimit: options.webhookMaxInFlightLimit,
      accountMaxInFlight: options.accountMaxInFlight,
      breakerThreshold: options.health.breakerThreshold,
    };
  }

  start(): void {
    this.running = true;
    this.wake();
  }

  /** Something may be due now: look at the store soon. */
  wake(): void {
    if (!this.running) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => void this.pump());
  }

  /**
   * Stops claiming, waits up to `graceMs` for attempts in flight, and writes their outcomes.
   * Attempts still running then are abandoned: their outcomes are not written, and the caller
   * hands their leases back so that they are attempted again.
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    clearTimeout(this.flushRetry);
    this.flushRetry = undefined;
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        setTimeout(resolve, graceMs).unref();
      });
    }
    this.abandoned = true;
    await this.flushing;
    await this.flush();
  }

  private async pump(): Promise<void> {
    if (!this.running || this.pumping) return;
    this.pumping = true;
    let claimedAt = this.clock.now();
    try {
      do {
        this.pumpAgain = false;
        while (this.running && this.inFlight < this.options.maxInFlight) {
          const wanted = Math.min(CLAIM_BATCH, this.options.maxInFlight - this.inFlight);
          claimedAt = this.clock.now();
          const claimed = await this.call('claimDue', () => this.store.claimDue(claimedAt, wanted, this.claimOptions));
          for (const delivery of claimed) void this.attempt(delivery);
          if (claimed.length < wanted) break;
        }
      } while (this.pumpAgain && this.running);
      await this.sleepUntilNextDue(claimedAt);
      this.backoff.reset();
    } catch (err) {
      const retryInMs = this.backoff.next();
      this.failed(err, { retryInMs }, 'claiming deliveries failed; trying again after a backoff');
      this.schedule(retryInMs);
    } finally {
      this.pumping = false;
    }
  }

  /** `claimedAt`: the time of the last claim, which took everything claimable then. */
  private async sleepUntilNextDue(claimedAt: number): Promise<void> {
    if (!this.running || this.inFlight >= this.options.maxInFlight) return; // a finished attempt wakes us
    const next = await this.call('nextDueAt', () => this.store.nextDueAt(claimedAt, this.claimOptions));
    const idlePoll = this.options.idlePollMs ?? 1_000;
    // Claimable at the last claim yet not taken: another node was writing those rows (SKIP
    // LOCKED). Looking again at once would spin, so wait for the idle poll, as with nothing due.
    // Otherwise sleep until then, or the idle poll, for what other nodes free or schedule.
    const wait = next === null || next <= claimedAt ? idlePoll : Math.max(next - this.clock.now(), 0);
    this.schedule(Math.min(wait, idlePoll));
  }

  /**
   * A call into the store within its deadline. Past it the call is given up as StoreUnavailable;
   * should it still end later, a claim's deliveries come due again when their leases run out,
   * and outcomes kept for the next flush may be written twice (attempt rows, at least once).
   */
  private call<T>(what: string, work: () => Promise<T>): Promise<T> {
    const ms = this.options.storeCallTimeoutMs ?? STORE_CALL_TIMEOUT_MS;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new StoreUnavailable(new Error(`${what}: no answer from the store within ${ms} ms`))), ms);
      Promise.resolve().then(work).then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  /**
   * A full disk is logged once when it fills and once when it has room again (src/server.ts),
   * not at every backoff: a stack per attempt would only fill the disk further.
   */
  private failed(err: unknown, fields: Record<string, unknown>, message: string): void {
    if (err instanceof StorageFull) this.log.debug({ ...fields, reason: err.message }, message);
    else this.log.error({ err, ...fields }, message);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump();
    }, delayMs);
  }

  private async attempt(d: ClaimedDelivery): Promise<void> {
    this.inFlight++;
    const keys = await this.call('getWebhookSecrets', () => this.secrets.signingKeys(d.webhookId)).catch((err: unknown) => {
      if (err instanceof StoreUnavailable) return 'unavailable' as const;
      this.log.error({ err, webhookId: d.webhookId }, 'cannot open the webhook secret');
      return null;
    });
    if (keys === 'unavailable') {
      // The store did not answer: not attempted, and no outcome. The delivery comes due again
      // when its lease runs out, rather than a failed attempt being counted against it.
      this.log.debug({ deliveryId: d.id, webhookId: d.webhookId }, 'cannot read the webhook secret now; the delivery waits for its lease to run out');
      this.inFlight--;
      this.scheduleFlush();
      return;
    }
    if (keys === undefined) {
      // The webhook was deleted since the claim, and its deliveries with it.
      this.inFlight--;
      this.scheduleFlush();
      return;
    }
    const attemptedAt = this.clock.now();
    const body = payloadBody(d.facts, d.webhookId);
    const result = keys === null
      ? { statusCode: null, durationMs: 0, error: 'not sent: the webhook secret does not open with this key', responseBody: null, retryAfterMs: null }
      : await this.sender.send(d.webhookUrl, {
        'content-type': 'application/json',
        'user-agent': 'Hookline/0.1',
        ...signatureHeaders(keys, d.id, attemptedAt, body),
      }, body);
    if (this.abandoned) return;
    const succeeded = result.error === null;
    const attemptsMade = d.attempts + 1;
    const now = this.clock.now();
    const pauseUntil = result.retryAfterMs !== null
      ? now + Math.min(result.retryAfterMs, this.longestRetryMs)
      : undefined;
    const scheduled = succeeded || d.lastChance
      ? null
      : nextAttemptAt(this.options.retrySchedule, this.options.retryJitter, attemptsMade, now, this.options.random);
    const next = scheduled === null ? null : Math.max(scheduled, pauseUntil ?? 0);
    this.options.metrics?.attempted(succeeded ? 'succeeded' : next === null ? 'failed' : 'retrying', result.durationMs);
    if (succeeded) {
      this.log.debug({ deliveryId: d.id, eventId: d.eventId, webhookId: d.webhookId, attempt: attemptsMade, statusCode: result.statusCode, durationMs: result.durationMs }, 'delivered');
    } else {
      this.log.info({ deliveryId: d.id, eventId: d.eventId, webhookId: d.webhookId, attempt: attemptsMade, error: result.error, nextAttemptAt: next }, 'delivery attempt failed');
    }
    this.outcomes.push({
      deliveryId: d.id,
      webhookId: d.webhookId,
      succeeded,
      nextAttemptAt: next,
      ...(pauseUntil === undefined ? {} : { pauseUntil }),
      attempt: { attemptedAt, statusCode: result.statusCode, durationMs: result.durationMs, error: result.error, responseBody: result.responseBody },
    });
    this.inFlight--;
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushRetry) return; // the running flush, or the retry, looks again when it ends
    this.flushing = new Promise((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Writes buffered outcomes in one transaction, then claims more with the freed capacity. */
  private async flush(): Promise<void> {
    const batch = this.outcomes;
    this.outcomes = [];
    let unreachable = false;
    try {
      if (batch.length > 0) {
        const disabled = await this.call('recordOutcomes', () => this.store.recordOutcomes(batch, this.clock.now(), this.options.health));
        this.backoff.reset();
        for (const w of disabled) this.log.warn({ webhookId: w.id, reason: w.disabledReason }, 'webhook disabled');
        if (disabled.length > 0) this.options.onDisabled?.(disabled);
      }
    } catch (err) {
      unreachable = err instanceof StoreUnavailable && this.running;
      if (unreachable) {
        // Kept and written once the database answers, so that what was sent is not sent again
        // (if the leases run out first, it may be: at least once, never lost).
        this.outcomes = batch.concat(this.outcomes);
        const retryInMs = this.backoff.next();
        this.failed(err, { count: batch.length, retryInMs }, 'recording delivery outcomes failed; trying again after a backoff');
        this.flushRetry = setTimeout(() => {
          this.flushRetry = undefined;
          this.scheduleFlush();
        }, retryInMs);
      } else {
        // The leases run out and the deliveries are attempted again: at least once, never lost.
        this.log.error({ err, count: batch.length }, 'recording delivery outcomes failed');
      }
    } finally {
      this.flushing = undefined;
    }
    if (this.inFlight === 0 && this.idle) this.idle();
    if (unreachable) return; // the retry above wakes the dispatcher once the outcomes are written
    if (this.outcomes.length > 0) this.scheduleFlush();
    this.wake();
  }
}
