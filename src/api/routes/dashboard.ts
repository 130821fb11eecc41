// The dashboard: the single page built from web/ by `npm run build` into dist/web, served at the
// paths the page routes itself, with a strict Content-Security-Policy (no inline script or
// style, nothing from elsewhere, no framing).
import staticFiles from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiContext } from '../context.js';

/** Where `npm run build` puts the dashboard. This file sits three folders below the package
 * root both as src/api/routes/*.ts (tests) and as dist/api/routes/*.js (the built server). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** The paths the page answers; anything else stays the API's JSON 404. */
export const PAGE_PATHS = ['/', '/sign-in', '/webhooks', '/webhooks/:webhook_id', '/deliveries', '/deliveries/:delivery_id', '/events', '/properties'];

export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

export default async function dashboard(app: FastifyInstance, _context: ApiContext) {
  const indexFile = join(DASHBOARD_DIR, 'index.html');
  const built = existsSync(indexFile);
  if (!built) app.log.warn({ dir: DASHBOARD_DIR }, 'the dashboard is not built: run `npm run build` to serve it');
  const page = built ? readFileSync(indexFile, 'utf8') : undefined;

  // The page and its assets are public: the page signs in itself. Routes ask for a key unless
  // they say otherwise (auth.ts), so this plugin says it for each of its routes, the static
  // files' included.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [] };
  });

  // Hooks registered here apply to this plugin's routes only: the API's responses are untouched.
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  if (built) {
    // Vite names assets by content hash, so they may be cached for good.
    await app.register(staticFiles, { root: join(DASHBOARD_DIR, 'assets'), prefix: '/assets/', maxAge: '365d', immutable: true });
  }

  for (const url of PAGE_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => {
      reply.header('cache-control', 'no-cache');
      if (!page) return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built. Run `npm run build`, then restart Hookline.\n');
      return reply.type('text/html; charset=utf-8').send(page);
    });
  }
}
