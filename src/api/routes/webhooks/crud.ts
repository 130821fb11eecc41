// JWP's webhook resource: POST/GET /v2/webhooks/, GET/PATCH/DELETE /v2/webhooks/{id}/.
// The secret is shown once, in the create response (and a new one in a rotation's: see
// actions.ts); it is stored sealed. Hookline's own fields (status, max_in_flight, rate_limit,
// ordering) sit at the top level, outside `metadata`, so that JWP's fields stay as they are. The
// webhook's own request headers (`headers`, headers.ts) are sealed like the secret; no answer
// shows their values, not even the create's (the caller has just sent them).
// The contract: docs/jwp-api.md.
import type { FastifyInstance } from 'fastify';
import { isOperational } from '../../../catalog/operational.js';
import { ID_PATTERN, randomId } from '../../../ids.js';
import { MASK } from '../../../security/custom-headers.js';
import { generateSecret } from '../../../signing/standard.js';
import type { Webhook, WebhookChanges } from '../../../store/types.js';
import { requireAccount, visibleAccount } from '../../auth.js';
import type { ApiContext } from '../../context.js';
import { ApiError, notFound } from '../../errors.js';
import { FieldProblems } from '../../field-errors.js';
import { idParam, noContent, pageQuery } from '../../schemas.js';
import { ordering, ref, type ApiTypeProvider } from '../../components.js';
import { checkHeaders, headersProperty } from './headers.js';
import { healthOf, metadataProperties, visibleWebhook, WEBHOOK_FIELDS, webhookJson } from './shared.js';

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
    ordering,
    headers: headersProperty,
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
    ordering,
    headers: headersProperty,
  },
} as const;

/** What checkFields reads of a create's or an update's body, as the schema lets it through. */
interface CheckedFields {
  metadata?: { webhook_url?: string; site_ids?: readonly string[]; events?: readonly string[] };
  max_in_flight?: number | null;
}

