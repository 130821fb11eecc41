// The dashboard: the single page built from web/ by `npm run build` into dist/web, served at the
// paths the page routes itself, with a strict Content-Security-Policy (no inline script or
// style, nothing from elsewhere, no framing but by the origins HOOKLINE_PORTAL_FRAME_ANCESTORS
// lists). A browser asking for any other page (not under /v2/) gets the same page with a 404,
// and the page shows its "Page not found"; clients of the API keep JWP's JSON errors.
import staticFiles from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../../config.js';
import type { ApiContext } from '../context.js';

/** Where `npm run build` puts the dashboard. This file sits three folders below the package
 * root both as src/api/routes/*.ts (tests) and as dist/api/routes/*.js (the built server). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../../../dist/web/', import.meta.url));

/** The paths the page answers with 200 (/portal opens a portal link: routes/portal.ts). */
export const PAGE_PATHS = ['/', '/sign-in', '/webhooks', '/webhooks/:webhook_id', '/deliveries', '/deliveries/:delivery_id', '/events', '/properties', '/console', '/portal'];

/** The dashboard's Content-Security-Policy; `frameAncestors`: the origins that may frame it (none: 'none'). */
export function contentSecurityPolicy(frameAncestors: readonly string[]): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${frameAncestors.length > 0 ? frameAncestors.join(' ') : "'none'"}`,
  ].join('; ');
}

/** The headers of every answer of the dashboard. X-Frame-Options only when nothing may frame it (it cannot list origins). */
export function securityHeaders(config: Pick<Config, 'portalFrameAncestors'>): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(config.portalFrameAncestors),
    'x-content-type-options': 'nosniff',
    ...(config.portalFrameAncestors.length === 0 ? { 'x-frame-options': 'DENY' } : {}),
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  };
}

/** The built page, read once, and how it is answered (200 at its paths, 404 elsewhere). */
export interface DashboardPage {
  built: boolean;
  /** Its security headers (securityHeaders), for every answer of the dashboard's routes. */
  headers: Record<string, string>;
  send(reply: FastifyReply, status: 200 | 404): FastifyReply;
  /** A request for a page that is not there: a browser's GET outside the API, answered with the page's own 404. */
  wantsNotFoundPage(request: FastifyRequest): boolean;
}

export function dashboardPage(config: Pick<Config, 'portalFrameAncestors'>): DashboardPage {
  const indexFile = join(DASHBOARD_DIR, 'index.html');
  const html = existsSync(indexFile) ? readFileSync(indexFile, 'utf8') : undefined;
  const headers = securityHeaders(config);
  return {
    built: html !== undefined,
    headers,
    send(reply, status) {
      reply.headers(headers).header('cache-control', 'no-cache');
      if (html === undefined) return reply.code(503).type('text/plain; charset=utf-8').send('The dashboard is not built. Run `npm run build`, then restart Hookline.\n');
      return reply.code(status).type('text/html; charset=utf-8').send(html);
    },
    wantsNotFoundPage(request) {
      const path = request.url.split('?')[0]!;
      return html !== undefined && (request.method === 'GET' || request.method === 'HEAD')
        && !/^\/(v2|ui|assets)(\/|$)/.test(path) && /\btext\/html\b/.test(request.headers.accept ?? '');
    },
  };
}

export default async function dashboard(app: FastifyInstance, { page }: ApiContext & { page: DashboardPage }) {
  if (!page.built) app.log.warn({ dir: DASHBOARD_DIR }, 'the dashboard is not built: run `npm run build` to serve it');

  // The page and its assets are public: the page signs in itself. Routes ask for a key unless
  // they say otherwise (auth.ts), so this plugin says it for each of its routes, the static
  // files' included.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, security: [] };
  });

  // Hooks registered here apply to this plugin's routes only: the API's responses are untouched.
  app.addHook('onSend', async (_request, reply) => {
    reply.headers(page.headers);
  });

  if (page.built) {
    // Vite names assets by content hash, so they may be cached for good.
    await app.register(staticFiles, { root: join(DASHBOARD_DIR, 'assets'), prefix: '/assets/', maxAge: '365d', immutable: true });
  }

  for (const url of PAGE_PATHS) {
    app.get(url, { schema: { hide: true } }, async (_request, reply) => page.send(reply, 200));
  }
}
