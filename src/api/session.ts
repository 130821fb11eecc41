// Dashboard sessions: a browser signs in with an API key once (or opens a portal link, see
// routes/portal.ts) and then holds only an HttpOnly, SameSite=Strict cookie. The cookie's value
// is a random token the server knows by its hash; the API key itself never reaches the browser's
// storage. When HOOKLINE_PORTAL_FRAME_ANCESTORS lets other sites frame the dashboard, the cookie
// is SameSite=None; Secure instead, as a cookie in a cross-site iframe must be.
//
// A cookie is sent by the browser on its own, so requests it authenticates must prove they come
// from the dashboard: unsafe methods need the session's CSRF token in X-CSRF-Token, and must
// not come from another origin (Origin and Sec-Fetch-Site, when the browser sends them).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { hashApiKey } from '../security/keys.js';
import type { ApiKey, Session } from '../store/types.js';
import type { Store } from '../store/ports.js';
import { ApiError } from './errors.js';

export const SESSION_COOKIE = 'hookline_session';
export const CSRF_HEADER = 'x-csrf-token';

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

const token = () => randomBytes(32).toString('base64url');
// The cookie's value is random and long, like an API key: one SHA-256 is enough to store it.
const hashOf = hashApiKey;

/**
 * The session cookie's attributes. Outside development mode the dashboard is expected behind TLS,
 * and the cookie says so (Secure). A dashboard other sites may frame needs SameSite=None, which
 * browsers take only with Secure (they keep Secure cookies of http://localhost and 127.0.0.1
 * too), and Partitioned (CHIPS): browsers that block third-party cookies (Chromium does) still
 * keep one in a cross-site iframe, apart for each top-level site that frames it, so a session
 * opened inside one console is not sent anywhere else.
 */
export function cookieOptions(config: Pick<Config, 'dev' | 'portalFrameAncestors'>, request: FastifyRequest, maxAgeMs?: number): CookieSerializeOptions {
  const framed = config.portalFrameAncestors.length > 0;
  return {
    path: '/',
    httpOnly: true,
    sameSite: framed ? 'none' : 'strict',
    secure: framed || !config.dev || request.protocol === 'https',
    ...(framed ? { partitioned: true } : {}),
    ...(maxAgeMs === undefined ? {} : { maxAge: Math.floor(maxAgeMs / 1000) }),
  };
}

export async function openSession(store: Store, key: ApiKey, now: number, ttlMs: number) {
  await store.purgeSessions(now);
  const cookieValue = token();
  const session = { apiKeyId: key.id, csrfToken: token(), created: now, expires: now + ttlMs };
  await store.createSession(hashOf(cookieValue), session);
  return { cookieValue, session: { ...session, accountId: key.accountId, portal: false, readOnly: false } satisfies Session };
}

/** A portal link's token: random and long like the cookie, kept as its hash. */
export function newPortalToken(): { value: string; hash: string } {
  const value = token();
  return { value, hash: hashOf(value) };
}

/** Opens the portal link whose token is `value`, once: its session and cookie, or undefined. */
export async function openPortalSession(store: Store, value: string, now: number) {
  await store.purgeSessions(now);
  const cookieValue = token();
  const session = await store.openPortalSession(hashOf(value), hashOf(cookieValue), token(), now);
  return session && { cookieValue, session };
}

/** The session the request's cookie belongs to, if it is valid now, with its id (the cookie's hash). */
export async function sessionOf(store: Store, request: FastifyRequest, now: number): Promise<(Session & { idHash: string }) | undefined> {
  const value = request.cookies[SESSION_COOKIE];
  if (!value) return undefined;
  const idHash = hashOf(value);
  const session = await store.findSession(idHash, now);
  return session && { ...session, idHash };
}

export async function closeSession(store: Store, request: FastifyRequest): Promise<void> {
  const value = request.cookies[SESSION_COOKIE];
  if (value) await store.deleteSession(hashOf(value));
}

const csrfRefused = (why: string) => new ApiError(403, 'csrf_failed', why);

/** Refuses a request that a page of another site could have made the browser send. */
export function assertSameOrigin(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw csrfRefused(`cross-site request refused (Sec-Fetch-Site: ${site})`);
  const origin = request.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw csrfRefused(`cross-site request refused (Origin: ${origin})`);
  }
  if (host !== request.host) throw csrfRefused(`cross-site request refused (Origin: ${origin})`);
}

/** For cookie-authenticated requests: unsafe methods need the same origin and the CSRF token. */
export function assertCsrf(request: FastifyRequest, session: Session): void {
  if (SAFE_METHODS.has(request.method)) return;
  assertSameOrigin(request);
  const sent = request.headers[CSRF_HEADER];
  const given = Buffer.from(typeof sent === 'string' ? sent : '');
  const expected = Buffer.from(session.csrfToken);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw csrfRefused(`a signed-in dashboard request must carry the session's ${CSRF_HEADER} header`);
  }
}
