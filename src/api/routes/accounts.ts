// Accounts (JWP's customers) and their API keys: the operator's routes. A key's secret is shown
// once, in the create response; lists show ids and names only.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../ids.js';
import { generateApiKey, hashApiKey } from '../../security/keys.js';
import type { Account, ApiKey } from '../../store/types.js';
import { jwpMicros } from '../../time.js';
import { requireOperator } from '../auth.js';
import { noteAudit } from '../audit.js';
import { notFound } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { idParam, nameBody, noContent } from '../schemas.js';
import type { ApiContext } from '../context.js';

const accountJson = (a: Account) => ({ id: a.id, name: a.name, created: jwpMicros(a.created) });
const keyJson = (k: ApiKey) => ({ id: k.id, name: k.name, created: jwpMicros(k.created) });

export default async function accounts(fastify: FastifyInstance, { store, clock }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  app.post('/v2/accounts/', { schema: { tags: ['operator'], body: nameBody, response: { 201: ref('Account') } }, config: { audit: 'account.created', operatorOnly: true } }, async (request, reply) => {
    requireOperator(request);
    const { name } = request.body;
    const account = { id: randomId(), name, created: clock.now() };
    await store.createAccount(account);
    noteAudit(request, { accountId: account.id });
    return reply.code(201).send(accountJson(account));
  });

  app.get('/v2/accounts/', { schema: { tags: ['operator'], response: { 200: ref('AccountList') } }, config: { operatorOnly: true } }, async (request) => {
    requireOperator(request);
    const all = await store.listAccounts();
    return { accounts: all.map(accountJson), total: all.length };
  });

  app.post('/v2/accounts/:account_id/api_keys/', {
    schema: { tags: ['operator'], params: idParam('account_id'), body: nameBody, response: { 201: ref('NewApiKey') } },
    config: { audit: 'api_key.created', operatorOnly: true },
  }, async (request, reply) => {
    requireOperator(request);
    const { account_id } = request.params;
    if (!(await store.getAccount(account_id))) throw notFound(`account ${account_id}`);
    const { name } = request.body;
    const secret = generateApiKey();
    const key = { id: randomId(), accountId: account_id, name, created: clock.now() };
    await store.createApiKey(key, hashApiKey(secret));
    return reply.code(201).send({ id: key.id, name, secret, created: jwpMicros(key.created) });
  });

  app.get('/v2/accounts/:account_id/api_keys/', {
    schema: { tags: ['operator'], description: "The account's live keys, without their secrets.", params: idParam('account_id'), response: { 200: ref('ApiKeyList') } },
    config: { operatorOnly: true },
  }, async (request) => {
    requireOperator(request);
    const { account_id } = request.params;
    if (!(await store.getAccount(account_id))) throw notFound(`account ${account_id}`);
    const keys = await store.listApiKeys(account_id);
    return { api_keys: keys.map(keyJson), total: keys.length };
  });

  app.delete('/v2/accounts/:account_id/api_keys/:key_id/', {
    schema: {
      tags: ['operator'],
      description: 'Revokes the key: from the answer on, no request carrying it is let in, on any node.',
      params: idParam('account_id', 'key_id'),
      response: { 204: noContent },
    },
    config: { audit: 'api_key.revoked', operatorOnly: true },
  }, async (request, reply) => {
    requireOperator(request);
    const { account_id, key_id } = request.params;
    if (!(await store.revokeApiKey(account_id, key_id))) throw notFound(`API key ${key_id} of account ${account_id}`);
    return reply.code(204).send();
  });
}
