// Retention: every minute, what is past its window goes: on PostgreSQL whole partitions first
// (src/store/postgres/partitions.ts), then, on both stores, in small batches that each commit on
// their own, so that intake and claims never wait long behind a purge. Pending deliveries are
// never purged (nothing acknowledged is lost), and an event goes only after its deliveries.
import type { Logger } from 'pino';
import type { Store } from '../store/ports.js';
import type { Clock } from '../time.js';

export const RETENTION_BATCH = 500;
export const RETENTION_INTERVAL_MS = 60_000;

export interface RetentionWindows {
  /** Finished deliveries with their attempts, and events. */
  dataMs: number;
  idempotencyMs: number;
}

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly windows: RetentionWindows,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), RETENTION_INTERVAL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; a pass still running is joined rather than doubled. */
  runOnce(): Promise<void> {
    this.running ??= this.pass().finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    const now = this.clock.now();
    try {
      // On PostgreSQL: the partitions ahead made, and those past the window dropped whole; the
      // batch purge then finds only what a kept partition (or the default one) still holds.
      await this.store.preparePartitions(now);
      const partitions = await this.store.dropPartitions(now - this.windows.dataMs);
      if (partitions.dropped + partitions.kept > 0) this.log.info(partitions, 'retention: partitions past the window');
      const purged = {
        deliveries: await this.drain((limit) => this.store.purgeDeliveries(now - this.windows.dataMs, limit)),
        events: await this.drain((limit) => this.store.purgeEvents(now - this.windows.dataMs, limit)),
        idempotencyKeys: await this.drain((limit) => this.store.purgeIdempotencyKeys(now - this.windows.idempotencyMs, limit)),
      };
      if (purged.deliveries + purged.events + purged.idempotencyKeys > 0) this.log.info(purged, 'retention: purged');
    } catch (err) {
      this.log.error({ err }, 'retention pass failed; the next one tries again');
    }
  }

  /** Batch after batch until one comes back short, letting other work run between them. */
  private async drain(batch: (limit: number) => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      if (this.stopped) return total;
      const n = await batch(RETENTION_BATCH);
      total += n;
      if (n < RETENTION_BATCH) return total;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
