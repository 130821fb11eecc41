// GET /metrics in Prometheus format, from one registry per node. Counters and the latency
// histogram are fed by the dispatcher as attempts end; the backlog figures are read from the
// store at each scrape. Per-webhook failures carry only the top few webhooks, so the label set
// stays bounded whatever the number of webhooks.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from './store/ports.js';
import type { Clock } from './time.js';

/** How many of the most failing webhooks get their own series. */
export const FAILING_WEBHOOKS_SHOWN = 10;

export type AttemptOutcome = 'succeeded' | 'retrying' | 'failed';

export class Metrics {
  readonly registry = new Registry();
  private readonly deliveries = new Counter({
    name: 'hookline_delivery_attempts_total', help: 'Delivery attempts by outcome: succeeded, retrying (another attempt is scheduled) or failed for good.',
    labelNames: ['outcome'], registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'hookline_attempt_duration_seconds', help: 'Duration of delivery attempts, from the request to the last byte read.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [this.registry],
  });
  private readonly pending = new Gauge({ name: 'hookline_deliveries_pending', help: 'Deliveries not yet succeeded or failed for good.', registers: [this.registry] });
  private readonly oldestPending = new Gauge({
    name: 'hookline_oldest_pending_age_seconds', help: 'Age of the oldest pending delivery; 0 when none is pending.', registers: [this.registry],
  });
  private readonly disabled = new Gauge({ name: 'hookline_webhooks_disabled', help: 'Webhooks disabled, by hand or by their outcomes.', registers: [this.registry] });
  private readonly failing = new Gauge({
    name: 'hookline_webhook_consecutive_failures',
    help: `Failed attempts in a row, for the ${FAILING_WEBHOOKS_SHOWN} webhooks with the longest streaks.`,
    labelNames: ['webhook_id'], registers: [this.registry],
  });
  private readonly storageFull = new Gauge({
    name: 'hookline_storage_full', help: '1 while writes fail for lack of space (the embedded store\'s disk is full: requests that write answer 503 storage_full), else 0.',
    registers: [this.registry],
  });

  constructor(private readonly store: Store, private readonly clock: Clock) {
    for (const outcome of ['succeeded', 'retrying', 'failed'] satisfies AttemptOutcome[]) this.deliveries.inc({ outcome }, 0);
  }

  attempted(outcome: AttemptOutcome, durationMs: number): void {
    this.deliveries.inc({ outcome });
    this.latency.observe(durationMs / 1000);
  }

  /** The exposition, with the store's figures read now. */
  async render(): Promise<string> {
    const stats = await this.store.engineStats(FAILING_WEBHOOKS_SHOWN);
    this.pending.set(stats.pending);
    this.oldestPending.set(stats.oldestPendingCreated === null ? 0 : Math.max(this.clock.now() - stats.oldestPendingCreated, 0) / 1000);
    this.disabled.set(stats.disabledWebhooks);
    this.storageFull.set(this.store.storageFull ? 1 : 0);
    this.failing.reset();
    for (const f of stats.failing) this.failing.set({ webhook_id: f.webhookId }, f.consecutiveFailures);
    return this.registry.metrics();
  }
}
