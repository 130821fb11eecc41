// The Store: everything Hookline keeps, behind one interface that SQLite and PostgreSQL both
// implement. Times are epoch milliseconds; formatting happens at the API's edge.
import type { IdField } from '../catalog/events.js';

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
export type WebhookChanges = Partial<Pick<Webhook, 'name' | 'description' | 'webhookUrl' | 'siteIds' | 'events' | 'status' | 'disabledReason' | 'maxInFlight'>>;

export interface Page {
  page: number;
  pageLength: number;
}

export interface EventRecord {
  id: string;
  siteId: string;
  event: string;
  ids: Partial<Record<IdField, string>>;
  eventTime: number;
  created: number;
}

/** One event to commit; with an idempotency key, a repeat of the same request commits nothing. */
export interface IngestItem {
  event: EventRecord;
  idempotency?: { key: string; requestHash: string };
  /** A test event: one delivery to this webhook only, whatever it subscribes to. */
  onlyWebhookId?: string;
}

export interface IngestOptions {
  /** An idempotency key older than this is forgotten. */
  idempotencyWindowMs: number;
  /** When the new deliveries' first attempt is due. */
  firstAttemptAt: number;
}

export type IngestOutcome =
  | { kind: 'accepted'; eventId: string; deliveries: number }
  | { kind: 'repeat'; eventId: string; deliveries: number }
  | { kind: 'conflict' };

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
}

export interface Attempt {
  attemptedAt: number;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
}

/** A delivery taken by a dispatcher, with all it needs to send. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  webhookId: string;
  webhookUrl: string;
  attempts: number;
  /** Set by a manual retry: this attempt is the last one, whatever the schedule says. */
  lastChance: boolean;
  facts: { event: string; siteId: string; eventTime: number; ids: Partial<Record<IdField, string>> };
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
}

export interface ClaimOptions {
  leaseMs: number;
  /** The claiming node, so that it can hand back its own leases when it stops. */
  owner: string;
  /** In-flight cap of a webhook whose max_in_flight is null. */
  defaultMaxInFlight: number;
  /** The most a webhook's own max_in_flight counts for: the operator's limit. */
  maxInFlightLimit: number;
  /**
   * Of `owner`'s unexpired leases, the most one account's webhooks may hold together, so that one
   * account never takes every place of a node. Counted per node, as the node's places are.
   */
  accountMaxInFlight: number;
  /** Consecutive failures after which a webhook gets one attempt at a time: a probe. */
  breakerThreshold: number;
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

/** What the Webhooks page shows of a webhook's recent deliveries. */
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

/** One fact's outcome, to commit at once: the objects' new states, the events, the answer. */
export interface FactCommit {
  siteId: string;
  /** Each object with its new state and the `version` it was read at (0: it must not exist yet). */
  writes: PlatformObject[];
  events: EventRecord[];
  idempotency?: { key: string; requestHash: string; answer: string };
}

/**
 * What one node tells the others on a shared store, once committed: deliveries to claim, a
 * webhook or an API key changed or gone. 'missed': the feed was cut, anything may have changed.
 */
export type StoreChange =
  | { kind: 'deliveries' }
  | { kind: 'webhook'; id: string }
  | { kind: 'api_key'; id: string }
  | { kind: 'missed' };

export interface Store {
  /**
   * Held by this process alone (the embedded SQLite, exclusive locking): leases left in it by a
   * previous run are void at start. A shared store (PostgreSQL) leaves them to run out.
   */
  readonly exclusive: boolean;
  migrate(): Promise<void>;
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
  /** Calls `listener` with every change committed by any node (a shared store only). */
  onChange?(listener: (change: StoreChange) => void): void;

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

  createSession(idHash: string, session: Omit<Session, 'accountId'>): Promise<void>;
  /** The session if it exists and has not expired at `now`. */
  findSession(idHash: string, now: number): Promise<Session | undefined>;
  deleteSession(idHash: string): Promise<void>;
  /** Forgets sessions expired at `now`. */
  purgeSessions(now: number): Promise<number>;

  createSite(site: Site): Promise<void>;
  getSite(id: string): Promise<Site | undefined>;
  listSites(accountId: string | null): Promise<Site[]>;

  /** `sealedSecret`: the new webhook's secret, sealed. */
  createWebhook(webhook: Webhook, sealedSecret: string): Promise<void>;
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

