// JWP's webhook resource: POST/GET /v2/webhooks/, GET/PATCH/DELETE /v2/webhooks/{id}/.
// The secret is shown once, in the create response (and a new one in a rotation's: see
// actions.ts); it is stored sealed. Hookline's own fields (status, max_in_flight, rate_limit) sit
// at the top level, outside `metadata`, so that JWP's fields stay as they are.
// The contract: docs/jwp-api.md.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../../ids.js';
import { generateSecret } from '../../../signing/standard.js';
import type { Webhook, WebhookChanges } from '../../../store/types.js';
import { requireAccount, visibleAccount } from '../../auth.js';
import type { ApiContext } from '../../context.js';
import { badRequest, notFound } from '../../errors.js';
import { idParam, noContent, pageQuery } from '../../schemas.js';
import { ref, type ApiTypeProvider } from '../../components.js';
import { metadataProperties, visibleWebhook, webhookJson } from './shared.js';

const maxInFlight = {
  type: ['integer', 'null'], minimum: 1, maximum: 10_000,
  description: "Attempts in flight at once to this webhook, at most the node's HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT; null: its HOOKLINE_ENDPOINT_MAX_IN_FLIGHT.",
} as const;

const rateLimit = {
  type: ['number', 'null'], exclusiveMinimum: 0, maximum: 100_000, 'x-finite': true,
  description: 'Requests per second to this webhook at most (fractions allowed: 0.5 is one every 2 s), with bursts of up to one second\'s worth; null: no limit.',
} as const;

const createBody = {
  type: 'object',
  required: ['metadata'],
  additionalProperties: false,
  properties: {
    metadata: { type: 'object', required: ['name', 'webhook_url', 'events', 'site_ids'], additionalProperties: false, properties: metadataProperties },
    max_in_flight: maxInFlight,
    rate_limit: rateLimit,
  },
} as const;

const patchBody = {
  type: 'object',
  minProperties: 1,
  additionalProperties: false,
  properties: {
    metadata: { type: 'object', additionalProperties: false, properties: metadataProperties },
    status: { type: 'string', enum: ['active', 'disabled'], description: 'disabled: deliveries are kept and wait; active: they resume.' },
    max_in_flight: maxInFlight,
    rate_limit: rateLimit,
  },
} as const;

export default async function webhookCrud(fastify: FastifyInstance, { store, secrets, clock, config, guard }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();

  function checkUrl(raw: string): string {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw badRequest(`metadata.webhook_url "${raw}" is not a URL`);
    }
    const allowed = config.dev ? ['https:', 'http:'] : ['https:'];
    if (!allowed.includes(url.protocol)) {
      throw badRequest(`metadata.webhook_url must be ${config.dev ? 'an http or https' : 'an https'} URL`);
    }
    const refusal = guard.urlRefusal(url);
    if (refusal) throw badRequest(`metadata.webhook_url: ${refusal}; deliveries may not reach it (HOOKLINE_ALLOWED_TARGETS can open it)`);
    return raw;
  }

  /** A webhook may ask for no more places than the operator allows (the schema holds the hard bound). */
  function checkMaxInFlight(value: number | null | undefined): void {
    if (value != null && value > config.webhookMaxInFlightLimit) {
      throw badRequest(`max_in_flight must be at most ${config.webhookMaxInFlightLimit} (this node's HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT), got ${value}`);
    }
  }

  async function checkSites(accountId: string, siteIds: string[]): Promise<void> {
    for (const id of siteIds) {
      const site = await store.getSite(id);
      if (!site || site.accountId !== accountId) throw badRequest(`metadata.site_ids: property ${id} does not exist in this account`);
    }
  }

  app.post('/v2/webhooks/', {
    schema: { tags: ['webhooks'], body: createBody, response: { 201: ref('Webhook') } },
    config: { audit: 'webhook.created' },
  }, async (request, reply) => {
    const accountId = requireAccount(request);
    const body = request.body;
    const m = body.metadata;
    checkMaxInFlight(body.max_in_flight);
    const webhookUrl = checkUrl(m.webhook_url);
    await checkSites(accountId, m.site_ids);
    const now = clock.now();
    const webhook: Webhook = {
      id: randomId(), accountId, name: m.name, description: m.description ?? '', webhookUrl,
      siteIds: m.site_ids, events: m.events, created: now, lastModified: now,
      status: 'active', disabledReason: null, disabledAt: null, maxInFlight: body.max_in_flight ?? null, rateLimit: body.rate_limit ?? null,
    };
    const secret = generateSecret();
    await store.createWebhook(webhook, secrets.seal(webhook.id, secret));
    return reply.code(201).send({ ...webhookJson(webhook), secret });
  });

  app.get('/v2/webhooks/', {
    schema: {
      tags: ['webhooks'],
      querystring: {
        type: 'object',
        properties: { ...pageQuery, sort: { type: 'string', enum: ['created:asc', 'created:dsc', 'created:desc'], default: 'created:dsc' } },
      },
      response: { 200: ref('WebhookList') },
    },
  }, async (request) => {
    const q = request.query;
    const { webhooks: list, total } = await store.listWebhooks(
      visibleAccount(request), { page: q.page, pageLength: q.page_length }, q.sort === 'created:asc',
    );
    return { webhooks: list.map(webhookJson), page: q.page, page_length: q.page_length, total };
  });

  app.get('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), response: { 200: ref('Webhook') } },
  }, async (request) => {
    const { webhook_id } = request.params;
    return webhookJson(await visibleWebhook(store, request, webhook_id));
  });

  app.patch('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), body: patchBody, response: { 200: ref('Webhook') } },
    config: { audit: 'webhook.updated' },
  }, async (request) => {
    const accountId = requireAccount(request);
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    const body = request.body;
    const m = body.metadata ?? {};
    checkMaxInFlight(body.max_in_flight);
    const changes: WebhookChanges = {};
    if (m.name !== undefined) changes.name = m.name;
    if (m.description !== undefined) changes.description = m.description;
    if (m.webhook_url !== undefined) changes.webhookUrl = checkUrl(m.webhook_url);
    if (m.events !== undefined) changes.events = m.events;
    if (m.site_ids !== undefined) {
      await checkSites(accountId, m.site_ids);
      changes.siteIds = m.site_ids;
    }
    if (body.max_in_flight !== undefined) changes.maxInFlight = body.max_in_flight;
    if (body.rate_limit !== undefined) changes.rateLimit = body.rate_limit;
    if (body.status === 'disabled') Object.assign(changes, { status: 'disabled', disabledReason: 'disabled through the API' });
    if (body.status === 'active') changes.status = 'active';
    const updated = await store.updateWebhook(webhook_id, changes, clock.now());
    if (!updated) throw notFound(`webhook ${webhook_id}`);
    return webhookJson(updated);
  });

  app.delete('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), response: { 204: noContent } },
    config: { audit: 'webhook.deleted' },
  }, async (request, reply) => {
    requireAccount(request);
    const { webhook_id } = request.params;
    await visibleWebhook(store, request, webhook_id);
    await store.deleteWebhook(webhook_id);
    return reply.code(204).send();
  });
}
