// hookline/client against a real server on loopback: the calls a webhook's owner and the
// platform make, typed from the OpenAPI document (the type-level half is client.test-d.ts).
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { SUBSCRIBABLE_EVENT_NAMES } from '../../src/catalog/operational.js';
import { createClient, type HooklineClient } from '../../src/client/index.js';
import { verify } from '../../src/signing/verify.js';
import { OPERATOR_KEY, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let rx: Receiver;
let account: HooklineClient;
let operator: HooklineClient;
beforeEach(async () => {
  node = await startTestNode();
  rx = await startReceiver();
  account = createClient({ baseUrl: node.url, apiKey: node.account.api.key! });
  operator = createClient({ baseUrl: node.url, apiKey: OPERATOR_KEY });
});
afterEach(async () => {
  await node.close();
  await rx.close();
});

it('creates, lists, rotates and tests a webhook, reports an event, and reads the deliveries and events', async () => {
  const site = node.account.siteId;
  const created = await account.POST('/v2/webhooks/', {
    body: { metadata: { name: 'Client hook', webhook_url: rx.url, events: ['media_available'], site_ids: [site] }, rate_limit: 50 },
  });
  expect(created.response.status).toBe(201);
  const hook = created.data!;
  expect(hook).toMatchObject({ type: 'webhook', status: 'active', rate_limit: 50, metadata: { name: 'Client hook', events: ['media_available'], site_ids: [site] } });
  expect(hook.secret).toMatch(/^whsec_/);
  const webhook_id = hook.id;

  const list = await account.GET('/v2/webhooks/', { params: { query: { page_length: 5 } } });
  expect(list.data).toMatchObject({ page: 1, page_length: 5, total: 1 });
  expect(list.data!.webhooks.map((w) => w.id)).toEqual([webhook_id]);
  expect(list.data!.webhooks[0]).not.toHaveProperty('secret');

  const rotated = await account.POST('/v2/webhooks/{webhook_id}/rotate_secret/', { params: { path: { webhook_id } }, body: { grace_period_seconds: 0 } });
  expect(rotated.response.status).toBe(200);
  const secret = rotated.data!.secret!;
  expect(secret).toMatch(/^whsec_/);
  expect(secret).not.toBe(hook.secret);

  const tested = await account.POST('/v2/webhooks/{webhook_id}/test/', { params: { path: { webhook_id } }, body: { event: 'media_available' } });
  expect(tested.response.status).toBe(202);
  expect(tested.data).toMatchObject({ event: 'media_available', site_id: site, webhook_id, deliveries: 1 });

  const reported = await operator.POST('/v2/sites/{site_id}/events/', {
    params: { path: { site_id: site } },
    body: { event: 'media_available', media_id: 'Client01' },
  });
  expect(reported.response.status).toBe(202);
  expect(reported.data).toMatchObject({ event: 'media_available', site_id: site, deliveries: 1 });

  // Both arrive, signed with the rotated secret (the old one stopped at once: grace 0).
  const received = await rx.waitFor(2);
  for (const r of received) expect(verify(r.body, r.headers, [secret]).webhook_id).toBe(webhook_id);
  expect(() => verify(received[0]!.body, received[0]!.headers, [hook.secret!])).toThrow();

  const deliveries = await until(async () => {
    const { data } = await account.GET('/v2/webhooks/{webhook_id}/deliveries/', { params: { path: { webhook_id }, query: { status: 'succeeded' } } });
    return data!.total === 2 && data!.deliveries;
  }, 10_000, 'both deliveries to succeed');
  expect(deliveries.map((d) => d.event_id).sort()).toEqual([tested.data!.id, reported.data!.id].sort());

  const reportedDelivery = deliveries.find((d) => d.event_id === reported.data!.id)!;
  const detail = await account.GET('/v2/deliveries/{delivery_id}/', { params: { path: { delivery_id: reportedDelivery.id } } });
  expect(detail.data).toMatchObject({ id: reportedDelivery.id, status: 'succeeded', webhook_id });
  expect(detail.data!.attempts).toEqual([expect.objectContaining({ status_code: 200, error: null })]);
  expect(JSON.parse(detail.data!.request_body!)).toMatchObject({ event: 'media_available', media_id: 'Client01', webhook_id, site_id: site });

  const stats = await account.GET('/v2/webhooks/{webhook_id}/stats/', { params: { path: { webhook_id } } });
  expect(stats.data).toMatchObject({ webhook_id, deliveries: { pending: 0, succeeded: 2, failed: 0 }, success_rate: 1 });

  const events = await account.GET('/v2/event_types/');
  // JWP's 13, then Hookline's operational events.
  expect(events.data!.event_types.map((t) => t.name)).toEqual([...SUBSCRIBABLE_EVENT_NAMES]);
  expect(events.data!.total).toBe(SUBSCRIBABLE_EVENT_NAMES.length);
  expect(events.data!.event_types.find((t) => t.name === 'media_available')).toMatchObject({ group: 'media', id_fields: ['media_id'] });

  const removed = await account.DELETE('/v2/webhooks/{webhook_id}/', { params: { path: { webhook_id } } });
  expect(removed.response.status).toBe(204);
});

it('answers a refusal as JWP\'s error envelope, in `error`', async () => {
  const missing = await account.GET('/v2/webhooks/{webhook_id}/', { params: { path: { webhook_id: 'Missing1' } } });
  expect(missing.response.status).toBe(404);
  expect(missing.data).toBeUndefined();
  expect(missing.error!.errors[0]).toEqual({ code: 'not_found', description: 'webhook Missing1 not found' });

  const forbidden = await account.POST('/v2/sites/{site_id}/events/', { params: { path: { site_id: node.account.siteId } }, body: { event: 'media_available' } });
  expect(forbidden.response.status).toBe(403);
  expect(forbidden.error!.errors[0]!.code).toBe('forbidden');

  const anonymous = createClient({ baseUrl: node.url, apiKey: 'not-a-key' });
  const refused = await anonymous.GET('/v2/webhooks/');
  expect(refused.response.status).toBe(401);
  expect(refused.error!.errors[0]!.code).toBe('unauthorized');
});

it('is made from the document the server serves, which names a shape for every answer', async () => {
  const served = await (await fetch(`${node.url}/openapi.json`)).json();
  // The build wrote dist/openapi.json without a server on a port, and generated the client from it.
  expect(JSON.parse(readFileSync(new URL('../../dist/openapi.json', import.meta.url), 'utf8'))).toEqual(served);
  const unnamed: string[] = [];
  for (const [path, operations] of Object.entries(served.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }> }>>)) {
    for (const [method, { responses }] of Object.entries(operations)) {
      const success = Object.entries(responses).filter(([status]) => status.startsWith('2'));
      const described = success.length > 0 && success.every(([status, r]) => status === '204' ? !r.content : Object.values(r.content ?? {}).every((c) => c.schema));
      if (!described || !responses['4XX']) unnamed.push(`${method.toUpperCase()} ${path}`);
    }
  }
  expect(unnamed).toEqual([]);
  expect(Object.keys(served.components.schemas)).toEqual(expect.arrayContaining(['Webhook', 'WebhookList', 'Delivery', 'DeliveryList', 'DeliveryDetail', 'Error']));
});
