// Properties (JWP's sites). The operator creates them; each caller lists those it may use.
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN, randomId } from '../../ids.js';
import type { Site } from '../../store/types.js';
import { jwpMicros } from '../../time.js';
import { requireOperator, visibleAccount } from '../auth.js';
import { noteAudit } from '../audit.js';
import { badRequest } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import type { ApiContext } from '../context.js';

const siteJson = (s: Site) => ({ id: s.id, name: s.name, account_id: s.accountId, created: jwpMicros(s.created) });

export default async function sites(fastify: FastifyInstance, { store, clock }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  app.post('/v2/sites/', {
    schema: {
      tags: ['operator'],
      body: {
        type: 'object',
        required: ['name', 'account_id'],
        additionalProperties: false,
        properties: { name: { type: 'string', minLength: 1, maxLength: 255 }, account_id: { type: 'string', pattern: ID_PATTERN } },
      },
      response: { 201: ref('Site') },
    },
    config: { audit: 'site.created', operatorOnly: true },
  }, async (request, reply) => {
    requireOperator(request);
    const { name, account_id } = request.body;
    if (!(await store.getAccount(account_id))) throw badRequest(`account_id: account ${account_id} does not exist`);
    const site = { id: randomId(), accountId: account_id, name, created: clock.now() };
    await store.createSite(site);
    noteAudit(request, { accountId: account_id });
    return reply.code(201).send(siteJson(site));
  });

  app.get('/v2/sites/', { schema: { tags: ['properties'], response: { 200: ref('SiteList') } } }, async (request) => {
    const list = await store.listSites(visibleAccount(request));
    return { sites: list.map(siteJson), total: list.length };
  });
}
