// The event feed part of the store contract, on both stores (projects "sqlite" and "postgres"):
// each property's events in commit order from a position (the catch-up feed), and replays of
// them into a webhook. On PostgreSQL, an intake transaction that commits after a later-numbered
// one, held open for real on a row lock, is never stepped past; and the page comes from its index.
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { REPLAY_BATCH as PG_REPLAY_BATCH, feedQuery } from '../../src/store/postgres/feed.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { REPLAY_BATCH as SQLITE_REPLAY_BATCH, feedSql } from '../../src/store/sqlite/feed.js';
import type { EventRecord, FeedPosition, IngestItem, PendingDelivery, StoreChange, Webhook } from '../../src/store/types.js';
import { TEST_DATABASE_URL, TEST_STORE, openTestStore, until, webhookRow } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const options = { idempotencyWindowMs: DAY, firstAttemptAt: NOW };
const REPLAY_BATCH = TEST_STORE === 'postgres' ? PG_REPLAY_BATCH : SQLITE_REPLAY_BATCH;
let store: Store;
let dispose: () => Promise<void>;

const hook = (id: string, over: Partial<Webhook> = {}): Webhook => webhookRow(id, NOW, over);
const event = (id: string, name = 'media_available', siteId = 'site0001', created = NOW): EventRecord =>
  ({ id, siteId, event: name, ids: { media_id: `m_${id}` }, eventTime: NOW - 5, created });
const item = (...events: EventRecord[]): IngestItem => ({ siteId: events[0]!.siteId, events });
const ingest = (items: IngestItem[], now = NOW) => store.ingest(items, now, options);

/**
 * On PostgreSQL the feed's end waits for every older writing transaction on the server to end,
 * other test files' included: wait for that, then read a page.
 */
async function feedPage(siteId: string, after: FeedPosition | null, event: string | undefined, limit: number) {
  if (TEST_STORE === 'postgres') {
    await until(async () => (await (store as PostgresStore).pool.query(
      `SELECT pg_snapshot_xmin(pg_current_snapshot()) > coalesce(max(feed_xid), '0') AS past FROM events`)).rows[0].past,
    10_000, 'the older transactions on the server to end');
  }
  return store.readFeed(siteId, after, event, limit);
}

/** The whole feed of a property from `after`, page by page, and the position it ends at. */
async function readAll(siteId: string, pageLength: number, after: FeedPosition | null = null, event?: string) {
  const ids: string[] = [];
  for (;;) {
    const page = await feedPage(siteId, after, event, pageLength);
    ids.push(...page.events.map((e) => e.id));
    if (page.events.length === 0) return { ids, after };
    after = page.next;
  }
}

