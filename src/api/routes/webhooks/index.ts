// The webhook resource, one plugin: JWP's create/list/get/update/delete (crud.ts), then
// Hookline's actions on one webhook (actions.ts). Its delivery log is a resource of its own
// (../deliveries.ts); what they all share is in shared.ts.
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../../context.js';
import webhookActions from './actions.js';
import webhookCrud from './crud.js';

export default async function webhooks(app: FastifyInstance, context: ApiContext) {
  await app.register(webhookCrud, context);
  await app.register(webhookActions, context);
}
