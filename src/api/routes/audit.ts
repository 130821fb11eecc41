// GET /v2/audit_log/: an account key reads its account's entries; the operator reads them all,
// or one account's with ?account_id=.
import type { FastifyInstance } from 'fastify';
import { ID_PATTERN } from '../../ids.js';
import type { AuditEntry } from '../../store/types.js';
import { jwpMicros } from '../../time.js';
import { visibleAccount } from '../auth.js';
import { ApiError } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { pageQuery } from '../schemas.js';
import type { ApiContext } from '../context.js';

const entryJson = (e: AuditEntry) => ({
  id: e.id,
  created: jwpMicros(e.created),
  account_id: e.accountId,
  actor: e.actor,
  key_id: e.keyId,
  action: e.action,
  target_type: e.targetType,
  target_id: e.targetId,
  ip: e.ip,
});

export default async function audit(fastify: FastifyInstance, { store }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  app.get('/v2/audit_log/', {
    schema: {
      tags: ['audit'],
      description: 'Who (which API key) created, changed, rotated or deleted what, and when; newest first.',
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { ...pageQuery, account_id: { type: 'string', pattern: ID_PATTERN, description: 'Operator only: one account.' } },
      },
      response: { 200: ref('AuditLog') },
    },
  }, async (request) => {
    const q = request.query;
    const own = visibleAccount(request);
    if (own !== null && q.account_id !== undefined && q.account_id !== own) {
      throw new ApiError(403, 'forbidden', 'account_id: an account key reads its own account only');
    }
    const { entries, total } = await store.listAudit(own ?? q.account_id ?? null, { page: q.page, pageLength: q.page_length });
    return { audit_log: entries.map(entryJson), page: q.page, page_length: q.page_length, total };
  });
}
