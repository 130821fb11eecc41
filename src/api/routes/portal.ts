// Portal sessions: the operator (a platform like JWP) opens one account's dashboard for one of
// its customers, in its own console. POST /v2/accounts/{account_id}/portal_sessions/ makes a
// link with a one-use token (kept as its hash, openable for a few minutes); the dashboard's
// /portal page posts the token from the link's fragment to POST /ui/portal, which consumes it
// and sets the usual session cookie, scoped to that account and ending at expires_at at the
// latest. read_only sessions can look and change nothing (auth.ts refuses their unsafe requests).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseDuration } from '../../delivery/schedule.js';
import { jwpMicros } from '../../time.js';
import { noteAudit } from '../audit.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import type { ApiContext } from '../context.js';
import { idParam } from '../schemas.js';
import { SESSION_COOKIE, assertSameOrigin, cookieOptions, newPortalToken, openPortalSession } from '../session.js';
import { describeSession } from './session.js';

/** The bounds of a portal session's ttl: long enough to do something, short enough to be a visit. */
export const PORTAL_TTL_MIN_MS = 60_000;
export const PORTAL_TTL_MAX_MS = 24 * 3_600_000;
export const PORTAL_TTL_DEFAULT = '1h';
/** How long a link may wait before it is opened (or its ttl, if shorter): it is meant to be opened at once. */
export const PORTAL_LINK_TTL_MS = 5 * 60_000;
/** Where the dashboard's page that opens a link is. */
export const PORTAL_PATH = '/portal';

const linkRefused = () => new ApiError(401, 'unauthorized', 'this portal link is not valid: it was opened already, or it expired. Ask for a new one.');

export default async function portal(fastify: FastifyInstance, { store, clock, config }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  const base = (request: FastifyRequest) => config.publicUrl ?? `${request.protocol}://${request.host}`;

  app.post('/v2/accounts/:account_id/portal_sessions/', {
    schema: {
      tags: ['operator'],
      description: `A link that signs a browser in to the account's dashboard (in an iframe of an origin HOOKLINE_PORTAL_FRAME_ANCESTORS lists, or on its own). One use, to be opened within ${PORTAL_LINK_TTL_MS / 60_000} minutes; the session ends at expires_at.`,
      params: idParam('account_id'),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          ttl: { type: 'string', maxLength: 32, default: PORTAL_TTL_DEFAULT, description: 'How long the session lasts, from 1m to 24h (like 15m, 1h, 90s).' },
          read_only: { type: 'boolean', default: false, description: 'The session can look and change nothing: its POST, PATCH and DELETE answer 403, and the dashboard hides them.' },
        },
      },
      response: { 201: ref('PortalSession') },
    },
    config: { audit: 'portal_session.created', operatorOnly: true },
  }, async (request, reply) => {
    const { account_id } = request.params;
    const { ttl = PORTAL_TTL_DEFAULT, read_only = false } = request.body;
    let ttlMs: number;
    try {
      ttlMs = parseDuration(ttl);
    } catch (err) {
      throw badRequest(`ttl: ${(err as Error).message}`);
    }
    if (ttlMs < PORTAL_TTL_MIN_MS || ttlMs > PORTAL_TTL_MAX_MS) throw badRequest(`ttl must be from 1m to 24h, got "${ttl}"`);
    if (!(await store.getAccount(account_id))) throw notFound(`account ${account_id}`);
    const now = clock.now();
    const token = newPortalToken();
    const expires = now + ttlMs;
    await store.createPortalToken(token.hash, {
      apiKeyId: request.apiKeyId!,
      accountId: account_id,
      readOnly: read_only,
      created: now,
      expires: now + Math.min(PORTAL_LINK_TTL_MS, ttlMs),
      sessionExpires: expires,
    });
    noteAudit(request, { accountId: account_id, targetType: 'account', targetId: account_id });
    reply.header('cache-control', 'no-store');
    return reply.code(201).send({ url: `${base(request)}${PORTAL_PATH}#${token.value}`, expires_at: jwpMicros(expires) });
  });

  app.post('/ui/portal', {
    schema: {
      tags: ['dashboard'],
      security: [],
      description: "Opens a portal link: the dashboard's /portal page sends the token of its fragment here, once.",
      body: {
        type: 'object',
        required: ['token'],
        additionalProperties: false,
        properties: { token: { type: 'string', minLength: 1, maxLength: 128 } },
      },
      response: { 201: ref('Session') },
    },
  }, async (request, reply) => {
    // As for signing in: no session yet, so a request from another site's page is refused by origin.
    assertSameOrigin(request);
    const now = clock.now();
    const opened = await openPortalSession(store, request.body.token, now);
    if (!opened) throw linkRefused();
    reply.header('cache-control', 'no-store');
    reply.setCookie(SESSION_COOKIE, opened.cookieValue, cookieOptions(config, request, opened.session.expires - now));
    return reply.code(201).send(await describeSession(store, opened.session));
  });
}
