// The API's named response shapes: each is registered once on the app (app.ts), routes answer
// with `{ $ref: '<name>' }`, and the OpenAPI document lists them under components.schemas, so that
// the typed client (hookline/client, src/client/) has a type per shape. They also serialize the
// answers (Fastify drops what a schema does not list): every field a route sends is listed here,
// and the fields it always sends are `required`.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import { EVENT_NAMES, ID_FIELDS, type IdField } from '../catalog/events.js';
import { SUBSCRIBABLE_EVENT_NAMES } from '../catalog/operational.js';
import { MASK } from '../security/custom-headers.js';
import { timestamp } from './schemas.js';
import { DeliverySearchPage, HistoryBucket } from './insight-components.js';
import { Channel, Media, MediaRendition, TextTrack, Thumbnail } from './facts-components.js';
import { metadataProperties } from './routes/webhooks/shared.js';

const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const nullable = <T extends string>(type: T) => ({ type: [type, 'null'] }) as const;
const eventName = { type: 'string', enum: EVENT_NAMES } as const;
/** JWP's 13 and Hookline's operational events: what a webhook subscribes to and is sent. */
const subscribableEventName = { type: 'string', enum: SUBSCRIBABLE_EVENT_NAMES } as const;
/** A page of a list: the page asked for, its length and the total across pages. */
const paging = { page: integer, page_length: integer, total: integer } as const;

const ErrorBody = {
  $id: 'Error',
  description: 'JWP\'s error envelope: every refusal, whatever its status.',
  type: 'object',
  required: ['errors'],
  properties: {
    errors: {
      type: 'array',
      items: { type: 'object', required: ['code', 'description'], properties: { code: string, description: string } },
    },
  },
} as const;

const Account = {
  $id: 'Account',
  type: 'object',
  required: ['id', 'name', 'created'],
  properties: { id: string, name: string, created: timestamp },
} as const;

const AccountList = {
  $id: 'AccountList',
  type: 'object',
  required: ['accounts', 'total'],
  properties: { accounts: { type: 'array', items: { $ref: 'Account' } }, total: integer },
} as const;

const ApiKey = {
  $id: 'ApiKey',
  description: 'An account\'s API key, without its secret.',
  type: 'object',
  required: ['id', 'name', 'created'],
  properties: { id: string, name: string, created: timestamp },
} as const;

const NewApiKey = {
  $id: 'NewApiKey',
  type: 'object',
  required: ['id', 'name', 'secret', 'created'],
  properties: { id: string, name: string, secret: { type: 'string', description: 'Shown this once.' }, created: timestamp },
} as const;

const ApiKeyList = {
  $id: 'ApiKeyList',
  type: 'object',
  required: ['api_keys', 'total'],
  properties: { api_keys: { type: 'array', items: { $ref: 'ApiKey' } }, total: integer },
} as const;

const Site = {
  $id: 'Site',
  description: 'A property (JWP\'s site).',
  type: 'object',
  required: ['id', 'name', 'account_id', 'created'],
  properties: { id: string, name: string, account_id: string, created: timestamp },
} as const;

const SiteList = {
  $id: 'SiteList',
  type: 'object',
  required: ['sites', 'total'],
  properties: { sites: { type: 'array', items: { $ref: 'Site' } }, total: integer },
} as const;

/** A webhook's ordering, as the webhook shows it and as a create or an update sets it. */
export const ordering = {
  type: 'string', enum: ['none', 'per_media'],
  description: "Hookline's: per_media sends the deliveries of one media (or live channel) one at a time, in the order their events were committed; a failing one holds back its media's later ones only. none (the default): no order.",
} as const;

