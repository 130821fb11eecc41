// Actions on one webhook beyond JWP's resource: rotating its secret, sending it a test event,
// recovering its failed deliveries, and replaying into it the events it never got.
import type { FastifyInstance } from 'fastify';
import { eventType } from '../../../catalog/events.js';
import { isOperational, SUBSCRIBABLE_EVENT_NAMES } from '../../../catalog/operational.js';
import { sampleIds } from '../../../catalog/sample.js';
import { ID_PATTERN } from '../../../ids.js';
import { generateSecret } from '../../../signing/standard.js';
import { requestTrace } from '../../../tracing/index.js';
import { requireAccount } from '../../auth.js';
import { badRequest, notFound } from '../../errors.js';
import { noBodyIsEmpty } from '../../facts.js';
import { idParam, timestamp } from '../../schemas.js';
import { jwpMicros, parseIsoTime } from '../../../time.js';
import type { ApiContext } from '../../context.js';
import { ref, type ApiTypeProvider } from '../../components.js';
import { visibleWebhook, webhookJson } from './shared.js';

const DEFAULT_GRACE_SECONDS = 86_400;
const MAX_GRACE_SECONDS = 30 * 86_400;

/**
 * A replay's `since`: an ISO time with its offset, not in the future, and within the retention
 * window (older events are no longer kept). `code`: invalid_body or invalid_query, where it came.
 */
function replaySince(raw: string, now: number, retentionMs: number, code: string): number {
  const since = parseIsoTime(raw);
  if (since === undefined) throw badRequest(`since: "${raw}" is not an ISO 8601 time with its offset`, code);
  if (since > now) throw badRequest(`since: ${raw} is in the future`, code);
  const oldest = now - retentionMs;
  if (since < oldest) {
    throw badRequest(`since: ${raw} is before the retention window (HOOKLINE_RETENTION): events are kept from ${jwpMicros(oldest)} on`, code);
  }
  return since;
}

