// Dashboard sessions: a browser signs in with an API key once and then holds only an HttpOnly,
// SameSite=Strict cookie. The cookie's value is a random token the server knows by its hash;
// the API key itself never reaches the browser's storage.
//
// A cookie is sent by the browser on its own, so requests it authenticates must prove they come
// from the dashboard: unsafe methods need the session's CSRF token in X-CSRF-Token, and must
// not come from another origin (Origin and Sec-Fetch-Site, when the browser sends them).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CookieSerializeOptions } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/keys.js';
import type { ApiKey, Session } from '../store/types.js';
import type { Store } from '../store/ports.js';
import { ApiError } from './errors.js';

export const SESSION_COOKIE = 'hookline_session';
export const CSRF_HEADER = 'x-csrf-token';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const token = () => randomBytes(32).toString('base64url');
// The cookie's value is random and long, like an API key: one SHA-256 is enough to store it.
const hashOf = hashApiKey;

export function cookieOptions(secure: boolean, maxAgeMs?: number): CookieSerializeOptions {
  return {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure,
    ...(maxAgeMs === undefined ? {} : { maxAge: Math.floor(maxAgeMs / 1000) }),
  };
}

export async function openSession(store: Store, key: ApiKey, now: number, ttlMs: number) {
  await store.purgeSessions(now);
  const cookieValue = token();
  const session = { apiKeyId: key.id, csrfToken: token(), created: now, expires: now + ttlMs };
  await store.createSession(hashOf(cookieValue), session);
  return { cookieValue, session: { ...session, accountId: key.accountId } satisfies Session };
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
