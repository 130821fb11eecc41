// GET /metrics: Prometheus's text format, for the operator's key (src/metrics.ts says what is in it).
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export default async function metrics(app: FastifyInstance, { metrics }: Pick<ApiContext, 'metrics'>) {
  app.get('/metrics', {
    schema: {
      tags: ['health'],
      description: 'Delivery metrics in Prometheus text format (operator key).',
      response: { 200: { description: 'Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
    config: { operatorOnly: true },
  }, async (_request, reply) => {
    const text = await metrics.render();
    return reply.type(metrics.registry.contentType).send(text);
  });
}
