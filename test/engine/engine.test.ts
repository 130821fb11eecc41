// What the engine v2 adds, end to end on a real node with real receivers on loopback: live-channel
// events ahead of queued media events, concurrency that starts small and grows while the
// endpoint keeps up, a rate limit per webhook, a backlog paged through a small window of memory,
// and queues rebuilt from the store after a restart. Receivers hold requests until the test
// releases them, so the tests wait on events, never on durations.
import { describe, expect, it } from 'vitest';
import { createWebhook, nodePerTest, until } from '../helpers.js';

const perTest = nodePerTest();
const { start, receiver } = perTest;

/** A receiver that holds every request until `release` answers the ones held so far. */
async function holdingReceiver() {
  const held: (() => void)[] = [];
  let open = 0;
  let most = 0;
  const rx = await receiver(() => new Promise<number>((resolve) => {
    most = Math.max(most, ++open);
    held.push(() => {
      open--;
      resolve(200);
    });
  }));
  return {
    rx,
    held,
    get most() { return most; },
    release() { held.splice(0).forEach((answer) => answer()); },
  };
}

async function report(event: string, ids: Record<string, string>): Promise<void> {
  const res = await perTest.node!.operator.post(`/v2/sites/${perTest.node!.account.siteId}/events/`, { event, ...ids });
  expect(res.status).toBe(202);
}

/** `n` events reported 50 at a time, so that a backlog builds up faster than one endpoint drains it. */
async function burst(prefix: string, n: number): Promise<void> {
  for (let i = 0; i < n; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, j) => report('media_available', { media_id: `${prefix}${i + j}` })));
  }
}

describe('live first', () => {
  it('sends a channel event ahead of the media events queued before it', async () => {
    await start();
    const hold = await holdingReceiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], hold.rx.url, ['media_updated', 'channel_active']);
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 1 });
    await report('media_updated', { media_id: 'first' });
    await until(() => hold.held.length === 1, 10_000, 'the first attempt');
    for (let i = 0; i < 30; i++) await report('media_updated', { media_id: `m${i}` });
    await report('channel_active', { channel_id: 'live1' });
    // One at a time: each release lets the next one go.
    while (hold.rx.received.length < 32) {
      await until(() => hold.held.length > 0, 10_000, 'an attempt');
      hold.release();
    }
    const order = hold.rx.received.map((r) => r.json.event);
    expect(order[0]).toBe('media_updated');
    expect(order[1]).toBe('channel_active');
    expect(order.filter((e) => e === 'media_updated')).toHaveLength(31);
  });
});

describe('adaptive concurrency', () => {
  it('starts with a few attempts in flight and grows while the endpoint answers quickly, up to max_in_flight', async () => {
    // The first attempts stay held while 200 events are reported one by one: on a busy machine
    // that takes longer than the test nodes' 2 s request timeout, which would retry them.
    await start({ requestTimeoutMs: 60_000 });
    const hold = await holdingReceiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], hold.rx.url);
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 40 });
    for (let i = 0; i < 200; i++) await report('media_available', { media_id: `a${i}` });
    await until(() => hold.held.length === 4, 10_000, 'the first attempts');
    // Not 40 at once: the endpoint has not shown yet that it keeps up.
    await new Promise((r) => setTimeout(r, 100));
    expect(hold.held.length).toBe(4);
    let rounds = 0;
    while (hold.rx.received.length < 200) {
      await until(() => hold.held.length > 0, 10_000, 'an attempt');
      await new Promise((r) => setTimeout(r, 5));
      hold.release();
      rounds++;
    }
    // Grew well past the start, never past the webhook's own bound.
    expect(hold.most).toBeGreaterThan(8);
    expect(hold.most).toBeLessThanOrEqual(40);
    expect(rounds).toBeLessThan(200 / 4);
  });

  it('cuts back on 503s, and stays small while the endpoint is overloaded', async () => {
    // One attempt each and no breaker: only the concurrency limit holds the endpoint back.
    await start({ retrySchedule: [0], breakerThreshold: 1_000_000 });
    let open = 0;
    let most = 0;
    let overloaded = false;
    const concurrency: number[] = [];
    const rx = await receiver(async () => {
      most = Math.max(most, ++open);
      if (overloaded) concurrency.push(open);
      await new Promise((r) => setTimeout(r, 5));
      open--;
      return overloaded ? 503 : 200;
    });
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 40 });
    await burst('g', 300);
    await rx.waitFor(300);
    const grown = most;
    expect(grown).toBeGreaterThan(8);
    overloaded = true;
    await burst('o', 300);
    await rx.waitFor(600);
    // Halved once per round of failures: down to a few in flight within the first rounds.
    expect(Math.max(...concurrency.slice(-100))).toBeLessThanOrEqual(2);
  });
});

