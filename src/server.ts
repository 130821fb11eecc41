// Wires one Hookline node: store, intake, the delivery engine and its ownership, and the API.
// One listener reacts to what the store says it changed: cached secrets, the engine's queues.
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildApi, buildWorkerApi } from './api/app.js';
import { bootstrap, type FirstStart } from './bootstrap.js';
import { accountMaxInFlight, checkProductionConfig, ConfigError, type Config } from './config.js';
import { Engine, type EngineOptions } from './delivery/engine.js';
import { Ownership } from './delivery/ownership.js';
import { Sender } from './delivery/sender.js';
import { randomId } from './ids.js';
import { IDEMPOTENCY_WINDOW_MS, IntakeCommit } from './ingest/commit.js';
import { EventIntake } from './ingest/events.js';
import { Retention } from './maintenance/retention.js';
import { Metrics } from './metrics.js';
import { OperatorNotices } from './delivery/operator-notice.js';
import { parseAllowList, TargetGuard, type Resolve } from './security/ssrf.js';
import { Lifecycle } from './platform/lifecycle.js';
import { Simulator } from './platform/simulate.js';
import { openSecretBox } from './security/secret-key.js';
import { WebhookSecrets } from './security/webhook-secrets.js';
import { localUrl, removeServerNote, writeServerNote } from './server-file.js';
import { openStore } from './store/open.js';
import type { Store } from './store/ports.js';
import type { StoreChange } from './store/types.js';
import { systemClock, type Clock } from './time.js';
import { startTracing } from './tracing/index.js';

export interface Hookline {
  url: string;
  port: number;
  store: Store;
  app: FastifyInstance;
  engine: Engine;
  retention: Retention;
  firstStart: FirstStart;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  random?: () => number;
  /** Where the SSRF guard resolves names, and extra CAs the sender trusts: for tests. */
  resolve?: Resolve;
  ca?: string | Buffer;
  /** The engine's memory window and budget: tests make them small to show paging. */
  engine?: Pick<EngineOptions, 'window' | 'memoryBudget'>;
}

