// Retention over time, on both stores: what is past the window goes, a pending delivery stays
// however old (its event and attempts with it), and goes once finished. On PostgreSQL the log is
// partitioned by time (src/store/postgres/partitions.ts): there the pass drops whole partitions,
// keeps one that holds a pending delivery, and two nodes making partitions at once never fail;
// an insert whose interval has no partition lands in the default one.
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Retention } from '../../src/maintenance/retention.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/ports.js';
import type { EventRecord, HealthPolicy, Outcome, PendingDelivery, Webhook } from '../../src/store/types.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { TEST_STORE, freshSchema, openTestStore, schemaQuery, webhookRow } from '../helpers.js';

const DAY = 86_400_000;
/** Real time: the partitions the migration made cover today and the next three days. */
const T0 = Date.now();
const policy: HealthPolicy = { breakerThreshold: 1_000, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * DAY };
let store: Store;
let url: string | undefined;
let dispose: () => Promise<void>;

const hook: Webhook = webhookRow('hook0001', T0, { name: 'h', webhookUrl: 'http://127.0.0.1:9/h' });
const event = (id: string, created: number): EventRecord =>
  ({ id, siteId: 'site0001', event: 'media_available', ids: { media_id: `m_${id}` }, eventTime: created, created });

/** One event created at `at`, with its delivery to the webhook, due at once. */
async function deliveryAt(id: string, at: number): Promise<PendingDelivery> {
  await store.ingest([{ siteId: 'site0001', events: [event(id, at)] }], at, { idempotencyWindowMs: DAY, firstAttemptAt: at });
  return (await store.loadDue(hook.id, at, 100)).deliveries.find((d) => d.eventId === id)!;
}
const outcome = (d: PendingDelivery, at: number, next: number | null): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: next === null, nextAttemptAt: next,
  attempt: { attemptedAt: at, statusCode: next === null ? 200 : 500, durationMs: 3, error: null, responseBody: '', requestHeaders: null, responseHeaders: null },
});
const retentionAt = (now: number) => new Retention(store, { now: () => now }, pino({ level: 'silent' }), { dataMs: 30 * DAY, idempotencyMs: DAY });
/** The range partitions of deliveries, by name (PostgreSQL). */
async function partitionNames(): Promise<string[]> {
  const { rows } = await (store as PostgresStore).pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'deliveries'::regclass AND c.relname <> 'deliveries_default' ORDER BY 1`);
  return rows.map((r) => r.relname as string);
}
const suffixOf = (at: number) => {
  const iso = new Date(Math.floor(at / DAY) * DAY).toISOString();
  return `_p${iso.slice(0, 10).replaceAll('-', '')}_0000`;
};

beforeEach(async () => {
  ({ store, url, dispose } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: T0 });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: T0 });
  await store.createWebhook(hook, 's');
});
afterEach(() => dispose());

describe(`retention over time (${TEST_STORE})`, () => {
  it('takes what is past the window, keeps a pending delivery that outlived it with its event and attempts, and takes it once finished', async () => {
    const gone = await deliveryAt('evt_day0', T0);
    const done = await deliveryAt('evt_day1_done', T0 + DAY);
    const waiting = await deliveryAt('evt_day1_waiting', T0 + DAY);
    await store.recordOutcomes([outcome(gone, T0, null), outcome(done, T0 + DAY, null), outcome(waiting, T0 + DAY, T0 + 45 * DAY)], T0 + DAY, policy);

    // 40 days on (the clock of the pass, not of the rows): a 30-day window has passed over both days.
    await retentionAt(T0 + 40 * DAY).runOnce();
    expect(await store.getDelivery(gone.id)).toBeUndefined();
    expect(await store.getEvent('evt_day0')).toBeUndefined();
    expect(await store.getDelivery(done.id)).toBeUndefined();
    expect(await store.getEvent('evt_day1_done')).toBeUndefined();
    expect(await store.getDelivery(waiting.id)).toMatchObject({ status: 'pending', attempts: 1 });
    expect(await store.getEvent('evt_day1_waiting')).toBeDefined();
    expect((await store.listAttempts(waiting.id)).map((a) => a.statusCode)).toEqual([500]);
    expect((await store.loadDue(hook.id, T0 + 45 * DAY, 10)).deliveries.map((d) => d.id)).toEqual([waiting.id]);
    expect((await store.listDeliveries(hook.id, {}, { page: 1, pageLength: 10 })).deliveries.map((d) => d.id)).toEqual([waiting.id]);
    if (store instanceof PostgresStore) {
      // Day 0's partitions went whole; day 1's stays, holding the pending delivery alone.
      expect(await partitionNames()).not.toContain(`deliveries${suffixOf(T0)}`);
      expect(await partitionNames()).toContain(`deliveries${suffixOf(T0 + DAY)}`);
    }

    await store.recordOutcomes([outcome(waiting, T0 + 45 * DAY, null)], T0 + 45 * DAY, policy);
    await retentionAt(T0 + 46 * DAY).runOnce();
    expect(await store.getDelivery(waiting.id)).toBeUndefined();
    expect(await store.getEvent('evt_day1_waiting')).toBeUndefined();
    expect(await store.listAttempts(waiting.id)).toEqual([]);
    if (store instanceof PostgresStore) expect(await partitionNames()).not.toContain(`deliveries${suffixOf(T0 + DAY)}`);
  });
});

describe(`a delivery's attempts by its creation time too (${TEST_STORE})`, () => {
  it('gives the same attempts with the time as without; on PostgreSQL it reads one partition of attempts', async () => {
    const d = await deliveryAt('evt_tried', T0 + DAY);
    await store.recordOutcomes([outcome(d, T0 + DAY, T0 + DAY + 10)], T0 + DAY, policy);
    await store.recordOutcomes([outcome(d, T0 + DAY + 10, null)], T0 + DAY + 10, policy);
    const created = (await store.getDelivery(d.id))!.created;
    const all = await store.listAttempts(d.id);
    expect(all.map((a) => a.statusCode)).toEqual([500, 200]);
    expect(await store.listAttempts(d.id, created)).toEqual(all);
    if (store instanceof PostgresStore) {
      const { rows } = await store.pool.query(`EXPLAIN SELECT * FROM attempts WHERE delivery_id = $1 AND delivery_created = $2 ORDER BY attempted_at, seq`, [d.id, created]);
      const scanned = rows.map((r) => String(r['QUERY PLAN'])).filter((l) => / on attempts_/.test(l));
      expect(scanned, rows.map((r) => r['QUERY PLAN']).join('\n')).toHaveLength(1);
      expect(scanned[0]).toContain(`attempts${suffixOf(T0 + DAY)}`);
    }
  });
});

