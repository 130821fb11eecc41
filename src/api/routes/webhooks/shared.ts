// What the webhook routes, and the delivery log (whose deliveries each belong to a webhook),
// share: the webhook's JSON (its schema is components.ts's Webhook), the metadata's fields, and finding a webhook the caller may see. Not a
// route plugin itself, so that route files import it and never each other.
import type { FastifyRequest } from 'fastify';
import { SUBSCRIBABLE_EVENT_NAMES } from '../../../catalog/operational.js';
import { ID_PATTERN } from '../../../ids.js';
import { maskedHeaders } from '../../../security/custom-headers.js';
import type { Store } from '../../../store/ports.js';
import type { Delivery, Webhook } from '../../../store/types.js';
import { jwpMicros } from '../../../time.js';
import { visibleAccount } from '../../auth.js';
import { notFound } from '../../errors.js';

export const metadataProperties = {
  name: { type: 'string', minLength: 1, maxLength: 255 },
  description: { type: 'string', maxLength: 2000 },
  webhook_url: { type: 'string', minLength: 1, maxLength: 2048 },
  site_ids: {
    type: 'array', maxItems: 100, uniqueItems: true, items: { type: 'string', pattern: ID_PATTERN },
    description: "At least one for JWP's events; empty only when the webhook subscribes to operational events alone.",
  },
  events: {
    type: 'array', minItems: 1, maxItems: SUBSCRIBABLE_EVENT_NAMES.length, uniqueItems: true, items: { type: 'string', enum: SUBSCRIBABLE_EVENT_NAMES },
    description: "JWP's 13 events, and Hookline's operational events (webhook_failing, webhook_disabled, webhook_recovered).",
  },
} as const;

/** The resource's fields in their order: a refusal lists the bad ones in it (src/api/field-errors.ts). */
export const WEBHOOK_FIELDS = [
  '', 'metadata', 'metadata.name', 'metadata.description', 'metadata.webhook_url', 'metadata.site_ids', 'metadata.events',
  'status', 'max_in_flight', 'rate_limit', 'ordering', 'headers',
] as const;

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
    ordering: w.ordering,
    account_id: w.accountId,
    headers: maskedHeaders(w.headerNames),
  };
}

export const deliveryJson = (d: Delivery) => ({
  id: d.id,
  event_id: d.eventId,
  event: d.event,
  webhook_id: d.webhookId,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: d.nextAttemptAt === null ? null : jwpMicros(d.nextAttemptAt),
  last_status_code: d.lastStatusCode,
  created: jwpMicros(d.created),
  last_modified: jwpMicros(d.lastModified),
  // Hookline's replay (POST /v2/webhooks/{id}/replay/) made it, not intake.
  replay: d.replay,
  // A webhook's test event (POST /v2/webhooks/{id}/test/), not one the platform reported.
  test: d.test,
});

/** The window of the success rate the Webhooks page shows. */
const HEALTH_WINDOW_MS = 24 * 3_600_000;

/**
 * Each webhook's health, in the order given: its deliveries of the last 24 hours by status,
 * their success rate, and its newest attempted delivery (GET …/stats/, and the list's
 * `include=health`), read for all of them at once.
 */
export async function healthOf(store: Store, webhookIds: readonly string[], now: number) {
  const since = now - HEALTH_WINDOW_MS;
  const stats = await store.webhookStats(webhookIds, since);
  return webhookIds.map((id) => {
    const { pending, succeeded, failed, lastAttempted } = stats.get(id)!;
    return {
      since: jwpMicros(since),
      deliveries: { pending, succeeded, failed },
      // Of the deliveries that have finished; pending ones have not had their say yet.
      success_rate: succeeded + failed === 0 ? null : succeeded / (succeeded + failed),
      last_delivery: lastAttempted ? deliveryJson(lastAttempted) : null,
    };
  });
}

/** Loads a webhook the caller may see; another account's answers 404, as if it did not exist. */
export async function visibleWebhook(store: Store, request: FastifyRequest, id: string): Promise<Webhook> {
  const webhook = await store.getWebhook(id);
  const account = visibleAccount(request);
  if (!webhook || (account !== null && webhook.accountId !== account)) throw notFound(`webhook ${id}`);
  return webhook;
}
