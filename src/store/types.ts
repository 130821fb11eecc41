// What the store keeps, as the rest of the code sees it: accounts, webhooks, events, deliveries,
// attempts, and the changes a write announces. The operations are in ports.ts. Times are epoch
// milliseconds; formatting happens at the API's edge.
import type { IdField } from '../catalog/events.js';
import type { AlertFacts } from '../catalog/operational.js';
import type { EventFacts } from '../catalog/payload.js';

export interface Account {
  id: string;
  name: string;
  created: number;
}

export interface ApiKey {
  id: string;
  /** null for the operator's key. */
  accountId: string | null;
  name: string;
  created: number;
}

export interface AuditEntry {
  id: string;
  accountId: string | null;
  /** portal: a portal session of the account (keyId is the operator key that made its link). */
  actor: 'operator' | 'account' | 'portal';
  keyId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
  ip: string | null;
  created: number;
}

export interface Site {
  id: string;
  accountId: string;
  name: string;
  created: number;
}

export interface Webhook {
  id: string;
  accountId: string;
  name: string;
  description: string;
  webhookUrl: string;
  siteIds: string[];
  events: string[];
  created: number;
  lastModified: number;
  /** A disabled webhook keeps its deliveries, old and new, and attempts none until re-enabled. */
  status: WebhookStatus;
  disabledReason: string | null;
  disabledAt: number | null;
  /** Attempts in flight at once to this webhook; null: the node's default. */
  maxInFlight: number | null;
  /** Requests per second to this webhook at most; null: no limit. */
  rateLimit: number | null;
  /** The names of its own request headers, in the order given; their values are sealed (SealedSecrets.headers). */
  headerNames: string[];
  /** per_media: the deliveries of one media (or live channel) go one at a time, in commit order (src/delivery/ordering.ts). */
  ordering: WebhookOrdering;
}

export type WebhookOrdering = 'none' | 'per_media';

export type WebhookStatus = 'active' | 'disabled';

/**
 * A webhook's secrets as stored: sealed (src/security/sealing.ts), never in clear. While a
 * rotation's grace period lasts, the secret it replaced signs too.
 */
export interface SealedSecrets {
  current: string;
  previous: string | null;
  /** When `previous` stops signing (epoch ms); null when there is none. */
  previousExpiresAt: number | null;
  /** The webhook's own request headers, a JSON object sealed (src/security/webhook-secrets.ts); null: none. */
  headers: string | null;
}

/** `disabledReason` goes with `status: 'disabled'`; `status: 'active'` also clears the failure streak. */
export type WebhookChanges = Partial<Pick<Webhook, 'name' | 'description' | 'webhookUrl' | 'siteIds' | 'events' | 'status' | 'disabledReason' | 'maxInFlight' | 'rateLimit' | 'ordering'>> & {
  /** The webhook's own headers, replaced as a whole: their names and, sealed, the names with their values (null: none). */
  headers?: { names: string[]; sealed: string | null };
};

export interface Page {
  page: number;
  pageLength: number;
}

export interface EventRecord {
  id: string;
  /** '' for an operational event (Hookline's own, src/catalog/operational.ts): it belongs to no property. */
  siteId: string;
  event: string;
  ids: Partial<Record<IdField, string>>;
  eventTime: number;
  created: number;
  /** What an operational event says about its subject webhook; unset for JWP's events. */
  alert?: AlertFacts;
  /** The W3C traceparent of the span that committed it, when tracing was on (src/tracing/). */
  traceparent?: string;
}

/**
 * A place in a property's event feed: right after one event. `seq` is the event's number in
 * insertion order; on PostgreSQL `tx` is the id of the transaction that wrote it (a decimal
 * xid8), which orders the feed before `seq` does (src/store/postgres/feed.ts). The embedded
 * store has one writer, whose insertion order is the commit order: its `tx` is always "0".
 */
export interface FeedPosition {
  tx: string;
  seq: number;
}

/**
 * One request's writes, committed all or nothing: a reported event, or a platform fact (the new
 * states of the objects it is about, and the events it yielded), each event with its deliveries.
 */