describe.runIf(TEST_STORE === 'postgres')('partitions (postgres)', () => {
  it('are made ahead by two nodes at once without failing, each once', async () => {
    const other = new PostgresStore({ url: url!, poolSize: 4 });
    try {
      await other.migrate();
      const at = T0 + 100 * DAY;
      const made = await Promise.all([0, 1, 2].flatMap(() => [store.preparePartitions(at), other.preparePartitions(at)]));
      // One node made the four intervals (this one and three ahead); the others found them made, or the lock held.
      expect(made.reduce((a, b) => a + b, 0)).toBe(4);
      const ahead = (await partitionNames()).filter((n) => n >= `deliveries${suffixOf(at)}`);
      expect(ahead).toEqual([0, 1, 2, 3].map((n) => `deliveries${suffixOf(at + n * DAY)}`));
    } finally {
      await other.close();
    }
  });

  it('takes an insert whose interval has no partition into the default one, and then leaves that interval to it', async () => {
    const at = T0 + 20 * DAY;
    const d = await deliveryAt('evt_far', at);
    const pool = (store as PostgresStore).pool;
    expect((await pool.query('SELECT tableoid::regclass::text AS part FROM deliveries WHERE id = $1', [d.id])).rows[0]!.part).toBe('deliveries_default');
    // The interval holding rows in the default one is skipped; the three after it are made.
    expect(await store.preparePartitions(at)).toBe(3);
    expect(await partitionNames()).not.toContain(`deliveries${suffixOf(at)}`);
    expect(await partitionNames()).toContain(`deliveries${suffixOf(at + DAY)}`);
    expect(await store.getDelivery(d.id)).toMatchObject({ status: 'pending' });
  });

  it('leave the work to the next pass while a long statement holds the log (lock_timeout), failing nothing', async () => {
    const old = await deliveryAt('evt_old', T0);
    await store.recordOutcomes([outcome(old, T0, null)], T0, policy);
    const holder = await (store as PostgresStore).pool.connect();
    try {
      // A long read of deliveries: dropping or adding a partition needs the table to itself.
      await holder.query('BEGIN');
      await holder.query('SELECT count(*) FROM deliveries');
      expect(await store.dropPartitions(T0 + 31 * DAY)).toEqual({ dropped: 0, kept: 0 });
      expect(await store.preparePartitions(T0 + 200 * DAY)).toBe(0);
    } finally {
      await holder.query('ROLLBACK');
      holder.release();
    }
    expect((await store.dropPartitions(T0 + 31 * DAY)).dropped).toBeGreaterThan(0);
    expect(await partitionNames()).not.toContain(`deliveries${suffixOf(T0)}`);
    expect(await store.preparePartitions(T0 + 200 * DAY)).toBe(4);
  });

  it('keeps the events of a dropped day that a later replay still delivers', async () => {
    const old = await deliveryAt('evt_replayed', T0);
    await store.recordOutcomes([outcome(old, T0, null)], T0, policy);
    // A second webhook, replayed the day after: its delivery (day 1) points at day 0's event.
    await store.createWebhook({ ...hook, id: 'hook0002', created: T0 + DAY }, 's');
    expect(await store.replayEvents('hook0002', T0 - DAY, T0 + DAY, false)).toBe(1);
    await retentionAt(T0 + 31 * DAY).runOnce(); // day 0 past the window, day 1 not
    expect(await store.getEvent('evt_replayed')).toBeDefined();
    expect(await partitionNames()).toContain(`deliveries${suffixOf(T0)}`);
    expect(await store.getDelivery(old.id)).toBeUndefined(); // its finished delivery went, by the batch purge
  });

  it('migrate an existing log, carrying over every column, default and index the tables had, whoever added them', async () => {
    const { url: oldUrl, drop: dropOld, schema: old } = await freshSchema();
    const upgraded = new PostgresStore({ url: oldUrl, poolSize: 1 });
    try {
      await schemaQuery(old, `CREATE SCHEMA ${old}`);
      await schemaQuery(old, 'CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      const partitioning = MIGRATIONS.length - 1;
      for (let i = 0; i < partitioning; i++) {
        await schemaQuery(old, MIGRATIONS[i]!);
        await schemaQuery(old, 'INSERT INTO hookline_migrations (version, applied) VALUES ($1, 0)', [i + 1]);
      }
      // Besides what the migrations before it added (events.traceparent, attempts.webhook_id and
      // its index), what another one might add: a column with its default, a column of attempts
      // with a foreign key to webhooks, a partial index, a unique index.
      await schemaQuery(old, `ALTER TABLE events ADD COLUMN probe TEXT DEFAULT 'none';
        ALTER TABLE attempts ADD COLUMN probe_webhook_id TEXT REFERENCES webhooks(id) ON DELETE CASCADE;
        CREATE INDEX attempts_probe ON attempts (probe_webhook_id, attempted_at) WHERE status_code >= 500;
        CREATE UNIQUE INDEX events_by_site_media ON events (site_id, media_id, id);
        INSERT INTO accounts VALUES ('acct0001', 'a', 0);
        INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret, created, last_modified)
          VALUES ('hook0001', 'acct0001', 'h', '', 'http://127.0.0.1:9/', '[]', '[]', 's', 0, 0);
        INSERT INTO events (id, site_id, event, media_id, event_time, created, traceparent, probe) VALUES ('evt_1', 'site0001', 'media_available', 'm1', 0, ${T0}, '00-abc', 'p');
        INSERT INTO events (id, site_id, event, event_time, created) VALUES ('evt_2', 'site0001', 'media_available', 0, ${T0 - 40 * DAY});
        INSERT INTO deliveries (id, event_id, webhook_id, status, due_at, created, last_modified) VALUES
          ('msg_1', 'evt_1', 'hook0001', 'pending', ${T0}, ${T0}, ${T0}), ('msg_2', 'evt_2', 'hook0001', 'succeeded', NULL, ${T0 - 40 * DAY}, 0);
        INSERT INTO attempts (delivery_id, attempted_at, duration_ms, status_code, webhook_id, probe_webhook_id) VALUES ('msg_2', ${T0 - 40 * DAY}, 1, 200, 'hook0001', 'hook0001')`);
      await upgraded.migrate();
      const q = (sql: string) => schemaQuery(old, sql);
      expect(await q(`SELECT relname FROM pg_class WHERE relname IN ('events', 'deliveries', 'attempts') AND relkind = 'p' AND relnamespace = '${old}'::regnamespace ORDER BY 1`))
        .toEqual([{ relname: 'attempts' }, { relname: 'deliveries' }, { relname: 'events' }]);
      // Rows, values and defaults as they were; each delivery's attempts in its partition.
      expect(await q(`SELECT id, traceparent, probe, created = ${T0} AS today FROM events ORDER BY id`)).toEqual([
        { id: 'evt_1', traceparent: '00-abc', probe: 'p', today: true }, { id: 'evt_2', traceparent: null, probe: 'none', today: false }]);
      expect(await q(`SELECT delivery_id, delivery_created, webhook_id, probe_webhook_id FROM attempts`))
        .toEqual([{ delivery_id: 'msg_2', delivery_created: String(T0 - 40 * DAY), webhook_id: 'hook0001', probe_webhook_id: 'hook0001' }]);
      await q(`INSERT INTO events (id, site_id, event, event_time, created) VALUES ('evt_3', 's', 'e', 0, ${T0})`);
      expect(await q(`SELECT probe, feed_seq > 2 AS after FROM events WHERE id = 'evt_3'`)).toEqual([{ probe: 'none', after: true }]);
      // Indexes (a unique one with the partition key appended) and the key to webhooks.
      const indexes = await q(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = '${old}' AND tablename IN ('events', 'attempts') ORDER BY 1`);
      expect(indexes.map((r) => r.indexname)).toEqual(expect.arrayContaining(['attempts_by_webhook', 'attempts_probe', 'events_by_site_media', 'events_feed', 'events_pkey']));
      expect(indexes.find((r) => r.indexname === 'events_by_site_media')!.indexdef).toMatch(/UNIQUE INDEX .* \(site_id, media_id, id, created\)/);
      expect(indexes.find((r) => r.indexname === 'attempts_probe')!.indexdef).toMatch(/WHERE \(status_code >= 500\)/);
      expect(await upgraded.getDelivery('msg_1')).toMatchObject({ status: 'pending' });
      expect(await upgraded.listAttempts('msg_2')).toHaveLength(1);
      // The cascades the foreign keys between the three did, now triggers: a webhook takes its log with it.
      expect(await upgraded.deleteWebhook('hook0001')).toBe(true);
      expect(await q('SELECT (SELECT count(*) FROM deliveries) + (SELECT count(*) FROM attempts) AS n')).toEqual([{ n: '0' }]);
    } finally {
      await upgraded.close();
      await dropOld();
    }
  });
});
