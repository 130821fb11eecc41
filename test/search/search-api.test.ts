// GET /v2/deliveries/ and GET /v2/webhooks/{id}/stats/ over real HTTP on a real node, on each
// store: a media's delivery found among 100 000 (written straight into the tables, in one
// transaction, for speed), cursor pages that neither repeat nor skip while new deliveries arrive
// between them, every bad filter refused at once, accounts kept apart, and a webhook's attempts
// per hour and per day with their percentiles, from attempts of known times and durations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PostgresStore } from '../../src/store/postgres/index.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import type { HealthPolicy } from '../../src/store/types.js';
import { TEST_STORE, createAccount, createWebhook, startReceiver, startTestNode, until, type Api, type Receiver, type TestNode } from '../helpers.js';

const BULK = 100_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The test's clock: real time plus this (the stats tests move it). */
let offset = 0;
let node: TestNode;
let receiver: Receiver;
let other: { id: string; siteId: string; api: Api };
let hookA: string;
let hookB: string;
/** Bulk deliveries are created from here on, 10 ms apart, two days ago: older than anything the node makes. */
const BASE = Date.now() - 2 * DAY;

/** Writes `n` events of `siteId` and their deliveries to `webhookId` in one transaction, straight into the tables. */
async function bulkInsert(siteId: string, webhookId: string, prefix: string, n: number, needle: { at: number; mediaId: string }) {
  if (TEST_STORE === 'sqlite') {
    const db = (node.hookline.store as SqliteStore).db;
    db.transaction(() => {
      db.prepare(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @n)
        INSERT INTO events (id, site_id, event, media_id, event_time, created)
        SELECT 'evt_' || @prefix || i, @siteId, 'media_available', CASE WHEN i = @needle THEN @mediaId ELSE 'm' || i END, @base + i * 10, @base + i * 10 FROM n`)
        .run({ n, prefix, siteId, needle: needle.at, mediaId: needle.mediaId, base: BASE });
      // Each delivery's id: its event's rowid in the hex digits.
      db.prepare(`INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, due_at, last_status_code, created, last_modified)
        SELECT 'msg_' || printf('%024x', rowid), id, ?, 'succeeded', 1, NULL, 200, created, created FROM events WHERE site_id = ?`)
        .run(webhookId, siteId);
    })();
  } else {
    const { pool, schema } = node.hookline.store as PostgresStore;
    const client = await pool.connect();
    try {
      await client.query(`SET search_path TO ${schema}`);
      await client.query('BEGIN');
      await client.query(`INSERT INTO events (id, site_id, event, media_id, event_time, created)
        SELECT 'evt_' || $2 || i, $3, 'media_available', CASE WHEN i = $4 THEN $5 ELSE 'm' || i END, $6::bigint + i * 10, $6::bigint + i * 10
        FROM generate_series(1, $1::int) i`, [n, prefix, siteId, needle.at, needle.mediaId, BASE]);
      // Each delivery's id: its event's feed_seq in the hex digits.
      await client.query(`INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, due_at, last_status_code, created, last_modified)
        SELECT 'msg_' || lpad(to_hex(feed_seq), 24, '0'), id, $1, 'succeeded', 1, NULL, 200, created, created
        FROM events WHERE site_id = $2`, [webhookId, siteId]);
      await client.query('COMMIT');
      await client.query('ANALYZE events; ANALYZE deliveries');
    } finally {
      client.release();
    }
  }
}

beforeAll(async () => {
  node = await startTestNode({}, { clock: { now: () => Date.now() + offset } });
  receiver = await startReceiver();
  other = await createAccount(node.operator);
  hookA = (await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_available', 'media_updated'])).id;
  hookB = (await createWebhook(other.api, [other.siteId], receiver.url)).id;
  await bulkInsert(node.account.siteId, hookA, 'a', BULK, { at: BULK / 2, mediaId: 'needle01' });
  await bulkInsert(other.siteId, hookB, 'b', 1000, { at: 500, mediaId: 'needle01' });
}, 120_000);
afterAll(async () => {
  await node?.close();
  await receiver?.close();
});

/** Reports an event through the API and waits until its delivery is made. */
async function report(siteId: string, mediaId: string, event = 'media_available') {
  const res = await node.operator.post(`/v2/sites/${siteId}/events/`, { event, media_id: mediaId });
  expect(res.status).toBe(202);
  return res.body.id as string;
}

describe(`the delivery search (${TEST_STORE})`, () => {
  it('finds the one delivery of a media among 100 000, for its account and for the operator only', async () => {
    const mine = await node.account.api.get('/v2/deliveries/?media_id=needle01');
    expect(mine.status).toBe(200);
    expect(mine.body.next_cursor).toBeNull();
    expect(mine.body.deliveries).toHaveLength(1);
    expect(mine.body.deliveries[0]).toMatchObject({ event_id: `evt_a${BULK / 2}`, webhook_id: hookA, status: 'succeeded', last_status_code: 200 });
    // The delivery view opens it.
    const view = await node.account.api.get(`/v2/deliveries/${mine.body.deliveries[0].id}/`);
    expect(view.status).toBe(200);
    expect(JSON.parse(view.body.request_body)).toMatchObject({ media_id: 'needle01', webhook_id: hookA });

    // The other account has a media of that id too: each sees its own, the operator both.
    const theirs = await other.api.get('/v2/deliveries/?media_id=needle01');
    expect(theirs.body.deliveries.map((d: any) => d.webhook_id)).toEqual([hookB]);
    const all = await node.operator.get('/v2/deliveries/?media_id=needle01');
    expect(all.body.deliveries.map((d: any) => d.webhook_id).sort()).toEqual([hookA, hookB].sort());
  });

  it('keeps accounts apart whatever the filter, and shows the operator every account', async () => {
    const mine = await node.account.api.get('/v2/deliveries/?page_length=1000');
    expect(mine.body.deliveries).toHaveLength(1000);
    expect(new Set(mine.body.deliveries.map((d: any) => d.webhook_id))).toEqual(new Set([hookA]));
    for (const filter of [`webhook_id=${hookA}`, 'event_id=evt_a1', 'media_id=m10', `event_id=evt_b1`]) {
      const res = await other.api.get(`/v2/deliveries/?${filter}`);
      expect(res.status).toBe(200);
      expect(res.body.deliveries.every((d: any) => d.webhook_id === hookB)).toBe(true);
    }
    expect((await other.api.get(`/v2/deliveries/?webhook_id=${hookA}`)).body.deliveries).toEqual([]);
    expect((await other.api.get('/v2/deliveries/?event_id=evt_a1')).body.deliveries).toEqual([]);
    expect((await node.operator.get('/v2/deliveries/?event_id=evt_b1')).body.deliveries.map((d: any) => d.webhook_id)).toEqual([hookB]);
    expect((await node.operator.get('/v2/deliveries/?event_id=evt_a1')).body.deliveries.map((d: any) => d.webhook_id)).toEqual([hookA]);
    // The operator's newest-first across accounts: B's bulk rows interleave with A's by time.
    const page = await node.operator.get(`/v2/deliveries/?since=${encodeURIComponent(new Date(BASE).toISOString())}&until=${encodeURIComponent(new Date(BASE + 5005).toISOString())}&page_length=1000`);
    expect(page.body.deliveries.filter((d: any) => d.webhook_id === hookA)).toHaveLength(500);
    expect(page.body.deliveries.filter((d: any) => d.webhook_id === hookB)).toHaveLength(500);
    expect(page.body.next_cursor).toBeNull();
  });

  it('pages through every delivery with the cursor, none twice and none missed, while new ones arrive', async () => {
    const arrived = new Set<string>();
    // Every delivery of the account now: the bulk ones (the node has made none yet).
    let cursor: string | null = null;
    const seen: string[] = [];
    let pages = 0;
    do {
      const res: { status: number; body: any } = await node.account.api.get(`/v2/deliveries/?page_length=1000${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      for (const d of res.body.deliveries) seen.push(d.id);
      cursor = res.body.next_cursor;
      // New deliveries between pages: newer than any page's cursor, so in none of the pages that follow.
      if (pages++ % 20 === 0) arrived.add(await report(node.account.siteId, `new${pages}`));
    } while (cursor);
    expect(pages).toBe(BULK / 1000);
    expect(seen).toHaveLength(BULK);
    expect(new Set(seen).size).toBe(seen.length);
    // From the top again: the deliveries that arrived meanwhile, newest first, then the bulk rows from the newest down.
    const top = await node.account.api.get('/v2/deliveries/?page_length=10');
    expect(arrived.size).toBe(5);
    expect(top.body.deliveries.map((d: any) => d.event_id)).toEqual([...arrived].reverse().concat(Array.from({ length: 5 }, (_, i) => `evt_a${BULK - i}`)));
    const last = await node.account.api.get(`/v2/deliveries/?event_id=evt_a1`);
    expect(seen.at(-1)).toBe(last.body.deliveries[0].id);
  });

  it('refuses bad filters, every bad field at once in JWP\'s format, and an unknown cursor', async () => {
    const res = await node.account.api.get('/v2/deliveries/?media_id=no%20spaces&event=media_nope&status=lost&status_code=99'
      + '&webhook_id=short&since=yesterday&until=2026-13-01T00:00:00Z&cursor=abc&page_length=0&event_id=msg_1');
    expect(res.status).toBe(400);
    expect(res.body.errors.map((e: any) => e.code)).toEqual(Array(10).fill('invalid_query'));
    expect(res.body.errors.map((e: any) => e.description.split(/[ :]/)[0])).toEqual(
      ['media_id', 'event_id', 'event', 'status', 'status_code', 'webhook_id', 'since', 'until', 'cursor', 'page_length']);
    const order = await node.account.api.get('/v2/deliveries/?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z');
    expect(order.status).toBe(400);
    expect(order.body.errors).toEqual([{ code: 'invalid_query', description: 'until must be after since' }]);
    expect((await node.account.api.get('/v2/deliveries/?page_length=1001')).status).toBe(400);
  });
});

