// The delivery search and a webhook's history, as every store must give them (run on SQLite and
// on PostgreSQL): each filter alone and together, an account's webhooks merged, the operator's
// all, cursor pages that neither repeat nor skip while new deliveries arrive, and attempts per
// bucket with their durations' percentiles, against answers worked out here from what was written.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import type { Delivery, DeliverySearch, HealthPolicy, Webhook } from '../../src/store/types.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { TEST_STORE, openTestStore, webhookRow } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: NOW };
const policy: HealthPolicy = { breakerThreshold: 1_000, probeIntervalMs: 30_000, autoDisableAfterMs: 50 * 86_400_000 };
let store: Store;
let dispose: () => Promise<void>;

const hook = (id: string, accountId: string, siteId: string): Webhook =>
  webhookRow(id, NOW, { accountId, name: id, siteIds: [siteId], events: ['media_available', 'media_updated', 'channel_active'] });

/** Every delivery written, with the ids of its event, to work the expected answers out from. */
interface Known { delivery: Delivery; accountId: string; mediaId?: string; channelId?: string }
let known: Known[];
const eventIds = new Map<string, { mediaId?: string; channelId?: string }>();

/** Reports events at `at` (one transaction; the same `created` for all: ties), and returns nothing. */
async function report(siteId: string, at: number, events: { id: string; event: string; mediaId?: string; channelId?: string }[]) {
  await store.ingest(events.map((e) => {
    eventIds.set(e.id, { mediaId: e.mediaId, channelId: e.channelId });
    const ids = e.channelId ? { channel_id: e.channelId } : { media_id: e.mediaId! };
    return { siteId, events: [{ id: e.id, siteId, event: e.event, ids, eventTime: at, created: at }] };
  }), at, { ...options, firstAttemptAt: at });
}

/** Every delivery of the webhooks, read through the paged list (the reference). */
async function everything(): Promise<Known[]> {
  const all: Known[] = [];
  for (const [webhookId, accountId] of [['hook0001', 'acct0001'], ['hook0002', 'acct0001'], ['hook0003', 'acct0002']] as const) {
    const { deliveries } = await store.listDeliveries(webhookId, {}, { page: 1, pageLength: 10_000 });
    for (const delivery of deliveries) all.push({ delivery, accountId, ...eventIds.get(delivery.eventId) });
  }
  return all;
}

const newestFirst = (a: Delivery, b: Delivery) => b.created - a.created || (a.id < b.id ? 1 : -1);

/** Every page of a search, `limit` at a time, each from the last one's cursor. */
async function pages(search: Omit<DeliverySearch, 'limit'>, limit: number): Promise<Delivery[][]> {
  const out: Delivery[][] = [];
  let after = search.after;
  for (;;) {
    const page = await store.searchDeliveries({ ...search, after, limit });
    if (page.length > 0) out.push(page);
    if (page.length < limit) return out;
    if (out.length > 200) throw new Error('the cursor does not move on');
    const last = page.at(-1)!;
    after = { created: last.created, id: last.id };
  }
}

