// The embedded store: better-sqlite3 in WAL mode. One process owns the file (exclusive locking),
// so leases left by a killed process can be handed back at start.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { autoDisableReason, GONE_REASON, healthChanges } from '../health.js';
import { attemptFrom, auditFrom, deliveryFrom, idsFrom, ownedFrom, webhookFrom, type Row } from '../rows.js';
import { StorageFull } from '../unavailable.js';
import { MIGRATIONS } from './migrations.js';
import type {
  Account, ApiKey, Attempt, AuditEntry, ClaimedDelivery, ClaimOptions, Delivery, DeliveryFilter, EngineStats, EventRecord,
  FactCommit, HealthPolicy, IngestItem, IngestOptions, IngestOutcome, Outcome, Page, PlatformKind, PlatformObject,
  SealedSecrets, Session, Site, Store, Webhook, WebhookChanges, WebhookStats,
} from '../types.js';

/**
 * How many of `count` deliveries each webhook gets so that their attempts in flight (leases
 * plus this claim's) rise evenly, the least busy first: water-filling. A quiet webhook's fresh
 * deliveries thus go out at once rather than one per claim behind busy webhooks, and a small
 * claim goes to the first in line (`webhooks` are in claim order). Each share is within `free`.
 */
export function waterFill(webhooks: readonly { inFlight: number; free: number }[], count: number): number[] {
  const shares = webhooks.map(() => 0);
  let left = Math.min(count, webhooks.reduce((n, w) => n + w.free, 0));
  for (let level = Math.min(...webhooks.map((w) => w.inFlight)); left > 0; level++) {
    webhooks.forEach((w, i) => {
      if (left > 0 && w.inFlight + shares[i]! <= level && shares[i]! < w.free) {
        shares[i]!++;
        left--;
      }
    });
  }
  return shares;
}

/**
 * This node's unexpired leases per account (`n`), and the first of them to run out: how much of
 * its share of the node's places each account holds. Leases of every status count, a disabled
 * or paused webhook's too: their attempts are in flight all the same.
 */
const ACCOUNT_LEASES = `SELECT w.account_id, count(*) AS n, min(l.due_at) AS lease_end
  FROM deliveries l JOIN webhooks w ON w.id = l.webhook_id
  WHERE l.claimed_at IS NOT NULL AND l.due_at > @now AND l.lease_owner = @owner
  GROUP BY w.account_id`;

/** Thrown inside a transaction to roll it back when a fact was read at an old version. */
class StaleFact extends Error {}

/**
 * No room to write: SQLITE_FULL (the disk, or PRAGMA max_page_count), or one of the I/O errors
 * SQLite reports for a full disk on some paths (growing the WAL's shared memory, fsync, …). An
 * I/O error from a failing disk is taken alike: writes cannot be made now, whichever it is.
 */
export function isStorageFull(err: unknown): boolean {
  if (!(err instanceof Database.SqliteError)) return false;
  return err.code === 'SQLITE_FULL' || err.code.startsWith('SQLITE_IOERR');
}

/** While full, how often a write is tried to see whether there is room again. */
const SPACE_PROBE_MS = 1_000;
/** What that write needs: room for it is room for a batch of intake or of outcomes. */
const SPACE_PROBE_BYTES = 64 * 1024;

export interface SqliteOptions {
  dataDir: string;
  synchronous: 'FULL' | 'NORMAL';
}

/**
 * The data directory and the database file, readable by the service user only: the database
 * holds the webhook secrets (sealed) and the audit log. A new directory is made 0700; the file is
 * made (or tightened to) 0600 before SQLite opens it, and SQLite gives its -wal and -shm files
 * the database file's mode.
 */
function createPrivately(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'hookline.db');
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}

export class SqliteStore implements Store {
  readonly exclusive = true;
  readonly db: Database.Database;
  private readonly sql;
  private readonly synchronous: SqliteOptions['synchronous'] | undefined;
  /** Set by the first write that found no room (its error), cleared by a probe that finds some. */
  private full: { cause: unknown; probe: NodeJS.Timeout } | undefined;
  private readonly fullListeners: ((full: boolean, cause?: unknown) => void)[] = [];