const Webhook = {
  $id: 'Webhook',
  type: 'object',
  required: ['id', 'type', 'created', 'last_modified', 'relationships', 'metadata', 'status', 'disabled_reason', 'disabled_at', 'max_in_flight', 'rate_limit', 'ordering', 'account_id', 'headers'],
  properties: {
    id: string,
    type: { type: 'string', const: 'webhook' },
    created: timestamp,
    last_modified: timestamp,
    relationships: { type: 'object' },
    metadata: { type: 'object', required: ['name', 'description', 'webhook_url', 'site_ids', 'events'], properties: metadataProperties },
    status: { type: 'string', enum: ['active', 'disabled'] },
    disabled_reason: nullable('string'),
    disabled_at: { ...timestamp, type: ['string', 'null'] },
    max_in_flight: nullable('integer'),
    rate_limit: { type: ['number', 'null'], description: 'Requests per second at most; null: no limit.' },
    ordering: ordering,
    account_id: { type: 'string', description: "Hookline's: the account the webhook belongs to." },
    headers: {
      type: 'object', additionalProperties: { type: 'string' },
      description: `Hookline's: the names of the webhook's own request headers, each value shown as "${MASK}" (sealed at rest, never shown).`,
    },
    secret: { type: 'string', description: 'Only in the responses to create and to rotate_secret.' },
    health: { $ref: 'WebhookHealth', description: 'Only in the list, with include=health.' },
  },
} as const;

const WebhookList = {
  $id: 'WebhookList',
  type: 'object',
  required: ['webhooks', 'page', 'page_length', 'total'],
  properties: { webhooks: { type: 'array', items: { $ref: 'Webhook' } }, ...paging },
} as const;

const TestEvent = {
  $id: 'TestEvent',
  description: 'The sample event sent to one webhook.',
  type: 'object',
  required: ['id', 'event', 'site_id', 'webhook_id', 'deliveries'],
  properties: { id: string, event: subscribableEventName, site_id: { type: ['string', 'null'], description: 'null for an operational event.' }, webhook_id: string, deliveries: integer },
} as const;

const Recovery = {
  $id: 'Recovery',
  type: 'object',
  required: ['webhook_id', 'since', 'recovered'],
  properties: { webhook_id: string, since: timestamp, recovered: { type: 'integer', description: 'Failed deliveries queued for one more attempt.' } },
} as const;

const Replay = {
  $id: 'Replay',
  description: 'The deliveries a replay made (POST) or would make now (GET).',
  type: 'object',
  required: ['webhook_id', 'since', 'deliveries'],
  properties: { webhook_id: string, since: timestamp, deliveries: integer },
} as const;

const ReportedEvent = {
  $id: 'ReportedEvent',
  description: 'An event the platform reported, committed with a delivery for each subscribed webhook.',
  type: 'object',
  required: ['id', 'event', 'site_id', 'deliveries'],
  properties: { id: string, event: eventName, site_id: string, deliveries: integer },
} as const;

const FeedEvent = {
  $id: 'FeedEvent',
  description: 'An event as the feed lists it: its id, then its delivery body\'s fields but webhook_id.',
  type: 'object',
  required: ['id', 'event', 'site_id', 'event_time'],
  properties: {
    id: string,
    event: eventName,
    site_id: string,
    event_time: { type: 'string', description: 'ISO 8601 in UTC, whole seconds, as in the delivery body' },
    ...Object.fromEntries(ID_FIELDS.map((field) => [field, string])) as Record<IdField, typeof string>,
  },
} as const;

const EventFeed = {
  $id: 'EventFeed',
  type: 'object',
  required: ['events', 'next_cursor'],
  properties: {
    events: { type: 'array', items: { $ref: 'FeedEvent' } },
    next_cursor: {
      type: ['string', 'null'],
      description: 'Pass it as `after` for the events that follow (the same cursor again when this page is empty); null while the property has no event yet.',
    },
  },
} as const;

const deliveryProperties = {
  id: string,
  event_id: string,
  event: subscribableEventName,
  webhook_id: string,
  status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
  attempts: { type: 'integer', description: 'Attempts made so far.' },
  next_attempt_at: { ...timestamp, type: ['string', 'null'] },
  last_status_code: nullable('integer'),
  created: timestamp,
  last_modified: timestamp,
  replay: { type: 'boolean', description: 'Made by a replay (POST /v2/webhooks/{webhook_id}/replay/), not by the event\'s intake.' },
  test: { type: 'boolean', description: 'Carries a test event (POST /v2/webhooks/{webhook_id}/test/), not one the platform reported.' },
} as const;
const deliveryRequired = ['id', 'event_id', 'event', 'webhook_id', 'status', 'attempts', 'next_attempt_at', 'last_status_code', 'created', 'last_modified', 'replay', 'test'] as const;

