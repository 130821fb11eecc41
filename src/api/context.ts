// What the route plugins are given: the services behind the API. It sits apart from app.ts,
// which imports every route, so that routes import it without importing the app.
import type { Config } from '../config.js';
import type { EventIntake } from '../ingest/events.js';
import type { Metrics } from '../metrics.js';
import type { Lifecycle } from '../platform/lifecycle.js';
import type { Simulator } from '../platform/simulate.js';
import type { TargetGuard } from '../security/ssrf.js';
import type { WebhookSecrets } from '../security/webhook-secrets.js';
import type { Store } from '../store/ports.js';
import type { Clock } from '../time.js';
import type { Tracing } from '../tracing/index.js';

export interface ApiContext {
  store: Store;
  /** Reported events (and webhooks' test events); facts go through lifecycle, on the same intake path. */
  ingestor: EventIntake;
  lifecycle: Lifecycle;
  simulator: Simulator;
  secrets: WebhookSecrets;
  clock: Clock;
  config: Config;
  /** Judges webhook URLs at creation; the sender judges addresses at connect. */
  guard: TargetGuard;
  metrics: Metrics;
  /** When tracing is on: its request spans (@fastify/otel). */
  tracing?: Tracing;
}
