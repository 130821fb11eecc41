// What the dashboard reads beyond JWP's API: the event catalogue, a webhook's 24-hour health,
// and the body a delivery sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/catalog/events.js';
import { EVENT_RULES } from '../../src/platform/rules.js';
import { createAccount, createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let ok: Receiver;
let broken: Receiver;
let clockMs = Date.parse('2026-03-02T08:00:00Z');
const clock = { now: () => clockMs };

beforeAll(async () => {
  node = await startTestNode({ retrySchedule: [0] }, { clock });
  ok = await startReceiver(() => ({ status: 200, body: '{"received":true}' }));
  broken = await startReceiver(() => ({ status: 500, body: 'down for maintenance' }));
});
afterAll(async () => {
  await node.close();
  await ok.close();
  await broken.close();
});

const report = (mediaId: string) =>
  node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: mediaId });

describe('GET /v2/event_types/', () => {
  it("serves JWP's 13 events with their examples in key order, then Hookline's operational events as a group of their own", async () => {
    const res = await node.account.api.get('/v2/event_types/');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(16);
    expect(res.body.event_types.map((t: any) => t.name)).toEqual([...EVENT_TYPES.map((t) => t.name), 'webhook_failing', 'webhook_disabled', 'webhook_recovered']);
    const operational = res.body.event_types.slice(13);
    for (const t of operational) expect(t).toMatchObject({ group: 'operational', id_fields: [] });
    expect(res.body.event_types.slice(0, 13).every((t: any) => t.group !== 'operational')).toBe(true);
    expect(Object.keys(operational[1].example)).toEqual(['event', 'webhook_id', 'subject_webhook_id', 'subject_webhook_url', 'reason', 'failures', 'event_time']);
    const thumbnail = res.body.event_types.find((t: any) => t.name === 'thumbnail_created');
    expect(thumbnail).toMatchObject({ title: 'Thumbnail Created', group: 'media', id_fields: ['thumbnail_id', 'media_id'] });
    expect(Object.keys(thumbnail.example)).toEqual(['event', 'thumbnail_id', 'webhook_id', 'site_id', 'event_time', 'media_id']);
    expect(thumbnail.rule).toBe(EVENT_RULES.thumbnail_created);
    for (const t of res.body.event_types) expect(t.rule, t.name).toMatch(/^Sent /);
    expect((await node.operator.get('/v2/event_types/')).status).toBe(200);
    expect((await node.account.api.as('').get('/v2/event_types/')).status).toBe(401);
  });
});

describe('GET /v2/webhooks/{id}/stats/', () => {
  it('counts the last 24 hours by status, rates the finished ones, and shows the newest attempted delivery', async () => {
    const good = await createWebhook(node.account.api, [node.account.siteId], ok.url);
    const bad = await createWebhook(node.account.api, [node.account.siteId], broken.url);
    const fresh = await node.account.api.get(`/v2/webhooks/${good.id}/stats/`);
    expect(fresh.body).toMatchObject({ deliveries: { pending: 0, succeeded: 0, failed: 0 }, success_rate: null, last_delivery: null });

    await report('media001');
    await report('media002');
    await ok.waitFor(2);
    await broken.waitFor(2);
    const goodStats = await until(async () => {
      const s = (await node.account.api.get(`/v2/webhooks/${good.id}/stats/`)).body;
      return s.deliveries.succeeded === 2 && s;
    }, 10_000, 'two successes');
    expect(goodStats).toMatchObject({
      webhook_id: good.id,
      since: '2026-03-01T08:00:00.000000+00:00',
      deliveries: { pending: 0, succeeded: 2, failed: 0 },
      success_rate: 1,
      last_delivery: { webhook_id: good.id, status: 'succeeded', last_status_code: 200, attempts: 1 },
    });
    const badStats = await until(async () => {
      const s = (await node.account.api.get(`/v2/webhooks/${bad.id}/stats/`)).body;
      return s.deliveries.failed === 2 && s;
    }, 10_000, 'two failures');
    expect(badStats).toMatchObject({ success_rate: 0, last_delivery: { status: 'failed', last_status_code: 500 } });

    // A day later the window is empty, and the last delivery is still the last one.
    clockMs += 24 * 3_600_000 + 1;
    const later = (await node.account.api.get(`/v2/webhooks/${good.id}/stats/`)).body;
    expect(later).toMatchObject({ deliveries: { pending: 0, succeeded: 0, failed: 0 }, success_rate: null });
    expect(later.last_delivery.id).toBe(goodStats.last_delivery.id);
  });

  it('gives each webhook of a page its health with the list (include=health), as the stats route does', async () => {
    await report('media003');
    // Once every delivery has finished, so that nothing changes between the list and each stats call.
    const list = await until(async () => {
      const l = (await node.account.api.get('/v2/webhooks/?include=health&page_length=100')).body;
      return l.webhooks.every((w: any) => w.health.deliveries.pending === 0) && l;
    }, 10_000, 'the deliveries to finish');
    expect(list.webhooks.length).toBeGreaterThan(1);
    for (const w of list.webhooks) {
      const { webhook_id, ...stats } = (await node.account.api.get(`/v2/webhooks/${w.id}/stats/`)).body;
      expect(webhook_id).toBe(w.id);
      expect(w.health).toEqual(stats);
    }
    expect(list.webhooks.filter((w: any) => w.health.last_delivery !== null).length).toBeGreaterThan(1);
    expect((await node.account.api.get('/v2/webhooks/')).body.webhooks[0]).not.toHaveProperty('health');
    expect((await node.account.api.get('/v2/webhooks/?include=secret')).status).toBe(400);
  });

  it("answers 404 for another account's webhook", async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], ok.url);
    const other = await createAccount(node.operator, 'Stranger');
    const res = await other.api.get(`/v2/webhooks/${hook.id}/stats/`);
    expect(res.status).toBe(404);
    expect(res.body.errors[0].code).toBe('not_found');
  });
});

describe('GET /v2/deliveries/{id}/', () => {
  it('shows the exact body the receiver got', async () => {
    const receiver = await startReceiver();
    try {
      const hook = await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['thumbnail_created']);
      await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'thumbnail_created', thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl' });
      const [got] = await receiver.waitFor(1);
      const list = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`);
      const detail = await until(async () => {
        const d = (await node.account.api.get(`/v2/deliveries/${list.body.deliveries[0].id}/`)).body;
        return d.attempts.length === 1 && d;
      }, 10_000, 'the attempt to be logged');
      expect(detail.request_body).toBe(got!.body);
      expect(detail.id).toBe(got!.headers['webhook-id']);
    } finally {
      await receiver.close();
    }
  });
});