beforeEach(async () => {
  ({ store, dispose } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
  await store.createSite({ id: 'site0002', accountId: 'acct0001', name: 'Radio', created: NOW });
});
afterEach(() => dispose());

describe(`the store contract: the event feed (${TEST_STORE})`, () => {
  it("lists a property's events in commit order from a position, by type if asked, without test events or other properties'", async () => {
    expect(await feedPage('site0001', null, undefined, 10)).toEqual({ events: [], next: null });
    await store.createWebhook(hook('hook0001'), 's');
    await ingest([item(event('evt_1')), item(event('evt_2', 'media_updated'), event('evt_3'))]);
    await ingest([item(event('evt_x', 'media_available', 'site0002'))]);
    await ingest([{ ...item(event('evt_test')), onlyWebhookId: 'hook0001' }]);
    await ingest([item(event('evt_4', 'media_deleted')), item(event('evt_5', 'media_updated'))]);

    const first = await feedPage('site0001', null, undefined, 2);
    expect(first.events).toEqual([event('evt_1'), event('evt_2', 'media_updated')]);
    const second = await feedPage('site0001', first.next, undefined, 2);
    expect(second.events.map((e) => e.id)).toEqual(['evt_3', 'evt_4']);
    const third = await feedPage('site0001', second.next, undefined, 2);
    expect(third.events.map((e) => e.id)).toEqual(['evt_5']);
    // The end: nothing more, and the same position to come back with.
    expect(await feedPage('site0001', third.next, undefined, 2)).toEqual({ events: [], next: third.next });
    expect((await readAll('site0001', 1000)).ids).toEqual(['evt_1', 'evt_2', 'evt_3', 'evt_4', 'evt_5']);
    expect((await readAll('site0001', 1, null, 'media_updated')).ids).toEqual(['evt_2', 'evt_5']);
    expect((await readAll('site0002', 1000)).ids).toEqual(['evt_x']);

    // Events committed later come after the position handed out.
    await ingest([item(event('evt_6'))]);
    expect((await feedPage('site0001', third.next, undefined, 10)).events.map((e) => e.id)).toEqual(['evt_6']);
  });

  it('starts at the oldest event kept, and goes on from a position whose event retention took', async () => {
    await ingest([item(event('evt_old1', 'media_available', 'site0001', NOW - 3 * DAY)), item(event('evt_old2', 'media_available', 'site0001', NOW - 3 * DAY))]);
    const page = await feedPage('site0001', null, undefined, 1);
    expect(page.events.map((e) => e.id)).toEqual(['evt_old1']);
    await ingest([item(event('evt_new'))]);
    expect(await store.purgeEvents(NOW - DAY, 100)).toBe(2);
    expect((await readAll('site0001', 10)).ids).toEqual(['evt_new']);
    expect((await feedPage('site0001', page.next, undefined, 10)).events.map((e) => e.id)).toEqual(['evt_new']);
  });

  it('numbers events for good: a property emptied by retention goes on after the positions handed out', async () => {
    await ingest([item(event('evt_a', 'media_available', 'site0001', NOW - 3 * DAY))]);
    const { next } = await feedPage('site0001', null, undefined, 10);
    expect(await store.purgeEvents(NOW - DAY, 100)).toBe(1);
    await ingest([item(event('evt_b'))]);
    expect((await feedPage('site0001', next, undefined, 10)).events.map((e) => e.id)).toEqual(['evt_b']);
  });

  it.runIf(TEST_STORE === 'postgres')('never steps past an event whose transaction commits after a later-numbered one (concurrent connections)', async () => {
    const pgStore = store as PostgresStore;
    const holders: pg.Client[] = [];
    /** Another connection takes an Idempotency-Key and keeps its transaction open, until released. */
    async function holdKey(key: string) {
      const holder = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${pgStore.schema}` });
      holders.push(holder);
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query(`INSERT INTO idempotency_keys (site_id, key, request_hash, answer, created) VALUES ('site0001', $1, 'other', '', $2)`, [key, NOW]);
      const { pid } = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0];
      return {
        /** Resolves once a transaction of the store waits on this one (asked outside it: a transaction sees one view of the activity). */
        blocking: () => until(async () => (await pgStore.pool.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [pid])).rows[0].n === 1,
          10_000, `a transaction to wait on key ${key}`),
        release: () => holder.query('ROLLBACK'),
      };
    }
    /** A transaction that inserts `first`, then waits on `key` (held) before inserting `second`. */
    const stalled = (first: string, second: string, key: string) =>
      ingest([item(event(first)), { ...item(event(second)), idempotency: { key, requestHash: 'h', answer: () => '{}' } }]);
    try {
      // T0 inserts a1 and waits; T1, whose transaction id is later, inserts b1 and waits.
      const k1 = await holdKey('k1');
      const t0 = stalled('evt_a1', 'evt_a2', 'k1');
      await k1.blocking();
      const k2 = await holdKey('k2');
      const t1 = stalled('evt_b1', 'evt_b2', 'k2');
      await k2.blocking();
      // T0 goes on and commits a2, numbered after b1, while T1 is still open.
      await k1.release();
      expect(await t0).toEqual([{ kind: 'accepted', deliveries: 0 }, { kind: 'accepted', deliveries: 0 }]);
      const page = await feedPage('site0001', null, undefined, 10);
      expect(page.events.map((e) => e.id)).toEqual(['evt_a1', 'evt_a2']);
      // T1 commits b1, numbered before a2, the last event the client was given.
      await k2.release();
      expect(await t1).toEqual([{ kind: 'accepted', deliveries: 0 }, { kind: 'accepted', deliveries: 0 }]);
      expect((await readAll('site0001', 1, page.next)).ids).toEqual(['evt_b1', 'evt_b2']);
    } finally {
      for (const holder of holders) await holder.end();
    }
    // By feed_seq alone, b1 comes before a2: a reader that stood after a2 would never see b1.
    const bySeq = await pgStore.pool.query('SELECT id FROM events ORDER BY feed_seq');
    expect(bySeq.rows.map((r) => r.id)).toEqual(['evt_a1', 'evt_b1', 'evt_a2', 'evt_b2']);
  });

  it.runIf(TEST_STORE === 'sqlite')("reads a page from events_feed in its order, without sorting (SQLite's plan)", () => {
    const db = (store as SqliteStore).db;
    for (const filtered of [false, true]) {
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${feedSql(filtered)}`).all({ siteId: 'site0001', after: 0, event: 'media_available', limit: 10 }) as { detail: string }[])
        .map((r) => r.detail).join('\n');
      expect(plan).toMatch(/USING INDEX events_feed/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });

  it.runIf(TEST_STORE === 'postgres')("reads a page from events_feed in its order, without sorting (PostgreSQL's plan)", async () => {
    const pgStore = store as PostgresStore;
    // Enough rows on several properties that the planner weighs its choices for real: in today's
    // partition, the next, and the default one (NOW is before the partitions made).
    // Written by 20 transactions, as intake writes them (each its own feed_xid), not by one.
    for (let from = 1; from <= 20_000; from += 1_000) {
      await pgStore.pool.query(`INSERT INTO events (id, site_id, event, media_id, event_time, created)
        SELECT 'evt_' || n, CASE WHEN n % 2 = 0 THEN 'site0001' ELSE 'site0002' END, CASE WHEN n % 3 = 0 THEN 'media_available' ELSE 'media_updated' END,
          'm' || n, $1::bigint, CASE WHEN n % 4 = 0 THEN $1::bigint ELSE $2::bigint + n * 10000 END FROM generate_series($3::int, $3::int + 999) AS n`, [NOW, Date.now(), from]);
    }
    await pgStore.pool.query('ANALYZE events');
    const { next } = await feedPage('site0001', null, undefined, 100);
    // events is partitioned by time: events_feed is an index on each partition (each its own name).
    const { rows: own } = await pgStore.pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'events_feed'::regclass`);
    const feedIndexes = new Set(own.map((r) => r.relname as string));
    for (const [after, type] of [[null, undefined], [next, undefined], [next, 'media_available']] as const) {
      const { text, values } = feedQuery('site0001', after, type, 100);
      const { rows } = await pgStore.pool.query(`EXPLAIN ${text}`, values);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      const scans = [...plan.matchAll(/Index (?:Only )?Scan using (\S+)/g)].map((m) => m[1]!);
      expect(scans.length, plan).toBeGreaterThan(0);
      expect(scans.filter((name) => !feedIndexes.has(name)), plan).toEqual([]);
      // A Merge Append of the partitions' scans merges them in order ("Sort Key:"); no Sort node.
      expect(plan).not.toMatch(/(^|-> +)(Incremental )?Sort +\(|Seq Scan/m);
    }
  });
});

describe(`the store contract: replays (${TEST_STORE})`, () => {
  it('gives a webhook what it has no delivery of since a time, marked, in commit order, once; a dry run writes nothing', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await ingest([item(event('evt_early', 'media_available', 'site0001', NOW - 2 * DAY))]);
    await ingest([item(event('evt_1')), item(event('evt_2', 'media_updated'))]);
    await ingest([item(event('evt_3', 'media_available', 'site0002'))]);
    await ingest([{ ...item(event('evt_test')), onlyWebhookId: 'hook0001' }]);
    await ingest([item(event('evt_4', 'media_deleted'))]);
    // A new webhook: two properties, two events; then one event it gets from intake.
    await store.createWebhook(hook('hook0002', { siteIds: ['site0001', 'site0002'], events: ['media_available', 'media_updated'], created: NOW + 10 }), 's');
    await ingest([item(event('evt_5', 'media_available', 'site0001', NOW + 20))], NOW + 20);
    const heard: StoreChange[] = [];
    store.onChange((change) => heard.push(change));

    const since = NOW - DAY;
    expect(await store.replayEvents('hook0002', since, NOW + 30, true)).toBe(3);
    expect((await store.listDeliveries('hook0002', {}, { page: 1, pageLength: 100 })).total).toBe(1);
    expect(heard).toEqual([]);

    expect(await store.replayEvents('hook0002', since, NOW + 30, false)).toBe(3);
    const created = heard.flatMap((c) => (c.kind === 'deliveries' ? c.created ?? [] : []));
    // Property by property, each in commit order; all due now, with what the engine sends.
    expect(created.map((d) => [d.eventId, d.webhookId, d.dueAt, d.attempts, d.lastChance])).toEqual([
      ['evt_1', 'hook0002', NOW + 30, 0, false], ['evt_2', 'hook0002', NOW + 30, 0, false], ['evt_3', 'hook0002', NOW + 30, 0, false],
    ]);
    expect(created[2]!.facts).toEqual({ event: 'media_available', siteId: 'site0002', eventTime: NOW - 5, ids: { media_id: 'm_evt_3' } });
    const log = (await store.listDeliveries('hook0002', {}, { page: 1, pageLength: 100 })).deliveries;
    expect(log.map((d) => [d.eventId, d.replay]).sort()).toEqual([['evt_1', true], ['evt_2', true], ['evt_3', true], ['evt_5', false]]);
    expect(await store.getDelivery(created[0]!.id)).toMatchObject({ replay: true, status: 'pending', created: NOW + 30 });
    // The engine's order among equal due times follows the events' (evt_5's delivery was due first).
    expect((await store.loadDue('hook0002', NOW + 30, 10)).deliveries.map((d) => d.eventId)).toEqual(['evt_5', 'evt_1', 'evt_2', 'evt_3']);
    // Nothing the first webhook got changed, and a second replay has nothing left to give.
    expect((await store.listDeliveries('hook0001', {}, { page: 1, pageLength: 100 })).deliveries.every((d) => !d.replay)).toBe(true);
    expect(await store.replayEvents('hook0002', since, NOW + 40, false)).toBe(0);
    expect(await store.replayEvents('hook0002', NOW - 3 * DAY, NOW + 40, true)).toBe(1);
    expect(await store.replayEvents('nohook00', since, NOW + 40, false)).toBe(0);
  });

  it(`walks a backlog larger than one batch (${REPLAY_BATCH} events) to the end, each batch announced`, async () => {
    const total = REPLAY_BATCH * 2 + 7;
    const ids = Array.from({ length: total }, (_, i) => `evt_${String(i).padStart(5, '0')}`);
    for (let i = 0; i < total; i += 500) await ingest([item(...ids.slice(i, i + 500).map((id) => event(id)))]);
    await store.createWebhook(hook('hook0001'), 's');
    const created: PendingDelivery[] = [];
    let announcements = 0;
    store.onChange((change) => {
      if (change.kind !== 'deliveries') return;
      announcements++;
      created.push(...change.created ?? []);
    });
    expect(await store.replayEvents('hook0001', NOW - DAY, NOW, true)).toBe(total);
    expect(await store.replayEvents('hook0001', NOW - DAY, NOW, false)).toBe(total);
    expect(created.map((d) => d.eventId)).toEqual(ids);
    expect(announcements).toBe(3);
  });
});
