// The OpenAPI document that GET /openapi.json serves, made without a server on a port: the API
// is built on an in-memory store and asked for it. The build makes the typed client
// (hookline/client, src/client/) from this document.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { defaultConfig } from '../config.js';
import { IntakeCommit } from '../ingest/commit.js';
import { EventIntake } from '../ingest/events.js';
import { Metrics } from '../metrics.js';
import { Lifecycle } from '../platform/lifecycle.js';
import { Simulator } from '../platform/simulate.js';
import { SecretBox } from '../security/sealing.js';
import { TargetGuard } from '../security/ssrf.js';
import { WebhookSecrets } from '../security/webhook-secrets.js';
import { SqliteStore } from '../store/sqlite/index.js';
import { systemClock } from '../time.js';
import { buildApi } from './app.js';

export async function openApiDocument(): Promise<Record<string, unknown>> {
  const store = new SqliteStore({ memory: true });
  const config = { ...defaultConfig(), logLevel: 'silent' };
  const logger = pino({ level: 'silent' });
  const intake = new IntakeCommit(store, systemClock, 0);
  const lifecycle = new Lifecycle(store, intake);
  const app = await buildApi({
    store,
    ingestor: new EventIntake(intake),
    lifecycle,
    simulator: new Simulator(lifecycle, config.simulationStepMs, logger),
    secrets: new WebhookSecrets(store, new SecretBox(randomBytes(32))),
    clock: systemClock,
    config,
    guard: new TargetGuard(),
    metrics: new Metrics(store, systemClock),
  }, logger);
  try {
    await app.ready();
    return app.swagger() as unknown as Record<string, unknown>;
  } finally {
    await app.close();
    await store.close();
  }
}
