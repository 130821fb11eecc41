// The shared store: PostgreSQL, for many API and worker nodes on one database. This class only
// opens, migrates and closes it; each port's operations live in a file of their own, each with
// its SQL (directory.ts, webhooks.ts, intake.ts, engine.ts, delivery-log.ts, search-deliveries.ts,
// webhook-history.ts, feed.ts, retention.ts, audit.ts, membership.ts), and run through the pool
// of db.ts. Nodes tell each other of changes with LISTEN/NOTIFY on one channel per schema (changes.ts).
import pg from 'pg';
import type { Audit, DeliveryInsights, DeliveryLog, Directory, EngineStore, EventFeed, Intake, Membership, Migrated, RateLimits, Retention, Store, Webhooks } from '../ports.js';
import type { StoreChange } from '../types.js';
import * as audit from './audit.js';
import { ChangeFeed } from './changes.js';
import { Db, type PostgresOptions } from './db.js';
import * as log from './delivery-log.js';
import * as directory from './directory.js';
import * as engine from './engine.js';
import * as feed from './feed.js';
import * as intake from './intake.js';
import { loadDueOrdered } from './load-ordered.js';
import * as membership from './membership.js';
import * as portal from './portal.js';
import { storeError } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import * as partitions from './partitions.js';
import * as rateLimits from './rate-limits.js';
import * as retention from './retention.js';
import { searchDeliveries } from './search-deliveries.js';
import { webhookHistory } from './webhook-history.js';
import * as webhooks from './webhooks.js';

export class PostgresStore implements Store {
  readonly db: Db;
  /** The pool and the schema, for tests and tools that read the tables themselves. */
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly membership: Membership;
  readonly rateLimits: RateLimits;
  private readonly feed: ChangeFeed;

  constructor(options: PostgresOptions) {
    this.db = new Db(options);
    this.pool = this.db.pool;
    this.schema = this.db.schema;
    this.feed = new ChangeFeed(this.db.guarded, this.db.channel, this.db.origin, this.db.callTimeoutMs);
    this.membership = {
      heartbeat: (nodeId, now, aliveAfter) => membership.heartbeat(this.db, nodeId, now, aliveAfter),
      leave: (nodeId) => membership.leave(this.db, nodeId),
    };
    this.rateLimits = { take: (key, n, windowMs) => rateLimits.take(this.db, key, n, windowMs) };
  }

