// End to end over real HTTP: an event reported to the intake arrives at a receiver in JWP's
// exact shape, signed as JWP signs it and with Standard Webhooks headers, and failures retry.
import { jwtVerify } from 'jose';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/catalog/events.js';
import { createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let receivers: Receiver[] = [];

beforeEach(async () => {
  node = await startTestNode();
});
afterEach(async () => {
  await node.close();
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]) {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

/** The event fields of JWP's example, without webhook_id and site_id, which belong to the delivery. */
function exampleInput(example: Record<string, string>): Record<string, string> {
  const { webhook_id: _w, site_id: _s, ...rest } = example;
  return rest;
}

describe('delivery', () => {
  it('delivers all 13 events with the bodies of JWP examples, byte for byte, signed both ways', async () => {
    const rx = await receiver();
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, EVENT_TYPES.map((e) => e.name));
    for (const type of EVENT_TYPES) {
      const res = await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, exampleInput(type.example));
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      expect(res.body).toMatchObject({ event: type.name, site_id: node.account.siteId, deliveries: 1 });
    }
    await rx.waitFor(13);
    const verifier = new StandardWebhook(hook.secret);
    const jwtKey = new TextEncoder().encode(hook.secret);
    for (const type of EVENT_TYPES) {
      const got = rx.received.find((r) => r.json.event === type.name)!;
      // The example with this webhook and property: same keys, same order, same time format.
      const expected = JSON.stringify({ ...type.example, webhook_id: hook.id, site_id: node.account.siteId });
      expect(got.body).toBe(expected);
      expect(got.headers['content-type']).toBe('application/json');

      const token = String(got.headers.authorization).replace(/^Bearer /, '');
      const { payload, protectedHeader } = await jwtVerify(token, jwtKey, { algorithms: ['HS256'] });
      expect(protectedHeader.alg).toBe('HS256');
      expect(payload).toEqual(JSON.parse(got.body));

      expect(verifier.verify(got.body, got.headers as Record<string, string>)).toEqual(JSON.parse(got.body));
      expect(got.headers['webhook-id']).toMatch(/^msg_[0-9a-f]{24}$/);
    }
  });

  it('sends only to webhooks subscribed to that property and event', async () => {
    const rx = await receiver();
    await createWebhook(node.account.api, [node.account.siteId], rx.url + '?media', ['media_created']);
    await createWebhook(node.account.api, [node.account.siteId], rx.url + '?channel', ['channel_created']);
    const res = await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_created', media_id: 'abcdEFGH' });
    expect(res.body.deliveries).toBe(1);
    await rx.waitFor(1);
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.received).toHaveLength(1);
    expect(rx.received[0]!.json.media_id).toBe('abcdEFGH');
  });

  it('retries failures on the schedule until one succeeds, keeping the webhook-id', async () => {
    const rx = await receiver((_req, i) => (i < 2 ? { status: 503, body: 'busy' } : 200));
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    await rx.waitFor(3);
    expect(new Set(rx.received.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const list = await until(async () => {
      const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`);
      return res.body.deliveries[0]?.status === 'succeeded' && res.body;
    }, 5_000, 'delivery to succeed');
    const delivery = list.deliveries[0];
    expect(delivery).toMatchObject({ id: rx.received[0]!.headers['webhook-id'], event: 'media_available', webhook_id: hook.id, attempts: 3, last_status_code: 200, next_attempt_at: null });
    const detail = await node.account.api.get(`/v2/deliveries/${delivery.id}/`);
    expect(detail.body.attempts.map((a: any) => a.status_code)).toEqual([503, 503, 200]);
    expect(detail.body.attempts[0]).toMatchObject({ error: 'HTTP 503', response_body: 'busy' });
    expect(detail.body.attempts[0].duration_ms).toBeGreaterThanOrEqual(0);
    // Each retry waited its delay from the previous attempt (100 ms, then 200 ms).
    const gaps = rx.received.slice(1).map((r, i) => r.at - rx.received[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(90);
    expect(gaps[1]).toBeGreaterThanOrEqual(190);
  });

  it('fails a delivery after the last attempt, and a manual retry makes one more attempt with the same id', async () => {
    let healthy = false;
    const rx = await receiver(() => (healthy ? 204 : 500));
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const failed = await until(async () => {
      const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`);
      return res.body.deliveries[0];
    }, 5_000, 'delivery to fail');
    expect(failed).toMatchObject({ attempts: 3, last_status_code: 500, next_attempt_at: null });
    expect(rx.received).toHaveLength(3);

    // One more attempt, failing again: failed at once, not a new round of retries.
    let res = await node.account.api.post(`/v2/deliveries/${failed.id}/retry/`);
    expect(res.status).toBe(202);
    await rx.waitFor(4);
    await until(async () => (await node.account.api.get(`/v2/deliveries/${failed.id}/`)).body.attempts.length === 4, 5_000, '4th attempt');
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(4);
    expect((await node.account.api.get(`/v2/deliveries/${failed.id}/`)).body.status).toBe('failed');

    healthy = true;
    res = await node.account.api.post(`/v2/deliveries/${failed.id}/retry/`);
    await rx.waitFor(5);
    const detail = await until(async () => {
      const d = (await node.account.api.get(`/v2/deliveries/${failed.id}/`)).body;
      return d.status === 'succeeded' && d;
    }, 5_000, 'resend to succeed');
    expect(detail.attempts).toHaveLength(5);
    expect(rx.received[4]!.headers['webhook-id']).toBe(failed.id);
  });

  it('holds a manual retry of a delivery in flight until that attempt ends, then sends it once more', async () => {
    // The first request hangs until the test lets it go; every request counts how many are open.
    let open = 0;
    let most = 0;
    let answered = 0;
    const answeredBefore: number[] = [];
    let letGo!: () => void;
    const held = new Promise<void>((resolve) => (letGo = resolve));
    const rx = await receiver(async (_request, index) => {
      most = Math.max(most, ++open);
      answeredBefore.push(answered);
      if (index === 0) await held;
      open--;
      answered++;
      return 200;
    });
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 1 })).status).toBe(200);
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const [first] = await rx.waitFor(1);
    const id = first!.headers['webhook-id'] as string;

    for (let i = 0; i < 5; i++) {
      const res = await node.account.api.post(`/v2/deliveries/${id}/retry/`);
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({ id, status: 'pending' });
    }
    // Time for a dispatcher that took the retry at once to send it (it did, 5 times, before the fix).
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(1);
    letGo();

    // The five requests made during one attempt ask for one more attempt, after it ended.
    await rx.waitFor(2);
    const detail = await until(async () => {
      const d = (await node.account.api.get(`/v2/deliveries/${id}/`)).body;
      return d.status === 'succeeded' && d.attempts.length === 2 && d;
    }, 5_000, 'the retry recorded');
    expect(detail.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([200, 200]);
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.received).toHaveLength(2);
    expect(rx.received[1]!.headers['webhook-id']).toBe(id);
    expect(most).toBe(1);
    expect(answeredBefore).toEqual([0, 1]);
  });

  it('counts a redirect, a timeout and a refused connection as failed attempts', async () => {
    await node.close();
    node = await startTestNode({ retrySchedule: [0], requestTimeoutMs: 300 });
    const redirect = await receiver(() => ({ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }));
    const hang = await receiver(() => 'hang');
    const hooks = [
      await createWebhook(node.account.api, [node.account.siteId], redirect.url),
      await createWebhook(node.account.api, [node.account.siteId], hang.url),
      await createWebhook(node.account.api, [node.account.siteId], 'http://127.0.0.1:1/nothing-listens'),
    ];
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const errors = await Promise.all(hooks.map(async (hook) => {
      const d = await until(async () => (await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`)).body.deliveries[0], 5_000, 'failure');
      return (await node.account.api.get(`/v2/deliveries/${d.id}/`)).body.attempts[0];
    }));
    expect(errors[0]).toMatchObject({ status_code: 302, error: 'redirect to http://127.0.0.1:1/elsewhere not followed' });
    expect(errors[1]).toMatchObject({ status_code: null, error: 'timeout after 300 ms' });
    expect(errors[2].status_code).toBeNull();
    expect(errors[2].error).toMatch(/ECONNREFUSED/);
  });
});
