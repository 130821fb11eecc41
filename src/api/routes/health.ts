// /healthz: the process answers. /readyz: it can do its work, which needs the database; a
// load balancer stops sending requests to a node that answers 503 here.
import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/ports.js';
import { StoreUnavailable } from '../../store/unavailable.js';

export default async function health(app: FastifyInstance, { store }: { store: Store }) {
  app.get('/healthz', { schema: { tags: ['health'], security: [] } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { tags: ['health'], security: [] } }, async () => {
    try {
      await store.ping?.();
    } catch (err) {
      throw err instanceof StoreUnavailable ? err : new StoreUnavailable(err);
    }
    return { status: 'ready' };
  });
}