  /**
   * Migrations run on a connection of their own, without the query timeout: an index built over
   * a large table may take minutes, and every node starting at once waits on the advisory lock.
   */
  async migrate(): Promise<Migrated> {
    const db = new pg.Client(this.db.connection);
    db.on('error', () => {}); // the failing query rejects too
    let migrated: Migrated;
    try {
      await db.connect();
      await db.query('BEGIN');
      // The partitions' interval, for migration 15 (src/store/postgres/partition-migration.ts).
      await db.query(`SELECT set_config('hookline.partition_interval_ms', $1, true)`, [String(this.db.partitionIntervalMs)]);
      // Every node starting at once waits here; the first migrates, the others find it done.
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline migrate ${this.schema}`]);
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await db.query('CREATE TABLE IF NOT EXISTS hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      const { rows } = await db.query('SELECT coalesce(max(version), 0) AS version FROM hookline_migrations');
      const from = rows[0].version as number;
      for (let i = from; i < MIGRATIONS.length; i++) {
        await db.query(MIGRATIONS[i]!);
        await db.query('INSERT INTO hookline_migrations (version, applied) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
      await db.query('COMMIT');
      migrated = { from, to: MIGRATIONS.length };
    } catch (err) {
      throw storeError(err); // ending the connection rolls back
    } finally {
      await db.end().catch(() => {});
    }
    // The intervals ahead, as every retention pass makes them, so that a node's first inserts land in theirs.
    await partitions.ensurePartitions(this.db, Date.now(), this.db.partitionIntervalMs).catch((err) => {
      throw storeError(err);
    });
    return migrated;
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.db.close();
  }

  /** /readyz: answers within READY_TIMEOUT_MS, waiting for a connection included, or throws StoreUnavailable. */
  ping(): Promise<void> {
    return this.db.ping();
  }

  /** This process's own writes are told right after their COMMIT; the other nodes' come through the feed. */
  onChange(listener: (change: StoreChange) => void): void {
    this.db.listen(listener);
    this.feed.listen(listener);
  }

  createAccount: Directory['createAccount'] = (account) => directory.createAccount(this.db, account);
  listAccounts: Directory['listAccounts'] = () => directory.listAccounts(this.db);
  getAccount: Directory['getAccount'] = (id) => directory.getAccount(this.db, id);
  createApiKey: Directory['createApiKey'] = (key, hash) => directory.createApiKey(this.db, key, hash);
  findApiKey: Directory['findApiKey'] = (hash) => directory.findApiKey(this.db, hash);
  listApiKeys: Directory['listApiKeys'] = (accountId) => directory.listApiKeys(this.db, accountId);
  revokeApiKey: Directory['revokeApiKey'] = (accountId, keyId) => directory.revokeApiKey(this.db, accountId, keyId);
  setOperatorKey: Directory['setOperatorKey'] = (key, hash) => directory.setOperatorKey(this.db, key, hash);
  hasOperatorKey: Directory['hasOperatorKey'] = () => directory.hasOperatorKey(this.db);
  createSession: Directory['createSession'] = (idHash, session) => directory.createSession(this.db, idHash, session);
  findSession: Directory['findSession'] = (idHash, now) => directory.findSession(this.db, idHash, now);
  deleteSession: Directory['deleteSession'] = (idHash) => directory.deleteSession(this.db, idHash);
  createPortalToken: Directory['createPortalToken'] = (tokenHash, token) => portal.createPortalToken(this.db, tokenHash, token);
  openPortalSession: Directory['openPortalSession'] = (tokenHash, idHash, csrfToken, now) => portal.openPortalSession(this.db, tokenHash, idHash, csrfToken, now);
  createSite: Directory['createSite'] = (site) => directory.createSite(this.db, site);
  getSite: Directory['getSite'] = (id) => directory.getSite(this.db, id);
  listSites: Directory['listSites'] = (accountId) => directory.listSites(this.db, accountId);

  createWebhook: Webhooks['createWebhook'] = (webhook, sealedSecret, sealedHeaders) => webhooks.createWebhook(this.db, webhook, sealedSecret, sealedHeaders);
  getWebhook: Webhooks['getWebhook'] = (id) => webhooks.getWebhook(this.db, id);
  getWebhookSecrets: Webhooks['getWebhookSecrets'] = (id) => webhooks.getWebhookSecrets(this.db, id);
  rotateWebhookSecret: Webhooks['rotateWebhookSecret'] = (id, sealed, previousExpiresAt, now) =>
    webhooks.rotateWebhookSecret(this.db, id, sealed, previousExpiresAt, now);
  listWebhooks: Webhooks['listWebhooks'] = (accountId, page, ascending) => webhooks.listWebhooks(this.db, accountId, page, ascending);
  updateWebhook: Webhooks['updateWebhook'] = (id, changes, now) => webhooks.updateWebhook(this.db, id, changes, now);
  deleteWebhook: Webhooks['deleteWebhook'] = (id) => webhooks.deleteWebhook(this.db, id);
  getSealCheck: Webhooks['getSealCheck'] = () => webhooks.getSealCheck(this.db);
  adoptSealing: Webhooks['adoptSealing'] = (check, seal) => webhooks.adoptSealing(this.db, check, seal);

  ingest: Intake['ingest'] = (items, now, options) => intake.ingest(this.db, items, now, options);
  getPlatformObject: Intake['getPlatformObject'] = (siteId, kind, id) => intake.getPlatformObject(this.db, siteId, kind, id);
  findAnswer: Intake['findAnswer'] = (siteId, key, notBefore) => intake.findAnswer(this.db, siteId, key, notBefore);

  pendingWebhooks: EngineStore['pendingWebhooks'] = () => engine.pendingWebhooks(this.db);
  getEndpoint: EngineStore['getEndpoint'] = (id) => engine.getEndpoint(this.db, id);
  loadDue: EngineStore['loadDue'] = (webhookId, now, limit) => engine.loadDue(this.db, webhookId, now, limit);
  loadDueOrdered: EngineStore['loadDueOrdered'] = (webhookId, now, limit, learn) => loadDueOrdered(this.db, webhookId, now, limit, learn);
  recordOutcomes: EngineStore['recordOutcomes'] = (outcomes, now, policy) => engine.recordOutcomes(this.db, outcomes, now, policy);
  engineStats: EngineStore['engineStats'] = (top) => engine.engineStats(this.db, top);

  listDeliveries: DeliveryLog['listDeliveries'] = (webhookId, filter, page) => log.listDeliveries(this.db, webhookId, filter, page);
  getDelivery: DeliveryLog['getDelivery'] = (id) => log.getDelivery(this.db, id);
  getEvent: DeliveryLog['getEvent'] = (id) => log.getEvent(this.db, id);
  webhookStats: DeliveryLog['webhookStats'] = (webhookIds, since) => log.webhookStats(this.db, webhookIds, since);
  listAttempts: DeliveryLog['listAttempts'] = (deliveryId, created) => log.listAttempts(this.db, deliveryId, created);
  retryDelivery: DeliveryLog['retryDelivery'] = (id, now) => log.retryDelivery(this.db, id, now);
  recoverDeliveries: DeliveryLog['recoverDeliveries'] = (webhookId, since, now) => log.recoverDeliveries(this.db, webhookId, since, now);

  searchDeliveries: DeliveryInsights['searchDeliveries'] = (search) => searchDeliveries(this.db, search);
  webhookHistory: DeliveryInsights['webhookHistory'] = (webhookId, window) => webhookHistory(this.db, webhookId, window);

  readFeed: EventFeed['readFeed'] = (siteId, after, event, limit) => feed.readFeed(this.db, siteId, after, event, limit);
  replayEvents: EventFeed['replayEvents'] = (webhookId, since, now, dryRun) => feed.replayEvents(this.db, webhookId, since, now, dryRun);

  purgeDeliveries: Retention['purgeDeliveries'] = (before, limit) => retention.purgeDeliveries(this.db, before, limit);
  purgeEvents: Retention['purgeEvents'] = (before, limit) => retention.purgeEvents(this.db, before, limit);
  purgeIdempotencyKeys: Retention['purgeIdempotencyKeys'] = (before, limit) => retention.purgeIdempotencyKeys(this.db, before, limit);
  purgeSessions: Retention['purgeSessions'] = (now) => retention.purgeSessions(this.db, now);
  preparePartitions: Retention['preparePartitions'] = (now) => partitions.ensurePartitions(this.db, now, this.db.partitionIntervalMs);
  dropPartitions: Retention['dropPartitions'] = (before) => partitions.dropPartitions(this.db, before);

  appendAudit: Audit['appendAudit'] = (entry) => audit.appendAudit(this.db, entry);
  listAudit: Audit['listAudit'] = (accountId, page) => audit.listAudit(this.db, accountId, page);
}
