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
  actor: 'operator' | 'account';
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
}

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
}

/** `disabledReason` goes with `status: 'disabled'`; `status: 'active'` also clears the failure streak. */
export type WebhookChanges = Partial<Pick<Webhook, 'name' | 'description' | 'webhookUrl' | 'siteIds' | 'events' | 'status' | 'disabledReason' | 'maxInFlight' | 'rateLimit'>>;

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
}

export interface Attempt {
  attemptedAt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
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

/** A dashboard session: a browser signed in with one API key. */
export interface Session {
  apiKeyId: string;
  /** The key's account; null for the operator's key. */
  accountId: string | null;
  csrfToken: string;
  created: number;
  expires: number;
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
  consecutiveFailures: number;
  /** No attempt before this (a Retry-After, or the breaker's next probe); null: none. */
  pausedUntil: number | null;
}