describe(`a webhook's stats over time (${TEST_STORE})`, () => {
  it('counts attempts per hour and per day, with their success rate and percentiles, in the clock\'s windows', async () => {
    const policy: HealthPolicy = { breakerThreshold: 1_000_000, probeIntervalMs: 30_000, autoDisableAfterMs: 365 * DAY };
    const hook = (await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_updated'])).id;
    await report(node.account.siteId, 'statsmed', 'media_updated');
    const delivery = await until(async () => (await node.account.api.get(`/v2/deliveries/?webhook_id=${hook}&status=succeeded`)).body.deliveries[0]);
    // Now is 2030-03-10T12:30Z by the node's clock: the 24 h window is 2030-03-09T13:00Z to 2030-03-10T13:00Z.
    const now = Date.parse('2030-03-10T12:30:00Z');
    offset = now - Date.now();
    const hourStart = Date.parse('2030-03-10T12:00:00Z');
    const attempts: [at: number, ms: number, ok: boolean][] = [];
    for (let i = 1; i <= 20; i++) attempts.push([hourStart + i * 60_000 / 2, i * 10, i % 5 !== 0]); // this hour: 20, 4 failing
    for (let i = 1; i <= 5; i++) attempts.push([hourStart - 23 * HOUR + i, 1000, true]); // the window's first hour
    attempts.push([hourStart - 23 * HOUR - 1, 5000, false]); // just before it: in the 30 days only
    attempts.push([Date.parse('2030-02-09T00:00:00Z'), 7000, false]); // the 30 days' first day
    for (const [at, ms, ok] of attempts) {
      await node.hookline.store.recordOutcomes([{
        // Failed for good when failing: nothing left due for the engine to send at the moved clock.
        deliveryId: delivery.id, webhookId: hook, succeeded: ok, nextAttemptAt: null,
        attempt: { attemptedAt: at, statusCode: ok ? 200 : 500, durationMs: ms, error: ok ? null : 'HTTP 500', responseBody: null },
      }], at, policy);
    }

    // Without a window, the health alone (what the dashboard polls); with one, the history too.
    const health = await node.account.api.get(`/v2/webhooks/${hook}/stats/`);
    expect(health.status).toBe(200);
    expect(Object.keys(health.body).sort()).toEqual(['deliveries', 'last_delivery', 'since', 'success_rate', 'webhook_id']);
    const day = await node.account.api.get(`/v2/webhooks/${hook}/stats/?window=24h`);
    expect(day.status).toBe(200);
    expect(day.body.window).toBe('24h');
    expect(day.body.buckets).toHaveLength(24);
    expect(day.body.buckets[0]).toEqual({ start: '2030-03-09T13:00:00.000000+00:00', attempts: 5, succeeded: 5, success_rate: 1 });
    expect(day.body.buckets[23]).toEqual({ start: '2030-03-10T12:00:00.000000+00:00', attempts: 20, succeeded: 16, success_rate: 0.8 });
    expect(day.body.buckets.slice(1, 23).every((b: any) => b.attempts === 0 && b.success_rate === null)).toBe(true);
    // 25 durations: 10, 20, …, 200 and five of 1000. Nearest rank: the 13th, the 24th, the 25th.
    expect(day.body.latency_ms).toEqual({ p50: 130, p95: 1000, p99: 1000 });

    const month = await node.account.api.get(`/v2/webhooks/${hook}/stats/?window=30d`);
    expect(month.body.window).toBe('30d');
    expect(month.body.buckets).toHaveLength(30);
    expect(month.body.buckets[0]).toEqual({ start: '2030-02-09T00:00:00.000000+00:00', attempts: 1, succeeded: 0, success_rate: 0 });
    expect(month.body.buckets[28]).toEqual({ start: '2030-03-09T00:00:00.000000+00:00', attempts: 6, succeeded: 5, success_rate: 5 / 6 });
    expect(month.body.buckets[29]).toEqual({ start: '2030-03-10T00:00:00.000000+00:00', attempts: 20, succeeded: 16, success_rate: 0.8 });
    // 27 durations: the 25 above, 5000 and 7000: the 14th is 140, the 26th and 27th 5000 and 7000.
    expect(month.body.latency_ms).toEqual({ p50: 140, p95: 5000, p99: 7000 });

    const bad = await node.account.api.get(`/v2/webhooks/${hook}/stats/?window=1y`);
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0]).toEqual({ code: 'invalid_query', description: 'window must be one of: 24h, 30d' });
    expect((await other.api.get(`/v2/webhooks/${hook}/stats/`)).status).toBe(404);
    offset = 0;
  });
});
