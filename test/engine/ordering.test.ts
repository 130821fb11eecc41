// Per-media ordering end to end, on a real node (SQLite, and PostgreSQL in project "postgres")
// with real receivers on loopback: a webhook with ordering "per_media" gets the deliveries of one
// media (or one live channel) one at a time in commit order, a failing one holding back only its
// own media's later ones; one that fails for good lets the next go; the order survives a restart
// and, on PostgreSQL, a handover between two nodes. "none" keeps no order. The clocks are real
// time plus an offset that the tests move on to bring a retry due, so the tests wait on
// deliveries, never on durations.
import { describe, expect, it } from 'vitest';
import {
  TEST_SECRET_KEY, TEST_STORE, createWebhook, freshSchema, nodePerTest, startTestNode, until, type Received, type TestNode,
} from '../helpers.js';

const perTest = nodePerTest();
const { start, receiver } = perTest;

const MEDIA_EVENTS = ['media_created', 'media_updated', 'media_available', 'conversions_complete'];
const LIVE_EVENTS = ['channel_active', 'channel_idle'];

/** Real time, moved on by hand: a retry due in a minute comes due at once once `skip(60_000)`. */
function offsetClock() {
  let offset = 0;
  return { clock: { now: () => Date.now() + offset }, skip: (ms: number) => void (offset += ms) };
}

/** A webhook with ordering per_media, made with it (the create's top-level field). */
async function orderedWebhook(node: TestNode, url: string, events: string[]) {
  const res = await node.account.api.post('/v2/webhooks/', {
    metadata: { name: 'ordered', webhook_url: url, events, site_ids: [node.account.siteId] }, ordering: 'per_media',
  });
  expect(res.status).toBe(201);
  expect(res.body.ordering).toBe('per_media');
  return res.body;
}

async function report(node: TestNode, event: string, ids: Record<string, string>, siteId = node.account.siteId): Promise<void> {
  const res = await node.operator.post(`/v2/sites/${siteId}/events/`, { event, ...ids });
  expect(res.status).toBe(202);
}

/** What a receiver got for one media or channel, in arrival order: "event:status". */
const of = (received: Received[], statuses: Map<Received, number>, id: string) =>
  received.filter((r) => r.json.media_id === id || r.json.channel_id === id).map((r) => `${r.json.event}:${statuses.get(r) ?? '?'}`);

