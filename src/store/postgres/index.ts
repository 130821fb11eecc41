// The shared store: PostgreSQL, for many API and dispatcher nodes on one database. Nodes claim
// deliveries with FOR UPDATE SKIP LOCKED and leases, and tell each other of changes with
// LISTEN/NOTIFY on one channel per schema (src/store/postgres/changes.ts).
import pg from 'pg';
import { autoDisableReason, GONE_REASON, healthChanges } from '../health.js';
import { attemptFrom, auditFrom, deliveryFrom, idsFrom, ownedFrom, webhookFrom, type Row } from '../rows.js';
import { StoreUnavailable } from '../unavailable.js';
import { ChangeFeed, changeChannel } from './changes.js';
import { CommitUnknown } from '../unavailable.js';
import { isUnavailable, storeError } from './errors.js';
import { MIGRATIONS } from './migrations.js';
import type {
  Account, ApiKey, Attempt, AuditEntry, ClaimedDelivery, ClaimOptions, Delivery, DeliveryFilter, EngineStats, EventRecord,
  FactCommit, HealthPolicy, IngestItem, IngestOptions, IngestOutcome, Outcome, Page, PlatformKind, PlatformObject,
  SealedSecrets, Session, Site, Store, StoreChange, Webhook, WebhookChanges, WebhookStats,
} from '../types.js';

/**
 * The node `owner`'s unexpired leases per account (`n`), at the time $1, and the first of them
 * to run out: how much of its share of the node's places each account holds. Leases of every
 * status count, a disabled or paused webhook's too: their attempts are in flight all the same.
 */
const accountLeases = (owner: string) => `SELECT w.account_id, count(*) AS n, min(d.due_at) AS lease_end
  FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id
  WHERE d.claimed_at IS NOT NULL AND d.due_at > $1 AND d.lease_owner = ${owner}
  GROUP BY w.account_id`;

/** Thrown inside a transaction to roll it back when a fact was read at an old version. */
class StaleFact extends Error {}

export interface PostgresOptions {
  /** postgres://…; `?schema=name` keeps Hookline's tables in that schema (made if missing). */
  url: string;
  poolSize: number;
  /** Opening a connection, or waiting for a free one in the pool (5 s unless given). */
  connectTimeoutMs?: number;
  /** One call: a statement or a whole transaction (5 s unless given). See HOOKLINE_DATABASE_QUERY_TIMEOUT. */
  queryTimeoutMs?: number;
}

/** Silence on an idle connection before TCP keepalive probes it (Node then probes every second, 10 times). */
const KEEPALIVE_IDLE_MS = 10_000;
/**
 * This side gives up this long after the server's statement_timeout would have cancelled the
 * statement: a slow statement is then cancelled by the server, which keeps the connection, and
 * only a connection that stays silent is dropped.
 */
const GRACE_MS = 1_000;
/** /readyz: a database that does not answer SELECT 1 this fast is not ready. */
export const READY_TIMEOUT_MS = 2_000;

