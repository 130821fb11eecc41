// POST /v2/webhooks/{id}/test/: one sample event to that webhook only, delivered and logged like
// any other.
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createAccount, createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let rx: Receiver;
beforeEach(async () => {
  node = await startTestNode();
  rx = await startReceiver();
});
afterEach(async () => {
  await node.close();
  await rx.close();
});

it('delivers one sample event to that webhook only, whatever it subscribes to, and logs it', async () => {
  const target = await createWebhook(node.account.api, [node.account.siteId], rx.url + '?target', ['media_available']);
  const bystander = await createWebhook(node.account.api, [node.account.siteId], rx.url + '?bystander', ['track_created']);
  const res = await node.account.api.post(`/v2/webhooks/${target.id}/test/`, { event: 'track_created' });
  expect(res.status).toBe(202);
  expect(res.body).toEqual({ id: expect.stringMatching(/^evt_/), event: 'track_created', site_id: node.account.siteId, webhook_id: target.id, deliveries: 1 });

  const [got] = await rx.waitFor(1);
  await new Promise((r) => setTimeout(r, 200));
  expect(rx.received).toHaveLength(1);
  expect(Object.keys(got!.json)).toEqual(['event', 'track_id', 'webhook_id', 'site_id', 'event_time', 'media_id']);
  expect(got!.json).toMatchObject({ event: 'track_created', webhook_id: target.id, site_id: node.account.siteId });
  expect(got!.json.track_id).toMatch(/^[A-Za-z0-9]{8}$/);
  expect(got!.json.media_id).toMatch(/^[A-Za-z0-9]{8}$/);
  expect(new StandardWebhook(target.secret).verify(got!.body, got!.headers as Record<string, string>)).toEqual(got!.json);

  const logged = await until(async () => {
    const list = await node.account.api.get(`/v2/webhooks/${target.id}/deliveries/`);
    return list.body.deliveries[0]?.status === 'succeeded' && list.body;
  }, 5_000, 'the test delivery to succeed');
  expect(logged.total).toBe(1);
  expect(logged.deliveries[0]).toMatchObject({ id: got!.headers['webhook-id'], event_id: res.body.id, event: 'track_created', attempts: 1 });
  expect((await node.account.api.get(`/v2/webhooks/${bystander.id}/deliveries/`)).body.total).toBe(0);
});

it('sends media_available to the first property by default, or to the property named', async () => {
  const other = await node.operator.post('/v2/sites/', { name: 'Second', account_id: node.account.id });
  const hook = await createWebhook(node.account.api, [node.account.siteId, other.body.id], rx.url);
  expect((await node.account.api.request('POST', `/v2/webhooks/${hook.id}/test/`)).body).toMatchObject({ event: 'media_available', site_id: node.account.siteId });
  expect((await node.account.api.post(`/v2/webhooks/${hook.id}/test/`, { site_id: other.body.id })).body.site_id).toBe(other.body.id);
  await rx.waitFor(2);
  expect(rx.received.map((r) => r.json.site_id).sort()).toEqual([node.account.siteId, other.body.id].sort());
});

it('refuses bad input naming the field and sends nothing; only the owner may test', async () => {
  const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
  const stranger = await createAccount(node.operator);
  const cases: [unknown, number, RegExp][] = [
    [{ event: 'media_exploded' }, 400, /^event must be one of: /],
    [{ site_id: 'AAAAAAAA' }, 400, /site_id: property AAAAAAAA is not one of this webhook's site_ids/],
    [{ site_id: 'short' }, 400, /site_id must match pattern/],
    [{ media_id: 'x' }, 400, /media_id is not a known field/],
  ];
  for (const [body, status, message] of cases) {
    const res = await node.account.api.post(`/v2/webhooks/${hook.id}/test/`, body);
    expect(res.status, JSON.stringify(body)).toBe(status);
    expect(res.body.errors[0].description).toMatch(message);
  }
  expect((await stranger.api.post(`/v2/webhooks/${hook.id}/test/`)).status).toBe(404);
  expect((await node.operator.post(`/v2/webhooks/${hook.id}/test/`)).status).toBe(403);
  await new Promise((r) => setTimeout(r, 200));
  expect(rx.received).toHaveLength(0);
  expect((await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.total).toBe(0);
});
