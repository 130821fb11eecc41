// Wires one Hookline node: store, intake, dispatcher and API.
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { buildApi, buildWorkerApi } from './api/app.js';
import { bootstrap, type FirstStart } from './bootstrap.js';
import { accountMaxInFlight, checkProductionConfig, type Config } from './config.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { Sender } from './delivery/sender.js';
import { randomId } from './ids.js';
import { IDEMPOTENCY_WINDOW_MS, Ingestor } from './ingest/index.js';
import { Retention } from './maintenance/retention.js';
import { Metrics } from './metrics.js';
import { OperatorNotices } from './delivery/operator-notice.js';
import { parseAllowList, TargetGuard, type Resolve } from './security/ssrf.js';
import { Lifecycle } from './platform/lifecycle.js';
import { Simulator } from './platform/simulate.js';
import { openSecretBox } from './security/secret-key.js';
import { WebhookSecrets } from './security/webhook-secrets.js';
import { openStore } from './store/open.js';
import type { StoreChange } from './store/types.js';
import type { Store } from './store/ports.js';
import { systemClock, type Clock } from './time.js';

export interface Hookline {
  url: string;
  port: number;
  store: Store;
  app: FastifyInstance;
  dispatcher: Dispatcher;
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
  /** The dispatcher's longest sleep (1 s otherwise): tests lengthen it to show that it wakes when due. */
  idlePollMs?: number;
}

export async function startHookline(config: Config, options: StartOptions = {}): Promise<Hookline> {
  const clock = options.clock ?? systemClock;
  checkProductionConfig(config);
  const logger = options.logger ?? pino({ level: config.logLevel });
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
  if (store.exclusive) {
    // Leases from a previous run are void. (On a shared store other nodes hold leases: a dead
    // node's come due again when they run out.)
    const released = await store.releaseLeases(clock.now());
    if (released > 0) logger.info({ released }, 'took back deliveries leased by a previous run');
  }

  const nodeId = `node_${randomId()}`;
  const guard = new TargetGuard({ allowAll: config.dev, allowed: parseAllowList(config.allowedTargets), resolve: options.resolve });
  const sender = new Sender(config.requestTimeoutMs, { guard: config.dev ? undefined : guard, ca: options.ca });
  const metrics = new Metrics(store, clock);
  const notices = config.operatorWebhookUrl && config.operatorWebhookSecret
    ? new OperatorNotices(config.operatorWebhookUrl, config.operatorWebhookSecret, sender, clock, logger)
    : undefined;
  const dispatcher = new Dispatcher(store, sender, secrets, clock, logger, {
    retrySchedule: config.retrySchedule,
    retryJitter: config.retryJitter,
    leaseMs: config.leaseMs,
    maxInFlight: config.maxInFlight,
    nodeId,
    endpointMaxInFlight: config.endpointMaxInFlight,
    webhookMaxInFlightLimit: config.webhookMaxInFlightLimit,
    accountMaxInFlight: accountMaxInFlight(config),
    metrics,
    onDisabled: notices && ((webhooks) => void notices.webhooksDisabled(webhooks)),
    health: { breakerThreshold: config.breakerThreshold, probeIntervalMs: config.probeIntervalMs, autoDisableAfterMs: config.autoDisableAfterMs },
    random: options.random,
    idlePollMs: options.idlePollMs,
    // The store bounds its own calls (connect, then the query timeout and a second's grace):
    // this is the dispatcher's backstop, a little later.
    storeCallTimeoutMs: config.databaseConnectTimeoutMs + config.databaseQueryTimeoutMs + 2_000,
  });
  const ingestor = new Ingestor(store, clock, config.retrySchedule[0]!, () => dispatcher.wake());
  const lifecycle = new Lifecycle(store, clock, config.retrySchedule[0]!, () => dispatcher.wake());
  const simulator = new Simulator(lifecycle, config.simulationStepMs, logger);
  const retention = new Retention(store, clock, logger, { dataMs: config.retentionMs, idempotencyMs: IDEMPOTENCY_WINDOW_MS });
  store.onChange?.((change: StoreChange) => {
    switch (change.kind) {
      case 'deliveries':
        return dispatcher.wake();
      case 'webhook':
        // Its secrets, and maybe its status or cap: claims read those fresh, so look again too.
        secrets.forget(change.id);
        return dispatcher.wake();
      case 'api_key':
        return; // keys are looked up on every request (src/api/auth.ts): nothing cached to drop
      case 'missed':
        secrets.forget();
        return dispatcher.wake();
    }
  });
  const app = config.role === 'worker'
    ? await buildWorkerApi({ store, clock, metrics }, logger)
    : await buildApi({ store, ingestor, lifecycle, simulator, dispatcher, secrets, clock, config, guard, metrics }, logger);
  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  // An api node only commits deliveries; worker nodes, woken by the store's change feed, send
  // them and keep the retention.
  if (config.role !== 'api') {
    dispatcher.start();
    retention.start();
  }

  let closing: Promise<void> | undefined;
  return {
    url: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
    port,
    store,
    app,
    dispatcher,
    retention,
    firstStart,
    close: () =>
      (closing ??= (async () => {
        await app.close();
        await simulator.stop();
        await retention.stop();
        await dispatcher.stop(config.shutdownGraceMs);
        // What is still in flight past the grace is attempted again, by this node's next run or another.
        const handedBack = await store.releaseLeases(clock.now(), nodeId).catch((err: unknown) => {
          // The database does not answer: the leases run out instead, and the store still closes.
          logger.warn({ reason: (err as Error).message }, 'could not hand back the deliveries in flight; they come due again when their leases run out');
          return 0;
        });
        if (handedBack > 0) logger.info({ handedBack }, 'handed back deliveries still in flight');
        await sender.close();
        await store.close();
      })()),
  };
}
