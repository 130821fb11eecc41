// Who is calling: the operator (the platform), or one account through its API key.
// JWP's clients send `Authorization: Bearer <secret>` or the bare secret; both work. A browser
// signed in to the dashboard sends its session cookie instead (see session.ts), and the header
// wins when both come.
//
// Keys are looked up by their SHA-256 on every request, with no cache: a revoked key is gone
// from the store, so it stops working at once on every node. The only comparison is the
// store's index lookup on the hash, which reveals nothing about the key (finding a key from
// how its hash compares would need SHA-256 preimages), so there is no secret compared in code.
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/keys.js';
import type { ApiKey } from '../store/types.js';
import type { RateLimits, Store } from '../store/ports.js';
import type { Clock } from '../time.js';
import { ApiError } from './errors.js';
import { SAFE_METHODS, assertCsrf, sessionOf } from './session.js';
import { SharedRateLimit } from './shared-rate-limit.js';

export type Principal = { kind: 'operator' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
    /** The API key that let the request in: audit entries and rate limits name it. */
    apiKeyId: string | null;
    /**
     * The dashboard session whose cookie let the request in (its id, the cookie's hash); null
     * when an Authorization header did. Its requests count against the session's own budget.
     */
    sessionId: string | null;
    /** Let in by a portal session's cookie (routes/portal.ts); `readOnly` when it may only read. */
    portal: { readOnly: boolean } | null;
  }
  interface FastifyContextConfig {
    /** Which per-key budget a route draws on; management unless it says otherwise. */
    rateLimitClass?: RateLimitClass;
    /** Account keys get 403 before anything else is looked at (the body included). */
    operatorOnly?: boolean;
  }
}

const unauthorized = (why: string) => new ApiError(401, 'unauthorized', why);

/**
 * Every route asks for a key unless its schema says it needs none (`security: []`, which the
 * OpenAPI document shows too). The decision is the matched route's, never the raw request line:
 * the router decodes `/%762/` into `/v2/`, so a test of `request.url` would let it through.
 * A request that matched no route reaches no handler, and gets its 404 without a key.
 */
function needsKey(request: FastifyRequest): boolean {
  if (request.is404) return false;
  // FastifySchema does not list the OpenAPI `security` field that routes add to their schema.
  const security = (request.routeOptions.schema as { security?: unknown[] } | undefined)?.security;
  return !(Array.isArray(security) && security.length === 0);
}

/** The API proper (`/v2/…`, as matched by the router): what rate limits and the audit log cover. */
export function isApiRoute(request: FastifyRequest): boolean {
  return !request.is404 && (request.routeOptions.url?.startsWith('/v2/') ?? false);
}

export const principalOf = (accountId: string | null): Principal =>
  accountId === null ? { kind: 'operator' } : { kind: 'account', accountId };

/** The stored key behind a raw API key, as sent in the header or typed into the sign-in form. */
export async function findKey(store: Store, raw: string): Promise<ApiKey | undefined> {
  const key = raw.replace(/^Bearer\s+/i, '').trim();
  return key ? store.findApiKey(hashApiKey(key)) : undefined;
}

export function installAuth(app: FastifyInstance, store: Store, clock: Clock): void {
  /** The key the request comes with: in its Authorization header, else behind its session cookie. */
  async function callerOf(request: FastifyRequest): Promise<Pick<ApiKey, 'accountId'> & { apiKeyId: string; sessionId: string | null; portal: { readOnly: boolean } | null }> {
    const header = request.headers.authorization;
    if (header) {
      const found = await findKey(store, header);
      if (!found) throw unauthorized('invalid API key');
      return { apiKeyId: found.id, accountId: found.accountId, sessionId: null, portal: null };
    }
    const session = await sessionOf(store, request, clock.now());
    if (!session) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    assertCsrf(request, session);
    // Before anything else is looked at, as for operatorOnly: a read-only session changes nothing.
    if (session.readOnly && !SAFE_METHODS.has(request.method)) throw new ApiError(403, 'forbidden', 'this dashboard session is read-only: it can look, not change');
    return { apiKeyId: session.apiKeyId, accountId: session.accountId, sessionId: session.idHash, portal: session.portal ? { readOnly: session.readOnly } : null };
  }

  app.decorateRequest('principal', null as never);
  app.decorateRequest('apiKeyId', null);
  app.decorateRequest('sessionId', null);
  app.decorateRequest('portal', null);
  app.addHook('onRequest', async (request) => {
    if (!needsKey(request)) return;
    const caller = await callerOf(request);
    request.principal = principalOf(caller.accountId);
    request.apiKeyId = caller.apiKeyId;
    request.sessionId = caller.sessionId;
    request.portal = caller.portal;
    if (request.routeOptions.config.operatorOnly) requireOperator(request);
  });
}

export type RateLimitClass = 'management' | 'intake';

/** The budgets requests count against: an API key's, per class of route, or a dashboard session's. */
export type Budget = RateLimitClass | 'session';

/**
 * Requests per minute per API key, counted after authentication (so per key, not per address):
 * in the counters the nodes share when the store has them (PostgreSQL: shared-rate-limit.ts),
 * else in this process's memory. 429 with Retry-After. A request the dashboard's session cookie
 * let in counts against that session's budget, never against its key's: a key used by a script
 * keeps its limit whatever the dashboard does.
 */
export async function installRateLimit(app: FastifyInstance, perMinute: Record<Budget, number>, shared: RateLimits | null, clock: Clock): Promise<void> {
  const classOf = (request: FastifyRequest): RateLimitClass => request.routeOptions.config.rateLimitClass ?? 'management';
  const budgetOf = (request: FastifyRequest): Budget => (request.sessionId ? 'session' : classOf(request));
  await app.register(rateLimit, {
    global: true,
    ...(shared ? { store: new SharedRateLimit(shared, clock, app.log).store() } : {}),
    timeWindow: 60_000,
    max: (request) => perMinute[budgetOf(request)],
    // Unauthenticated requests never get here for /v2/ (auth answers 401 first).
    allowList: (request) => !isApiRoute(request) || perMinute[budgetOf(request)] === 0,
    keyGenerator: (request) => (request.sessionId ? `session:${request.sessionId}` : `${classOf(request)}:${request.apiKeyId ?? request.ip}`),
    addHeadersOnExceeding: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true },
    addHeaders: { 'x-ratelimit-limit': true, 'x-ratelimit-remaining': true, 'x-ratelimit-reset': true, 'retry-after': true },
    errorResponseBuilder: (request, context) => {
      const budget = budgetOf(request);
      const whose = budget === 'session' ? 'this dashboard session' : 'this API key';
      return new ApiError(429, 'rate_limited', `too many requests for ${whose}: at most ${context.max} a minute${budget === 'intake' ? ' for event intake' : ''}; retry in ${Math.max(1, Math.ceil(context.ttl / 1000))} s (Retry-After)`);
    },
  });
}

export function requireOperator(request: FastifyRequest): void {
  if (request.principal.kind !== 'operator') throw new ApiError(403, 'forbidden', 'this route needs the operator key');
}

export function requireAccount(request: FastifyRequest): string {
  if (request.principal.kind !== 'account') throw new ApiError(403, 'forbidden', 'this route needs an account API key');
  return request.principal.accountId;
}

/** The account whose data the caller may see; null means every account (the operator). */
export function visibleAccount(request: FastifyRequest): string | null {
  return request.principal.kind === 'account' ? request.principal.accountId : null;
}