export default async function webhookCrud(fastify: FastifyInstance, { store, secrets, clock, config, guard }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();

  function checkUrl(problems: FieldProblems, raw: string): void {
    const field = 'metadata.webhook_url';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return problems.add(field, `metadata.webhook_url "${raw}" is not a URL`);
    }
    const allowed = config.dev ? ['https:', 'http:'] : ['https:'];
    if (!allowed.includes(url.protocol)) {
      return problems.add(field, `metadata.webhook_url must be ${config.dev ? 'an http or https' : 'an https'} URL`);
    }
    const refusal = guard.urlRefusal(url);
    if (refusal) problems.add(field, `metadata.webhook_url: ${refusal}; deliveries may not reach it (HOOKLINE_ALLOWED_TARGETS can open it)`);
  }

  async function checkSites(problems: FieldProblems, accountId: string, siteIds: readonly string[]): Promise<void> {
    for (const id of siteIds) {
      const site = await store.getSite(id);
      if (!site || site.accountId !== accountId) return problems.add('metadata.site_ids', `metadata.site_ids: property ${id} does not exist in this account`);
    }
  }

  /**
   * What the schema cannot say, for the fields it let through: the URL, the properties, the cap,
   * and that JWP's events need a property (operational events alone need none). `current`: the
   * webhook being updated, whose values stand for the fields the update leaves out.
   */
  async function checkFields(problems: FieldProblems, accountId: string, body: CheckedFields, current?: Webhook): Promise<void> {
    const m = problems.about('metadata') ? undefined : body.metadata;
    if (!problems.about('max_in_flight') && body.max_in_flight != null && body.max_in_flight > config.webhookMaxInFlightLimit) {
      problems.add('max_in_flight', `max_in_flight must be at most ${config.webhookMaxInFlightLimit} (this node's HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT), got ${body.max_in_flight}`);
    }
    if (m?.webhook_url !== undefined && !problems.about('metadata.webhook_url')) checkUrl(problems, m.webhook_url);
    if (m?.site_ids !== undefined && !problems.about('metadata.site_ids')) await checkSites(problems, accountId, m.site_ids);
    if (problems.about('metadata.site_ids') || problems.about('metadata.events')) return;
    const siteIds = m?.site_ids ?? current?.siteIds ?? [];
    const events = m?.events ?? current?.events ?? [];
    if (siteIds.length === 0 && events.some((e) => !isOperational(e))) {
      problems.add('metadata.site_ids', `metadata.site_ids must name at least one property for JWP's events (only a webhook with nothing but operational events may have none)`);
    }
  }

  app.post('/v2/webhooks/', {
    // A refusal lists every bad field: the handler asks for each (src/api/field-errors.ts).
    attachValidation: true,
    schema: { tags: ['webhooks'], body: createBody, response: { 201: ref('Webhook') } },
    config: { audit: 'webhook.created' },
  }, async (request, reply) => {
    const accountId = requireAccount(request);
    const problems = new FieldProblems(WEBHOOK_FIELDS);
    if (request.validationError) problems.checkSchema(request, request.body, createBody);
    await checkFields(problems, accountId, problems.about('') ? {} : request.body);
    const headers = problems.about('') ? undefined : checkHeaders(problems, request.body.headers);
    problems.throwIfAny();
    const body = request.body;
    const m = body.metadata;
    const now = clock.now();
    const webhook: Webhook = {
      id: randomId(), accountId, name: m.name, description: m.description ?? '', webhookUrl: m.webhook_url,
      siteIds: m.site_ids, events: m.events, created: now, lastModified: now,
      status: 'active', disabledReason: null, disabledAt: null, maxInFlight: body.max_in_flight ?? null, rateLimit: body.rate_limit ?? null,
      ordering: body.ordering ?? 'none',
      headerNames: Object.keys(headers ?? {}),
    };
    const secret = generateSecret();
    await store.createWebhook(webhook, secrets.seal(webhook.id, secret), secrets.sealHeaders(webhook.id, headers ?? {}));
    return reply.code(201).send({ ...webhookJson(webhook), secret });
  });

  app.get('/v2/webhooks/', {
    schema: {
      tags: ['webhooks'],
      querystring: {
        type: 'object',
        properties: {
          ...pageQuery,
          sort: { type: 'string', enum: ['created:asc', 'created:dsc', 'created:desc'], default: 'created:dsc' },
          account_id: { type: 'string', pattern: ID_PATTERN, description: "Hookline's, operator only: one account's webhooks." },
          include: {
            type: 'string', enum: ['health'],
            description: "Hookline's: `health` adds each webhook's health (as GET /v2/webhooks/{id}/stats/ answers it), read for the whole page at once.",
          },
        },
      },
      response: { 200: ref('WebhookList') },
    },
  }, async (request) => {
    const q = request.query;
    const own = visibleAccount(request);
    if (own !== null && q.account_id !== undefined && q.account_id !== own) {
      throw new ApiError(403, 'forbidden', 'account_id: an account key lists its own account only');
    }
    const { webhooks: list, total } = await store.listWebhooks(
      own ?? q.account_id ?? null, { page: q.page, pageLength: q.page_length }, q.sort === 'created:asc',
    );
    const health = q.include === 'health' ? await healthOf(store, list.map((w) => w.id), clock.now()) : undefined;
    const webhooks = list.map((w, i) => (health ? { ...webhookJson(w), health: health[i] } : webhookJson(w)));
    return { webhooks, page: q.page, page_length: q.page_length, total };
  });

  app.get('/v2/webhooks/:webhook_id/', {
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), response: { 200: ref('Webhook') } },
  }, async (request) => {
    const { webhook_id } = request.params;
    return webhookJson(await visibleWebhook(store, request, webhook_id));
  });

  app.patch('/v2/webhooks/:webhook_id/', {
    attachValidation: true,
    schema: { tags: ['webhooks'], params: idParam('webhook_id'), body: patchBody, response: { 200: ref('Webhook') } },
    config: { audit: 'webhook.updated' },
  }, async (request) => {
    const accountId = requireAccount(request);
    const { webhook_id } = request.params;
    const current = await visibleWebhook(store, request, webhook_id);
    const problems = new FieldProblems(WEBHOOK_FIELDS);
    if (request.validationError) problems.checkSchema(request, request.body, patchBody);
    await checkFields(problems, accountId, problems.about('') ? {} : request.body, current);
    const given = problems.about('') ? undefined : request.body.headers;
    // The stored values are opened only for an update that sends a mask back.
    const stored = given && Object.values(given).includes(MASK)
      ? secrets.openHeaders(webhook_id, (await store.getWebhookSecrets(webhook_id))?.headers ?? null)
      : {};
    const headers = checkHeaders(problems, given, stored);
    problems.throwIfAny();
    const body = request.body;
    const m = body.metadata ?? {};
    const changes: WebhookChanges = {};
    if (m.name !== undefined) changes.name = m.name;
    if (m.description !== undefined) changes.description = m.description;
    if (m.webhook_url !== undefined) changes.webhookUrl = m.webhook_url;
    if (m.events !== undefined) changes.events = m.events;
    if (m.site_ids !== undefined) changes.siteIds = m.site_ids;
    if (body.max_in_flight !== undefined) changes.maxInFlight = body.max_in_flight;
    if (body.rate_limit !== undefined) changes.rateLimit = body.rate_limit;
    if (body.ordering !== undefined) changes.ordering = body.ordering;
    if (headers) changes.headers = { names: Object.keys(headers), sealed: secrets.sealHeaders(webhook_id, headers) };
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
