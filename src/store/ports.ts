// The store, in narrow ports: each consumer takes the one it needs (the API's key check takes
// the directory, the engine takes the engine port, retention takes retention), the way Svix's
// queue traits or graphile-worker's one-operation-per-file keep each piece small. Each dialect
// implements every port in files of its own (src/store/sqlite/, src/store/postgres/), each
// operation with its SQL beside it; `Store` is all of them, what a node opens.
import type { FileHandle } from 'node:fs/promises';
import type {
  Account, ApiKey, Attempt, AuditEntry, Delivery, DeliveryFilter, DeliverySearch, EndpointInfo, EngineStats,
  EventRecord, HistoryWindow, WebhookHistory, FeedPosition, HealthPolicy, IngestItem, IngestOptions, IngestOutcome, Outcome, Page, PendingDelivery,
  PlatformKind, PlatformObject, PortalToken, SealedSecrets, Session, Site, StoreChange, Webhook, WebhookChanges, WebhookStats,
} from './types.js';

/** Opening, closing, health, and what the store tells of its own writes. */
export interface StoreLifecycle {
  /** Applies the migrations this build has that the database lacks; says from which version to which. */
  migrate(): Promise<Migrated>;
  close(): Promise<void>;
  /**
   * /readyz: throws StoreUnavailable, within a few seconds, when the database does not answer
   * (a shared store) or StorageFull while writes fail for lack of space (the embedded store).
   */
  ping?(): Promise<void>;
  /** Writes fail for lack of space now (StorageFull): from the first such failure until a write finds room again. */
  readonly storageFull?: boolean;
  /** Calls `listener` when writes start failing for lack of space (`full`, with the error) and when they find room again. */
  onStorageFull?(listener: (full: boolean, cause?: unknown) => void): void;
  /**
   * Calls `listener` after every committed write that others may need to react to, made by this
   * node or (on a shared store) by any other: deliveries to send, a webhook or a key changed.
   */
  onChange(listener: (change: StoreChange) => void): void;
  /** Where worker nodes register, on a shared store; null on the embedded one (one process owns all). */
  readonly membership: Membership | null;
  /** The API's per-key counters that every node shares, on a shared store; null on the embedded one (one process counts). */
  readonly rateLimits: RateLimits | null;
  /**
   * A consistent copy of the whole database, made while the store keeps serving, to be read from
   * `handle` (its file is already removed: closing the handle frees it). The embedded store only:
   * a shared one is backed up with its own tools (pg_dump).
   */
  backup?(): Promise<DatabaseCopy>;
}

export interface DatabaseCopy {
  handle: FileHandle;
  size: number;
  /** The database copied: its file's real path. */
  source: string;
}

/**
 * How far `migrate()` took the database: from version `from` to `to`, this build's last (equal: it
 * was current; `from` past `to`: a newer build has migrated it, and nothing was done).
 */
export interface Migrated {
  from: number;
  to: number;
}

/**
 * The API's rate-limit counters, shared by the nodes of a cluster: one fixed window per key, which
 * starts at the key's first request and lasts `windowMs`, timed by the database's clock.
 */
export interface RateLimits {
  /** Adds `n` to the key's count in its window (a new window if the last has ended); returns the count and the ms the window has left. */
  take(key: string, n: number, windowMs: number): Promise<{ count: number; ttlMs: number }>;
}

/** Worker nodes and their heartbeats (a shared store): who is live, and so who owns which webhook. */
export interface Membership {
  /** Records `nodeId`'s heartbeat at `now`; returns the nodes whose heartbeat is after `aliveAfter`, this one included. */
  heartbeat(nodeId: string, now: number, aliveAfter: number): Promise<string[]>;
  /** Takes `nodeId` out at once (a node that stops), so that the others take its webhooks without waiting. */
  leave(nodeId: string): Promise<void>;
}

/** Accounts, API keys, the operator's key, dashboard sessions, properties (sites). */
export interface Directory {
  createAccount(account: Account): Promise<void>;
  listAccounts(): Promise<Account[]>;
  getAccount(id: string): Promise<Account | undefined>;

  createApiKey(key: ApiKey, hash: string): Promise<void>;
  findApiKey(hash: string): Promise<ApiKey | undefined>;
  listApiKeys(accountId: string): Promise<ApiKey[]>;
  /** Deletes the key (its hash with it); from this commit on, no request carrying it is let in. */
  revokeApiKey(accountId: string, keyId: string): Promise<boolean>;
  /** Makes `hash` the only operator key. */
  setOperatorKey(key: ApiKey, hash: string): Promise<void>;
  hasOperatorKey(): Promise<boolean>;

