// Accounts (JWP's customers) and their API keys: the operator's routes.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../ids.js';
import { generateApiKey, hashApiKey } from '../../security/keys.js';
import type { Account } from '../../store/types.js';
import { jwpMicros } from '../../time.js';
import { requireOperator } from '../auth.js';
import { notFound } from '../errors.js';
import { idParam, nameBody } from '../schemas.js';
import type { ApiContext } from '../app.js';

const accountJson = (a: Account) => ({ id: a.id, name: a.name, created: jwpMicros(a.created) });

export default async function accounts(app: FastifyInstance, { store, clock }: ApiContext) {
  app.post('/v2/accounts/', { schema: { tags: ['operator'], body: nameBody } }, async (request, reply) => {
    requireOperator(request);
    const { name } = request.body as { name: string };
    const account = { id: randomId(), name, created: clock.now() };
    await store.createAccount(account);
    return reply.code(201).send(accountJson(account));
  });

  app.get('/v2/accounts/', { schema: { tags: ['operator'] } }, async (request) => {
    requireOperator(request);
    const all = await store.listAccounts();
    return { accounts: all.map(accountJson), total: all.length };
  });

  app.post('/v2/accounts/:account_id/api_keys/', {
    schema: { tags: ['operator'], params: idParam('account_id'), body: nameBody },
  }, async (request, reply) => {
    requireOperator(request);
    const { account_id } = request.params as { account_id: string };
    if (!(await store.getAccount(account_id))) throw notFound(`account ${account_id}`);
    const { name } = request.body as { name: string };
    const secret = generateApiKey();
    const key = { id: randomId(), accountId: account_id, name, created: clock.now() };
    await store.createApiKey(key, hashApiKey(secret));
    return reply.code(201).send({ id: key.id, name, secret, created: jwpMicros(key.created) });
  });
}
