// Who is calling: the operator (the platform), or one account through its API key.
// JWP's clients send `Authorization: Bearer <secret>` or the bare secret; both work. A browser
// signed in to the dashboard sends its session cookie instead (see session.ts), and the header
// wins when both come.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/keys.js';
import type { ApiKey, Store } from '../store/types.js';
import type { Clock } from '../time.js';
import { ApiError } from './errors.js';
import { assertCsrf, sessionOf } from './session.js';

export type Principal = { kind: 'operator' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const unauthorized = (why: string) => new ApiError(401, 'unauthorized', why);

export const principalOf = (accountId: string | null): Principal =>
  accountId === null ? { kind: 'operator' } : { kind: 'account', accountId };

/** The stored key behind a raw API key, as sent in the header or typed into the sign-in form. */
export async function findKey(store: Store, raw: string): Promise<ApiKey | undefined> {
  const key = raw.replace(/^Bearer\s+/i, '').trim();
  return key ? store.findApiKey(hashApiKey(key)) : undefined;
}

export function installAuth(app: FastifyInstance, store: Store, clock: Clock): void {
  /** The key the request comes with: in its Authorization header, else behind its session cookie. */
  async function callerOf(request: FastifyRequest): Promise<Pick<ApiKey, 'accountId'> & { apiKeyId: string }> {
    const header = request.headers.authorization;
    if (header) {
      const found = await findKey(store, header);
      if (!found) throw unauthorized('invalid API key');
      return { apiKeyId: found.id, accountId: found.accountId };
    }
    const session = await sessionOf(store, request, clock.now());
    if (!session) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    assertCsrf(request, session);
    return session;
  }

  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v2/')) return;
    const caller = await callerOf(request);
    request.principal = principalOf(caller.accountId);
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