const Delivery = {
  $id: 'Delivery',
  description: 'One event to one webhook.',
  type: 'object',
  required: deliveryRequired,
  properties: deliveryProperties,
} as const;

const Attempt = {
  $id: 'Attempt',
  type: 'object',
  required: ['attempted_at', 'status_code', 'duration_ms', 'error', 'response_body', 'request_headers', 'response_headers'],
  properties: {
    attempted_at: timestamp,
    status_code: nullable('integer'),
    duration_ms: integer,
    error: nullable('string'),
    response_body: { type: ['string', 'null'], description: 'The first 4 KiB of the response body.' },
    request_headers: {
      type: ['object', 'null'], additionalProperties: { type: 'string' },
      description: `The headers the request was sent with (the signatures as sent; the webhook's own values as "${MASK}"); null when nothing was sent, or for attempts older than this field.`,
    },
    response_headers: {
      type: ['object', 'null'], additionalProperties: { type: 'string' },
      description: 'The response\'s headers, names in lower case, repeated ones joined with ", ", the first 4 KiB of names and values; null when no response came.',
    },
  },
} as const;

const DeliveryDetail = {
  $id: 'DeliveryDetail',
  description: 'A delivery, its attempts, and the body every attempt sends.',
  type: 'object',
  required: [...deliveryRequired, 'request_body'],
  properties: {
    ...deliveryProperties,
    // A delivery's `attempts` is a count; here it is the list of them.
    attempts: { type: 'array', items: { $ref: 'Attempt' } },
    request_body: { type: ['string', 'null'], description: 'null once the event is past retention.' },
  },
} as const;

const DeliveryList = {
  $id: 'DeliveryList',
  type: 'object',
  required: ['deliveries', 'page', 'page_length', 'total'],
  properties: { deliveries: { type: 'array', items: { $ref: 'Delivery' } }, ...paging },
} as const;

const healthProperties = {
  since: timestamp,
  deliveries: { type: 'object', required: ['pending', 'succeeded', 'failed'], properties: { pending: integer, succeeded: integer, failed: integer } },
  success_rate: { type: ['number', 'null'], description: 'Of the finished deliveries, from 0 to 1; null when none has finished.' },
  last_delivery: { anyOf: [{ $ref: 'Delivery' }, { type: 'null' }] },
} as const;

const WebhookHealth = {
  $id: 'WebhookHealth',
  description: "A webhook's deliveries of the last 24 hours by status, their success rate, and its newest attempted delivery.",
  type: 'object',
  required: ['since', 'deliveries', 'success_rate', 'last_delivery'],
  properties: healthProperties,
} as const;

const WebhookStats = {
  $id: 'WebhookStats',
  type: 'object',
  required: ['webhook_id', 'since', 'deliveries', 'success_rate', 'last_delivery'],
  properties: {
    webhook_id: string,
    ...healthProperties,
    window: { type: 'string', enum: ['24h', '30d'], description: 'With ?window= only, as `buckets` and `latency_ms`: what they cover, 24 hours by the hour or 30 days by the day (UTC); the last bucket is the current one.' },
    buckets: { type: 'array', items: { $ref: 'HistoryBucket' }, description: 'Oldest first, every bucket of the window, empty ones too.' },
    latency_ms: {
      type: ['object', 'null'],
      description: "Percentiles (nearest rank) of the window's attempt durations, in ms; null without attempts.",
      required: ['p50', 'p95', 'p99'],
      properties: { p50: integer, p95: integer, p99: integer },
    },
  },
} as const;

