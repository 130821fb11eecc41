// Rows as both stores read them (snake_case columns, times in epoch ms), mapped to the Store's
// types in one place so that SQLite and PostgreSQL answer alike.
import type { IdField } from '../catalog/events.js';
import type { AlertFacts } from '../catalog/operational.js';
import type { Attempt, AuditEntry, Delivery, EventRecord, Session, Webhook } from './types.js';

export type Row = Record<string, any>;

/** What a pending delivery needs of its row and its event's (deliveries d JOIN events e): pendingFrom's columns. */
export const PENDING_COLUMNS = `d.id, d.event_id, d.webhook_id, d.attempts, d.last_chance, d.due_at, d.order_key,
  e.event, e.site_id, e.event_time, e.media_id, e.channel_id, e.thumbnail_id, e.track_id, e.alert, e.traceparent`;

/** What deliveryFrom reads (deliveries d JOIN events e): the row, its event's name and whether it was a test. */
export const DELIVERY_COLUMNS = 'd.*, e.event, e.test';

export const webhookFrom = (r: Row): Webhook => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  description: r.description,
  webhookUrl: r.webhook_url,
  siteIds: JSON.parse(r.site_ids),
  events: JSON.parse(r.events),
  created: r.created,
  lastModified: r.last_modified,
  status: r.status,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  maxInFlight: r.max_in_flight,
  rateLimit: r.rate_limit ?? null,
  headerNames: JSON.parse(r.header_names ?? '[]'),
  ordering: r.ordering ?? 'none',
});

export const deliveryFrom = (r: Row): Delivery => ({
  id: r.id,
  eventId: r.event_id,
  event: r.event,
  webhookId: r.webhook_id,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.status === 'pending' ? r.due_at : null,
  lastStatusCode: r.last_status_code,
  created: r.created,
  lastModified: r.last_modified,
  // 0 or 1 on SQLite, a boolean on PostgreSQL.
  replay: Boolean(r.replay),
  // The event's column (events.test), read with the delivery.
  test: Boolean(r.test),
});

export const idsFrom = (r: Row): Partial<Record<IdField, string>> => {
  const ids: Partial<Record<IdField, string>> = {};
  if (r.media_id !== null) ids.media_id = r.media_id;
  if (r.channel_id !== null) ids.channel_id = r.channel_id;
  if (r.thumbnail_id !== null) ids.thumbnail_id = r.thumbnail_id;
  if (r.track_id !== null) ids.track_id = r.track_id;
  return ids;
};

/** events.alert: what an operational event says of its subject, as JSON; NULL for JWP's events. */
export const alertJson = (a: AlertFacts | undefined): string | null =>
  a ? JSON.stringify({ subject_webhook_id: a.subjectWebhookId, subject_webhook_url: a.subjectWebhookUrl, reason: a.reason, failures: a.failures }) : null;

export const alertFrom = (json: string | null): AlertFacts | undefined => {
  if (json === null || json === undefined) return undefined;
  const a = JSON.parse(json);
  return { subjectWebhookId: a.subject_webhook_id, subjectWebhookUrl: a.subject_webhook_url, reason: a.reason, failures: a.failures };
};

/** The facts a delivery's body is made of, from a row with the event's columns. */
export const factsFrom = (r: Row) => {
  const alert = alertFrom(r.alert);
  return {
    event: r.event as string, siteId: r.site_id as string, eventTime: r.event_time as number, ids: idsFrom(r),
    ...(alert ? { alert } : {}), ...(typeof r.traceparent === 'string' ? { traceparent: r.traceparent } : {}),
  };
};

export const eventFrom = (r: Row): EventRecord => ({ id: r.id, created: r.created, ...factsFrom(r) });

/** An attempt's headers as their column keeps them: JSON, or NULL. */
export const jsonOrNull = (headers: Record<string, string> | null | undefined): string | null => (headers ? JSON.stringify(headers) : null);

export const attemptFrom = (r: Row): Attempt => ({
  attemptedAt: r.attempted_at,
  statusCode: r.status_code,
  durationMs: r.duration_ms,
  error: r.error,
  responseBody: r.response_body,
  requestHeaders: r.request_headers == null ? null : JSON.parse(r.request_headers),
  responseHeaders: r.response_headers == null ? null : JSON.parse(r.response_headers),
});

export const auditFrom = (r: Row): AuditEntry => ({
  id: r.id, accountId: r.account_id, actor: r.actor, keyId: r.key_id, action: r.action,
  targetType: r.target_type, targetId: r.target_id, ip: r.ip, created: r.created,
});

/** An API key or a site: both belong to an account and have a name. */
export const ownedFrom = (r: Row) => ({ id: r.id, accountId: r.account_id, name: r.name, created: r.created });

/** A session row with its account (the portal's, else its key's) and whether a portal link opened it. */
export const sessionFrom = (r: Row): Session => ({
  apiKeyId: r.api_key_id,
  accountId: r.account_id,
  csrfToken: r.csrf_token,
  created: Number(r.created),
  expires: Number(r.expires),
  // 0 or 1 on SQLite, a boolean on PostgreSQL.
  portal: Boolean(r.portal),
  readOnly: Boolean(r.read_only),
});
