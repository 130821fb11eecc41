// Signing in to the dashboard: POST /ui/session trades an API key for a session cookie,
// GET /ui/session says who is signed in (and hands the page its CSRF token), DELETE signs out.
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Store } from '../../store/ports.js';
import type { Session } from '../../store/types.js';
import { jwpMicros } from '../../time.js';
import { findKey } from '../auth.js';
import { ApiError } from '../errors.js';
import { SESSION_COOKIE, assertCsrf, assertSameOrigin, closeSession, cookieOptions, openSession, sessionOf } from '../session.js';
import type { ApiContext } from '../context.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { noContent } from '../schemas.js';

const signedOut = () => new ApiError(401, 'unauthorized', 'not signed in');

/** What GET /ui/session says of a session: who, until when, and the CSRF token to send. */
export async function describeSession(store: Store, s: Session) {
  const account = s.accountId === null ? null : await store.getAccount(s.accountId);
  return {
    role: s.accountId === null ? 'operator' as const : 'account' as const,
    account: account ? { id: account.id, name: account.name } : null,
    csrf_token: s.csrfToken,
    expires: jwpMicros(s.expires),
    portal: s.portal,
    read_only: s.readOnly,
  };
}

export default async function session(fastify: FastifyInstance, { store, clock, config }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  const describe = (s: Session) => describeSession(store, s);

  app.post('/ui/session', {
    schema: {
      tags: ['dashboard'],
      security: [],
      body: {
        type: 'object',
        required: ['api_key'],
        additionalProperties: false,
        properties: { api_key: { type: 'string', minLength: 1, maxLength: 512 } },
      },
      response: { 201: ref('Session') },
    },
  }, async (request, reply) => {
    // No session yet, so no token to check: a sign-in from another site's page is refused by origin.
    assertSameOrigin(request);
    const key = await findKey(store, request.body.api_key);
    if (!key) throw new ApiError(401, 'unauthorized', 'api_key: this API key is not valid');
    const { cookieValue, session: opened } = await openSession(store, key, clock.now(), config.sessionTtlMs);
    reply.setCookie(SESSION_COOKIE, cookieValue, cookieOptions(config, request, config.sessionTtlMs));
    return reply.code(201).send(await describe(opened));
  });

  app.get('/ui/session', { schema: { tags: ['dashboard'], security: [], response: { 200: ref('Session') } } }, async (request, reply) => {
    reply.header('cache-control', 'no-store');
    const current = await sessionOf(store, request, clock.now());
    if (!current) throw signedOut();
    return describe(current);
  });

  app.delete('/ui/session', { schema: { tags: ['dashboard'], security: [], response: { 204: noContent } } }, async (request, reply: FastifyReply) => {
    const current = await sessionOf(store, request, clock.now());
    if (current) {
      assertCsrf(request, current);
      await closeSession(store, request);
    }
    reply.clearCookie(SESSION_COOKIE, cookieOptions(config, request));
    return reply.code(204).send();
  });
}