  /** A session signed in with the key `apiKeyId` (its account is the key's). */
  createSession(idHash: string, session: Pick<Session, 'apiKeyId' | 'csrfToken' | 'created' | 'expires'>): Promise<void>;
  /** The session if it exists and has not expired at `now`. */
  findSession(idHash: string, now: number): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;
  /** Keeps a portal link, known by its token's hash, until it is opened or expires. */
  createPortalToken(tokenHash: string, token: PortalToken): Promise<void>;
  /**
   * Opens the portal link: consumes the token (if it exists and has not expired at `now`) and
   * creates its session under `idHash`, in one transaction, so that of two concurrent opens one
   * at most succeeds. Undefined when the link is unknown, used or expired.
   */
  openPortalSession(tokenHash: string, idHash: string, csrfToken: string, now: number): Promise<Session | undefined>;

  createSite(site: Site): Promise<void>;
  getSite(id: string): Promise<Site | undefined>;
  listSites(accountId: string | null): Promise<Site[]>;
}

/** Webhooks and their sealed secrets. */
export interface Webhooks {
  /** `sealedSecret`: the new webhook's secret, sealed; `sealedHeaders`: its own headers (names in `webhook.headerNames`), sealed. */
  createWebhook(webhook: Webhook, sealedSecret: string, sealedHeaders?: string | null): Promise<void>;
  getWebhook(id: string): Promise<Webhook | undefined>;
  getWebhookSecrets(id: string): Promise<SealedSecrets | undefined>;
  /**
   * Makes `sealedSecret` the current secret. With `previousExpiresAt`, the secret it replaces
   * keeps signing until then (a secret older than that is dropped); with null, it stops at once.
   */
  rotateWebhookSecret(id: string, sealedSecret: string, previousExpiresAt: number | null, now: number): Promise<Webhook | undefined>;
  listWebhooks(accountId: string | null, page: Page, ascending: boolean): Promise<{ webhooks: Webhook[]; total: number }>;
  updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<Webhook | undefined>;
  deleteWebhook(id: string): Promise<boolean>;

  /** The check value sealed with the key of this store's secrets; undefined until sealing is adopted. */
  getSealCheck(): Promise<string | undefined>;
  /**
   * Adopts sealing, once: records `check` and, in the same transaction, seals with `seal` the
   * secrets that a version without sealing stored in clear. If a check value is already there
   * (another node got there first), changes nothing. Returns the check value now stored.
   */
  adoptSealing(check: string, seal: (webhookId: string, plaintext: string) => string): Promise<string>;
}

/** Events in: reported events and platform facts, with their deliveries, in one transaction each batch. */
export interface Intake {
  /**
   * Commits the items in one transaction, each whole or not at all: its Idempotency-Key with the
   * answer, its objects' states (each bumped to version + 1), its events and their deliveries.
   * An item whose key was used within the window writes nothing ('repeat' or 'conflict'), nor
   * one whose object moved since it was read ('stale': read again); the others still commit.
   */
  ingest(items: IngestItem[], now: number, options: IngestOptions): Promise<IngestOutcome[]>;
  getPlatformObject(siteId: string, kind: PlatformKind, id: string): Promise<PlatformObject | undefined>;
  /** What an Idempotency-Key (an event's or a fact's) answered, if it was used after `notBefore`. */
  findAnswer(siteId: string, key: string, notBefore: number): Promise<{ requestHash: string; answer: string } | undefined>;
}

/** What the delivery engine reads and writes: the durable log under its in-memory schedule. */
export interface EngineStore {
  /** The webhooks that have pending deliveries: what an owner rebuilds its queues from. */
  pendingWebhooks(): Promise<string[]>;
  /** What the engine keeps of one webhook; undefined when it is gone. */
  getEndpoint(id: string): Promise<EndpointInfo | undefined>;
  /**
   * Up to `limit` pending deliveries of one webhook due at `now`, by due time then commit order,
   * and when its first not-yet-due one comes due (null: none). Writes nothing: the owner is the
   * only one to send them.
   */
  loadDue(webhookId: string, now: number, limit: number): Promise<{ deliveries: PendingDelivery[]; nextDueAt: number | null }>;
  /**
   * loadDue for a webhook that orders per media: its due deliveries in commit order instead, less
   * those behind an earlier pending one of their key that is not due yet (waiting for its retry).
   * With `learn`, also each key held by a delivery waiting for its retry (attempted, not due yet;
   * the first in commit order if several), with that delivery: what an owner that has just taken
   * the webhook must hold back.
   */
  loadDueOrdered(webhookId: string, now: number, limit: number, learn: boolean): Promise<{
    deliveries: PendingDelivery[]; nextDueAt: number | null; waiting: { key: string; deliveryId: string }[];
  }>;
  /**
   * Writes the outcomes, their attempts and each webhook's health: a success ends the failure
   * streak, a failure lengthens it, 410 Gone or failing past `autoDisableAfterMs` disables the
   * webhook. A retry asked for during an attempt makes its delivery due again whatever the
   * outcome. Returns the webhooks this disabled.
   */
  recordOutcomes(outcomes: Outcome[], now: number, policy: HealthPolicy): Promise<Webhook[]>;
  /** What /metrics shows of the engine; `top` bounds the failing list. */
  engineStats(top: number): Promise<EngineStats>;
}