export default async function webhookActions(fastify: FastifyInstance, { store, secrets, ingestor, clock, config }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  app.post('/v2/webhooks/:webhook_id/rotate_secret/', {
    preValidation: noBodyIsEmpty,
    schema: {
      tags: ['webhooks'],
      description: 'Replaces the secret. During the grace period deliveries carry the Standard Webhooks signatures of the new '
        + 'and the old secret; the JWT is signed with the new one. 0 stops the old secret at once (a leaked secret).',
      params: idParam('webhook_id'),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          grace_period_seconds: { type: 'integer', minimum: 0, maximum: MAX_GRACE_SECONDS, default: DEFAULT_GRACE_SECONDS },
        },
      },
      response: { 200: ref('Webhook') },
    },
  }, async (request) => {
    requireAccount(request);
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const grace = request.body.grace_period_seconds;
    const now = clock.now();
    const secret = generateSecret();
    const rotated = await store.rotateWebhookSecret(webhook_id, secrets.seal(webhook_id, secret), grace > 0 ? now + grace * 1000 : null, now);
    if (!rotated) throw notFound(`webhook ${webhook_id}`);
    return { ...webhookJson(rotated), secret };
  });

  app.post('/v2/webhooks/:webhook_id/test/', {
    preValidation: noBodyIsEmpty,
    schema: {
      tags: ['webhooks'],
      description: 'Sends one sample event, with generated ids, to this webhook only. It is delivered, retried and logged like any other. '
        + 'An operational event is about the webhook itself, with the reason "a test event".',
      params: idParam('webhook_id'),
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          event: {
            type: 'string', enum: SUBSCRIBABLE_EVENT_NAMES,
            description: "media_available by default; the webhook's first event when it has no property (it subscribes to operational events only).",
          },
          site_id: { type: 'string', pattern: ID_PATTERN, description: "One of the webhook's properties; its first by default. Not for an operational event." },
        },
      },
      response: { 202: ref('TestEvent') },
    },
  }, async (request, reply) => {
    requireAccount(request);
    const { webhook_id } = request.params;
    const webhook = await visibleWebhook(store, request, webhook_id);
    const body = request.body;
    const event = body.event ?? (webhook.siteIds.length > 0 ? 'media_available' : webhook.events[0]!);
    const eventTime = clock.now();
    if (isOperational(event)) {
      if (body.site_id !== undefined) throw badRequest(`site_id: ${event} is about a webhook, not a property`);
      const alert = { subjectWebhookId: webhook.id, subjectWebhookUrl: webhook.webhookUrl, reason: 'a test event', failures: 0 };
      const sent = await ingestor.test(webhook_id, '', { event, eventTime, ids: {}, alert }, requestTrace(request));
      return reply.code(202).send({ id: sent.id, event, site_id: null, webhook_id, deliveries: sent.deliveries });
    }
    const type = eventType(event)!;
    const siteId = body.site_id ?? webhook.siteIds[0];
    if (siteId === undefined) throw badRequest(`site_id: this webhook has no property to send ${event} from; send it one of its operational events`);
    if (!webhook.siteIds.includes(siteId)) throw badRequest(`site_id: property ${siteId} is not one of this webhook's site_ids`);
    const sent = await ingestor.test(webhook_id, siteId, { event: type.name, eventTime, ids: sampleIds(type) }, requestTrace(request));
    return reply.code(202).send({ id: sent.id, event: type.name, site_id: siteId, webhook_id, deliveries: sent.deliveries });
  });

  app.post('/v2/webhooks/:webhook_id/recover/', {
    schema: {
      tags: ['webhooks'],
      description: "Queues the webhook's failed deliveries created since `since` for one more attempt each, oldest first.",
      params: idParam('webhook_id'),
      body: {
        type: 'object',
        required: ['since'],
        additionalProperties: false,
        properties: { since: { ...timestamp, description: 'ISO 8601 with its offset, like 2026-01-31T00:00:00Z' } },
      },
      response: { 202: ref('Recovery') },
    },
    config: { audit: 'webhook.recovered' },
  }, async (request, reply) => {
    requireAccount(request);
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const raw = request.body.since;
    const since = parseIsoTime(raw);
    if (since === undefined) throw badRequest(`since: "${raw}" is not an ISO 8601 time with its offset`);
    const recovered = await store.recoverDeliveries(webhook_id, since, clock.now());
    return reply.code(202).send({ webhook_id, since: jwpMicros(since), recovered });
  });

  app.get('/v2/webhooks/:webhook_id/replay/', {
    schema: {
      tags: ['webhooks'],
      description: 'How many deliveries POST replay/ with this `since` would make now; makes none.',
      params: idParam('webhook_id'),
      querystring: {
        type: 'object',
        required: ['since'],
        properties: { since: { ...timestamp, description: 'ISO 8601 with its offset; write + as %2B in a query string, or use Z' } },
      },
      response: { 200: ref('Replay') },
    },
  }, async (request) => {
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const now = clock.now();
    const since = replaySince(request.query.since, now, config.retentionMs, 'invalid_query');
    return { webhook_id, since: jwpMicros(since), deliveries: await store.replayEvents(webhook_id, since, now, true) };
  });

  app.post('/v2/webhooks/:webhook_id/replay/', {
    schema: {
      tags: ['webhooks'],
      description: 'Sends the webhook, as new deliveries marked `replay`, the events of its properties and subscribed events created '
        + 'since `since` that it has no delivery of (they came before it existed or subscribed), oldest first.',
      params: idParam('webhook_id'),
      body: {
        type: 'object',
        required: ['since'],
        additionalProperties: false,
        properties: { since: { ...timestamp, description: 'ISO 8601 with its offset, within the retention window' } },
      },
      response: { 202: ref('Replay') },
    },
    config: { audit: 'webhook.replayed' },
  }, async (request, reply) => {
    requireAccount(request);
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const now = clock.now();
    const since = replaySince(request.body.since, now, config.retentionMs, 'invalid_body');
    const deliveries = await store.replayEvents(webhook_id, since, now, false);
    return reply.code(202).send({ webhook_id, since: jwpMicros(since), deliveries });
  });
}
