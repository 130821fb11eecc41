// The shared store: PostgreSQL, for many API and dispatcher nodes on one database. Nodes claim
// deliveries with FOR UPDATE SKIP LOCKED and leases, and tell each other of changes with
// LISTEN/NOTIFY on one channel per schema (src/store/postgres/changes.ts).
import pg from 'pg';
import { deliveryFrom, idsFrom, webhookFrom, type Row } from '../rows.js';
import { ChangeFeed, changeChannel } from './changes.js';
import { MIGRATIONS } from './migrations.js';
import type {
  Account, ApiKey, Attempt, AuditEntry, ClaimedDelivery, Delivery, DeliveryFilter, EventRecord, FactCommit, IngestItem,
  IngestOptions, IngestOutcome, Outcome, Page, PlatformKind, PlatformObject, SealedSecrets, Session, Site, Store,
  StoreChange, Webhook, WebhookChanges, WebhookStats,
} from '../types.js';

/** Thrown inside a transaction to roll it back when a fact was read at an old version. */
class StaleFact extends Error {}

export interface PostgresOptions {
  /** postgres://…; `?schema=name` keeps Hookline's tables in that schema (made if missing). */
  url: string;
  poolSize: number;
}

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
  readonly pool: pg.Pool;
  readonly schema: string;
  private readonly channel: string;
  private readonly feed: ChangeFeed;

  constructor(options: PostgresOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.schema = schema;
    this.channel = changeChannel(schema);
    const connection: pg.ClientConfig = { connectionString, types, connectionTimeoutMillis: 5_000, options: `-c search_path=${schema}` };
    this.pool = new pg.Pool({ ...connection, max: options.poolSize });
    // An idle connection that the server dropped (a restart): the next query opens a new one.
    this.pool.on('error', () => {});
    this.feed = new ChangeFeed(connection, this.channel);
  }

  private async query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    return this.pool.query(text, values);
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  /** Queues a change for the other nodes; PostgreSQL sends it when (and if) the transaction commits. */
  private notify(db: pg.ClientBase | pg.Pool, change: StoreChange): Promise<unknown> {
    return db.query('SELECT pg_notify($1, $2)', [this.channel, JSON.stringify(change)]);
  }

  async migrate(): Promise<void> {
    await this.transaction(async (db) => {
      // Every node starting at once waits here; the first migrates, the others find it done.
      await db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline migrate ${this.schema}`]);
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${this.schema}`);
      await db.query('CREATE TABLE IF NOT EXISTS hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      const { rows } = await db.query('SELECT coalesce(max(version), 0) AS version FROM hookline_migrations');
      for (let i = rows[0].version as number; i < MIGRATIONS.length; i++) {
        await db.query(MIGRATIONS[i]!);
        await db.query('INSERT INTO hookline_migrations (version, applied) VALUES ($1, $2)', [i + 1, Date.now()]);
      }
    });
  }

  async close(): Promise<void> {
    await this.feed.close();
    await this.pool.end().catch(() => {});
  }

  async ping(): Promise<void> {
    await this.query('SELECT 1');
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
    return r && { id: r.id, accountId: r.account_id, name: r.name, created: r.created };
  }

  async listApiKeys(accountId: string): Promise<ApiKey[]> {
    const { rows } = await this.query('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created, id', [accountId]);
    return rows.map((r) => ({ id: r.id, accountId: r.account_id, name: r.name, created: r.created }));
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
    return r && { id: r.id, accountId: r.account_id, name: r.name, created: r.created };
  }

  async listSites(accountId: string | null): Promise<Site[]> {
    const { rows } = accountId === null
      ? await this.query('SELECT * FROM sites ORDER BY created, id')
      : await this.query('SELECT * FROM sites WHERE account_id = $1 ORDER BY created, id', [accountId]);
    return rows.map((r) => ({ id: r.id, accountId: r.account_id, name: r.name, created: r.created }));
  }

  private async subscribe(db: pg.ClientBase, w: Pick<Webhook, 'id' | 'siteIds' | 'events'>): Promise<void> {
    await db.query('DELETE FROM subscriptions WHERE webhook_id = $1', [w.id]);
    await db.query(`INSERT INTO subscriptions (site_id, event, webhook_id)
      SELECT site_id, event, $1 FROM unnest($2::text[]) AS site_id CROSS JOIN unnest($3::text[]) AS event
      ON CONFLICT DO NOTHING`, [w.id, w.siteIds, w.events]);
  }

  async createWebhook(w: Webhook, sealedSecret: string): Promise<void> {
    await this.transaction(async (db) => {
      await db.query(`INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret, created, last_modified)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [w.id, w.accountId, w.name, w.description, w.webhookUrl, JSON.stringify(w.siteIds), JSON.stringify(w.events), sealedSecret, w.created, w.lastModified]);
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
    });
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
        last_modified = $7 WHERE id = $1`,
      [id, next.name, next.description, next.webhookUrl, JSON.stringify(next.siteIds), JSON.stringify(next.events), now]);
      if (changes.siteIds || changes.events) await this.subscribe(db, next);
      await this.notify(db, { kind: 'webhook', id });
      return next;
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

  async claimDue(now: number, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    // One statement: lock the due rows no other node is claiming, lease them, read what to send.
    const { rows } = await this.query(`
      WITH due AS (
        SELECT id FROM deliveries
        WHERE status = 'pending' AND due_at <= $1
        ORDER BY due_at LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), leased AS (
        UPDATE deliveries d SET due_at = $1 + $3::bigint, claimed_at = $1
        FROM due WHERE d.id = due.id
        RETURNING d.id, d.event_id, d.webhook_id, d.attempts, d.last_chance
      )
      SELECT l.id, l.webhook_id, l.attempts, l.last_chance, w.webhook_url,
        e.event, e.site_id, e.event_time, e.media_id, e.channel_id, e.thumbnail_id, e.track_id
      FROM leased l
      JOIN events e ON e.id = l.event_id
      JOIN webhooks w ON w.id = l.webhook_id`, [now, limit, leaseMs]);
    return rows.map((r) => ({
      id: r.id,
      webhookId: r.webhook_id,
      webhookUrl: r.webhook_url,
      attempts: r.attempts,
      lastChance: r.last_chance,
      facts: { event: r.event, siteId: r.site_id, eventTime: r.event_time, ids: idsFrom(r) },
    }));
  }

  async recordOutcomes(outcomes: Outcome[], now: number): Promise<void> {
    if (outcomes.length === 0) return;
    const column = <T>(pick: (o: Outcome) => T) => outcomes.map(pick);
    const status = (o: Outcome) => (o.succeeded ? 'succeeded' : o.nextAttemptAt === null ? 'failed' : 'pending');
    // One statement for the batch. A delivery deleted meanwhile (its webhook went) gets no attempt row.
    await this.query(`
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::text[])
          AS o(id, status, due_at, status_code, attempted_at, duration_ms, error, response_body)
      ), updated AS (
        UPDATE deliveries d SET status = o.status, attempts = d.attempts + 1, due_at = o.due_at, claimed_at = NULL,
          last_chance = false, last_status_code = o.status_code, last_modified = $9
        FROM o WHERE d.id = o.id
        RETURNING d.id
      )
      INSERT INTO attempts (delivery_id, attempted_at, status_code, duration_ms, error, response_body)
      SELECT o.id, o.attempted_at, o.status_code, o.duration_ms, o.error, o.response_body
      FROM o WHERE o.id IN (SELECT id FROM updated)`, [
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
  }

  async releaseLeases(now: number): Promise<number> {
    return (await this.query('UPDATE deliveries SET due_at = $1, claimed_at = NULL WHERE claimed_at IS NOT NULL', [now])).rowCount ?? 0;
  }

  async nextDueAt(): Promise<number | null> {
    return (await this.query(`SELECT min(due_at) AS due FROM deliveries WHERE status = 'pending'`)).rows[0]!.due ?? null;
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
    return rows.map((r) => ({
      attemptedAt: r.attempted_at,
      statusCode: r.status_code,
      durationMs: r.duration_ms,
      error: r.error,
      responseBody: r.response_body,
    }));
  }

  async retryDelivery(id: string, now: number): Promise<boolean> {
    return this.transaction(async (db) => {
      const { rowCount } = await db.query(`UPDATE deliveries SET status = 'pending', due_at = $2, claimed_at = NULL,
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
    const entries = rows.map((r): AuditEntry => ({
      id: r.id, accountId: r.account_id, actor: r.actor, keyId: r.key_id, action: r.action,
      targetType: r.target_type, targetId: r.target_id, ip: r.ip, created: r.created,
    }));
    return { entries, total };
  }
}
