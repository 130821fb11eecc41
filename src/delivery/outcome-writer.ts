// Outcomes go to the store in batches: every attempt that ended since the last write, in one
// transaction. While the database does not answer they are kept and written after a backoff, so
// that what was sent is not sent again; an outcome that cannot be written at all leaves its
// delivery pending, to be sent again (at least once, never lost).
import type { Logger } from 'pino';
import type { EngineStore } from '../store/ports.js';
import type { HealthPolicy, Outcome, Webhook } from '../store/types.js';
import { StorageFull, StoreUnavailable } from '../store/unavailable.js';
import type { Clock } from '../time.js';
import { Backoff } from './backoff.js';

/** Outcomes written in one transaction at most. */
const BATCH = 256;

export interface OutcomeWriterEvents {
  /** The batch is in the store (or, when `lost`, could not be written and stays pending there). */
  written(batch: readonly Outcome[], lost: boolean): void;
  /** Webhooks that these outcomes disabled (410 Gone, failing too long). */
  disabled(webhooks: Webhook[]): void;
}

export class OutcomeWriter {
  private outcomes: Outcome[] = [];
  private flushing: Promise<void> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly backoff: Backoff;

  constructor(
    private readonly store: Pick<EngineStore, 'recordOutcomes'>,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly policy: HealthPolicy,
    private readonly events: OutcomeWriterEvents,
    random?: () => number,
  ) {
    this.backoff = new Backoff(random);
  }

  push(outcome: Outcome): void {
    this.outcomes.push(outcome);
    this.schedule();
  }

  /** Writes what is buffered, once, without retrying: the node is stopping. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.retry = undefined;
    await this.flushing;
    await this.flush();
  }

  private schedule(): void {
    if (this.flushing || this.retry) return; // the running flush, or the retry, looks again when it ends
    this.flushing = new Promise((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  private async flush(): Promise<void> {
    // At most BATCH in one transaction: a write holds the event loop (SQLite is synchronous).
    const batch = this.outcomes.splice(0, BATCH);
    let unreachable = false;
    try {
      if (batch.length > 0) {
        const disabled = await this.store.recordOutcomes(batch, this.clock.now(), this.policy);
        this.backoff.reset();
        this.events.written(batch, false);
        for (const w of disabled) this.log.warn({ webhookId: w.id, reason: w.disabledReason }, 'webhook disabled');
        if (disabled.length > 0) this.events.disabled(disabled);
      }
    } catch (err) {
      unreachable = err instanceof StoreUnavailable && !this.stopped;
      if (unreachable) {
        this.outcomes = batch.concat(this.outcomes);
        const retryInMs = this.backoff.next();
        // A full disk is logged once by the server when it fills, not at every try.
        if (err instanceof StorageFull) this.log.debug({ count: batch.length, retryInMs, reason: err.message }, 'recording delivery outcomes failed; trying again after a backoff');
        else this.log.error({ err, count: batch.length, retryInMs }, 'recording delivery outcomes failed; trying again after a backoff');
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.schedule();
        }, retryInMs);
      } else {
        this.log.error({ err, count: batch.length }, 'recording delivery outcomes failed');
        this.events.written(batch, true);
      }
    } finally {
      this.flushing = undefined;
    }
    if (!unreachable && this.outcomes.length > 0) this.schedule();
  }
}