export interface IngestItem {
  siteId: string;
  /** A fact's objects, each with its new state and the `version` it was read at (0: it must not exist yet). */
  writes?: PlatformObject[];
  events: EventRecord[];
  /** A test event: one delivery to this webhook only, whatever it subscribes to. */
  onlyWebhookId?: string;
  /**
   * The request's Idempotency-Key. Within the window, the same request again (same hash) commits
   * nothing and gets the first answer; another request with the key is a conflict. One key space
   * per property, events' and facts' alike. `answer` makes the answer kept, once the item's
   * deliveries are counted.
   */
  idempotency?: { key: string; requestHash: string; answer: (deliveries: number) => string };
}

export interface IngestOptions {
  /** An idempotency key older than this is forgotten. */
  idempotencyWindowMs: number;
  /** When the new deliveries' first attempt is due. */
  firstAttemptAt: number;
}

export type IngestOutcome =
  | { kind: 'accepted'; deliveries: number }
  /** The key's first answer, as `idempotency.answer` made it. */
  | { kind: 'repeat'; answer: string }
  /** The key was used for another request: nothing written. */
  | { kind: 'conflict' }
  /** An object's version moved since it was read, or it exists already: nothing of the item written. */
  | { kind: 'stale' };

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface Delivery {
  id: string;
  eventId: string;
  event: string;
  webhookId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatusCode: number | null;
  created: number;
  lastModified: number;
  /** Made by a replay (POST /v2/webhooks/{id}/replay/), not by intake. */
  replay: boolean;
  /** Carries a webhook's test event (POST /v2/webhooks/{id}/test/): made-up ids, to that webhook only. */
  test: boolean;
}

export interface Attempt {
  attemptedAt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
  /** The headers the request was sent with, the webhook's own values masked; null: none was sent (or logged before they were kept). */
  requestHeaders: Record<string, string> | null;
  /** The response's headers, capped (src/delivery/sender.ts); null: no response. */
  responseHeaders: Record<string, string> | null;
}

export interface Outcome {
  deliveryId: string;
  webhookId: string;
  attempt: Attempt;
  succeeded: boolean;
  /** When the next attempt is due; null when there is none (succeeded or failed for good). */
  nextAttemptAt: number | null;
  /** The receiver asked for a pause (Retry-After on 429 or 503): no attempt to it before then. */
  pauseUntil?: number;
  /**
   * The delivery carried an operational event. Its outcome moves the webhook's health like any,
   * but raises no webhook_failing or webhook_recovered itself: an alert never causes an alert.
   */
  operational?: boolean;
}


/** How outcomes move a webhook's health. */
export interface HealthPolicy {
  breakerThreshold: number;
  /** While the breaker is open, the time between probes. */
  probeIntervalMs: number;
  /** A webhook whose every attempt failed for this long is disabled. */
  autoDisableAfterMs: number;
}

export interface EngineStats {
  pending: number;
  /** When the oldest pending delivery was created; null when none is pending. */
  oldestPendingCreated: number | null;
  disabledWebhooks: number;
  /** The webhooks with the longest failure streaks, longest first. */
  failing: { webhookId: string; consecutiveFailures: number }[];
}

/**
 * A dashboard session: a browser signed in with one API key, or opened by a portal link that the
 * operator's key made for one account (then apiKeyId is the operator's key, accountId that account).
 */
export interface Session {
  apiKeyId: string;
  /** The account the session sees; null for the operator's key. */
  accountId: string | null;
  csrfToken: string;
  created: number;
  expires: number;
  /** Opened by a portal link (POST /v2/accounts/{id}/portal_sessions/), not by signing in with a key. */
  portal: boolean;
  /** Reads only: every unsafe request is refused (portal sessions made with read_only). */
  readOnly: boolean;
}

/** A portal link not opened yet: only its token's hash is kept, and opening it consumes it. */
export interface PortalToken {
  /** The operator key that made it: replacing that key voids the link and its session. */
  apiKeyId: string;
  accountId: string;
  readOnly: boolean;
  created: number;
  /** The link opens nothing from then on. */
  expires: number;
  /** The session it opens ends then at the latest. */
  sessionExpires: number;
}