export async function startHookline(config: Config, options: StartOptions = {}): Promise<Hookline> {
  const clock = options.clock ?? systemClock;
  checkProductionConfig(config);
  const logger = options.logger ?? pino({ level: config.logLevel });
  const nodeId = `node_${randomId()}`;
  // Off unless the OTEL_* variables ask for it; then the SDK is loaded (src/tracing/).
  const tracing = await startTracing({ nodeId, database: config.databaseUrl ? 'postgresql' : 'sqlite', logger });
  if (config.propagateTrace && !tracing) {
    throw new ConfigError('HOOKLINE_PROPAGATE_TRACE needs tracing on: set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER)');
  }
  const store = await openStore(config);
  // Once when writes start failing for lack of space, once when they find room again: requests
  // refused and dispatcher backoffs meanwhile are not logged one by one.
  store.onStorageFull?.((full, cause) => {
    if (full) logger.error({ err: cause }, 'the disk is full: writes fail (503 storage_full, /readyz 503) until there is room again');
    else logger.warn('the disk has room again: writes succeed');
  });
  let secrets: WebhookSecrets;
  try {
    secrets = new WebhookSecrets(store, await openSecretBox(config, store, logger));
  } catch (err) {
    await store.close();
    throw err;
  }
  const firstStart = await bootstrap(store, config.operatorKey, config.dev, clock.now());
  const guard = new TargetGuard({ allowAll: config.dev, allowed: parseAllowList(config.allowedTargets), resolve: options.resolve });
  const sender = new Sender(config.requestTimeoutMs, { guard: config.dev ? undefined : guard, ca: options.ca });
  const metrics = new Metrics(store, clock);
  const notices = config.operatorWebhookUrl && config.operatorWebhookSecret
    ? new OperatorNotices(config.operatorWebhookUrl, config.operatorWebhookSecret, sender, clock, logger)
    : undefined;
  const sends = config.role !== 'api';
  const ownership = new Ownership(sends ? store.membership : null, nodeId, clock, logger, {
    nodeTimeoutMs: config.nodeTimeoutMs,
    onChange: () => void engine.rebalance().catch((err: unknown) => logger.error({ err }, 'taking over webhooks failed')),
  });
  const engine = new Engine(store, sender, secrets, clock, logger, {
    retrySchedule: config.retrySchedule,
    retryJitter: config.retryJitter,
    maxInFlight: config.maxInFlight,
    accountMaxInFlight: accountMaxInFlight(config),
    endpointMaxInFlight: config.endpointMaxInFlight,
    maxInFlightLimit: config.webhookMaxInFlightLimit,
    owns: (webhookId) => ownership.owns(webhookId),
    readyAt: (webhookId) => ownership.readyAt(webhookId),
    metrics,
    onDisabled: notices && ((webhooks) => void notices.webhooksDisabled(webhooks)),
    health: { breakerThreshold: config.breakerThreshold, probeIntervalMs: config.probeIntervalMs, autoDisableAfterMs: config.autoDisableAfterMs },
    random: options.random,
    tracing,
    propagateTrace: config.propagateTrace,
    ...options.engine,
  });
  // One intake path: reported events and platform facts commit through the same IntakeCommit.
  const intake = new IntakeCommit(store, clock, config.retrySchedule[0]!, tracing);
  const ingestor = new EventIntake(intake);
  const lifecycle = new Lifecycle(store, intake);
  const simulator = new Simulator(lifecycle, config.simulationStepMs, logger);
  const retention = new Retention(store, clock, logger, { dataMs: config.retentionMs, idempotencyMs: IDEMPOTENCY_WINDOW_MS });
  // The store says what each write changed, here or (PostgreSQL) on any node: the one place that
  // drops cached secrets and tells the engine.
  store.onChange((change: StoreChange) => {
    switch (change.kind) {
      // (On an api node the engine and the ownership are not running: they ignore what they hear.)
      case 'deliveries':
        if (change.created) return engine.enqueue(change.created);
        return change.webhookIds ? engine.refresh(change.webhookIds) : engine.refreshAll();
      case 'retried':
        return engine.retried(change.webhookId, change.deliveryId);
      case 'webhook':
        secrets.forget(change.id);
        return void engine.reload(change.id);
      case 'api_key':
        return; // keys are looked up on every request (src/api/auth.ts): nothing cached to drop
      case 'members':
        return ownership.refresh();
      case 'missed':
        secrets.forget();
        return engine.refreshAll();
    }
  });
  const app = config.role === 'worker'
    ? await buildWorkerApi({ store, clock, metrics }, logger)
    : await buildApi({ store, ingestor, lifecycle, simulator, secrets, clock, config, guard, metrics, tracing }, logger);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // An api node only commits deliveries; worker nodes own webhooks, send, and keep the retention.
  if (sends) {
    await ownership.start();
    await engine.start();
    retention.start();
  }
  // The embedded store's data dir tells the commands run beside it where this server is (server-file.ts).
  const embedded = !config.databaseUrl;
  if (embedded) writeServerNote(config.dataDir, { url: localUrl(config.host, port), pid: process.pid });

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    store,
    app,
    engine,
    retention,
    firstStart,
    close: () =>
      (closing ??= (async () => {
        if (embedded) removeServerNote(config.dataDir);
        await app.close();
        await simulator.stop();
        await retention.stop();
        await engine.stop(config.shutdownGraceMs);
        // Leaving now lets the other workers take this node's webhooks at once; what was still in
        // flight past the grace is pending in the store, and its new owner sends it again.
        await ownership.stop();
        await sender.close();
        await store.close();
        // The spans of the attempts that just ended go out before the process does.
        await tracing?.shutdown();
      })()),
  };
}