beforeEach(async () => {
  ({ store, dispose } = await openTestStore());
  known = [];
  eventIds.clear();
  for (const [account, site] of [['acct0001', 'site0001'], ['acct0002', 'site0002']]) {
    await store.createAccount({ id: account!, name: account!, created: NOW });
    await store.createSite({ id: site!, accountId: account!, name: site!, created: NOW });
  }
  await store.createWebhook(hook('hook0001', 'acct0001', 'site0001'), 'sealed');
  await store.createWebhook(hook('hook0002', 'acct0001', 'site0001'), 'sealed');
  await store.createWebhook(hook('hook0003', 'acct0002', 'site0002'), 'sealed');
  // 24 events on site0001 (two deliveries each, created alike: ties), three at a time in one
  // transaction (ties within a webhook too); media m0..m3 and one channel; 6 on site0002.
  for (let i = 0; i < 24; i += 3) {
    await report('site0001', NOW + i * 1000, [0, 1, 2].map((k) => ({
      id: `evt_s1_${i + k}`, event: (i + k) % 4 === 3 ? 'channel_active' : (i + k) % 2 ? 'media_updated' : 'media_available',
      ...((i + k) % 4 === 3 ? { channelId: 'chan0001' } : { mediaId: `m${(i + k) % 4}` }),
    })));
  }
  for (let i = 0; i < 6; i++) await report('site0002', NOW + i * 1000 + 500, [{ id: `evt_s2_${i}`, event: 'media_available', mediaId: 'm0' }]);
  // Outcomes: every third of hook0001's deliveries got 200 (succeeded), the others 500 (failed for good); hook0002's stay pending.
  const due = (await store.loadDue('hook0001', NOW + 100_000, 1000)).deliveries;
  await store.recordOutcomes(due.map((d, i) => ({
    deliveryId: d.id, webhookId: d.webhookId, succeeded: i % 3 === 0, nextAttemptAt: null,
    attempt: { attemptedAt: NOW + 100_000, statusCode: i % 3 === 0 ? 200 : 500, durationMs: 5, error: i % 3 === 0 ? null : 'HTTP 500', responseBody: null },
  })), NOW + 100_000, policy);
  known = await everything();
  expect(known).toHaveLength(24 * 2 + 6);
});
afterEach(() => dispose());