describe('rate limit', () => {
  it('sends no more than the webhook\'s rate_limit per second, a burst of one second\'s worth first', async () => {
    let now = Date.UTC(2026, 0, 1);
    const clock = { now: () => now };
    await start({}, { clock });
    const rx = await receiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    const patched = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { rate_limit: 2 });
    expect(patched.body.rate_limit).toBe(2);
    for (let i = 0; i < 7; i++) await report('media_available', { media_id: `q${i}` });
    await rx.waitFor(2);
    // Time stands still: the bucket stays empty, nothing more goes out.
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.received).toHaveLength(2);
    // 2 a second: one more every 500 ms.
    now += 500;
    perTest.node!.hookline.engine.wake();
    await rx.waitFor(3);
    now += 1_000;
    perTest.node!.hookline.engine.wake();
    await rx.waitFor(5);
    await new Promise((r) => setTimeout(r, 100));
    expect(rx.received).toHaveLength(5);
    // No limit any more: the rest goes at once.
    expect((await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { rate_limit: null })).body.rate_limit).toBeNull();
    await rx.waitFor(7);
  });

  it('refuses a rate_limit that is not a positive number, changing nothing', async () => {
    await start();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], 'http://127.0.0.1:9/x');
    for (const rate_limit of [0, -1, 'fast', 1e9]) {
      const res = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { rate_limit });
      expect(res.status, String(rate_limit)).toBe(400);
      expect(res.body.errors[0].description).toMatch(/rate_limit/);
    }
    expect((await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/`)).body.rate_limit).toBeNull();
  });
});

describe('a backlog larger than memory', () => {
  it('pages the deliveries in through a small window, and sends every one', async () => {
    await start({}, { engine: { window: 10, memoryBudget: 25 } });
    const rx = await receiver();
    const hooks = [];
    for (let i = 0; i < 3; i++) hooks.push(await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url));
    let mostQueued = 0;
    const sample = setInterval(() => (mostQueued = Math.max(mostQueued, perTest.node!.hookline.engine.stats().queued)), 1);
    try {
      for (let i = 0; i < 60; i++) await report('media_available', { media_id: `b${i}` });
      await rx.waitFor(180, 20_000);
    } finally {
      clearInterval(sample);
    }
    const perHook = new Map<string, Set<string>>();
    for (const r of rx.received) {
      const seen = perHook.get(r.json.webhook_id) ?? new Set();
      seen.add(r.json.media_id);
      perHook.set(r.json.webhook_id, seen);
    }
    for (const h of hooks) expect(perHook.get(h.id)?.size).toBe(60);
    expect(mostQueued).toBeLessThanOrEqual(25);
    expect(mostQueued).toBeGreaterThan(0);
  });
});

describe('after a restart', () => {
  it('rebuilds its queues from the pending deliveries in the store', async () => {
    const first = await start({ shutdownGraceMs: 0 });
    let up = false;
    const rx = await receiver(() => (up ? 200 : 'hang'));
    await createWebhook(first.account.api, [first.account.siteId], rx.url);
    for (let i = 0; i < 5; i++) await report('media_available', { media_id: `r${i}` });
    await rx.waitFor(5);
    // Stopped with every attempt in flight: none has an outcome, all stay pending in the store.
    const dataDir = first.dataDir;
    await first.hookline.close();
    up = true;
    await start({ dataDir });
    const again = await rx.waitFor(10);
    expect(new Set(again.slice(5).map((r) => r.json.media_id))).toEqual(new Set(['r0', 'r1', 'r2', 'r3', 'r4']));
  });
});