/** A receiver that fails the deliveries `failing` says to fail (500), and answers the others 200; it keeps each answer. */
async function failingReceiver(failing: (r: Received, seen: number) => boolean) {
  const statuses = new Map<Received, number>();
  const seen = new Map<string, number>();
  const rx = await receiver((r) => {
    const key = `${r.json.event}/${r.json.media_id ?? r.json.channel_id}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    const status = failing(r, n) ? 500 : 200;
    statuses.set(r, status);
    return status;
  });
  return { rx, statuses };
}

describe('ordering per_media', () => {
  it('holds back the later events of a media whose first one fails, lets other media flow meanwhile, and sends them in order after it', async () => {
    const { clock, skip } = offsetClock();
    const node = await start({ retrySchedule: [0, 60_000, 60_000, 60_000] }, { clock });
    // media_created of A fails twice, then succeeds.
    const { rx, statuses } = await failingReceiver((r, n) => r.json.media_id === 'mediaAAA' && r.json.event === 'media_created' && n <= 2);
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, MEDIA_EVENTS);
    expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { ordering: 'per_media' })).body.ordering).toBe('per_media');

    await report(node, 'media_created', { media_id: 'mediaAAA' });
    await rx.waitFor(1);
    for (const event of ['media_updated', 'media_available', 'conversions_complete']) await report(node, event, { media_id: 'mediaAAA' });
    for (const event of MEDIA_EVENTS) await report(node, event, { media_id: 'mediaBBB' });
    // B's four arrive while A's first waits for its retry; A's later ones, reported before B's, do not.
    await until(() => of(rx.received, statuses, 'mediaBBB').length === 4, 10_000, "media B's events");
    expect(of(rx.received, statuses, 'mediaBBB')).toEqual(MEDIA_EVENTS.map((e) => `${e}:200`));
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500']);

    skip(60_000);
    node.hookline.engine.wake();
    await until(() => of(rx.received, statuses, 'mediaAAA').length === 2, 10_000, 'the second attempt');
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500', 'media_created:500']);
    skip(60_000);
    node.hookline.engine.wake();
    await until(() => of(rx.received, statuses, 'mediaAAA').length === 6, 10_000, "media A's events");
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual([
      'media_created:500', 'media_created:500', 'media_created:200', 'media_updated:200', 'media_available:200', 'conversions_complete:200',
    ]);
  });

  it('lets the next event of a media go once the one before it has exhausted its retries', async () => {
    const { clock, skip } = offsetClock();
    const node = await start({ retrySchedule: [0, 60_000] }, { clock });
    const { rx, statuses } = await failingReceiver((r) => r.json.event === 'media_created');
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, MEDIA_EVENTS);
    await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { ordering: 'per_media' });
    await report(node, 'media_created', { media_id: 'mediaAAA' });
    await rx.waitFor(1);
    await report(node, 'media_updated', { media_id: 'mediaAAA' });
    await report(node, 'media_updated', { media_id: 'mediaBBB' });
    await until(() => of(rx.received, statuses, 'mediaBBB').length === 1, 10_000, "media B's event");
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500']);
    skip(60_000);
    node.hookline.engine.wake();
    await until(() => of(rx.received, statuses, 'mediaAAA').length === 3, 10_000, "media A's events");
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500', 'media_created:500', 'media_updated:200']);
    const failed = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`);
    expect(failed.body.deliveries.map((d: { event: string }) => d.event)).toEqual(['media_created']);
  });

  it('sends channel_idle after channel_active when channel_active needs a retry', async () => {
    const { clock, skip } = offsetClock();
    const node = await start({ retrySchedule: [0, 60_000] }, { clock });
    const { rx, statuses } = await failingReceiver((r, n) => r.json.event === 'channel_active' && n === 1);
    await orderedWebhook(node, rx.url, LIVE_EVENTS);
    await report(node, 'channel_active', { channel_id: 'liveChan' });
    await rx.waitFor(1);
    await report(node, 'channel_idle', { channel_id: 'liveChan' });
    await report(node, 'channel_active', { channel_id: 'otherChn' });
    await until(() => of(rx.received, statuses, 'otherChn').length === 1, 10_000, "the other channel's event");
    skip(60_000);
    node.hookline.engine.wake();
    await until(() => of(rx.received, statuses, 'liveChan').length === 3, 10_000, "the channel's events");
    expect(of(rx.received, statuses, 'liveChan')).toEqual(['channel_active:500', 'channel_active:200', 'channel_idle:200']);
  });

  it('with ordering none (the default), sends channel_idle while channel_active waits for its retry', async () => {
    const { clock, skip } = offsetClock();
    const node = await start({ retrySchedule: [0, 60_000] }, { clock });
    const { rx, statuses } = await failingReceiver((r, n) => r.json.event === 'channel_active' && n === 1);
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, LIVE_EVENTS);
    expect(hook.ordering).toBe('none');
    await report(node, 'channel_active', { channel_id: 'liveChan' });
    await rx.waitFor(1);
    await report(node, 'channel_idle', { channel_id: 'liveChan' });
    await rx.waitFor(2);
    skip(60_000);
    node.hookline.engine.wake();
    await rx.waitFor(3);
    expect(of(rx.received, statuses, 'liveChan')).toEqual(['channel_active:500', 'channel_idle:200', 'channel_active:200']);
  });

  it('sends a delivery retried by hand only once the delivery of its media in flight has ended', async () => {
    // The held attempt must not time out: the test answers it.
    const node = await start({ retrySchedule: [0], requestTimeoutMs: 60_000 });
    let answerHeld: ((status: number) => void) | undefined;
    const statuses = new Map<Received, number>();
    const rx = await receiver(async (r) => {
      // The first media_created fails for good (one attempt); media_updated is held until the test answers it.
      const status = r.json.event === 'media_updated'
        ? await new Promise<number>((resolve) => (answerHeld = resolve))
        : rx.received.filter((x) => x.json.event === 'media_created').length === 1 ? 500 : 200;
      statuses.set(r, status);
      return status;
    });
    const hook = await orderedWebhook(node, rx.url, MEDIA_EVENTS);
    await report(node, 'media_created', { media_id: 'mediaAAA' });
    await rx.waitFor(1);
    const [first] = (await until(async () => {
      const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`);
      return res.body.deliveries.length === 1 && res.body.deliveries;
    }, 10_000, 'the failed delivery'));
    await report(node, 'media_updated', { media_id: 'mediaAAA' });
    await until(() => answerHeld, 10_000, 'media_updated in flight');
    expect((await node.account.api.post(`/v2/deliveries/${first.id}/retry/`, {})).status).toBe(202);
    // Another media goes meanwhile; the retry of A's first waits for A's delivery in flight.
    await report(node, 'media_created', { media_id: 'mediaBBB' });
    await until(() => of(rx.received, statuses, 'mediaBBB').length === 1, 10_000, "media B's event");
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500', 'media_updated:?']);
    answerHeld!(200);
    await until(() => of(rx.received, statuses, 'mediaAAA').length === 3, 10_000, 'the retry');
    expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500', 'media_updated:200', 'media_created:200']);
  });

  it('lets a media move on after a delivery that was retried by hand while it waited behind another', async () => {
    const node = await start({ requestTimeoutMs: 60_000 });
    let answerHeld: ((status: number) => void) | undefined;
    const rx = await receiver((r) => (r.json.event === 'media_created' && !answerHeld
      ? new Promise<number>((resolve) => (answerHeld = resolve))
      : 200));
    const hook = await orderedWebhook(node, rx.url, MEDIA_EVENTS);
    await report(node, 'media_created', { media_id: 'mediaAAA' });
    await until(() => answerHeld, 10_000, 'media_created in flight');
    await report(node, 'media_updated', { media_id: 'mediaAAA' });
    const waiting = await until(async () => {
      const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?event=media_updated`);
      return res.body.deliveries[0];
    }, 10_000, 'the waiting delivery');
    expect((await node.account.api.post(`/v2/deliveries/${waiting.id}/retry/`, {})).status).toBe(202);
    answerHeld!(200);
    await report(node, 'media_available', { media_id: 'mediaAAA' });
    await until(() => rx.received.some((r) => r.json.event === 'media_available'), 10_000, 'media_available');
    const events = rx.received.map((r) => r.json.event);
    expect(events.slice(0, 2)).toEqual(['media_created', 'media_updated']);
    expect(events.indexOf('media_available')).toBeGreaterThan(1);
  });

  it(`keeps the order across a restart${TEST_STORE === 'postgres' ? ', and a handover from one PostgreSQL node to another' : ''}`, async () => {
    const { clock, skip } = offsetClock();
    const schema = TEST_STORE === 'postgres' ? await freshSchema() : undefined;
    const shared = { retrySchedule: [0, 60_000], shutdownGraceMs: 0, ...(schema ? { databaseUrl: schema.url, secretKey: TEST_SECRET_KEY } : {}) };
    const { rx, statuses } = await failingReceiver((r, n) => r.json.media_id === 'mediaAAA' && r.json.event === 'media_created' && n === 1);
    const nodes: TestNode[] = [];
    try {
      const first = await startTestNode(shared, { clock });
      nodes.push(first);
      await orderedWebhook(first, rx.url, MEDIA_EVENTS);
      await report(first, 'media_created', { media_id: 'mediaAAA' });
      await rx.waitFor(1);
      await report(first, 'media_updated', { media_id: 'mediaAAA' });
      await report(first, 'media_created', { media_id: 'mediaBBB' });
      await until(() => of(rx.received, statuses, 'mediaBBB').length === 1, 10_000, "media B's first event");

      // On PostgreSQL the second node is up before the first stops: it takes the webhook over.
      const again = { ...shared, ...(schema ? {} : { dataDir: first.dataDir }) };
      if (schema) nodes.push(await startTestNode(again, { clock }));
      await first.hookline.close();
      if (!schema) nodes.push(await startTestNode(again, { clock }));
      const second = nodes.at(-1)!;
      // Reported through the second node, to the property of the first (same database).
      await report(second, 'media_available', { media_id: 'mediaAAA' }, first.account.siteId);
      await report(second, 'media_updated', { media_id: 'mediaBBB' }, first.account.siteId);
      await until(() => of(rx.received, statuses, 'mediaBBB').length === 2, 20_000, "media B's second event");
      expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500']);

      skip(60_000);
      second.hookline.engine.wake();
      await until(() => of(rx.received, statuses, 'mediaAAA').length === 4, 20_000, "media A's events");
      expect(of(rx.received, statuses, 'mediaAAA')).toEqual(['media_created:500', 'media_created:200', 'media_updated:200', 'media_available:200']);
    } finally {
      for (const n of nodes.reverse()) await n.hookline.close().catch(() => {});
      await schema?.drop();
    }
  });
});