describe(`the delivery search (${TEST_STORE})`, () => {
  /** What a search must find: the known deliveries in scope that pass `keep`, newest first. */
  const expected = (accountId: string | null, keep: (k: Known) => boolean) =>
    known.filter((k) => (accountId === null || k.accountId === accountId) && keep(k)).map((k) => k.delivery).sort(newestFirst);

  const cases: [string, Omit<DeliverySearch, 'limit'>, (k: Known) => boolean][] = [
    ['no filter (an account)', { accountId: 'acct0001' }, () => true],
    ['no filter (the operator)', { accountId: null }, () => true],
    ['webhook_id', { accountId: 'acct0001', webhookId: 'hook0002' }, (k) => k.delivery.webhookId === 'hook0002'],
    ['webhook_id (the operator)', { accountId: null, webhookId: 'hook0003' }, (k) => k.delivery.webhookId === 'hook0003'],
    ['media_id (an account)', { accountId: 'acct0001', mediaId: 'm0' }, (k) => k.mediaId === 'm0'],
    ['media_id (the operator)', { accountId: null, mediaId: 'm0' }, (k) => k.mediaId === 'm0'],
    ['channel_id', { accountId: 'acct0001', channelId: 'chan0001' }, (k) => k.channelId === 'chan0001'],
    ['event_id', { accountId: null, eventId: 'evt_s1_5' }, (k) => k.delivery.eventId === 'evt_s1_5'],
    ['event', { accountId: 'acct0001', event: 'media_updated' }, (k) => k.delivery.event === 'media_updated'],
    ['status', { accountId: 'acct0001', status: 'failed' }, (k) => k.delivery.status === 'failed'],
    ['status_code', { accountId: null, statusCode: 200 }, (k) => k.delivery.lastStatusCode === 200],
    ['since and until', { accountId: 'acct0001', since: NOW + 6000, until: NOW + 15_000 }, (k) => k.delivery.created >= NOW + 6000 && k.delivery.created < NOW + 15_000],
    ['media_id, webhook_id and status', { accountId: 'acct0001', mediaId: 'm2', webhookId: 'hook0001', status: 'succeeded' },
      (k) => k.mediaId === 'm2' && k.delivery.webhookId === 'hook0001' && k.delivery.status === 'succeeded'],
    ['event and status_code (the operator)', { accountId: null, event: 'media_available', statusCode: 500 },
      (k) => k.delivery.event === 'media_available' && k.delivery.lastStatusCode === 500],
  ];

  it.each(cases)('finds by %s, page after page from the cursor, none twice and none missed', async (_name, search, keep) => {
    const want = expected(search.accountId, keep);
    expect(want.length).toBeGreaterThan(0);
    for (const limit of [1, 4, 100]) {
      const got = await pages(search, limit);
      expect(got.flat().map((d) => d.id)).toEqual(want.map((d) => d.id));
      expect(got.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
    // Deliveries whole, as the delivery view reads them.
    expect((await store.searchDeliveries({ ...search, limit: 1 }))[0]).toEqual(want[0]);
  });

  it('never shows an account another account\'s deliveries, whatever it filters on', async () => {
    expect(await store.searchDeliveries({ accountId: 'acct0002', webhookId: 'hook0001', limit: 100 })).toEqual([]);
    expect(await store.searchDeliveries({ accountId: 'acct0002', eventId: 'evt_s1_0', limit: 100 })).toEqual([]);
    expect(await store.searchDeliveries({ accountId: 'acct0002', channelId: 'chan0001', limit: 100 })).toEqual([]);
    const m0 = await store.searchDeliveries({ accountId: 'acct0002', mediaId: 'm0', limit: 100 });
    expect(m0.map((d) => d.webhookId)).toEqual(Array(6).fill('hook0003'));
    expect(await store.searchDeliveries({ accountId: 'acct0003', limit: 100 })).toEqual([]);
  });

  it('pages on from a cursor while newer deliveries arrive, and finds them from the top', async () => {
    const want = expected('acct0001', () => true).map((d) => d.id);
    const first = await store.searchDeliveries({ accountId: 'acct0001', limit: 10 });
    await report('site0001', NOW + 50_000, [{ id: 'evt_new_1', event: 'media_available', mediaId: 'm0' }, { id: 'evt_new_2', event: 'media_updated', mediaId: 'm1' }]);
    const last = first.at(-1)!;
    const rest = (await pages({ accountId: 'acct0001', after: { created: last.created, id: last.id } }, 10)).flat();
    expect([...first, ...rest].map((d) => d.id)).toEqual(want);
    const top = await store.searchDeliveries({ accountId: 'acct0001', limit: 4 });
    expect(top.map((d) => d.eventId).sort()).toEqual(['evt_new_1', 'evt_new_1', 'evt_new_2', 'evt_new_2']);
  });
});

describe(`a webhook's history (${TEST_STORE})`, () => {
  it('counts attempts and successes per bucket and takes nearest-rank percentiles of their durations', async () => {
    const start = NOW + 10 * HOUR;
    const d = (await store.loadDue('hook0002', NOW + 100_000, 1))!.deliveries[0]!;
    // 100 attempts, durations 1..100 ms: hour 0 has 1..40 (every 4th failing), hour 2 has 41..100
    // (all succeeding). One before the window and one at its end count nowhere.
    const outcomes = [];
    for (let ms = 1; ms <= 100; ms++) {
      const at = ms <= 40 ? start + ms * 1000 : start + 2 * HOUR + ms * 1000;
      const fails = ms <= 40 && ms % 4 === 0;
      outcomes.push({
        deliveryId: d.id, webhookId: d.webhookId, succeeded: !fails, nextAttemptAt: NOW + 200 * HOUR,
        attempt: { attemptedAt: at, statusCode: fails ? 503 : 200, durationMs: ms, error: fails ? 'HTTP 503' : null, responseBody: null },
      });
    }
    for (const at of [start - 1, start + 24 * HOUR]) {
      outcomes.push({ deliveryId: d.id, webhookId: d.webhookId, succeeded: true, nextAttemptAt: NOW + 200 * HOUR, attempt: { attemptedAt: at, statusCode: 200, durationMs: 10_000, error: null, responseBody: null } });
    }
    for (const o of outcomes) await store.recordOutcomes([o], o.attempt.attemptedAt, policy);

    const history = await store.webhookHistory('hook0002', { start, end: start + 24 * HOUR, bucketMs: HOUR });
    expect(history.buckets).toEqual([{ index: 0, attempts: 40, succeeded: 30 }, { index: 2, attempts: 60, succeeded: 60 }]);
    expect(history.latency).toEqual({ p50: 50, p95: 95, p99: 99 });

    // Days: one bucket with all 100, and the attempt after the 24 hours in the next.
    const days = await store.webhookHistory('hook0002', { start, end: start + 30 * 24 * HOUR, bucketMs: 24 * HOUR });
    expect(days.buckets).toEqual([{ index: 0, attempts: 100, succeeded: 90 }, { index: 1, attempts: 1, succeeded: 1 }]);
    expect(days.latency).toEqual({ p50: 51, p95: 96, p99: 100 });

    // Another webhook's attempts (hook0001's, at NOW + 100 s), and none at all.
    expect((await store.webhookHistory('hook0001', { start, end: start + HOUR, bucketMs: HOUR }))).toEqual({ buckets: [], latency: null });
    const other = await store.webhookHistory('hook0001', { start: NOW, end: NOW + HOUR, bucketMs: 60_000 });
    expect(other.buckets).toEqual([{ index: 1, attempts: 24, succeeded: 8 }]);
    expect(other.latency).toEqual({ p50: 5, p95: 5, p99: 5 });
  });
});

describe.runIf(TEST_STORE === 'sqlite')('the delivery search\'s plans (sqlite)', () => {
  /** The plan of every statement one search prepares (SQLite's EXPLAIN QUERY PLAN, one line a step). */
  async function plans(search: Omit<DeliverySearch, 'limit'>): Promise<string[]> {
    const db = (store as SqliteStore).db;
    const prepare = db.prepare.bind(db);
    const seen: string[] = [];
    db.prepare = ((sql: string) => (seen.push(sql), prepare(sql))) as typeof db.prepare;
    try {
      await store.searchDeliveries({ ...search, limit: 10 });
    } finally {
      db.prepare = prepare;
    }
    // Statements are prepared once per text: the first search of each shape shows them all.
    const params = { accountId: 'a', webhookId: 'w', eventId: 'e', mediaId: 'm', channelId: 'c', event: 'x', status: 'failed', statusCode: 500, since: 1, until: 2, afterCreated: 1, afterId: 'x', limit: 10 };
    return seen.map((sql) => (prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail).join('; '));
  }
  const after = { created: NOW + 5000, id: 'msg_ffffffffffffffffffffffff' };

  it('walks an index from the cursor, in order, for every search that pages through the log', async () => {
    expect(await plans({ accountId: null, after, status: 'failed', event: 'media_updated', statusCode: 500 })).toEqual([
      'SEARCH d USING INDEX deliveries_by_time ((created,id)<(?,?)); SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)',
    ]);
    expect(await plans({ accountId: 'acct0001', after })).toEqual([
      'SEARCH webhooks USING INDEX webhooks_by_account (account_id=?)',
      'SEARCH d USING INDEX deliveries_by_webhook_time (webhook_id=? AND (created,id)<(?,?)); SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)',
    ]);
    // until and a cursor: the tighter bound alone, so that the walk starts at the cursor.
    expect(await plans({ accountId: null, after, since: NOW, until: NOW + 20_000 })).toEqual([
      'SEARCH d USING INDEX deliveries_by_time (created>? AND (created,id)<(?,?)); SEARCH e USING INDEX sqlite_autoindex_events_1 (id=?)',
    ]);
  });

  it('finds a media\'s, a channel\'s or an event\'s deliveries through their events, then sorts only those', async () => {
    for (const [search, index] of [[{ mediaId: 'm0' }, 'events_by_media (media_id=?)'], [{ channelId: 'chan0001' }, 'events_by_channel (channel_id=?)'], [{ eventId: 'evt_s1_0' }, 'sqlite_autoindex_events_1 (id=?)']] as const) {
      const [plan] = await plans({ accountId: 'acct0001', after, ...search });
      expect(plan).toMatch(new RegExp(`^SEARCH e USING INDEX ${index.replace(/[()?]/g, '\\$&')}; SEARCH d USING INDEX deliveries_by_event \\(event_id=\\?\\);.* SEARCH webhooks USING INDEX webhooks_by_account`));
      expect(plan).not.toMatch(/SCAN/);
    }
  });
});
