// The catch-up feed, GET /v2/sites/{site_id}/events/, through real HTTP on a real node: its
// shape, cursor, filter and limits, who may read it, JWP's errors for bad input, and 10,000
// events paged through while they arrive, none missed and none repeated. On PostgreSQL the
// events arrive through two nodes on one database (docs/jwp-api.md, "Hookline's extensions").
import { describe, expect, it } from 'vitest';
import {
  Api, OPERATOR_KEY, TEST_SECRET_KEY, TEST_STORE, createAccount, createWebhook, freshSchema, nodePerTest, startTestNode, until, type TestNode,
} from '../helpers.js';

const nodes = nodePerTest();
const feed = (site: string, query = '') => `/v2/sites/${site}/events/${query}`;

/**
 * Waits until the property's feed lists `count` events. On PostgreSQL the feed's end waits for
 * every older writing transaction on the server, other test files' included, to end.
 */
const listing = (api: Api, site: string, count: number) =>
  until(async () => (await api.get(feed(site, '?page_length=10000'))).body.events.length === count, 10_000, `the feed to list ${count} events`);

describe(`the catch-up feed (${TEST_STORE})`, () => {
  it("lists the property's events oldest first with a cursor, by type if asked, its test events left out", async () => {
    const node = await nodes.start();
    const { api, siteId } = node.account;
    expect((await api.get(feed(siteId))).body).toEqual({ events: [], next_cursor: null });
    const report = async (body: Record<string, string>) => (await node.operator.post(feed(siteId), body)).body.id as string;
    const ids = [
      await report({ event: 'media_created', media_id: 'MNYaMSQl', event_time: '2024-08-27T02:13:10+02:00' }),
      await report({ event: 'thumbnail_created', thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl', event_time: '2024-08-27T00:13:25Z' }),
      await report({ event: 'channel_active', channel_id: 'YijbmYHJ', event_time: '2024-08-29T03:01:24+00:00' }),
    ];
    const hook = await createWebhook(api, [siteId], 'http://127.0.0.1:9/hooks', ['media_available']);
    expect((await api.post(`/v2/webhooks/${hook.id}/test/`, { event: 'media_available' })).status).toBe(202);
    ids.push(await report({ event: 'media_available', media_id: 'MNYaMSQl', event_time: '2024-08-27T00:15:45+00:00' }));
    await listing(api, siteId, 4);

    const first = await api.get(feed(siteId, '?page_length=2'));
    expect(first.status).toBe(200);
    expect(first.body.events).toEqual([
      { id: ids[0], event: 'media_created', site_id: siteId, event_time: '2024-08-27T00:13:10+00:00', media_id: 'MNYaMSQl' },
      { id: ids[1], event: 'thumbnail_created', site_id: siteId, event_time: '2024-08-27T00:13:25+00:00', thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl' },
    ]);
    expect(first.body.next_cursor).toMatch(/^\d+\.\d+$/);
    const second = await api.get(feed(siteId, `?page_length=2&after=${first.body.next_cursor}`));
    expect(second.body.events.map((e: any) => e.id)).toEqual([ids[2], ids[3]]);
    expect(second.body.events[0]).toEqual({ id: ids[2], event: 'channel_active', site_id: siteId, event_time: '2024-08-29T03:01:24+00:00', channel_id: 'YijbmYHJ' });
    // Caught up: nothing more, and the same cursor to come back with.
    const end = await api.get(feed(siteId, `?after=${second.body.next_cursor}`));
    expect(end.body).toEqual({ events: [], next_cursor: second.body.next_cursor });
    await report({ event: 'media_deleted', media_id: 'MNYaMSQl' });
    await listing(api, siteId, 5);
    expect((await api.get(feed(siteId, `?after=${end.body.next_cursor}`))).body.events.map((e: any) => e.event)).toEqual(['media_deleted']);

    const byType = await api.get(feed(siteId, '?event=media_created&page_length=10000'));
    expect(byType.body.events.map((e: any) => e.id)).toEqual([ids[0]]);
    // The operator reads any property's feed.
    expect((await node.operator.get(feed(siteId))).body.events).toHaveLength(5);
  });

  it("answers JWP's errors to bad input and to callers who may not read the property", async () => {
    const node = await nodes.start();
    const { api, siteId } = node.account;
    await node.operator.post(feed(siteId), { event: 'media_created', media_id: 'm1' });
    await listing(api, siteId, 1);
    const refused = async (caller: Api, path: string, status: number, code: string, description: RegExp) => {
      const res = await caller.get(path);
      expect(res.status, path).toBe(status);
      expect(res.body.errors, path).toEqual([{ code, description: expect.stringMatching(description) }]);
    };
    await refused(api, feed(siteId, '?event=media_uploaded'), 400, 'invalid_query', /^event must be one of: conversions_complete, channel_active/);
    await refused(api, feed(siteId, '?page_length=10001'), 400, 'invalid_query', /^page_length must be <= 10000/);
    await refused(api, feed(siteId, '?page_length=0'), 400, 'invalid_query', /^page_length must be >= 1/);
    for (const after of ['abc', '1.2.3', '-1.5', '01.5', '18446744073709551616.1', '1.99999999999999999', '%20']) {
      await refused(api, feed(siteId, `?after=${after}`), 400, 'invalid_query', /^after: ".*" is not a cursor of this feed/);
    }
    await refused(api, feed(siteId, `?after=${'1'.repeat(65)}`), 400, 'invalid_query', /^after must NOT have more than 64 characters/);
    const other = await createAccount(node.operator);
    await refused(other.api, feed(siteId), 404, 'not_found', new RegExp(`^property ${siteId} not found`));
    await refused(api, feed('Zz9Zz9Zz'), 404, 'not_found', /^property Zz9Zz9Zz not found/);
    await refused(new Api(node.url), feed(siteId), 401, 'unauthorized', /Authorization/);
    // The largest page and a cursor at the very start are taken.
    expect((await api.get(feed(siteId, '?page_length=10000&after=0.0'))).body.events).toHaveLength(1);
  });

  it('pages through 10,000 events while they arrive, missing none and repeating none, in an order that never changes', async () => {
    const TOTAL = 10_000;
    // On PostgreSQL, two nodes on one database take the events, each on its own connections.
    const schema = TEST_STORE === 'postgres' ? await freshSchema() : undefined;
    const shared = schema ? { databaseUrl: schema.url, secretKey: TEST_SECRET_KEY } : {};
    const running: TestNode[] = [];
    try {
      const node = await startTestNode(shared);
      running.push(node);
      if (schema) running.push(await startTestNode(shared));
      const { api, siteId } = node.account;
      const intakes = running.map((n) => new Api(n.url, OPERATOR_KEY));
      const acknowledged: string[] = [];
      let next = 0;
      // 32 writers at once, round robin over the nodes, each answered after its commit.
      const writers = Array.from({ length: 32 }, async (_, w) => {
        for (let i = next++; i < TOTAL; i = next++) {
          const res = await intakes[(i + w) % intakes.length]!.post(feed(siteId), { event: 'media_updated', media_id: `m${i}` });
          expect(res.status).toBe(202);
          acknowledged.push(res.body.id);
        }
      });
      let writing = true;
      const written = Promise.all(writers).finally(() => (writing = false));

      // Meanwhile a client catches up page after page, with pages of several sizes.
      const read: string[] = [];
      let pagesWhileWriting = 0;
      let stop = false;
      const lengths = [1, 7, 100, 250, 1_000, 10_000];
      const reader = (async () => {
        let cursor: string | null = null;
        for (let n = 0; !stop && (writing || read.length < TOTAL); n++) {
          const during = writing;
          const res = await api.get(feed(siteId, `?page_length=${lengths[n % lengths.length]}${cursor ? `&after=${cursor}` : ''}`));
          expect(res.status).toBe(200);
          read.push(...res.body.events.map((e: any) => e.id));
          if (during && res.body.events.length > 0) pagesWhileWriting++;
          cursor = res.body.next_cursor;
          if (res.body.events.length === 0) await new Promise((r) => setTimeout(r, 20));
        }
      })();
      await written;
      // A feed that skipped events would leave the client short for good: it is given a minute.
      await until(() => read.length >= TOTAL, 60_000).catch(() => {});
      stop = true;
      await reader;

      expect(acknowledged).toHaveLength(TOTAL);
      expect(read).toHaveLength(TOTAL);
      expect(new Set(read)).toEqual(new Set(acknowledged));
      // The client met the events while they came, not all at once at the end.
      expect(pagesWhileWriting).toBeGreaterThan(1);
      // Read again from the start, the feed is the same list in the same order.
      const again = await api.get(feed(siteId, '?page_length=10000'));
      expect(again.body.events.map((e: any) => e.id)).toEqual(read);
      expect((await api.get(feed(siteId, `?after=${again.body.next_cursor}`))).body.events).toEqual([]);
    } finally {
      for (const n of running.reverse()) await n.close();
      await schema?.drop();
    }
  }, 300_000);
});