/** What the Webhooks page shows of a webhook's recent deliveries (its health). */
export interface WebhookStats {
  /** Deliveries created since the window's start, by status. */
  pending: number;
  succeeded: number;
  failed: number;
  /** The newest delivery (by creation) that has been attempted at least once. */
  lastAttempted: Delivery | undefined;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  event?: string;
}

/** What the lifecycle keeps about one media, live channel or thumbnail of a property. */
export type PlatformKind = 'media' | 'channel' | 'thumbnail';

export interface PlatformObject {
  kind: PlatformKind;
  id: string;
  /** JSON, shaped by src/platform/; the store keeps it as it is. */
  state: unknown;
  /** Counts the facts applied; 0 means "does not exist yet". */
  version: number;
}

/**
 * What one node tells the others on a shared store, once committed: deliveries to claim, a
 * webhook or an API key changed or gone. 'missed': the feed was cut, anything may have changed.
 */
export type StoreChange =
  | {
    kind: 'deliveries';
    /** The webhooks that have new due deliveries; null: too many to list, any may. */
    webhookIds: string[] | null;
    /** The deliveries themselves, in the process that committed them only (never over the feed). */
    created?: PendingDelivery[];
  }
  /** A delivery retried by hand: due now, or once the attempt in flight ends. */
  | { kind: 'retried'; webhookId: string; deliveryId: string }
  /** Created, changed (URL, events, cap, rate limit, status, secret) or deleted. */
  | { kind: 'webhook'; id: string }
  | { kind: 'api_key'; id: string }
  /** A worker node joined or left (a shared store): which webhooks each node owns may have changed. */
  | { kind: 'members' }
  | { kind: 'missed' };

/** A delivery as its owner keeps it in memory: all it needs to send, and nothing else. */
export interface PendingDelivery {
  id: string;
  eventId: string;
  webhookId: string;
  attempts: number;
  /** Set by a manual retry: this attempt is the last one, whatever the schedule says. */
  lastChance: boolean;
  /** When it may be sent: intake's first attempt may wait (HOOKLINE_RETRY_SCHEDULE's first delay). */
  dueAt: number;
  facts: EventFacts;
  /**
   * Its media's or live channel's key when its webhook orders per media (src/store/order-key.ts):
   * no two deliveries of one key go at once, and they go in commit order. null: unordered.
   */
  orderKey: string | null;
}

/** What the delivery engine keeps of a webhook. */
export interface EndpointInfo {
  id: string;
  accountId: string;
  url: string;
  status: WebhookStatus;
  /** null: the node's default. */
  maxInFlight: number | null;
  /** Requests per second at most; null: none. */
  rateLimit: number | null;
  /** Its deliveries carry order keys, held one at a time (src/delivery/ordering.ts). */
  ordered: boolean;
  consecutiveFailures: number;
  /** No attempt before this (a Retry-After, or the breaker's next probe); null: none. */
  pausedUntil: number | null;
}

/** A place in the delivery search's order (newest first): right after the delivery (created, id). */
export interface DeliveryPosition {
  created: number;
  id: string;
}

/**
 * What GET /v2/deliveries/ asks of the store: the deliveries of the caller's webhooks (an
 * account's; null: every account's, the operator's) that match every filter given, newest
 * first, from after `after` on.
 */
export interface DeliverySearch {
  accountId: string | null;
  webhookId?: string;
  eventId?: string;
  mediaId?: string;
  channelId?: string;
  event?: string;
  status?: DeliveryStatus;
  /** The last attempt's HTTP status. */
  statusCode?: number;
  /** Created at or after (epoch ms). */
  since?: number;
  /** Created before (epoch ms). */
  until?: number;
  after?: DeliveryPosition;
  limit: number;
}

/** A webhook's attempts over a window cut into equal buckets, from `start` to `end`. */
export interface HistoryWindow {
  start: number;
  end: number;
  bucketMs: number;
}

/** What webhookHistory finds in a window. */
export interface WebhookHistory {
  /** The buckets that had attempts, in order: their index from the window's start, the attempts, the successes. */
  buckets: { index: number; attempts: number; succeeded: number }[];
  /** The attempts' durations in ms at the 50th, 95th and 99th percentiles (nearest rank); null without attempts. */
  latency: { p50: number; p95: number; p99: number } | null;
}