  /** Commits events and their deliveries, all in one transaction. */
  ingest(items: IngestItem[], now: number, options: IngestOptions): Promise<IngestOutcome[]>;
  /**
   * Takes up to `limit` due deliveries in one transaction, leasing each until `now + leaseMs`.
   * Shared by water-filling, first across the accounts with due deliveries: each next delivery
   * goes to the account with the fewest of `owner`'s unexpired leases (plus this claim's), each
   * held to `accountMaxInFlight` of them; then within an account across its webhooks: to the
   * webhook with the fewest in flight (its leases, every node's, plus this claim's). Ties go to
   * the one whose oldest due delivery waited longest. Each webhook is held to its in-flight cap
   * (at most `maxInFlightLimit`) minus its unexpired leases (1 while its breaker is open);
   * disabled and paused webhooks are skipped. Within a webhook: by due time, then creation.
   * An attempt that starts answers any retry requested before it (see retryDelivery).
   */
  claimDue(now: number, limit: number, options: ClaimOptions): Promise<ClaimedDelivery[]>;
  /**
   * Writes the outcomes, their attempts and each webhook's health: a success ends the failure
   * streak, a failure lengthens it, 410 Gone or failing past `autoDisableAfterMs` disables the
   * webhook. Returns the webhooks this disabled. A delivery whose retry was requested during
   * the attempt is due again at `now`, whatever the outcome (its last chance if the outcome
   * ended it), as if the retry had been asked for just then.
   */
  recordOutcomes(outcomes: Outcome[], now: number, policy: HealthPolicy): Promise<Webhook[]>;
  /**
   * Hands back leases, due at once: every one (the embedded store at start, when no other
   * process can hold one) or `owner`'s (a node that stops).
   */
  releaseLeases(now: number, owner?: string): Promise<number>;
  /**
   * When a claim at `now` or later can next take something (maybe already past); null: nothing
   * pending. A webhook with room under its cap counts its first due delivery (or the end of its
   * pause); one at its cap counts the first of its leases to run out, not its due deliveries: a
   * finished attempt frees a place sooner, and wakes the dispatcher itself. Likewise a webhook
   * whose account holds its whole share of `owner`'s places counts the first of those leases.
   */
  nextDueAt(now: number, options: ClaimOptions): Promise<number | null>;
  /** Re-queues the webhook's failed deliveries created since `since`, oldest first, for one more attempt. */
  recoverDeliveries(webhookId: string, since: number, now: number): Promise<number>;
  /**
   * Retention: each purge deletes at most `limit` rows created before `before`, in its own short
   * transaction. Finished deliveries (their attempts with them), found through their events.
   */
  purgeDeliveries(before: number, limit: number): Promise<number>;
  /** Only events left without deliveries: a pending delivery keeps its event. */
  purgeEvents(before: number, limit: number): Promise<number>;
  /** Idempotency keys of intake and of facts. */
  purgeIdempotencyKeys(before: number, limit: number): Promise<number>;
  /** What /metrics shows of the engine; `top` bounds the failing list. */
  engineStats(top: number): Promise<EngineStats>;

  getPlatformObject(siteId: string, kind: PlatformKind, id: string): Promise<PlatformObject | undefined>;
  /** The answer kept for a fact's Idempotency-Key, if it was used after `notBefore`. */
  findFactAnswer(siteId: string, key: string, notBefore: number): Promise<{ requestHash: string; answer: string } | undefined>;
  /**
   * Commits a fact in one transaction: the objects' states (each bumped to version + 1), the
   * events with their deliveries, and the idempotency key. 'stale' when an object's version
   * moved since it was read, or the key was taken meanwhile: nothing is written, read again.
   */
  commitFact(commit: FactCommit, now: number, options: IngestOptions): Promise<{ deliveries: number } | 'stale'>;

  listDeliveries(webhookId: string, filter: DeliveryFilter, page: Page): Promise<{ deliveries: Delivery[]; total: number }>;
  getDelivery(id: string): Promise<Delivery | undefined>;
  getEvent(id: string): Promise<EventRecord | undefined>;
  /** Counts of the webhook's deliveries created since `since`, and its last attempted one. */
  webhookStats(webhookId: string, since: number): Promise<WebhookStats>;
  listAttempts(deliveryId: string): Promise<Attempt[]>;
  /**
   * Schedules one more attempt now, whatever the delivery's status. While an attempt is in
   * flight (an unexpired lease) the lease is left alone and the retry is only requested: the
   * attempt's outcome makes the delivery due (recordOutcomes), so that a delivery is never sent
   * twice at once and a webhook's in-flight cap holds. Requests made during one attempt ask for
   * one more attempt together.
   */
  retryDelivery(id: string, now: number): Promise<boolean>;

  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first; accountId null lists every account's entries (the operator's view). */
  listAudit(accountId: string | null, page: Page): Promise<{ entries: AuditEntry[]; total: number }>;
}
