// The HTTP API: one Fastify plugin per resource, JWP's error format everywhere, OpenAPI from
// the same JSON schemas that validate input.
import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { installAudit } from './audit.js';
import { installAuth, installRateLimit } from './auth.js';
import type { ApiContext } from './context.js';
import { refuseControlCharacters } from './control-characters.js';
import { COMPONENTS, ref } from './components.js';
import { clientErrorHandler, frameworkErrors, installErrorHandlers } from './errors.js';
import { VERSION } from '../version.js';
import { finiteNumbers } from './schemas.js';
import accounts from './routes/accounts.js';
import admin from './routes/admin.js';
import audit from './routes/audit.js';
import catalog from './routes/catalog.js';
import channels from './routes/channels.js';
import dashboard, { dashboardPage } from './routes/dashboard.js';
import deliveries from './routes/deliveries.js';
import deliverySearch from './routes/delivery-search.js';
import events from './routes/events.js';
import health from './routes/health.js';
import media from './routes/media.js';
import metrics from './routes/metrics.js';
import portal from './routes/portal.js';
import session from './routes/session.js';
import sites from './routes/sites.js';
import thumbnails from './routes/thumbnails.js';
import webhooks from './routes/webhooks/index.js';

/** Every request body Hookline takes is a few KiB at most; past this, 413. */
export const BODY_LIMIT = 64 * 1024;

function newApp(logger: Logger): FastifyInstance {
  return Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    clientErrorHandler,
    frameworkErrors,
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false }, plugins: [finiteNumbers] },
  });
}

/** What a worker node serves: its health, and its delivery metrics to the operator. */
export async function buildWorkerApi(context: Pick<ApiContext, 'store' | 'clock' | 'metrics'>, logger: Logger): Promise<FastifyInstance> {
  const app = newApp(logger);
  installErrorHandlers(app);
  // A request without a key is refused by the same auth as on api nodes, which reads the session cookie.
  await app.register(cookie);
  installAuth(app, context.store, context.clock);
  await app.register(health, context);
  await app.register(metrics, context);
  return app;
}

export async function buildApi(context: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = newApp(logger);
  // First, so that it sees every route (a span per request, and one for its handler).
  if (context.tracing) await app.register(context.tracing.fastifyPlugin);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Hookline', version: VERSION, description: "JWP's webhooks API, with Hookline's delivery log." },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
    // Named shapes keep their names in the document (components.schemas.Webhook, …).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const schema of COMPONENTS) app.addSchema(schema);
  // Every documented route refuses in JWP's envelope (errors.ts), and the document says so.
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; response?: Record<string, unknown> } | undefined;
    if (!schema || schema.hide) return;
    schema.response = { ...schema.response, '4xx': ref('Error'), '5xx': ref('Error') };
  });
  // Read once: the 404 handler answers browsers with it, the dashboard plugin serves it.
  const page = dashboardPage(context.config);
  installErrorHandlers(app, page);
  // JWP's clients send Content-Type: application/json on DELETE too, with no body: that is no body,
  // not malformed JSON.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    parseJson(request, body as string, done);
  });
  // Parses cookies before the auth hook reads the dashboard's session cookie.
  await app.register(cookie);
  installAuth(app, context.store, context.clock);
  await installRateLimit(app, { management: context.config.rateLimit, intake: context.config.intakeRateLimit, session: context.config.sessionRateLimit }, context.store.rateLimits, context.clock);
  installAudit(app, context.store, context.clock);
  refuseControlCharacters(app);

  await app.register(health, context);
  app.get('/openapi.json', { schema: { hide: true, security: [] } }, async () => app.swagger());

  for (const plugin of [accounts, admin, sites, webhooks, events, media, thumbnails, channels, deliveries, deliverySearch, audit, catalog, metrics, session, portal]) {
    await app.register(plugin, context);
  }
  await app.register(dashboard, { ...context, page });
  return app;
}
