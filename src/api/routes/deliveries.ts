// The delivery log: each (event, webhook) pair, its attempts, and a manual retry.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SUBSCRIBABLE_EVENT_NAMES } from '../../catalog/operational.js';
import { payloadBody } from '../../catalog/payload.js';
import type { Attempt, Delivery } from '../../store/types.js';
import { DELIVERY_ID } from '../../ids.js';
import { jwpMicros } from '../../time.js';
import { requireAccount } from '../auth.js';
import { notFound } from '../errors.js';
import { historyOf } from '../history.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { idParam, pageQuery } from '../schemas.js';
import type { ApiContext } from '../context.js';
import { deliveryJson, healthOf, visibleWebhook } from './webhooks/shared.js';

const attemptJson = (a: Attempt) => ({
  attempted_at: jwpMicros(a.attemptedAt),
  status_code: a.statusCode,
  duration_ms: a.durationMs,
  error: a.error,
  response_body: a.responseBody,
  request_headers: a.requestHeaders,
  response_headers: a.responseHeaders,
});

const deliveryParam = {
  type: 'object',
  required: ['delivery_id'],
  properties: { delivery_id: { type: 'string', pattern: `^${DELIVERY_ID}$` } },
} as const;

export default async function deliveries(fastify: FastifyInstance, { store, clock }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  async function visibleDelivery(request: FastifyRequest, delivery_id: string): Promise<Delivery> {
    const delivery = await store.getDelivery(delivery_id);
    if (!delivery) throw notFound(`delivery ${delivery_id}`);
    try {
      await visibleWebhook(store, request, delivery.webhookId);
    } catch {
      throw notFound(`delivery ${delivery_id}`);
    }
    return delivery;
  }

  app.get('/v2/webhooks/:webhook_id/deliveries/', {
    schema: {
      tags: ['deliveries'],
      params: idParam('webhook_id'),
      querystring: {
        type: 'object',
        properties: {
          ...pageQuery,
          status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
          event: { type: 'string', enum: SUBSCRIBABLE_EVENT_NAMES },
        },
      },
      response: { 200: ref('DeliveryList') },
    },
  }, async (request) => {
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const q = request.query;
    const { deliveries: list, total } = await store.listDeliveries(
      webhook_id, { status: q.status, event: q.event }, { page: q.page, pageLength: q.page_length },
    );
    return { deliveries: list.map(deliveryJson), page: q.page, page_length: q.page_length, total };
  });

  app.get('/v2/webhooks/:webhook_id/stats/', {
    schema: {
      tags: ['deliveries'],
      description: "The webhook's deliveries of the last 24 hours by status, their success rate, and its newest attempted delivery; "
        + 'with `window`, also its attempts and their success rate per hour (24h) or per UTC day (30d), and the percentiles of their durations.',
      params: idParam('webhook_id'),
      querystring: {
        type: 'object',
        properties: { window: { type: 'string', enum: ['24h', '30d'], description: 'Adds the history over this window; left out, the health alone (cheap enough to poll).' } },
      },
      response: { 200: ref('WebhookStats') },
    },
  }, async (request) => {
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const now = clock.now();
    const { window } = request.query;
    const [[health], history] = await Promise.all([healthOf(store, [webhook_id], now), window && historyOf(store, webhook_id, window, now)]);
    return { webhook_id, ...health!, ...history };
  });

  app.get('/v2/deliveries/:delivery_id/', { schema: { tags: ['deliveries'], params: deliveryParam, response: { 200: ref('DeliveryDetail') } } }, async (request) => {
    const delivery = await visibleDelivery(request, request.params.delivery_id);
    const [attempts, event] = await Promise.all([store.listAttempts(delivery.id, delivery.created), store.getEvent(delivery.eventId)]);
    return {
      ...deliveryJson(delivery),
      attempts: attempts.map(attemptJson),
      // Every attempt sends these bytes; only the signature headers change with time and secret.
      request_body: event ? payloadBody(event, delivery.webhookId) : null,
    };
  });

  app.post('/v2/deliveries/:delivery_id/retry/', {
    schema: { tags: ['deliveries'], params: deliveryParam, response: { 202: ref('Delivery') } },
    config: { audit: 'delivery.retried' },
  }, async (request, reply) => {
    requireAccount(request);
    const delivery = await visibleDelivery(request, request.params.delivery_id);
    await store.retryDelivery(delivery.id, clock.now());
    return reply.code(202).send(deliveryJson((await store.getDelivery(delivery.id))!));
  });
}