/** The delivery log the API shows, and the retries asked for by hand. */
export interface DeliveryLog {
  listDeliveries(webhookId: string, filter: DeliveryFilter, page: Page): Promise<{ deliveries: Delivery[]; total: number }>;
  getDelivery(id: string): Promise<Delivery | undefined>;
  getEvent(id: string): Promise<EventRecord | undefined>;
  /**
   * For each webhook, the counts of its deliveries created since `since`, and its last attempted
   * one: the Webhooks page's health of a whole page of webhooks in one call.
   */
  webhookStats(webhookIds: readonly string[], since: number): Promise<Map<string, WebhookStats>>;
  /**
   * The delivery's attempts, oldest first. `created`: the delivery's creation time, when the
   * caller has it; on PostgreSQL it narrows the read to the delivery's partition.
   */
  listAttempts(deliveryId: string, created?: number): Promise<Attempt[]>;
  /**
   * Schedules one more attempt now, whatever the delivery's status. A retry asked for while an
   * attempt is in flight is made once that attempt's outcome is written (recordOutcomes).
   */
  retryDelivery(id: string, now: number): Promise<boolean>;
  /** Re-queues the webhook's failed deliveries created since `since`, oldest first, for one more attempt. */
  recoverDeliveries(webhookId: string, since: number, now: number): Promise<number>;
}

/** Looking across the delivery log: the search, and a webhook's attempts over time. */
export interface DeliveryInsights {
  /**
   * Up to `limit` deliveries matching the search, newest first (created, then id, descending).
   * Each page is a walk along an index from its cursor (the webhook's, or every delivery's), or
   * the deliveries of one media's, channel's or event's events: as cheap deep in the log as at
   * its head. Filters on event, status and status code are checked along the walk.
   */
  searchDeliveries(search: DeliverySearch): Promise<Delivery[]>;
  /** The webhook's attempts made in the window, per bucket, and their durations' percentiles. */
  webhookHistory(webhookId: string, window: HistoryWindow): Promise<WebhookHistory>;
}

/**
 * Each property's events in commit order: a feed that clients catch up from with a cursor, and
 * what a replay gives a webhook. A webhook's test events are none of the property's: left out.
 */
export interface EventFeed {
  /**
   * Up to `limit` of the property's events after `after` (null: from the oldest kept), in commit
   * order, only `event`'s if given; `next` is where the page ends, after its last event (`after`
   * itself when the page is empty). An event never appears before a position once handed out.
   */
  readFeed(siteId: string, after: FeedPosition | null, event: string | undefined, limit: number): Promise<{ events: EventRecord[]; next: FeedPosition | null }>;
  /**
   * Gives the webhook one delivery, marked as a replay and due at `now`, for each event created
   * since `since` on a property and of an event it subscribes to that has no delivery to it yet
   * (it came before the webhook or its subscription), in commit order, property by property, in
   * short transactions that each announce their deliveries. `dryRun`: counts them, writes nothing.
   * Returns how many.
   */
  replayEvents(webhookId: string, since: number, now: number, dryRun: boolean): Promise<number>;
}

/** Retention: each purge deletes at most `limit` rows created before `before`, in its own short transaction. */
export interface Retention {
  /** Finished deliveries (their attempts with them), found through their events. */
  purgeDeliveries(before: number, limit: number): Promise<number>;
  /** Only events left without deliveries: a pending delivery keeps its event. */
  purgeEvents(before: number, limit: number): Promise<number>;
  /** Idempotency-Keys, of events and of facts alike. */
  purgeIdempotencyKeys(before: number, limit: number): Promise<number>;
  /** Forgets sessions, and portal links, expired at `now`. */
  purgeSessions(now: number): Promise<number>;
  /**
   * Makes the time partitions of events, deliveries and attempts for the interval of `now` and
   * those ahead, if missing; returns how many intervals it made. The embedded store has no
   * partitions: 0.
   */
  preparePartitions(now: number): Promise<number>;
  /**
   * Drops whole the partitions wholly older than `before`, keeping each that still holds a pending
   * delivery (or an event a later replay delivers). The embedded store has none: nothing.
   */
  dropPartitions(before: number): Promise<{ dropped: number; kept: number }>;
}

export interface Audit {
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; accountId null lists every account's entries (the operator's view). */
  listAudit(accountId: string | null, page: Page): Promise<{ entries: AuditEntry[]; total: number }>;
}

/** Everything a node opens: every port, from one database. */
export interface Store extends StoreLifecycle, Directory, Webhooks, Intake, EngineStore, DeliveryLog, DeliveryInsights, EventFeed, Retention, Audit {}