// BIGINT (epoch ms, counts) as numbers: every time and count Hookline keeps fits in 2^53.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Splits `?schema=` off the URL: PostgreSQL itself knows no such parameter. */
export function parseDatabaseUrl(url: string): { connectionString: string; schema: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`DATABASE_URL: schema "${schema}" must be lower-case letters, digits and _ (starting with a letter or _)`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

const NEW_DELIVERY_ID = `'msg_' || encode(substring(uuid_send(gen_random_uuid()) from 1 for 12), 'hex')`;

export class PostgresStore implements Store {
  readonly exclusive = false;
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly channel: string;
  private readonly feed: ChangeFeed;
  /** Connection settings without the timeouts: for migrations. */
  private readonly connection: pg.ClientConfig;
  /** The deadline of one call (run()): the query timeout and its grace. */
  private readonly callTimeoutMs: number;

  constructor(options: PostgresOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.schema = schema;
    this.channel = changeChannel(schema);
    const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
    this.callTimeoutMs = queryTimeoutMs + GRACE_MS;
    this.connection = {
      connectionString, types, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000, options: `-c search_path=${schema}`,
      keepAlive: true, keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    };
    // A connection that goes silent (a dropped NAT entry, a failover without a reset) is found
    // out: the server cancels what runs too long and ends a transaction whose client has gone
    // quiet (the locks it held are freed), and this side gives up waiting on a statement, TCP
    // keepalive probes an idle connection, and every call has its deadline (run()).
    // (Server settings go in `options`, the one startup parameter sent already, rather than as
    // startup parameters of their own, which a pooler such as PgBouncer may refuse.)
    const guarded: pg.ClientConfig = {
      ...this.connection,
      options: `${this.connection.options} -c statement_timeout=${queryTimeoutMs} -c idle_in_transaction_session_timeout=${queryTimeoutMs}`,
      query_timeout: this.callTimeoutMs,
    };
    this.pool = new pg.Pool({ ...guarded, max: options.poolSize });
    // An idle connection that the server dropped (a restart): the next query opens a new one.
    this.pool.on('error', () => {});
    this.feed = new ChangeFeed(guarded, this.channel, this.callTimeoutMs);
  }

  private query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    return this.run((db) => db.query(text, values));
  }

  /**
   * Runs `work` in one transaction. A database that cannot be reached before COMMIT is sent
   * throws StoreUnavailable, with nothing committed; any error once COMMIT was sent (the
   * connection lost before its answer, COMMIT refused, or the deadline passing) throws
   * CommitUnknown: it may have been committed. `deadlineMs`: as run()'s.
   */
  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>, deadlineMs?: number | null): Promise<T> {
    return this.run(work, { transaction: true, deadlineMs });
  }

  /**
   * One call to the database on a connection of the pool, within its deadline (the query
   * timeout and its grace, unless given). Past it the call throws StoreUnavailable and its
   * connection is destroyed: what it was doing fails with it, and the server rolls back what was
   * not committed. A connection that failed under the call is dropped, not handed to the next
   * caller. `deadlineMs: null`: no deadline for the whole call, only each statement's
   * (query_timeout), for work whose length grows with the data.
   */
  private async run<T>(work: (client: pg.PoolClient) => Promise<T>, options: { transaction?: boolean; deadlineMs?: number | null } = {}): Promise<T> {
    const { transaction = false } = options;
    const deadlineMs = options.deadlineMs === undefined ? this.callTimeoutMs : options.deadlineMs;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    let broken = false;
    // pg-pool listens for errors only on idle clients: a connection lost between two queries of
    // a transaction would otherwise be an uncaught exception that ends the process.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      if (deadlineMs === null) return;
      timer = setTimeout(() => {
        broken = true;
        reject(new StoreUnavailable(new Error(`no answer from the database within ${deadlineMs} ms`)));
        destroy(client);
      }, deadlineMs);
    });
    let committing = false;
    const call = (async () => {
      if (transaction) await client.query('BEGIN');
      const result = await work(client);
      if (transaction) {
        committing = true;
        await client.query('COMMIT');
      }
      return result;
    })();
    // Once the deadline has passed, what is left of the call fails with its connection, unheard.
    call.catch(() => {});
    deadline.catch(() => {});
    try {
      return await Promise.race([call, deadline]);
    } catch (err) {
      broken ||= isUnavailable(err);
      // Once COMMIT was sent, a lost connection (or COMMIT refused) leaves it unknown whether it
      // was committed: CommitUnknown, never "nothing was committed".
      if (committing) throw new CommitUnknown(err);
      if (transaction && !broken) await client.query('ROLLBACK').catch(() => {});
      throw storeError(err);
    } finally {
      clearTimeout(timer);
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  /** Queues a change for the other nodes; PostgreSQL sends it when (and if) the transaction commits. */
  private notify(db: pg.ClientBase, change: StoreChange): Promise<unknown> {
    return db.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify(change)]);
  }

  /**
   * Migrations run on a connection of their own, without the query timeout: an index built over
   * a large table may take minutes, and every node starting at once waits on the advisory lock.
   */
  async migrate(): Promise<void> {
    const db = new pg.Client(this.connection);
    db.on('error', () => {}); // the failing query rejects too
    try {
      await db.connect();
      await db.query('BEGIN');
      // Every node starting at once waits here; the first migrates, the others find it done.
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline migrate ${this.schema}`]);
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await db.query('CREATE TABLE IF NOT EXISTS hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      const { rows } = await db.query('SELECT coalesce(max(version), 0) AS version FROM hookline_migrations');
      for (let i = rows[0].version as number; i < MIGRATIONS.length; i++) {
        await db.query(MIGRATIONS[i]!);
        await db.query('INSERT INTO hookline_migrations (version, applied) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
      await db.query('COMMIT');
    } catch (err) {
      throw storeError(err); // ending the connection rolls back
    } finally {
      await db.end().catch(() => {});
    }
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.pool.end().catch(() => {});
  }

  /** /readyz: answers within READY_TIMEOUT_MS, waiting for a connection included, or throws StoreUnavailable. */
  async ping(): Promise<void> {
    const deadlineMs = READY_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailable(new Error(`no answer from the database within ${deadlineMs} ms`))), deadlineMs);
    });
    const ping = this.run((db) => db.query('SELECT 1'), { deadlineMs });
    ping.catch(() => {}); // past the deadline, it ends unheard (within the connect timeout)
    try {
      await Promise.race([ping, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  onChange(listener: (change: StoreChange) => void): void {
    this.feed.listen(listener);
  }

  async createAccount(a: Account): Promise<void> {
    await this.query('INSERT INTO accounts (id, name, created) VALUES ($1, $2, $3)', [a.id, a.name, a.created]);
  }

  async listAccounts(): Promise<Account[]> {
    return (await this.query('SELECT id, name, created FROM accounts ORDER BY created, id')).rows as Account[];
  }

  async getAccount(id: string): Promise<Account | undefined> {
    return (await this.query('SELECT id, name, created FROM accounts WHERE id = $1', [id])).rows[0] as Account | undefined;
  }

  async createApiKey(key: ApiKey, hash: string): Promise<void> {
    await this.query('INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES ($1, $2, $3, $4, $5)',
      [key.id, key.accountId, key.name, hash, key.created]);
  }

  async findApiKey(hash: string): Promise<ApiKey | undefined> {
    const r = (await this.query('SELECT * FROM api_keys WHERE key_hash = $1', [hash])).rows[0];
    return r && ownedFrom(r);
  }

  async listApiKeys(accountId: string): Promise<ApiKey[]> {
    const { rows } = await this.query('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created, id', [accountId]);
    return rows.map(ownedFrom);
  }

  async revokeApiKey(accountId: string, keyId: string): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query('DELETE FROM api_keys WHERE account_id = $1 AND id = $2', [accountId, keyId]);
      if (rowCount === 0) return false;
      await this.notify(db, { kind: 'api_key', id: keyId });
      return true;
    });
  }

  async setOperatorKey(key: ApiKey, hash: string): Promise<void> {
    await this.transaction(async (db) => {
      // Nodes starting together with the same key: the first sets it, the others find it set.
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline operator key ${this.schema}`]);
      await db.query('DELETE FROM api_keys WHERE account_id IS NULL AND key_hash <> $1', [hash]);
      await db.query(`INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES ($1, NULL, $2, $3, $4)
        ON CONFLICT (key_hash) DO NOTHING`, [key.id, key.name, hash, key.created]);
    });
  }

  async hasOperatorKey(): Promise<boolean> {
    return (await this.query('SELECT 1 FROM api_keys WHERE account_id IS NULL LIMIT 1')).rows.length > 0;
  }

  async createSession(idHash: string, s: Omit<Session, 'accountId'>): Promise<void> {
    await this.query('INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires) VALUES ($1, $2, $3, $4, $5)',
      [idHash, s.apiKeyId, s.csrfToken, s.created, s.expires]);
  }

  async findSession(idHash: string, now: number): Promise<Session | undefined> {
    const r = (await this.query(`SELECT s.*, k.account_id FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
      WHERE s.id_hash = $1 AND s.expires > $2`, [idHash, now])).rows[0];
    return r && { apiKeyId: r.api_key_id, accountId: r.account_id, csrfToken: r.csrf_token, created: r.created, expires: r.expires };
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
  }

  async purgeSessions(now: number): Promise<number> {
    return (await this.query('DELETE FROM sessions WHERE expires <= $1', [now])).rowCount ?? 0;
  }

  async createSite(s: Site): Promise<void> {
    await this.query('INSERT INTO sites (id, account_id, name, created) VALUES ($1, $2, $3, $4)', [s.id, s.accountId, s.name, s.created]);
  }

  async getSite(id: string): Promise<Site | undefined> {
    const r = (await this.query('SELECT * FROM sites WHERE id = $1', [id])).rows[0];
    return r && ownedFrom(r);
  }

  async listSites(accountId: string | null): Promise<Site[]> {
    const { rows } = accountId === null
      ? await this.query('SELECT * FROM sites ORDER BY created, id')
      : await this.query('SELECT * FROM sites WHERE account_id = $1 ORDER BY created, id', [accountId]);
    return rows.map(ownedFrom);
  }

  private async subscribe(db: pg.ClientBase, w: Pick<Webhook, 'id' | 'siteIds' | 'events'>): Promise<void> {
    await db.query('DELETE FROM subscriptions WHERE webhook_id = $1', [w.id]);
    await db.query(`INSERT INTO subscriptions (site_id, event, webhook_id)
      SELECT site_id, event, $1 FROM unnest($2::text[]) AS site_id CROSS JOIN unnest($3::text[]) AS event
      ON CONFLICT DO NOTHING`, [w.id, w.siteIds, w.events]);
  }

  async createWebhook(w: Webhook, sealedSecret: string): Promise<void> {
    await this.transaction(async (db) => {
      await db.query(`INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret,
          status, disabled_reason, disabled_at, max_in_flight, created, last_modified)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, [
        w.id, w.accountId, w.name, w.description, w.webhookUrl, JSON.stringify(w.siteIds), JSON.stringify(w.events), sealedSecret,
        w.status, w.disabledReason, w.disabledAt, w.maxInFlight, w.created, w.lastModified,
      ]);
      await this.subscribe(db, w);
    });
  }

  async getWebhook(id: string): Promise<Webhook | undefined> {
    const r = (await this.query('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0];
    return r && webhookFrom(r);
  }

  async getWebhookSecrets(id: string): Promise<SealedSecrets | undefined> {
    const r = (await this.query('SELECT secret, previous_secret, previous_secret_expires FROM webhooks WHERE id = $1', [id])).rows[0];
    return r && { current: r.secret, previous: r.previous_secret, previousExpiresAt: r.previous_secret_expires };
  }

  async rotateWebhookSecret(id: string, sealedSecret: string, previousExpiresAt: number | null, now: number): Promise<Webhook | undefined> {
    return this.transaction(async (db) => {
      // In an UPDATE, `secret` on the right is the value before it: the one being replaced.
      const r = (await db.query(`UPDATE webhooks SET secret = $2, last_modified = $4,
          previous_secret = CASE WHEN $3::bigint IS NULL THEN NULL ELSE secret END,
          previous_secret_expires = $3 WHERE id = $1 RETURNING *`, [id, sealedSecret, previousExpiresAt, now])).rows[0];
      if (!r) return undefined;
      await this.notify(db, { kind: 'webhook', id });
      return webhookFrom(r);
    });
  }

  async getSealCheck(): Promise<string | undefined> {
    return (await this.query(`SELECT value FROM meta WHERE key = 'seal_check'`)).rows[0]?.value;
  }

  async adoptSealing(check: string, seal: (webhookId: string, plaintext: string) => string): Promise<string> {
    return this.transaction(async (db) => {
      // The insert waits for a node adopting at the same time, and then finds its check value.
      const inserted = await db.query(`INSERT INTO meta (key, value) VALUES ('seal_check', $1) ON CONFLICT DO NOTHING`, [check]);
      if (inserted.rowCount === 0) return (await db.query(`SELECT value FROM meta WHERE key = 'seal_check'`)).rows[0]!.value as string;
      const { rows } = await db.query('SELECT id, secret FROM webhooks FOR UPDATE');
      for (const r of rows) await db.query('UPDATE webhooks SET secret = $1 WHERE id = $2', [seal(r.id, r.secret), r.id]);
      return check;
    }, null); // once, at the start that adopts a key: one statement per webhook, however many
  }

  async listWebhooks(accountId: string | null, page: Page, ascending: boolean) {
    const where = accountId === null ? '' : 'WHERE account_id = $3';
    const args: unknown[] = [page.pageLength, (page.page - 1) * page.pageLength, ...(accountId === null ? [] : [accountId])];
    const order = ascending ? 'created ASC, seq ASC' : 'created DESC, seq DESC';
    const { rows } = await this.query(`SELECT * FROM webhooks ${where} ORDER BY ${order} LIMIT $1 OFFSET $2`, args);
    const total = (await this.query(`SELECT count(*) AS total FROM webhooks ${where.replace('$3', '$1')}`, args.slice(2))).rows[0]!.total;
    return { webhooks: rows.map(webhookFrom), total };
  }

  async updateWebhook(id: string, changes: WebhookChanges, now: number): Promise<Webhook | undefined> {
    return this.transaction(async (db) => {
      const row = (await db.query('SELECT * FROM webhooks WHERE id = $1 FOR UPDATE', [id])).rows[0];
      if (!row) return undefined;
      const next = { ...webhookFrom(row), ...changes, lastModified: now };
      await db.query(`UPDATE webhooks SET name = $2, description = $3, webhook_url = $4, site_ids = $5, events = $6,
        max_in_flight = $7, last_modified = $8 WHERE id = $1`,
      [id, next.name, next.description, next.webhookUrl, JSON.stringify(next.siteIds), JSON.stringify(next.events), next.maxInFlight, now]);
      if (changes.siteIds || changes.events) await this.subscribe(db, next);
      if (changes.status === 'disabled') {
        await db.query(`UPDATE webhooks SET status = 'disabled', disabled_reason = $2, disabled_at = $3, last_modified = $3
          WHERE id = $1 AND status = 'active'`, [id, changes.disabledReason ?? null, now]);
      }
      if (changes.status === 'active') {
        // Re-enabling starts afresh: the failures that led to disabling are not held against it.
        await db.query(`UPDATE webhooks SET status = 'active', disabled_reason = NULL, disabled_at = NULL,
          consecutive_failures = 0, failing_since = NULL, paused_until = NULL, last_modified = $2
          WHERE id = $1 AND status = 'disabled'`, [id, now]);
      }
      await this.notify(db, { kind: 'webhook', id });
      return webhookFrom((await db.query('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0]!);
    });
  }

  async deleteWebhook(id: string): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query('DELETE FROM webhooks WHERE id = $1', [id]);
      if (rowCount === 0) return false;
      await this.notify(db, { kind: 'webhook', id });
      return true;
    });
  }

  async ingest(items: IngestItem[], now: number, options: IngestOptions): Promise<IngestOutcome[]> {
    return this.transaction(async (db) => {
      const outcomes: IngestOutcome[] = [];
      for (const item of items) {
        const { event, idempotency } = item;
        if (idempotency) {
          // Take the key first (an expired one is taken over): a node racing with the same key
          // waits on it here, then finds it taken and answers as a repeat.
          const taken = await db.query(`INSERT INTO idempotency_keys (site_id, key, request_hash, event_id, deliveries, created)
            VALUES ($1, $2, $3, $4, 0, $5)
            ON CONFLICT (site_id, key) DO UPDATE SET request_hash = excluded.request_hash, event_id = excluded.event_id,
              deliveries = 0, created = excluded.created
            WHERE idempotency_keys.created <= $6`,
          [event.siteId, idempotency.key, idempotency.requestHash, event.id, now, now - options.idempotencyWindowMs]);
          if (taken.rowCount === 0) {
            const seen = (await db.query('SELECT * FROM idempotency_keys WHERE site_id = $1 AND key = $2', [event.siteId, idempotency.key])).rows[0]!;
            outcomes.push(seen.request_hash === idempotency.requestHash
              ? { kind: 'repeat', eventId: seen.event_id, deliveries: seen.deliveries }
              : { kind: 'conflict' });
            continue;
          }
        }
        const deliveries = await this.insertEvent(db, event, now, options.firstAttemptAt, item.onlyWebhookId);
        if (idempotency) {
          await db.query('UPDATE idempotency_keys SET deliveries = $3 WHERE site_id = $1 AND key = $2', [event.siteId, idempotency.key, deliveries]);
        }
        outcomes.push({ kind: 'accepted', eventId: event.id, deliveries });
      }
      if (outcomes.some((o) => o.kind === 'accepted' && o.deliveries > 0)) await this.notify(db, { kind: 'deliveries' });
      return outcomes;
    });
  }

  /** Inserts the event and its deliveries: one per subscribed webhook, or one to `onlyWebhookId`. */
  private async insertEvent(db: pg.ClientBase, event: EventRecord, now: number, firstAttemptAt: number, onlyWebhookId?: string): Promise<number> {
    await db.query(`INSERT INTO events (id, site_id, event, media_id, channel_id, thumbnail_id, track_id, event_time, created)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
      event.id, event.siteId, event.event, event.ids.media_id ?? null, event.ids.channel_id ?? null,
      event.ids.thumbnail_id ?? null, event.ids.track_id ?? null, event.eventTime, event.created,
    ]);
    const { rowCount } = onlyWebhookId
      ? await db.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified)
          SELECT ${NEW_DELIVERY_ID}, $1, id, $2, $3, $3 FROM webhooks WHERE id = $4`, [event.id, firstAttemptAt, now, onlyWebhookId])
      : await db.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified)
          SELECT ${NEW_DELIVERY_ID}, $1, webhook_id, $2, $3, $3 FROM subscriptions WHERE site_id = $4 AND event = $5`,
        [event.id, firstAttemptAt, now, event.siteId, event.event]);
    return rowCount ?? 0;
  }

  async getPlatformObject(siteId: string, kind: PlatformKind, id: string): Promise<PlatformObject | undefined> {
    const r = (await this.query('SELECT state, version FROM platform_objects WHERE site_id = $1 AND kind = $2 AND id = $3', [siteId, kind, id])).rows[0];
    return r && { kind, id, state: JSON.parse(r.state), version: r.version };
  }

  async findFactAnswer(siteId: string, key: string, notBefore: number) {
    const r = (await this.query('SELECT request_hash, answer FROM fact_keys WHERE site_id = $1 AND key = $2 AND created > $3', [siteId, key, notBefore])).rows[0];
    return r && { requestHash: r.request_hash as string, answer: r.answer as string };
  }

  async commitFact(commit: FactCommit, now: number, options: IngestOptions): Promise<{ deliveries: number } | 'stale'> {
    try {
      return await this.transaction(async (db) => {
        for (const w of commit.writes) {
          const state = JSON.stringify(w.state);
          // A node writing the same object waits here, then finds the version moved (or the row there).
          const { rowCount } = w.version === 0
            ? await db.query(`INSERT INTO platform_objects (site_id, kind, id, state, version) VALUES ($1, $2, $3, $4, 1)
                ON CONFLICT DO NOTHING`, [commit.siteId, w.kind, w.id, state])
            : await db.query(`UPDATE platform_objects SET state = $4, version = version + 1
                WHERE site_id = $1 AND kind = $2 AND id = $3 AND version = $5`, [commit.siteId, w.kind, w.id, state, w.version]);
          if (rowCount === 0) throw new StaleFact();
        }
        const key = commit.idempotency;
        if (key) {
          await db.query('DELETE FROM fact_keys WHERE site_id = $1 AND key = $2 AND created <= $3', [commit.siteId, key.key, now - options.idempotencyWindowMs]);
          const { rowCount } = await db.query(`INSERT INTO fact_keys (site_id, key, request_hash, answer, created) VALUES ($1, $2, $3, $4, $5)
            ON CONFLICT DO NOTHING`, [commit.siteId, key.key, key.requestHash, key.answer, now]);
          if (rowCount === 0) throw new StaleFact();
        }
        let deliveries = 0;
        for (const event of commit.events) deliveries += await this.insertEvent(db, event, now, options.firstAttemptAt);
        if (deliveries > 0) await this.notify(db, { kind: 'deliveries' });
        return { deliveries };
      });
    } catch (err) {
      if (err instanceof StaleFact) return 'stale';
      throw err;
    }
  }

  async claimDue(now: number, limit: number, options: ClaimOptions): Promise<ClaimedDelivery[]> {
    return this.transaction(async (db) => {
      // One claim at a time across the cluster: each webhook's leases are counted, and its cap
      // held, over every node's claims, not this node's alone. A claim is one statement, so the
      // lock is held for milliseconds; rows that an outcome or a retry is writing are skipped
      // (SKIP LOCKED), and only the rows chosen are locked.
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline claim ${this.schema}`]);
      const { rows } = await db.query(`
        WITH open AS MATERIALIZED (
          -- The webhooks that may take deliveries now, with the room each has left, and how much
          -- of its share of this node's places its account holds (accounts with none left are
          -- left out): each active webhook visited by index probes (finding them from the due
          -- deliveries scans the whole backlog, 4x slower at 1,000,000 pending on SQLite).
          SELECT w.id, w.account_id, w.webhook_url, c.cap - l.leased AS free, l.leased, h.head, coalesce(b.n, 0) AS account_busy
          FROM webhooks w
          CROSS JOIN LATERAL (SELECT CASE WHEN w.consecutive_failures >= $4 THEN 1 ELSE least(coalesce(w.max_in_flight, $5), $7) END AS cap) c
          CROSS JOIN LATERAL (SELECT min(d.due_at) AS head FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') h
          CROSS JOIN LATERAL (SELECT count(*) AS leased FROM deliveries d
            WHERE d.webhook_id = w.id AND d.claimed_at IS NOT NULL AND d.due_at > $1) l
          LEFT JOIN (${accountLeases('$6')}) b ON b.account_id = w.account_id
          WHERE w.status = 'active' AND (w.paused_until IS NULL OR w.paused_until <= $1) AND h.head <= $1 AND c.cap > l.leased
            AND coalesce(b.n, 0) < $8
        ), placed AS (
          SELECT o.*, min(o.head) OVER (PARTITION BY o.account_id) AS account_head,
            row_number() OVER (PARTITION BY o.account_id ORDER BY o.leased, o.head, o.id) AS place
          FROM open o
        ), claimable AS MATERIALIZED (
          -- Water-filling gives every account (and every webhook of an account) a delivery before
          -- one further in line gets one, so only the first $2 accounts, and the first $2 webhooks
          -- of each, the least busy then the one waiting longest first, can take part in this claim.
          SELECT * FROM (
            SELECT p.*, dense_rank() OVER (ORDER BY p.account_busy, p.account_head, p.account_id) AS account_place
            FROM placed p WHERE p.place <= $2) r
          WHERE r.account_place <= $2
        ), ranked AS (
          -- Each webhook's due deliveries, as many as its room, its account's and the claim's
          -- take, numbered in its own order.
          SELECT c.id AS webhook_id, c.account_id, c.webhook_url, c.leased, c.head, c.account_busy, c.account_head, d.id,
            row_number() OVER (PARTITION BY c.id ORDER BY d.due_at, d.created) AS turn
          FROM claimable c CROSS JOIN LATERAL (
            SELECT id, due_at, created FROM deliveries
            WHERE webhook_id = c.id AND status = 'pending' AND due_at <= $1
            ORDER BY due_at, created LIMIT least(c.free, $8 - c.account_busy, $2)
          ) d
        ), shared AS (
          -- Water-filling within each account, up to what is left of its share: each next
          -- delivery to its webhook with the fewest in flight (its leases plus what this claim gave
          -- it), the least busy then the one waiting longest first.
          SELECT r.*, row_number() OVER (PARTITION BY r.account_id ORDER BY r.leased + r.turn, r.leased, r.head, r.webhook_id) AS account_turn
          FROM ranked r
        ), chosen AS MATERIALIZED (
          -- And between the accounts: each next delivery to the account with the fewest of this
          -- node's leases (plus what this claim gave it), then the one waiting longest.
          SELECT * FROM shared WHERE account_turn <= $8 - account_busy
          ORDER BY account_busy + account_turn, account_busy, account_head, account_id LIMIT $2
        ), locked AS (
          SELECT id FROM deliveries
          WHERE id IN (SELECT id FROM chosen) AND status = 'pending' AND due_at <= $1
          FOR UPDATE SKIP LOCKED
        ), leased AS (
          UPDATE deliveries d SET due_at = $1 + $3::bigint, claimed_at = $1, lease_owner = $6, retry_requested = false
          FROM locked WHERE d.id = locked.id
          RETURNING d.id, d.event_id, d.attempts, d.last_chance
        )
        SELECT l.id, l.event_id, l.attempts, l.last_chance, c.webhook_id, c.webhook_url,
          e.event, e.site_id, e.event_time, e.media_id, e.channel_id, e.thumbnail_id, e.track_id
        FROM leased l
        JOIN chosen c ON c.id = l.id
        JOIN events e ON e.id = l.event_id
        ORDER BY c.account_busy + c.account_turn, c.account_busy, c.account_head, c.account_id`,
      [now, limit, options.leaseMs, options.breakerThreshold, options.defaultMaxInFlight, options.owner, options.maxInFlightLimit, options.accountMaxInFlight]);
      return rows.map((r): ClaimedDelivery => ({
        id: r.id,
        eventId: r.event_id,
        webhookId: r.webhook_id,
        webhookUrl: r.webhook_url,
        attempts: r.attempts,
        lastChance: r.last_chance,
        facts: { event: r.event, siteId: r.site_id, eventTime: r.event_time, ids: idsFrom(r) },
      }));
    });
  }

  async recordOutcomes(outcomes: Outcome[], now: number, policy: HealthPolicy): Promise<Webhook[]> {
    if (outcomes.length === 0) return [];
    const column = <T>(pick: (o: Outcome) => T) => outcomes.map(pick);
    const status = (o: Outcome) => (o.succeeded ? 'succeeded' : o.nextAttemptAt === null ? 'failed' : 'pending');
    return this.transaction(async (db) => {
      // One statement for the batch. A delivery deleted meanwhile (its webhook went) gets no attempt row.
      const { rows: recordedIds } = await db.query(`
        WITH o AS (
          SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::text[])
            AS o(id, status, due_at, status_code, attempted_at, duration_ms, error, response_body)
        ), updated AS (
          -- A retry requested during the attempt makes the delivery due now, whatever the outcome.
          UPDATE deliveries d SET attempts = d.attempts + 1,
            status = CASE WHEN d.retry_requested THEN 'pending' ELSE o.status END,
            due_at = CASE WHEN d.retry_requested THEN $9 ELSE o.due_at END,
            last_chance = d.retry_requested AND o.status <> 'pending', retry_requested = false,
            claimed_at = NULL, lease_owner = NULL, last_status_code = o.status_code, last_modified = $9
          FROM o WHERE d.id = o.id
          RETURNING d.id
        ), logged AS (
          INSERT INTO attempts (delivery_id, attempted_at, status_code, duration_ms, error, response_body)
          SELECT o.id, o.attempted_at, o.status_code, o.duration_ms, o.error, o.response_body
          FROM o WHERE o.id IN (SELECT id FROM updated)
        )
        SELECT id FROM updated`, [
        column((o) => o.deliveryId),
        column(status),
        column((o) => (status(o) === 'pending' ? o.nextAttemptAt : null)),
        column((o) => o.attempt.statusCode),
        column((o) => o.attempt.attemptedAt),
        column((o) => Math.round(o.attempt.durationMs)),
        column((o) => o.attempt.error),
        column((o) => o.attempt.responseBody),
        now,
      ]);
      const recorded = new Set(recordedIds.map((r) => r.id as string));
      // In id order, so that nodes writing the health of the same webhooks take their locks alike.
      const changes = healthChanges(outcomes.filter((o) => recorded.has(o.deliveryId))).sort((a, b) => (a.webhookId < b.webhookId ? -1 : 1));
      if (changes.length === 0) return [];
      const ids = changes.map((h) => h.webhookId);
      // A failure that opens (or keeps open) the breaker holds attempts back until the next probe;
      // a healthy webhook's row is not written at all.
      await db.query(`
        UPDATE webhooks w SET
          consecutive_failures = CASE WHEN h.reset THEN h.failures ELSE w.consecutive_failures + h.failures END,
          failing_since = CASE WHEN h.failures = 0 THEN NULL WHEN h.reset THEN h.first_failure_at ELSE coalesce(w.failing_since, h.first_failure_at) END,
          paused_until = nullif(greatest(coalesce(w.paused_until, 0), coalesce(h.pause_until, 0),
            CASE WHEN h.failures > 0 AND CASE WHEN h.reset THEN 0 ELSE w.consecutive_failures END + h.failures >= $6
              THEN $7::bigint ELSE 0 END), 0)
        FROM unnest($1::text[], $2::bool[], $3::int[], $4::bigint[], $5::bigint[]) AS h(id, reset, failures, first_failure_at, pause_until)
        WHERE w.id = h.id AND NOT (h.failures = 0 AND w.consecutive_failures = 0 AND h.pause_until IS NULL)`, [
        ids, changes.map((h) => h.reset), changes.map((h) => h.failures), changes.map((h) => h.firstFailureAt), changes.map((h) => h.pauseUntil),
        policy.breakerThreshold, now + policy.probeIntervalMs,
      ]);
      const { rows: disabled } = await db.query(`
        UPDATE webhooks w SET status = 'disabled', disabled_reason = CASE WHEN h.gone THEN $3 ELSE $4 END, disabled_at = $5, last_modified = $5
        FROM unnest($1::text[], $2::bool[], $7::int[]) AS h(id, gone, failures)
        WHERE w.id = h.id AND w.status = 'active' AND (h.gone OR (h.failures > 0 AND w.failing_since <= $6))
        RETURNING w.*`, [ids, changes.map((h) => h.gone), GONE_REASON, autoDisableReason(policy), now, now - policy.autoDisableAfterMs, changes.map((h) => h.failures)]);
      for (const w of disabled) await this.notify(db, { kind: 'webhook', id: w.id });
      return disabled.map(webhookFrom);
    });
  }

  async releaseLeases(now: number, owner?: string): Promise<number> {
    const { rowCount } = owner === undefined
      ? await this.query('UPDATE deliveries SET due_at = $1, claimed_at = NULL, lease_owner = NULL WHERE claimed_at IS NOT NULL', [now])
      : await this.query(`UPDATE deliveries SET due_at = $1, claimed_at = NULL, lease_owner = NULL
          WHERE claimed_at IS NOT NULL AND lease_owner = $2`, [now, owner]);
    if (rowCount) await this.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify({ kind: 'deliveries' } satisfies StoreChange)]);
    return rowCount ?? 0;
  }

  async nextDueAt(now: number, options: ClaimOptions): Promise<number | null> {
    // Each active webhook's next chance: its head if it has room, else its first lease to run
    // out; not before its pause ends, nor, while its account's share of this node is full,
    // before the account's first lease here runs out.
    const { rows } = await this.query(`SELECT min(greatest(coalesce(w.paused_until, 0),
        CASE WHEN l.leased < CASE WHEN w.consecutive_failures >= $3 THEN 1 ELSE least(coalesce(w.max_in_flight, $2), $5) END
          THEN head.due ELSE l.lease_end END,
        CASE WHEN b.n >= $6 THEN b.lease_end ELSE 0 END)) AS due
      FROM webhooks w
      CROSS JOIN LATERAL (SELECT min(d.due_at) AS due FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') head
      CROSS JOIN LATERAL (SELECT count(*) AS leased, min(d.due_at) AS lease_end FROM deliveries d
        WHERE d.webhook_id = w.id AND d.claimed_at IS NOT NULL AND d.due_at > $1) l
      LEFT JOIN (${accountLeases('$4')}) b ON b.account_id = w.account_id
      WHERE w.status = 'active' AND head.due IS NOT NULL`,
    [now, options.defaultMaxInFlight, options.breakerThreshold, options.owner, options.maxInFlightLimit, options.accountMaxInFlight]);
    return rows[0]!.due ?? null;
  }

  async recoverDeliveries(webhookId: string, since: number, now: number): Promise<number> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query(`UPDATE deliveries SET status = 'pending', due_at = $3, claimed_at = NULL, lease_owner = NULL,
        last_chance = true, last_modified = $3
        WHERE webhook_id = $1 AND status = 'failed' AND created >= $2`, [webhookId, since, now]);
      if (rowCount) await this.notify(db, { kind: 'deliveries' });
      return rowCount ?? 0;
    });
  }

  // Retention: a pending delivery is never purged, and an event goes only once its deliveries have.
  async purgeDeliveries(before: number, limit: number): Promise<number> {
    return (await this.query(`DELETE FROM deliveries WHERE id IN (
      SELECT d.id FROM events e JOIN deliveries d ON d.event_id = e.id
      WHERE e.created < $1 AND d.status <> 'pending' ORDER BY e.created LIMIT $2)`, [before, limit])).rowCount ?? 0;
  }

  async purgeEvents(before: number, limit: number): Promise<number> {
    return (await this.query(`DELETE FROM events WHERE id IN (
      SELECT id FROM events e WHERE e.created < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
      ORDER BY e.created LIMIT $2)`, [before, limit])).rowCount ?? 0;
  }

  async purgeIdempotencyKeys(before: number, limit: number): Promise<number> {
    const intake = (await this.query(`DELETE FROM idempotency_keys WHERE (site_id, key) IN (
      SELECT site_id, key FROM idempotency_keys WHERE created < $1 ORDER BY created LIMIT $2)`, [before, limit])).rowCount ?? 0;
    const facts = (await this.query(`DELETE FROM fact_keys WHERE (site_id, key) IN (
      SELECT site_id, key FROM fact_keys WHERE created < $1 ORDER BY created LIMIT $2)`, [before, limit - intake])).rowCount ?? 0;
    return intake + facts;
  }

  async engineStats(top: number): Promise<EngineStats> {
    const pending = (await this.query(`SELECT count(*) AS pending, min(created) AS oldest FROM deliveries WHERE status = 'pending'`)).rows[0]!;
    const disabled = (await this.query(`SELECT count(*) AS n FROM webhooks WHERE status = 'disabled'`)).rows[0]!;
    const failing = await this.query(`SELECT id, consecutive_failures FROM webhooks WHERE consecutive_failures > 0
      ORDER BY consecutive_failures DESC, id LIMIT $1`, [top]);
    return {
      pending: pending.pending,
      oldestPendingCreated: pending.oldest ?? null,
      disabledWebhooks: disabled.n,
      failing: failing.rows.map((r) => ({ webhookId: r.id, consecutiveFailures: r.consecutive_failures })),
    };
  }

  async listDeliveries(webhookId: string, filter: DeliveryFilter, page: Page) {
    const args: unknown[] = [webhookId];
    const conditions = ['d.webhook_id = $1'];
    if (filter.status) conditions.push(`d.status = $${args.push(filter.status)}`);
    if (filter.event) conditions.push(`e.event = $${args.push(filter.event)}`);
    const from = `FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${conditions.join(' AND ')}`;
    const { rows } = await this.query(`SELECT d.*, e.event ${from} ORDER BY d.created DESC, d.seq DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}`,
      [...args, page.pageLength, (page.page - 1) * page.pageLength]);
    const total = (await this.query(`SELECT count(*) AS total ${from}`, args)).rows[0]!.total;
    return { deliveries: rows.map(deliveryFrom), total };
  }

  async getDelivery(id: string): Promise<Delivery | undefined> {
    const r = (await this.query('SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1', [id])).rows[0];
    return r && deliveryFrom(r);
  }

  async getEvent(id: string): Promise<EventRecord | undefined> {
    const r = (await this.query('SELECT * FROM events WHERE id = $1', [id])).rows[0];
    return r && { id: r.id, siteId: r.site_id, event: r.event, ids: idsFrom(r), eventTime: r.event_time, created: r.created };
  }

  async webhookStats(webhookId: string, since: number): Promise<WebhookStats> {
    const stats: WebhookStats = { pending: 0, succeeded: 0, failed: 0, lastAttempted: undefined };
    const counts = await this.query('SELECT status, count(*) AS n FROM deliveries WHERE webhook_id = $1 AND created >= $2 GROUP BY status', [webhookId, since]);
    for (const r of counts.rows) stats[r.status as Delivery['status']] = r.n;
    const last = (await this.query(`SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.webhook_id = $1 AND d.attempts > 0 ORDER BY d.created DESC, d.seq DESC LIMIT 1`, [webhookId])).rows[0];
    stats.lastAttempted = last && deliveryFrom(last);
    return stats;
  }

  async listAttempts(deliveryId: string): Promise<Attempt[]> {
    const { rows } = await this.query('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY attempted_at, seq', [deliveryId]);
    return rows.map(attemptFrom);
  }

  async retryDelivery(id: string, now: number): Promise<boolean> {
    return this.transaction(async (db) => {
      // In flight: the retry waits for the attempt's outcome (recordOutcomes).
      const requested = await db.query(`UPDATE deliveries SET retry_requested = true, last_modified = $2
        WHERE id = $1 AND claimed_at IS NOT NULL AND due_at > $2`, [id, now]);
      if (requested.rowCount) return true;
      const { rowCount } = await db.query(`UPDATE deliveries SET status = 'pending', due_at = $2, claimed_at = NULL, retry_requested = false,
        last_chance = (status <> 'pending'), last_modified = $2 WHERE id = $1`, [id, now]);
      if (rowCount === 0) return false;
      await this.notify(db, { kind: 'deliveries' });
      return true;
    });
  }

  async appendAudit(e: AuditEntry): Promise<void> {
    await this.query(`INSERT INTO audit_log (id, account_id, actor, key_id, action, target_type, target_id, ip, created)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [e.id, e.accountId, e.actor, e.keyId, e.action, e.targetType, e.targetId, e.ip, e.created]);
  }

  async listAudit(accountId: string | null, page: Page) {
    const where = accountId === null ? '' : 'WHERE account_id = $3';
    const args: unknown[] = [page.pageLength, (page.page - 1) * page.pageLength, ...(accountId === null ? [] : [accountId])];
    const { rows } = await this.query(`SELECT * FROM audit_log ${where} ORDER BY created DESC, seq DESC LIMIT $1 OFFSET $2`, args);
    const total = (await this.query(`SELECT count(*) AS total FROM audit_log ${where.replace('$3', '$1')}`, args.slice(2))).rows[0]!.total;
    const entries = rows.map(auditFrom);
    return { entries, total };
  }
}

/** Ends a connection at once, whatever it was waiting for: its queries fail, and the pool drops it. */
function destroy(client: pg.PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