describe('the ordering field', () => {
  it('is none by default, set on create and update, and a bad value is a 400 naming the field that changes nothing', async () => {
    const node = await start();
    const api = node.account.api;
    const made = await createWebhook(api, [node.account.siteId], 'http://127.0.0.1:9/x', ['media_available']);
    expect(made.ordering).toBe('none');
    const ordered = await api.post('/v2/webhooks/', {
      metadata: { name: 'ordered', webhook_url: 'http://127.0.0.1:9/y', events: ['media_available'], site_ids: [node.account.siteId] },
      ordering: 'per_media',
    });
    expect(ordered.status).toBe(201);
    expect(ordered.body.ordering).toBe('per_media');
    expect((await api.get(`/v2/webhooks/${ordered.body.id}/`)).body.ordering).toBe('per_media');

    for (const ordering of ['per_channel', '', null, 1, true]) {
      const res = await api.patch(`/v2/webhooks/${made.id}/`, { ordering });
      expect(res.status, JSON.stringify(ordering)).toBe(400);
      expect(res.body.errors[0].code).toBe('invalid_body');
      expect(res.body.errors[0].description).toMatch(/^ordering /);
    }
    const refused = await api.post('/v2/webhooks/', {
      metadata: { name: 'bad', webhook_url: 'http://127.0.0.1:9/z', events: ['media_available'], site_ids: [node.account.siteId] },
      ordering: 'sorted',
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { description: string }) => e.description)).toEqual(['ordering must be one of: none, per_media']);
    expect((await api.get('/v2/webhooks/')).body.total).toBe(2);
    expect((await api.get(`/v2/webhooks/${made.id}/`)).body.ordering).toBe('none');

    const changed = await api.patch(`/v2/webhooks/${ordered.body.id}/`, { ordering: 'none' });
    expect(changed.status).toBe(200);
    expect(changed.body.ordering).toBe('none');
  });
});
