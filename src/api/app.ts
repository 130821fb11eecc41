// The HTTP API: one Fastify plugin per resource, JWP's error format everywhere, OpenAPI from
// the same JSON schemas that validate input.
import swagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Dispatcher } from '../delivery/dispatcher.js';
import type { Ingestor } from '../ingest/index.js';
import type { WebhookSecrets } from '../security/webhook-secrets.js';
import type { Store } from '../store/types.js';
import type { Clock } from '../time.js';
import { installAuth } from './auth.js';
import { installErrorHandlers } from './errors.js';
import accounts from './routes/accounts.js';
import deliveries from './routes/deliveries.js';
import events from './routes/events.js';
import sites from './routes/sites.js';
import webhookActions from './routes/webhook-actions.js';
import webhooks from './routes/webhooks.js';

export interface ApiContext {
  store: Store;
  ingestor: Ingestor;
  dispatcher: Dispatcher;
  secrets: WebhookSecrets;
  clock: Clock;
  config: Config;
}

export async function buildApi(context: ApiContext, logger: Logger): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Hookline', version: '0.1.0', description: "JWP's webhooks API, with Hookline's delivery log." },
      components: { securitySchemes: { apiKey: { type: 'http', scheme: 'bearer' } } },
      security: [{ apiKey: [] }],
    },
  });
  installErrorHandlers(app);
  installAuth(app, context.store);

  app.get('/healthz', { schema: { tags: ['health'], security: [] } }, async () => ({ status: 'ok' }));
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  for (const plugin of [accounts, sites, webhooks, webhookActions, events, deliveries]) await app.register(plugin, context);
  return app;
}
