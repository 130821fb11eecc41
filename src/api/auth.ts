// Who is calling: the operator (the platform), or one account through its API key.
// JWP's clients send `Authorization: Bearer <secret>` or the bare secret; both work.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { hashApiKey } from '../security/keys.js';
import type { Store } from '../store/types.js';
import { ApiError } from './errors.js';

export type Principal = { kind: 'operator' } | { kind: 'account'; accountId: string };

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const unauthorized = (why: string) => new ApiError(401, 'unauthorized', why);

export function installAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest('principal', null as never);
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/v2/')) return;
    const header = request.headers.authorization;
    if (!header) throw unauthorized('missing Authorization header: send "Authorization: Bearer <api key>"');
    const key = header.replace(/^Bearer\s+/i, '').trim();
    const found = key ? await store.findApiKey(hashApiKey(key)) : undefined;
    if (!found) throw unauthorized('invalid API key');
    request.principal = found.accountId === null ? { kind: 'operator' } : { kind: 'account', accountId: found.accountId };
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