  constructor(options: SqliteOptions | { memory: true }) {
    if ('memory' in options) {
      this.db = new Database(':memory:');
    } else {
      const file = createPrivately(options.dataDir);
      this.db = new Database(file);
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous}`);
      this.synchronous = options.synchronous;
    }
    this.db.pragma('foreign_keys = ON');
    this.migrateNow();
    this.sql = this.prepare();
    // Every call that finds no room to write throws StorageFull (and marks the store full). Each
    // call of the Store interface is an async method: they are wrapped here, once, rather than
    // each catching in its body. (The private helpers are synchronous and run inside them.)
    for (const name of Object.getOwnPropertyNames(SqliteStore.prototype)) {
      const method: unknown = Object.getOwnPropertyDescriptor(SqliteStore.prototype, name)?.value;
      if (typeof method !== 'function' || method.constructor.name !== 'AsyncFunction') continue;
      Object.defineProperty(this, name, {
        writable: true,
        configurable: true,
        value: async (...args: unknown[]) => {
          try {
            return await method.apply(this, args);
          } catch (err) {
            throw this.storageError(err);
          }
        },
      });
    }
  }

  get storageFull(): boolean {
    return this.full !== undefined;
  }

  onStorageFull(listener: (full: boolean, cause?: unknown) => void): void {
    this.fullListeners.push(listener);
  }

  /** `err` as the store throws it: StorageFull when it says there is no room to write. */
  private storageError(err: unknown): unknown {
    if (err instanceof StorageFull || !isStorageFull(err)) return err;
    if (!this.full) {
      const probe = setInterval(() => {
        try {
          this.probeSpace();
        } catch {
          // not a lack of space: the next probe, or the next write, says more
        }
      }, SPACE_PROBE_MS);
      probe.unref();
      this.full = { cause: err, probe };
      for (const listener of this.fullListeners) listener(true, err);
    }
    return new StorageFull(err);
  }

  /**
   * While full: writes SPACE_PROBE_BYTES and deletes them again. When that commits there is room
   * again (the store is no longer full, and says so); when it finds none, it stays full.
   */
  private probeSpace(): boolean {
    if (!this.full) return true;
    try {
      this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('space_probe', randomblob(?))`).run(SPACE_PROBE_BYTES);
    } catch (err) {
      if (isStorageFull(err)) return false;
      throw err;
    }
    // The room it took is free again for what comes next (a failure here leaves it for the next probe).
    this.db.prepare(`DELETE FROM meta WHERE key = 'space_probe'`).run();
    clearInterval(this.full.probe);
    this.full = undefined;
    for (const listener of this.fullListeners) listener(false);
    return true;
  }

  /** /readyz: throws StorageFull while there is no room to write (tried again now). */
  async ping(): Promise<void> {
    if (this.full && !this.probeSpace()) throw new StorageFull(this.full.cause);
  }

  private migrateNow(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    for (let i = version; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]!);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
  }

  private prepare() {
    const db = this.db;
    return {
      insertAccount: db.prepare('INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)'),
      listAccounts: db.prepare('SELECT * FROM accounts ORDER BY created, id'),
      getAccount: db.prepare('SELECT * FROM accounts WHERE id = ?'),
      insertKey: db.prepare('INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES (?, ?, ?, ?, ?)'),
      findKey: db.prepare('SELECT * FROM api_keys WHERE key_hash = ?'),
      listKeys: db.prepare('SELECT * FROM api_keys WHERE account_id = ? ORDER BY created, id'),
      revokeKey: db.prepare('DELETE FROM api_keys WHERE account_id = ? AND id = ?'),
      insertAudit: db.prepare(`INSERT INTO audit_log (id, account_id, actor, key_id, action, target_type, target_id, ip, created)
        VALUES (@id, @accountId, @actor, @keyId, @action, @targetType, @targetId, @ip, @created)`),
      deleteOperatorKeys: db.prepare('DELETE FROM api_keys WHERE account_id IS NULL'),
      hasOperatorKey: db.prepare('SELECT 1 FROM api_keys WHERE account_id IS NULL LIMIT 1'),
      insertSession: db.prepare(`INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires)
        VALUES (@idHash, @apiKeyId, @csrfToken, @created, @expires)`),
      findSession: db.prepare(`SELECT s.*, k.account_id FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
        WHERE s.id_hash = ? AND s.expires > ?`),
      deleteSession: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
      purgeSessions: db.prepare('DELETE FROM sessions WHERE expires <= ?'),
      insertSite: db.prepare('INSERT INTO sites (id, account_id, name, created) VALUES (?, ?, ?, ?)'),
      getSite: db.prepare('SELECT * FROM sites WHERE id = ?'),
      listSites: db.prepare('SELECT * FROM sites WHERE account_id = ? ORDER BY created, id'),
      listAllSites: db.prepare('SELECT * FROM sites ORDER BY created, id'),
      insertWebhook: db.prepare(`INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret,
          status, disabled_reason, disabled_at, max_in_flight, created, last_modified)
        VALUES (@id, @accountId, @name, @description, @webhookUrl, @siteIds, @events, @secret,
          @status, @disabledReason, @disabledAt, @maxInFlight, @created, @lastModified)`),
      updateWebhook: db.prepare(`UPDATE webhooks SET name = @name, description = @description, webhook_url = @webhookUrl,
        site_ids = @siteIds, events = @events, max_in_flight = @maxInFlight, last_modified = @lastModified WHERE id = @id`),
      disableWebhook: db.prepare(`UPDATE webhooks SET status = 'disabled', disabled_reason = @reason, disabled_at = @now, last_modified = @now
        WHERE id = @id AND status = 'active' RETURNING *`),
      // Re-enabling starts afresh: the failures that led to disabling are not held against it.
      enableWebhook: db.prepare(`UPDATE webhooks SET status = 'active', disabled_reason = NULL, disabled_at = NULL,
        consecutive_failures = 0, failing_since = NULL, paused_until = NULL, last_modified = @now
        WHERE id = @id AND status = 'disabled'`),
      getWebhook: db.prepare('SELECT * FROM webhooks WHERE id = ?'),
      getSecrets: db.prepare('SELECT secret, previous_secret, previous_secret_expires FROM webhooks WHERE id = ?'),
      // In an UPDATE, `secret` on the right is the value before it: the one being replaced.
      rotateSecret: db.prepare(`UPDATE webhooks SET secret = @secret, last_modified = @now,
        previous_secret = CASE WHEN @previousExpires IS NULL THEN NULL ELSE secret END,
        previous_secret_expires = @previousExpires WHERE id = @id`),
      getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
      insertMeta: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)'),
      allSecrets: db.prepare('SELECT id, secret FROM webhooks'),
      setSecret: db.prepare('UPDATE webhooks SET secret = ? WHERE id = ?'),
      deleteWebhook: db.prepare('DELETE FROM webhooks WHERE id = ?'),
      deleteSubscriptions: db.prepare('DELETE FROM subscriptions WHERE webhook_id = ?'),
      insertSubscription: db.prepare('INSERT OR IGNORE INTO subscriptions (site_id, event, webhook_id) VALUES (?, ?, ?)'),
      findIdempotency: db.prepare('SELECT * FROM idempotency_keys WHERE site_id = ? AND key = ? AND created > ?'),
      saveIdempotency: db.prepare(`INSERT OR REPLACE INTO idempotency_keys (site_id, key, request_hash, event_id, deliveries, created)
        VALUES (?, ?, ?, ?, ?, ?)`),
      insertEvent: db.prepare(`INSERT INTO events (id, site_id, event, media_id, channel_id, thumbnail_id, track_id, event_time, created)
        VALUES (@id, @siteId, @event, @media_id, @channel_id, @thumbnail_id, @track_id, @eventTime, @created)`),
      fanOut: db.prepare(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified)
        SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, webhook_id, @dueAt, @now, @now
        FROM subscriptions WHERE site_id = @siteId AND event = @event`),
      deliverTo: db.prepare(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified)
        SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, id, @dueAt, @now, @now FROM webhooks WHERE id = @webhookId`),
      // The webhooks that may take deliveries now, grouped by account: the accounts with the
      // fewest of this node's leases first (those with no room left in their share are left
      // out), and in each the least busy webhook first, then the one waiting longest. Each active
      // webhook is visited (two index probes), not the due deliveries: with a backlog of
      // 1,000,000 finding the webhooks from the deliveries made a claim 4x slower. Water-filling
      // never gives an account (or a webhook) more before those ahead of it have one, so a claim
      // of @limit never reaches past the first @limit accounts, nor past an account's first @limit.
      claimable: db.prepare(`WITH open AS (
          SELECT id, account_id, webhook_url, leased, cap - leased AS free, head FROM (
            SELECT w.id, w.account_id, w.webhook_url,
              CASE WHEN w.consecutive_failures >= @breakerThreshold THEN 1 ELSE min(coalesce(w.max_in_flight, @defaultMaxInFlight), @maxInFlightLimit) END AS cap,
              (SELECT count(*) FROM deliveries l WHERE l.webhook_id = w.id AND l.claimed_at IS NOT NULL AND l.due_at > @now) AS leased,
              (SELECT min(d.due_at) FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS head
            FROM webhooks w
            WHERE w.status = 'active' AND (w.paused_until IS NULL OR w.paused_until <= @now))
          WHERE head <= @now AND cap > leased
        ), placed AS (
          SELECT o.*, coalesce(b.n, 0) AS account_busy, min(o.head) OVER (PARTITION BY o.account_id) AS account_head,
            row_number() OVER (PARTITION BY o.account_id ORDER BY o.leased, o.head, o.id) AS place
          FROM open o LEFT JOIN (${ACCOUNT_LEASES}) b ON b.account_id = o.account_id
          WHERE coalesce(b.n, 0) < @accountMaxInFlight
        )
        SELECT * FROM (
          SELECT p.*, dense_rank() OVER (ORDER BY p.account_busy, p.account_head, p.account_id) AS account_place
          FROM placed p WHERE p.place <= @limit)
        WHERE account_place <= @limit
        ORDER BY account_place, place`),
      dueOf: db.prepare(`SELECT d.rowid AS rid, d.id, d.event_id, d.attempts, d.last_chance,
          e.event, e.site_id, e.event_time, e.media_id, e.channel_id, e.thumbnail_id, e.track_id
        FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.webhook_id = @webhookId AND d.status = 'pending' AND d.due_at <= @now
        ORDER BY d.due_at, d.created LIMIT @take`),
      lease: db.prepare(`UPDATE deliveries SET due_at = @leaseUntil, claimed_at = @now, lease_owner = @owner, retry_requested = 0
        WHERE rowid IN (SELECT value FROM json_each(@rowids))`),
      // A retry requested during the attempt makes the delivery due now, whatever the outcome.
      recordOutcome: db.prepare(`UPDATE deliveries SET attempts = attempts + 1,
        status = CASE WHEN retry_requested = 1 THEN 'pending' ELSE @status END,
        due_at = CASE WHEN retry_requested = 1 THEN @now ELSE @dueAt END,
        last_chance = CASE WHEN retry_requested = 1 AND @status <> 'pending' THEN 1 ELSE 0 END, retry_requested = 0,
        claimed_at = NULL, lease_owner = NULL, last_status_code = @statusCode, last_modified = @now WHERE id = @id`),
      // Once per webhook and batch. A failure that opens (or keeps open) the breaker holds attempts
      // back until the next probe; a healthy webhook's row is not written at all.
      recordHealth: db.prepare(`UPDATE webhooks SET
          consecutive_failures = CASE WHEN @reset = 1 THEN @failures ELSE consecutive_failures + @failures END,
          failing_since = CASE WHEN @failures = 0 THEN NULL WHEN @reset = 1 THEN @firstFailureAt ELSE coalesce(failing_since, @firstFailureAt) END,
          paused_until = nullif(max(coalesce(paused_until, 0), coalesce(@pauseUntil, 0),
            CASE WHEN @failures > 0 AND CASE WHEN @reset = 1 THEN 0 ELSE consecutive_failures END + @failures >= @breakerThreshold
              THEN @nextProbe ELSE 0 END), 0)
        WHERE id = @id AND NOT (@failures = 0 AND consecutive_failures = 0 AND @pauseUntil IS NULL)`),
      autoDisable: db.prepare(`UPDATE webhooks SET status = 'disabled', disabled_reason = @reason, disabled_at = @now, last_modified = @now
        WHERE id = @id AND status = 'active' AND failing_since <= @failingBefore RETURNING *`),
      insertAttempt: db.prepare(`INSERT INTO attempts (delivery_id, attempted_at, status_code, duration_ms, error, response_body)
        VALUES (@deliveryId, @attemptedAt, @statusCode, @durationMs, @error, @responseBody)`),
      releaseLeases: db.prepare('UPDATE deliveries SET due_at = ?, claimed_at = NULL, lease_owner = NULL WHERE claimed_at IS NOT NULL'),
      releaseOwnLeases: db.prepare(`UPDATE deliveries SET due_at = ?, claimed_at = NULL, lease_owner = NULL
        WHERE claimed_at IS NOT NULL AND lease_owner = ?`),
      // Each active webhook's next chance: its head if it has room, else its first lease to run
      // out; not before its pause ends, nor, while its account's share of this node is full,
      // before the account's first lease here runs out (max() of a NULL is NULL: no head).
      nextDue: db.prepare(`SELECT min(max(coalesce(paused_until, 0), CASE WHEN leased < cap THEN head ELSE lease_end END,
          CASE WHEN account_busy >= @accountMaxInFlight THEN account_lease_end ELSE 0 END)) AS due FROM (
          SELECT w.paused_until, coalesce(b.n, 0) AS account_busy, b.lease_end AS account_lease_end,
            CASE WHEN w.consecutive_failures >= @breakerThreshold THEN 1 ELSE min(coalesce(w.max_in_flight, @defaultMaxInFlight), @maxInFlightLimit) END AS cap,
            (SELECT count(*) FROM deliveries l WHERE l.webhook_id = w.id AND l.claimed_at IS NOT NULL AND l.due_at > @now) AS leased,
            (SELECT min(l.due_at) FROM deliveries l WHERE l.webhook_id = w.id AND l.claimed_at IS NOT NULL AND l.due_at > @now) AS lease_end,
            (SELECT min(d.due_at) FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') AS head
          FROM webhooks w LEFT JOIN (${ACCOUNT_LEASES}) b ON b.account_id = w.account_id WHERE w.status = 'active')`),
      recover: db.prepare(`UPDATE deliveries SET status = 'pending', due_at = @now, claimed_at = NULL, lease_owner = NULL,
        last_chance = 1, last_modified = @now
        WHERE webhook_id = @webhookId AND status = 'failed' AND created >= @since`),
      // Retention: a pending delivery is never purged, and an event goes only once its deliveries have.
      purgeDeliveries: db.prepare(`DELETE FROM deliveries WHERE rowid IN (
        SELECT d.rowid FROM events e JOIN deliveries d ON d.event_id = e.id
        WHERE e.created < ? AND d.status <> 'pending' ORDER BY e.created LIMIT ?)`),
      purgeEvents: db.prepare(`DELETE FROM events WHERE rowid IN (
        SELECT rowid FROM events e WHERE e.created < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
        ORDER BY e.created LIMIT ?)`),
      purgeIdempotencyKeys: db.prepare(`DELETE FROM idempotency_keys WHERE rowid IN (
        SELECT rowid FROM idempotency_keys WHERE created < ? ORDER BY created LIMIT ?)`),
      purgeFactKeys: db.prepare(`DELETE FROM fact_keys WHERE (site_id, key) IN (
        SELECT site_id, key FROM fact_keys WHERE created < ? ORDER BY created LIMIT ?)`),
      pendingStats: db.prepare(`SELECT count(*) AS pending, min(created) AS oldest FROM deliveries WHERE status = 'pending'`),
      disabledCount: db.prepare(`SELECT count(*) AS n FROM webhooks WHERE status = 'disabled'`),
      mostFailing: db.prepare(`SELECT id, consecutive_failures FROM webhooks WHERE consecutive_failures > 0
        ORDER BY consecutive_failures DESC, id LIMIT ?`),
      getDelivery: db.prepare(`SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?`),
      getEvent: db.prepare('SELECT * FROM events WHERE id = ?'),
      countSince: db.prepare(`SELECT status, count(*) AS n FROM deliveries WHERE webhook_id = ? AND created >= ? GROUP BY status`),
      lastAttempted: db.prepare(`SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.webhook_id = ? AND d.attempts > 0 ORDER BY d.created DESC, d.rowid DESC LIMIT 1`),
      listAttempts: db.prepare('SELECT * FROM attempts WHERE delivery_id = ? ORDER BY attempted_at, rowid'),
      getObject: db.prepare('SELECT state, version FROM platform_objects WHERE site_id = ? AND kind = ? AND id = ?'),
      insertObject: db.prepare(`INSERT INTO platform_objects (site_id, kind, id, state, version) VALUES (?, ?, ?, ?, 1)
        ON CONFLICT DO NOTHING`),
      updateObject: db.prepare(`UPDATE platform_objects SET state = ?, version = version + 1
        WHERE site_id = ? AND kind = ? AND id = ? AND version = ?`),
      findFactKey: db.prepare('SELECT request_hash, answer FROM fact_keys WHERE site_id = ? AND key = ? AND created > ?'),
      forgetFactKey: db.prepare('DELETE FROM fact_keys WHERE site_id = ? AND key = ? AND created <= ?'),
      saveFactKey: db.prepare(`INSERT INTO fact_keys (site_id, key, request_hash, answer, created) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT DO NOTHING`),
      // In flight: the retry waits for the attempt's outcome (recordOutcome).
      requestRetry: db.prepare(`UPDATE deliveries SET retry_requested = 1, last_modified = @now
        WHERE id = @id AND claimed_at IS NOT NULL AND due_at > @now`),
      retry: db.prepare(`UPDATE deliveries SET status = 'pending', due_at = @now, claimed_at = NULL, retry_requested = 0,
        last_chance = CASE WHEN status = 'pending' THEN 0 ELSE 1 END, last_modified = @now WHERE id = @id`),
    };
  }

  async migrate(): Promise<void> {
    this.migrateNow();
  }

  async close(): Promise<void> {
    clearInterval(this.full?.probe);
    if (this.db.open) this.db.close();
  }

  async createAccount(a: Account): Promise<void> {
    this.sql.insertAccount.run(a.id, a.name, a.created);
  }

  async listAccounts(): Promise<Account[]> {
    return this.sql.listAccounts.all() as Account[];
  }

  async getAccount(id: string): Promise<Account | undefined> {
    return this.sql.getAccount.get(id) as Account | undefined;
  }

  async createApiKey(key: ApiKey, hash: string): Promise<void> {
    this.sql.insertKey.run(key.id, key.accountId, key.name, hash, key.created);
  }

  async findApiKey(hash: string): Promise<ApiKey | undefined> {
    const r = this.sql.findKey.get(hash) as Row | undefined;
    return r && ownedFrom(r);
  }

  async listApiKeys(accountId: string): Promise<ApiKey[]> {
    return (this.sql.listKeys.all(accountId) as Row[]).map(ownedFrom);
  }

  async revokeApiKey(accountId: string, keyId: string): Promise<boolean> {
    return this.sql.revokeKey.run(accountId, keyId).changes > 0;
  }

  async setOperatorKey(key: ApiKey, hash: string): Promise<void> {
    this.db.transaction(() => {
      this.sql.deleteOperatorKeys.run();
      this.sql.insertKey.run(key.id, null, key.name, hash, key.created);
    })();
  }

  async hasOperatorKey(): Promise<boolean> {
    return this.sql.hasOperatorKey.get() !== undefined;
  }

  async createSession(idHash: string, s: Omit<Session, 'accountId'>): Promise<void> {
    this.sql.insertSession.run({ idHash, ...s });
  }

  async findSession(idHash: string, now: number): Promise<Session | undefined> {
    const r = this.sql.findSession.get(idHash, now) as Row | undefined;
    return r && { apiKeyId: r.api_key_id, accountId: r.account_id, csrfToken: r.csrf_token, created: r.created, expires: r.expires };
  }

  async deleteSession(idHash: string): Promise<void> {
    this.sql.deleteSession.run(idHash);
  }

  async purgeSessions(now: number): Promise<number> {
    return this.sql.purgeSessions.run(now).changes;
  }

  async createSite(s: Site): Promise<void> {
    this.sql.insertSite.run(s.id, s.accountId, s.name, s.created);
  }

  async getSite(id: string): Promise<Site | undefined> {
    const r = this.sql.getSite.get(id) as Row | undefined;
    return r && ownedFrom(r);
  }

  async listSites(accountId: string | null): Promise<Site[]> {
    const rows = (accountId === null ? this.sql.listAllSites.all() : this.sql.listSites.all(accountId)) as Row[];
    return rows.map(ownedFrom);
  }

  private subscribe(w: Pick<Webhook, 'id' | 'siteIds' | 'events'>): void {
    this.sql.deleteSubscriptions.run(w.id);
    for (const site of w.siteIds) for (const event of w.events) this.sql.insertSubscription.run(site, event, w.id);
  }

  async createWebhook(w: Webhook, sealedSecret: string): Promise<void> {
    this.db.transaction(() => {
      this.sql.insertWebhook.run({ ...w, secret: sealedSecret, siteIds: JSON.stringify(w.siteIds), events: JSON.stringify(w.events) });
      this.subscribe(w);
    })();
  }

  async getWebhook(id: string): Promise<Webhook | undefined> {
    const r = this.sql.getWebhook.get(id) as Row | undefined;
    return r && webhookFrom(r);
  }

  async getWebhookSecrets(id: string): Promise<SealedSecrets | undefined> {
    const r = this.sql.getSecrets.get(id) as Row | undefined;
    return r && { current: r.secret, previous: r.previous_secret, previousExpiresAt: r.previous_secret_expires };
  }

  async rotateWebhookSecret(id: string, sealedSecret: string, previousExpiresAt: number | null, now: number): Promise<Webhook | undefined> {
    return this.db.transaction(() => {
      if (this.sql.rotateSecret.run({ id, secret: sealedSecret, previousExpires: previousExpiresAt, now }).changes === 0) return undefined;
      return webhookFrom(this.sql.getWebhook.get(id) as Row);
    })();
  }

  async getSealCheck(): Promise<string | undefined> {
    return (this.sql.getMeta.get('seal_check') as Row | undefined)?.value;
  }

  async adoptSealing(check: string, seal: (webhookId: string, plaintext: string) => string): Promise<string> {
    let sealed = 0;
    const stored = this.db.transaction(() => {
      const existing = this.sql.getMeta.get('seal_check') as Row | undefined;
      if (existing) return existing.value as string;
      for (const r of this.sql.allSecrets.all() as Row[]) sealed += this.sql.setSecret.run(seal(r.id, r.secret), r.id).changes;
      this.sql.insertMeta.run('seal_check', check);
      return check;
    })();
    if (sealed > 0 && this.db.name !== ':memory:') {
      // The secrets in clear may linger in freed space of the file and in the WAL: rewrite both.
      this.db.exec('VACUUM');
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    }
    return stored;
  }

  async listWebhooks(accountId: string | null, page: Page, ascending: boolean) {
    const where = accountId === null ? '' : 'WHERE account_id = ?';
    const args = accountId === null ? [] : [accountId];
    const order = ascending ? 'created ASC, rowid ASC' : 'created DESC, rowid DESC';
    const rows = this.db
      .prepare(`SELECT * FROM webhooks ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
      .all(...args, page.pageLength, (page.page - 1) * page.pageLength) as Row[];
    const { total } = this.db.prepare(`SELECT count(*) AS total FROM webhooks ${where}`).get(...args) as Row;
    return { webhooks: rows.map(webhookFrom), total };
  }

  async updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<Webhook | undefined> {
    return this.db.transaction(() => {
      const row = this.sql.getWebhook.get(id) as Row | undefined;
      if (!row) return undefined;
      const next = { ...webhookFrom(row), ...changes, lastModified: now };
      this.sql.updateWebhook.run({ ...next, siteIds: JSON.stringify(next.siteIds), events: JSON.stringify(next.events) });
      if (changes.siteIds || changes.events) this.subscribe(next);
      if (changes.status === 'disabled') this.sql.disableWebhook.run({ id, reason: changes.disabledReason ?? null, now });
      if (changes.status === 'active') this.sql.enableWebhook.run({ id, now });
      return webhookFrom(this.sql.getWebhook.get(id) as Row);
    })();
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.sql.deleteWebhook.run(id).changes > 0;
  }

  async ingest(items: IngestItem[], now: number, options: IngestOptions): Promise<IngestOutcome[]> {
    return this.db.transaction(() =>
      items.map((item): IngestOutcome => {
        const { event, idempotency } = item;
        if (idempotency) {
          const seen = this.sql.findIdempotency.get(event.siteId, idempotency.key, now - options.idempotencyWindowMs) as Row | undefined;
          if (seen) {
            return seen.request_hash === idempotency.requestHash
              ? { kind: 'repeat', eventId: seen.event_id, deliveries: seen.deliveries }
              : { kind: 'conflict' };
          }
        }
        const deliveries = this.insertEvent(event, now, options.firstAttemptAt, item.onlyWebhookId);
        if (idempotency) {
          this.sql.saveIdempotency.run(event.siteId, idempotency.key, idempotency.requestHash, event.id, deliveries, now);
        }
        return { kind: 'accepted', eventId: event.id, deliveries };
      }),
    )();
  }

  /** Inserts the event and its deliveries: one per subscribed webhook, or one to `onlyWebhookId`. */
  private insertEvent(event: EventRecord, now: number, firstAttemptAt: number, onlyWebhookId?: string): number {
    this.sql.insertEvent.run({
      id: event.id, siteId: event.siteId, event: event.event, eventTime: event.eventTime, created: event.created,
      media_id: event.ids.media_id ?? null, channel_id: event.ids.channel_id ?? null,
      thumbnail_id: event.ids.thumbnail_id ?? null, track_id: event.ids.track_id ?? null,
    });
    return onlyWebhookId
      ? this.sql.deliverTo.run({ eventId: event.id, dueAt: firstAttemptAt, now, webhookId: onlyWebhookId }).changes
      : this.sql.fanOut.run({ eventId: event.id, dueAt: firstAttemptAt, now, siteId: event.siteId, event: event.event }).changes;
  }

  async getPlatformObject(siteId: string, kind: PlatformKind, id: string): Promise<PlatformObject | undefined> {
    const r = this.sql.getObject.get(siteId, kind, id) as Row | undefined;
    return r && { kind, id, state: JSON.parse(r.state), version: r.version };
  }

  async findFactAnswer(siteId: string, key: string, notBefore: number) {
    const r = this.sql.findFactKey.get(siteId, key, notBefore) as Row | undefined;
    return r && { requestHash: r.request_hash as string, answer: r.answer as string };
  }

  async commitFact(commit: FactCommit, now: number, options: IngestOptions): Promise<{ deliveries: number } | 'stale'> {
    try {
      return this.db.transaction(() => {
        for (const w of commit.writes) {
          const state = JSON.stringify(w.state);
          const { changes } = w.version === 0
            ? this.sql.insertObject.run(commit.siteId, w.kind, w.id, state)
            : this.sql.updateObject.run(state, commit.siteId, w.kind, w.id, w.version);
          if (changes === 0) throw new StaleFact();
        }
        const key = commit.idempotency;
        if (key) {
          this.sql.forgetFactKey.run(commit.siteId, key.key, now - options.idempotencyWindowMs);
          if (this.sql.saveFactKey.run(commit.siteId, key.key, key.requestHash, key.answer, now).changes === 0) throw new StaleFact();
        }
        let deliveries = 0;
        for (const event of commit.events) deliveries += this.insertEvent(event, now, options.firstAttemptAt);
        return { deliveries };
      })();
    } catch (err) {
      if (err instanceof StaleFact) return 'stale';
      throw err;
    }
  }

  /**
   * A dispatcher's bookkeeping (leases, outcomes), committed without an fsync of its own: a
   * power cut that loses it only means a delivery is attempted again (at-least-once), and the
   * next commit at FULL makes it durable with the WAL frames before it. Everything that is
   * acknowledged to a caller (intake, API changes) keeps the configured level. On a loaded
   * disk this removes two of every three fsyncs from the delivery path.
   */
  private bookkeeping<T>(work: () => T): T {
    if (this.synchronous !== 'FULL') return this.db.transaction(work)();
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.db.transaction(work)();
    } finally {
      this.db.pragma('synchronous = FULL');
    }
  }

  async claimDue(now: number, limit: number, options: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.bookkeeping(() => {
      // The accounts in claim order, each with its webhooks in claim order (see `claimable`).
      const accounts: ClaimingAccount[] = [];
      for (const r of this.sql.claimable.all({ ...claimParams(options), now, limit }) as Row[]) {
        if (accounts.at(-1)?.id !== r.account_id) {
          accounts.push({ id: r.account_id, inFlight: r.account_busy, free: options.accountMaxInFlight - r.account_busy, webhooks: [], open: [] });
        }
        const account = accounts.at(-1)!;
        const webhook = { id: r.id as string, url: r.webhook_url as string, inFlight: r.leased as number, free: r.free as number, taken: [] as ClaimedDelivery[] };
        account.webhooks.push(webhook);
        account.open.push(webhook);
      }
      // Rounds of water-filling shares (see waterFill): between the accounts, each within its
      // share of this node's places, then within each account between its webhooks. A webhook
      // leaves once it is drained or full, an account once it is full or has no webhook left,
      // and what they could not take goes round again to the others.
      let open = accounts;
      let left = limit;
      while (left > 0 && open.length > 0) {
        const shares = waterFill(open.map((a) => ({ inFlight: a.inFlight, free: Math.min(a.free, a.open.reduce((n, w) => n + w.free, 0)) })), left);
        if (shares.every((n) => n === 0)) break;
        open.forEach((account, i) => {
          const split = waterFill(account.open, shares[i]!);
          account.open = account.open.filter((w, j) => {
            const take = split[j]!;
            if (take === 0) return true;
            const rows = this.sql.dueOf.all({ webhookId: w.id, now, take }) as Row[];
            if (rows.length > 0) {
              this.sql.lease.run({ leaseUntil: now + options.leaseMs, now, owner: options.owner, rowids: JSON.stringify(rows.map((r) => r.rid)) });
              for (const r of rows) w.taken.push(claimedFrom(r, w.id, w.url));
              w.free -= rows.length;
              w.inFlight += rows.length;
              account.free -= rows.length;
              account.inFlight += rows.length;
              left -= rows.length;
            }
            return rows.length === take && w.free > 0; // else drained or full
          });
        });
        open = open.filter((a) => a.free > 0 && a.open.length > 0);
      }
      // Handed out in the same order: each next to the account with the fewest in flight here,
      // and within it to the webhook with the fewest in flight.
      const claimed = accounts.flatMap((account, order) => {
        const taken = inTurn(account.webhooks);
        const busy = account.inFlight - taken.length;
        return taken.map((d, turn) => ({ d, key: busy + turn, busy, order }));
      });
      return claimed.sort((a, b) => a.key - b.key || a.busy - b.busy || a.order - b.order).map((c) => c.d);
    });
  }

  async recordOutcomes(outcomes: Outcome[], now: number, policy: HealthPolicy): Promise<Webhook[]> {
    return this.bookkeeping(() => {
      const recorded: Outcome[] = [];
      for (const o of outcomes) {
        const status = o.succeeded ? 'succeeded' : o.nextAttemptAt === null ? 'failed' : 'pending';
        const { changes } = this.sql.recordOutcome.run({
          id: o.deliveryId, status, dueAt: status === 'pending' ? o.nextAttemptAt : null,
          statusCode: o.attempt.statusCode, now,
        });
        // The webhook may have been deleted meanwhile, and its deliveries with it.
        if (changes === 0) continue;
        this.sql.insertAttempt.run({ deliveryId: o.deliveryId, ...o.attempt });
        recorded.push(o);
      }
      const disabled: Webhook[] = [];
      for (const h of healthChanges(recorded)) {
        this.sql.recordHealth.run({
          id: h.webhookId, reset: h.reset ? 1 : 0, failures: h.failures, firstFailureAt: h.firstFailureAt, pauseUntil: h.pauseUntil,
          breakerThreshold: policy.breakerThreshold, nextProbe: now + policy.probeIntervalMs,
        });
        const row = (h.gone
          ? this.sql.disableWebhook.get({ id: h.webhookId, reason: GONE_REASON, now })
          : h.failures > 0
            ? this.sql.autoDisable.get({ id: h.webhookId, reason: autoDisableReason(policy), now, failingBefore: now - policy.autoDisableAfterMs })
            : undefined) as Row | undefined;
        if (row) disabled.push(webhookFrom(row));
      }
      return disabled;
    });
  }

  async releaseLeases(now: number, owner?: string): Promise<number> {
    return (owner === undefined ? this.sql.releaseLeases.run(now) : this.sql.releaseOwnLeases.run(now, owner)).changes;
  }

  async recoverDeliveries(webhookId: string, since: number, now: number): Promise<number> {
    return this.sql.recover.run({ webhookId, since, now }).changes;
  }

  async purgeDeliveries(before: number, limit: number): Promise<number> {
    return this.sql.purgeDeliveries.run(before, limit).changes;
  }

  async purgeEvents(before: number, limit: number): Promise<number> {
    return this.sql.purgeEvents.run(before, limit).changes;
  }

  async purgeIdempotencyKeys(before: number, limit: number): Promise<number> {
    const intake = this.sql.purgeIdempotencyKeys.run(before, limit).changes;
    return intake + this.sql.purgeFactKeys.run(before, limit - intake).changes;
  }

  async engineStats(top: number): Promise<EngineStats> {
    const pending = this.sql.pendingStats.get() as Row;
    return {
      pending: pending.pending,
      oldestPendingCreated: pending.oldest ?? null,
      disabledWebhooks: (this.sql.disabledCount.get() as Row).n,
      failing: (this.sql.mostFailing.all(top) as Row[]).map((r) => ({ webhookId: r.id, consecutiveFailures: r.consecutive_failures })),
    };
  }

  async nextDueAt(now: number, options: ClaimOptions): Promise<number | null> {
    return (this.sql.nextDue.get({ ...claimParams(options), now }) as Row).due ?? null;
  }

  async listDeliveries(webhookId: string, filter: DeliveryFilter, page: Page) {
    const conditions = ['d.webhook_id = @webhookId'];
    if (filter.status) conditions.push('d.status = @status');
    if (filter.event) conditions.push('e.event = @event');
    const from = `FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${conditions.join(' AND ')}`;
    const params = { webhookId, status: filter.status, event: filter.event };
    const rows = this.db
      .prepare(`SELECT d.*, e.event ${from} ORDER BY d.created DESC, d.rowid DESC LIMIT @limit OFFSET @offset`)
      .all({ ...params, limit: page.pageLength, offset: (page.page - 1) * page.pageLength }) as Row[];
    const { total } = this.db.prepare(`SELECT count(*) AS total ${from}`).get(params) as Row;
    return { deliveries: rows.map(deliveryFrom), total };
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const r = this.sql.getDelivery.get(id) as Row | undefined;
    return r && deliveryFrom(r);
  }

  async getEvent(id: string): Promise<EventRecord | undefined> {
    const r = this.sql.getEvent.get(id) as Row | undefined;
    return r && { id: r.id, siteId: r.site_id, event: r.event, ids: idsFrom(r), eventTime: r.event_time, created: r.created };
  }

  async webhookStats(webhookId: string, since: number): Promise<WebhookStats> {
    const stats: WebhookStats = { pending: 0, succeeded: 0, failed: 0, lastAttempted: undefined };
    for (const r of this.sql.countSince.all(webhookId, since) as Row[]) stats[r.status as Delivery['status']] = r.n;
    const last = this.sql.lastAttempted.get(webhookId) as Row | undefined;
    stats.lastAttempted = last && deliveryFrom(last);
    return stats;
  }

  async listAttempts(deliveryId: string): Promise<Attempt[]> {
    return (this.sql.listAttempts.all(deliveryId) as Row[]).map(attemptFrom);
  }

  async retryDelivery(id: string, now: number): Promise<boolean> {
    return this.sql.requestRetry.run({ id, now }).changes > 0 || this.sql.retry.run({ id, now }).changes > 0;
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    this.sql.insertAudit.run(entry);
  }

  async listAudit(accountId: string | null, page: Page) {
    const where = accountId === null ? '' : 'WHERE account_id = ?';
    const args = accountId === null ? [] : [accountId];
    const rows = this.db
      .prepare(`SELECT * FROM audit_log ${where} ORDER BY created DESC, rowid DESC LIMIT ? OFFSET ?`)
      .all(...args, page.pageLength, (page.page - 1) * page.pageLength) as Row[];
    const { total } = this.db.prepare(`SELECT count(*) AS total FROM audit_log ${where}`).get(...args) as Row;
    const entries = rows.map(auditFrom);
    return { entries, total };
  }
}

interface ClaimingWebhook {
  id: string;
  url: string;
  inFlight: number;
  free: number;
  taken: ClaimedDelivery[];
}

interface ClaimingAccount {
  id: string;
  /** This node's leases of the account's webhooks. */
  inFlight: number;
  /** What is left of its share of this node's places. */
  free: number;
  webhooks: ClaimingWebhook[];
  /** The webhooks that may still take deliveries in this claim. */
  open: ClaimingWebhook[];
}

/** The claim's options as the statements name them. */
function claimParams(options: ClaimOptions) {
  return {
    owner: options.owner, breakerThreshold: options.breakerThreshold, defaultMaxInFlight: options.defaultMaxInFlight,
    maxInFlightLimit: options.maxInFlightLimit, accountMaxInFlight: options.accountMaxInFlight,
  };
}

/** What one account's webhooks took, each next to the webhook that had the fewest in flight. */
function inTurn(webhooks: readonly ClaimingWebhook[]): ClaimedDelivery[] {
  return webhooks
    .flatMap((w, order) => w.taken.map((d, turn) => ({ d, key: w.inFlight - w.taken.length + turn, leased: w.inFlight - w.taken.length, order })))
    .sort((a, b) => a.key - b.key || a.leased - b.leased || a.order - b.order)
    .map((c) => c.d);
}

function claimedFrom(r: Row, webhookId: string, webhookUrl: string): ClaimedDelivery {
  return {
    id: r.id,
    eventId: r.event_id,
    webhookId,
    webhookUrl,
    attempts: r.attempts,
    lastChance: r.last_chance === 1,
    facts: { event: r.event, siteId: r.site_id, eventTime: r.event_time, ids: idsFrom(r) },
  };
}

