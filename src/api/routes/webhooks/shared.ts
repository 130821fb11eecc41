// What the webhook routes, and the delivery log (whose deliveries each belong to a webhook),
// share: the webhook's JSON (its schema is components.ts's Webhook), the metadata's fields, and finding a webhook the caller may see. Not a
// route plugin itself, so that route files import it and never each other.
import type { FastifyRequest } from 'fastify';
import { EVENT_NAMES } from '../../../catalog/events.js';
import { ID_PATTERN } from '../../../ids.js';
import type { Store } from '../../../store/ports.js';
import type { Webhook } from '../../../store/types.js';
import { jwpMicros } from '../../../time.js';
import { visibleAccount } from '../../auth.js';
import { notFound } from '../../errors.js';

export const metadataProperties = {
  name: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 2000 },
  webhook_url: { type: 'string', minLength: 1, maxLength: 2048 },
  site_ids: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: ID_PATTERN } },
  events: { type: 'array', minItems: 1, maxItems: EVENT_NAMES.length, uniqueItems: true, items: { type: 'string', enum: EVENT_NAMES } },
} as const;

export function webhookJson(w: Webhook) {
  return {
    id: w.id,
    type: 'webhook' as const,
    created: jwpMicros(w.created),
    last_modified: jwpMicros(w.lastModified),
    relationships: {},
    metadata: { name: w.name, description: w.description, webhook_url: w.webhookUrl, site_ids: w.siteIds, events: w.events },
    status: w.status,
    disabled_reason: w.disabledReason,
    disabled_at: w.disabledAt === null ? null : jwpMicros(w.disabledAt),
    max_in_flight: w.maxInFlight,
    rate_limit: w.rateLimit,
  };
}

/** Loads a webhook the caller may see; another account's answers 404, as if it did not exist. */
export async function visibleWebhook(store: Store, request: FastifyRequest, id: string): Promise<Webhook> {
  const webhook = await store.getWebhook(id);
  const account = visibleAccount(request);
  if (!webhook || (account !== null && webhook.accountId !== account)) throw notFound(`webhook ${id}`);
  return webhook;
}