const AuditEntry = {
  $id: 'AuditEntry',
  type: 'object',
  required: ['id', 'created', 'account_id', 'actor', 'key_id', 'action', 'target_type', 'target_id', 'ip'],
  properties: {
    id: string,
    created: timestamp,
    account_id: nullable('string'),
    actor: { type: 'string', enum: ['operator', 'account', 'portal'], description: 'portal: a portal session of the account, opened by a link the operator key made (key_id is that key).' },
    key_id: nullable('string'),
    action: string,
    target_type: nullable('string'),
    target_id: nullable('string'),
    ip: nullable('string'),
  },
} as const;

const AuditLog = {
  $id: 'AuditLog',
  type: 'object',
  required: ['audit_log', 'page', 'page_length', 'total'],
  properties: { audit_log: { type: 'array', items: { $ref: 'AuditEntry' } }, ...paging },
} as const;

const EventType = {
  $id: 'EventType',
  type: 'object',
  required: ['name', 'title', 'description', 'group', 'id_fields', 'example', 'rule'],
  properties: {
    name: subscribableEventName,
    title: string,
    description: string,
    group: {
      type: 'string', enum: ['media', 'live_channel', 'operational'],
      description: "media and live_channel: JWP's events; operational: Hookline's own, about the account's webhooks.",
    },
    id_fields: { type: 'array', items: string, description: 'The ids an event of this type carries, in body order.' },
    example: { type: 'object', additionalProperties: { type: ['string', 'number'] }, description: "An example payload (JWP's own for JWP's events)." },
    rule: { type: 'string', description: "Hookline's: what makes Hookline send this event (for JWP's, the reported platform fact: POST /v2/sites/{site_id}/media/ and the other fact routes)." },
  },
} as const;

const EventTypeList = {
  $id: 'EventTypeList',
  type: 'object',
  required: ['event_types', 'total'],
  properties: { event_types: { type: 'array', items: { $ref: 'EventType' } }, total: integer },
} as const;

const PortalSession = {
  $id: 'PortalSession',
  description: "A portal link: opened in a browser, once, before a few minutes have passed, it signs that browser in to the account's dashboard until expires_at.",
  type: 'object',
  required: ['url', 'expires_at'],
  properties: {
    url: { type: 'string', description: 'The link to open (or to put in an iframe): one use; the token is in its fragment, so no server or proxy log sees it.' },
    expires_at: { ...timestamp, description: 'When the session the link opens ends, at the latest.' },
  },
} as const;

const Session = {
  $id: 'Session',
  description: 'Who is signed in to the dashboard.',
  type: 'object',
  required: ['role', 'account', 'csrf_token', 'expires', 'portal', 'read_only'],
  properties: {
    role: { type: 'string', enum: ['operator', 'account'] },
    account: {
      type: ['object', 'null'],
      required: ['id', 'name'],
      properties: { id: string, name: string },
    },
    csrf_token: { type: 'string', description: 'Send it as X-CSRF-Token with every POST, PATCH and DELETE.' },
    expires: timestamp,
    portal: { type: 'boolean', description: 'Opened by a portal link (POST /v2/accounts/{account_id}/portal_sessions/), not by signing in with a key.' },
    read_only: { type: 'boolean', description: 'The session can read only: every POST, PATCH and DELETE on /v2/ answers 403.' },
  },
} as const;

export const COMPONENTS = [
  ErrorBody, Account, AccountList, ApiKey, NewApiKey, ApiKeyList, Site, SiteList, Webhook, WebhookList, TestEvent, Recovery,
  Replay, ReportedEvent, FeedEvent, EventFeed, Delivery, Attempt, DeliveryDetail, DeliveryList, DeliverySearchPage, WebhookHealth, HistoryBucket, WebhookStats, AuditEntry, AuditLog, EventType,
  EventTypeList, Media, MediaRendition, TextTrack, Thumbnail, Channel, Session, PortalSession,
] as const;

export type ComponentName = (typeof COMPONENTS)[number]['$id'];

/** A route's answer of a named shape. */
export const ref = <N extends ComponentName>(name: N) => ({ $ref: name }) as const;

/** The type provider of the route plugins: request schemas as they are, answers by name too. */
export type ApiTypeProvider = JsonSchemaToTsProvider<{ SerializerSchemaOptions: { references: [...typeof COMPONENTS] } }>;
