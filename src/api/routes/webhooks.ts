// JWP's webhook resource: POST/GET /v2/webhooks/, GET/PATCH/DELETE /v2/webhooks/{id}/.
// The secret is shown once, in the create response (and a new one in a rotation's: see
// webhook-actions.ts); it is stored sealed. Hookline's own fields (status, max_in_flight) sit
// at the top level, outside `metadata`, so that JWP's fields stay as they are.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { EVENT_NAMES } from '../../catalog/events.js';
import { ID_PATTERN, randomId } from '../../ids.js';
import { generateSecret } from '../../signing/standard.js';
import type { Webhook, WebhookChanges, WebhookStatus } from '../../store/types.js';
import type { Store } from '../../store/ports.js';
import { jwpMicros } from '../../time.js';
import { requireAccount, visibleAccount } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { idParam, pageQuery, timestamp } from '../schemas.js';
import type { ApiContext } from '../app.js';

const metadataProperties = {
  name: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 2000 },
  webhook_url: { type: 'string', minLength: 1, maxLength: 2048 },
  site_ids: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: ID_PATTERN } },
  events: { type: 'array', minItems: 1, maxItems: EVENT_NAMES.length, uniqueItems: true, items: { type: 'string', enum: EVENT_NAMES } },
} as const;

const maxInFlight = {
  type: ['integer', 'null'], minimum: 1, maximum: 10_000,
  description: "Attempts in flight at once to this webhook, at most the node's HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT; null: its HOOKLINE_ENDPOINT_MAX_IN_FLIGHT.",
} as const;

const createBody = {
  type: 'object',
  required: ['metadata'],
  additionalProperties: false,
  properties: {
    metadata: { type: 'object', required: ['name', 'webhook_url', 'events', 'site_ids'], additionalProperties: false, properties: metadataProperties },
    max_in_flight: maxInFlight,
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
  },
} as const;

export const webhookSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: { type: 'string', const: 'webhook' },
    created: timestamp,
    last_modified: timestamp,
    relationships: { type: 'object' },
    metadata: { type: 'object', properties: metadataProperties },
    status: { type: 'string', enum: ['active', 'disabled'] },
    disabled_reason: { type: ['string', 'null'] },
    disabled_at: { ...timestamp, type: ['string', 'null'] },
    max_in_flight: { type: ['integer', 'null'] },
    secret: { type: 'string', description: 'Only in the responses to create and to rotate_secret.' },
  },
} as const;

export function webhookJson(w: Webhook) {
  return {
    id: w.id,
    type: 'webhook',
    created: jwpMicros(w.created),
    last_modified: jwpMicros(w.lastModified),
    relationships: {},
    metadata: { name: w.name, description: w.description, webhook_url: w.webhookUrl, site_ids: w.siteIds, events: w.events },
    status: w.status,
    disabled_reason: w.disabledReason,
    disabled_at: w.disabledAt === null ? null : jwpMicros(w.disabledAt),
    max_in_flight: w.maxInFlight,
  };
}

interface MetadataInput {
  name?: string;
  description?: string;
  webhook_url?: string;
  events?: string[];
  site_ids?: string[];
}

/** Loads a webhook the caller may see; another account's answers 404, as if it did not exist. */
export async function visibleWebhook(store: Store, request: FastifyRequest, id: string): Promise<Webhook> {
  const webhook = await store.getWebhook(id);
  const account = visibleAccount(request);
  if (!webhook || (account !== null && webhook.accountId !== account)) throw notFound(`webhook ${id}`);
  return webhook;
}

export default async function webhooks(app: FastifyInstance, { store, secrets, clock, config, guard, dispatcher }: ApiContext) {
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
    schema: { tags: ['webhooks'], body: createBody, response: { 201: webhookSchema } },
    config: { audit: 'webhook.created' },
  }, async (request, reply) => {
    const accountId = requireAccount(request);
    const body = request.body as { metadata: Required<MetadataInput>; max_in_flight?: number | null };
    const m = body.metadata;
    checkMaxInFlight(body.max_in_flight);
    const webhookUrl = checkUrl(m.webhook_url);
    await checkSites(accountId, m.site_ids);
    const now = clock.now();
    const webhook: Webhook = {
      id: randomId(), accountId, name: m.name, description: m.description ?? '', webhookUrl,
      siteIds: m.site_ids, events: m.events, created: now, lastModified: now,
      status: 'active', disabledReason: null, disabledAt: null, maxInFlight: body.max_in_flight ?? null,
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
    },
  }, async (request) => {
    const q = request.query as { page: number; page_length: number; sort: string };
    const { webhooks: list, total } = await store.listWebhooks(
      visibleAccount(request), { page: q.page, pageLength: q.page_length }, q.sort === 'created:asc',
    );
    return { webhooks: list.map(webhookJson), page: q.page, page_length: q.page_length, total };
  });

  app.get('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), response: { 200: webhookSchema } },
  }, async (request) => {
    const { webhook_id } = request.params as { webhook_id: string };
    return webhookJson(await visibleWebhook(store, request, webhook_id));
  });

  app.patch('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), body: patchBody, response: { 200: webhookSchema } },
    config: { audit: 'webhook.updated' },
  }, async (request) => {
    const accountId = requireAccount(request);
    const { webhook_id } = request.params as { webhook_id: string };
    await visibleWebhook(store, request, webhook_id);
    const body = request.body as { metadata?: MetadataInput; status?: WebhookStatus; max_in_flight?: number | null };
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
    if (body.status === 'disabled') Object.assign(changes, { status: 'disabled', disabledReason: 'disabled through the API' });
    if (body.status === 'active') changes.status = 'active';
    const updated = await store.updateWebhook(webhook_id, changes, clock.now());
    secrets.forget(webhook_id);
    if (!updated) throw notFound(`webhook ${webhook_id}`);
    if (updated.status === 'active') dispatcher.wake();
    return webhookJson(updated);
  });

  app.delete('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), response: { 204: { type: 'null' } } },
    config: { audit: 'webhook.deleted' },
  }, async (request, reply) => {
    requireAccount(request);
    const { webhook_id } = request.params as { webhook_id: string };
    await visibleWebhook(store, request, webhook_id);
    await store.deleteWebhook(webhook_id);
    secrets.forget(webhook_id);
    return reply.code(204).send();
  });
}
