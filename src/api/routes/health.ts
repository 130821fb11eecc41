// /healthz: the process answers. /readyz: it can do its work, which needs the database; a
// load balancer stops sending requests to a node that answers 503 here.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/ports.js';
import { StoreUnavailable } from '../../store/unavailable.js';

const status = (value: string) => ({ type: 'object', required: ['status'], properties: { status: { type: 'string', const: value } } }) as const;

export default async function health(app: FastifyInstance, { store }: { store: Store }) {
  app.get('/healthz', { schema: { tags: ['health'], security: [], response: { 200: status('ok') } } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'], security: [], response: { 200: status('ready') } } }, async () => {
    try {
      await store.ping?.();
    } catch (err) {
      throw err instanceof StoreUnavailable ? err : new StoreUnavailable(err);
    }
    return { status: 'ready' };
  });
}
