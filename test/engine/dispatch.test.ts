// The delivery engine end to end, on a real node with real receivers on loopback: per-endpoint
// caps and isolation, the breaker's probe, receiver signals (Retry-After, 410), auto-disable with
// its operator notice, pause and resume, recovery, retention and /metrics. Time that matters
// comes from an injected clock; the tests wait on events, never on durations.
import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.js';
import { verify } from '../../src/signing/verify.js';
import { generateSecret } from '../../src/signing/standard.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { createAccount, createWebhook, nodePerTest, until, type TestNode } from '../helpers.js';

const START = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const perTest = nodePerTest();
const { receiver } = perTest;

/** A clock the test moves; the dispatcher is woken after each move. */
function manualClock() {
  let now = START;
  return {
    clock: { now: () => now },
    advance(ms: number) {
      now += ms;
      perTest.node?.hookline.engine.wake();
    },
    get now() {
      return now;
    },
  };
}

function start(overrides: Partial<Config> = {}, clock?: { now(): number }): Promise<TestNode> {
  return perTest.start(overrides, clock ? { clock } : {});
}

const db = () => (perTest.node!.hookline.store as SqliteStore).db;
const webhookRow = (id: string) => db().prepare('SELECT * FROM webhooks WHERE id = ?').get(id) as Record<string, any>;

async function report(n: number, event = 'media_available', prefix = 'm'): Promise<void> {
  for (let i = 0; i < n; i++) {
    const res = await perTest.node!.operator.post(`/v2/sites/${perTest.node!.account.siteId}/events/`, { event, media_id: `${prefix}${i}` });
    expect(res.status).toBe(202);
  }
}

describe('isolation', () => {
  it('holds each webhook to its max_in_flight', async () => {
    await start();
    let open = 0;
    let most = 0;
    const rx = await receiver(async () => {
      most = Math.max(most, ++open);
      await new Promise((r) => setTimeout(r, 30));
      open--;
      return 200;
    });
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    const patched = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 3 });
    expect(patched.body.max_in_flight).toBe(3);
    await report(20);
    await rx.waitFor(20);
    expect(most).toBeLessThanOrEqual(3);
    expect(most).toBeGreaterThan(1);
  });

  it('keeps delivering to healthy endpoints while a black hole holds its few places', async () => {
    // Without the per-endpoint cap, the black hole's 20 requests would fill the dispatcher's 4
    // places for the whole 60 s timeout. One account here: its share is all 4 places.
    await start({ maxInFlight: 4, accountMaxInFlight: 4, endpointMaxInFlight: 2, requestTimeoutMs: 60_000, shutdownGraceMs: 0 });
    const hole = await receiver(() => 'hang');
    const healthy = await receiver();
    await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], hole.url, ['media_created']);
    await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], healthy.url, ['media_available']);
    await report(20, 'media_created');
    await hole.waitFor(2);
    await report(10, 'media_available');
    await healthy.waitFor(10);
    expect(hole.received.length).toBe(2);
  });

  it('keeps another account\'s deliveries going out while one account\'s slow webhooks could fill every place', async () => {
    // 8 places on this node; acct A asks for all of them and more, at receivers that hold every
    // request until the test releases them. Without a share per account A held all 8 and B waited.
    await start({ maxInFlight: 8, requestTimeoutMs: 60_000 });
    const held: (() => void)[] = [];
    const hold = () => new Promise<number>((resolve) => held.push(() => resolve(200)));
    const slow = [await receiver(hold), await receiver(hold)];
    const a = perTest.node!.account;
    for (const rx of slow) {
      const hook = await createWebhook(a.api, [a.siteId], rx.url);
      await a.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 8 });
    }
    await report(10);
    await until(() => held.length >= 4, 10_000, 'account A\'s first attempts');

    const b = await createAccount(perTest.node!.operator);
    const quick = await receiver();
    await createWebhook(b.api, [b.siteId], quick.url);
    expect((await perTest.node!.operator.post(`/v2/sites/${b.siteId}/events/`, { event: 'media_available', media_id: 'b1' })).status).toBe(202);
    const [got] = await quick.waitFor(1);
    expect(got!.json.media_id).toBe('b1');
    // A holds its share, half the places, and nothing of A's is lost: released, all 20 go out.
    expect(held).toHaveLength(4);
    while (slow[0]!.received.length + slow[1]!.received.length < 20) {
      held.splice(0).forEach((release) => release());
      await new Promise((r) => setTimeout(r, 10));
    }
    held.splice(0).forEach((release) => release());
    expect(new Set([...slow[0]!.received, ...slow[1]!.received].map((r) => r.json.media_id)).size).toBe(10);
  });
});

describe('waking', () => {
  it('sends another webhook\'s retry when it falls due while one webhook sits at its cap with due deliveries', async () => {
    // No poll: only the retry's own timer can bring it.
    const node = await start({ requestTimeoutMs: 30_000, shutdownGraceMs: 0, retrySchedule: [0, 1_000] });
    const capped = await receiver(() => 'hang');
    const flaky = await receiver((_req, i) => (i === 0 ? 500 : 200));
    const hookA = await createWebhook(node.account.api, [node.account.siteId], capped.url, ['media_created']);
    await node.account.api.patch(`/v2/webhooks/${hookA.id}/`, { max_in_flight: 1 });
    const hookB = await createWebhook(node.account.api, [node.account.siteId], flaky.url, ['media_available']);
    await report(3, 'media_created');
    await capped.waitFor(1);
    await report(1, 'media_available');
    await flaky.waitFor(1);
    const [failed] = (await until(async () => {
      const list = (await perTest.node!.account.api.get(`/v2/webhooks/${hookB.id}/deliveries/`)).body.deliveries;
      return list[0]?.attempts === 1 && list;
    }, 5_000, 'the failed attempt recorded')) as { next_attempt_at: string }[];

    const [, retry] = await flaky.waitFor(2, 10_000);
    expect(Number(retry!.headers['webhook-timestamp'])).toBeGreaterThanOrEqual(Math.floor(Date.parse(failed!.next_attempt_at) / 1000));
    expect(capped.received).toHaveLength(1);
  });
});

describe('endpoint health', () => {
  it('opens the breaker after consecutive failures: one probe per interval, and a success resumes all', async () => {
    const time = manualClock();
    await start({ breakerThreshold: 2, probeIntervalMs: 30_000, retrySchedule: [0, 1_000, 1_000, 1_000] }, time.clock);
    let healthy = false;
    const rx = await receiver(() => (healthy ? 200 : 503));
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 1 });
    await report(4);
    await rx.waitFor(2);
    await until(() => webhookRow(hook.id).paused_until === time.now + 30_000, 5_000, 'the breaker to open');
    expect(webhookRow(hook.id).consecutive_failures).toBe(2);

    // The retries fall due, but nothing goes until the probe.
    time.advance(29_999);
    await report(1, 'media_available', 'late');
    const probeTime = time.now + 1;
    expect(rx.received.length).toBe(2);
    healthy = true;
    time.advance(1);
    await rx.waitFor(3);
    await until(() => webhookRow(hook.id).consecutive_failures === 0, 5_000, 'the probe to close the breaker');
    expect(Number(rx.received[2]!.headers['webhook-timestamp'])).toBe(Math.floor(probeTime / 1000));
    await rx.waitFor(2 + 5);
  });

  it('honours Retry-After on 429 and 503, capped at the schedule\'s longest delay', async () => {
    const time = manualClock();
    await start({ retrySchedule: [0, 1_000, 60_000] }, time.clock);
    const answers = [
      { status: 429, headers: { 'retry-after': '20' } },
      { status: 503, headers: { 'retry-after': '86400' } },
      200,
    ];
    const rx = await receiver((_req, i) => answers[i] ?? 200);
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await report(1);
    await rx.waitFor(1);
    await until(() => webhookRow(hook.id).paused_until === START + 20_000, 5_000, 'the pause');
    const delivery = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.deliveries[0];
    expect(Date.parse(delivery.next_attempt_at)).toBe(START + 20_000);

    time.advance(19_999);
    expect(rx.received.length).toBe(1);
    time.advance(1);
    await rx.waitFor(2);
    // A day asked for, the schedule's 60 s granted.
    await until(() => webhookRow(hook.id).paused_until === START + 20_000 + 60_000, 5_000, 'the capped pause');
    time.advance(60_000);
    await rx.waitFor(3);
  });

  it('disables a webhook at once when its endpoint answers 410 Gone, and attempts nothing more', async () => {
    await start();
    const gone = await receiver(() => 410);
    const other = await receiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], gone.url);
    await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], other.url);
    await report(1);
    await gone.waitFor(1);
    const disabled = await until(async () => {
      const w = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/`)).body;
      return w.status === 'disabled' && w;
    }, 5_000, 'the webhook to be disabled');
    expect(disabled.disabled_reason).toBe('the endpoint answered 410 Gone');
    expect(disabled.disabled_at).toMatch(/\+00:00$/);
    await report(1, 'media_available', 'after');
    await other.waitFor(2);
    const pending = await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=pending`);
    expect(pending.body.total).toBe(2);
    expect(gone.received.length).toBe(1);
  });

  it('disables a webhook whose attempts all failed for too long, and sends the operator a signed notice', async () => {
    const time = manualClock();
    const operatorRx = await receiver();
    const secret = generateSecret();
    await start({
      autoDisableAfterMs: DAY, retrySchedule: [0, 3_600_000, 3_600_000], operatorWebhookSecret: secret, operatorWebhookUrl: operatorRx.url,
    }, time.clock);
    const failing = await receiver(() => 500);
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], failing.url);
    await report(1);
    await until(() => webhookRow(hook.id).failing_since === START, 5_000, 'the first failure');
    time.advance(DAY - 1);
    await report(1, 'media_available', 'second');
    await failing.waitFor(2);
    expect(operatorRx.received.length).toBe(0);
    expect((await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/`)).body.status).toBe('active');

    time.advance(1);
    await report(1, 'media_available', 'third');
    const [notice] = await operatorRx.waitFor(1);
    const body = verify<Record<string, unknown>>(notice!.body, notice!.headers, secret, { scheme: 'both', now: time.now });
    expect(body).toMatchObject({
      event: 'webhook.disabled', webhook_id: hook.id, account_id: perTest.node!.account.id, disabled_reason: 'every attempt failed for 1 d',
    });
    const w = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/`)).body;
    expect(w).toMatchObject({ status: 'disabled', disabled_reason: 'every attempt failed for 1 d', disabled_at: body.disabled_at });
  });
});

describe('status, recovery and retention', () => {
  it('keeps a disabled webhook\'s deliveries, old and new, and resumes them when enabled', async () => {
    await start();
    const rx = await receiver();
    const witness = await receiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], witness.url);
    const off = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { status: 'disabled' });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ status: 'disabled', disabled_reason: 'disabled through the API' });
    await report(3);
    await witness.waitFor(3);
    expect(rx.received.length).toBe(0);
    const on = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { status: 'active' });
    expect(on.body).toMatchObject({ status: 'active', disabled_reason: null, disabled_at: null });
    await rx.waitFor(3);
    expect(new Set(rx.received.map((r) => r.json.media_id))).toEqual(new Set(['m0', 'm1', 'm2']));
  });

  it('refuses bad status and max_in_flight values in JWP\'s error format, changing nothing', async () => {
    await start();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], 'http://127.0.0.1:1/x');
    for (const body of [{ status: 'paused' }, { max_in_flight: 0 }, { max_in_flight: 'ten' }, {}, { status: 'active', colour: 'red' }]) {
      const res = await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0]).toEqual({ code: expect.any(String), description: expect.any(String) });
    }
    const w = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/`)).body;
    expect(w).toMatchObject({ status: 'active', max_in_flight: null, last_modified: hook.last_modified });
  });

  it('refuses a max_in_flight above the operator\'s limit on create and update, naming the limit, changing nothing', async () => {
    await start({ webhookMaxInFlightLimit: 20 });
    const api = perTest.node!.account.api;
    const site = [perTest.node!.account.siteId];
    const tooMany = await api.post('/v2/webhooks/', {
      metadata: { name: 'n', webhook_url: 'http://127.0.0.1:1/x', events: ['media_available'], site_ids: site }, max_in_flight: 21,
    });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toEqual([{ code: 'invalid_body', description: expect.stringMatching(/max_in_flight.*20.*HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT/) }]);
    expect((await api.get('/v2/webhooks/')).body.total).toBe(0);

    const hook = await createWebhook(api, site, 'http://127.0.0.1:1/x');
    const patched = await api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 21, metadata: { name: 'renamed' } });
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].description).toMatch(/max_in_flight.*20/);
    expect((await api.get(`/v2/webhooks/${hook.id}/`)).body).toMatchObject({ max_in_flight: null, metadata: { name: 'Test hook' }, last_modified: hook.last_modified });
    expect((await api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 20 })).body.max_in_flight).toBe(20);
  });

  it('recovers the failed deliveries since a time, oldest first, with an audit entry', async () => {
    const time = manualClock();
    await start({ retrySchedule: [0] }, time.clock);
    let up = false;
    const rx = await receiver(() => (up ? 200 : 500));
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { max_in_flight: 1 });
    for (let i = 0; i < 4; i++) {
      await perTest.node!.operator.post(`/v2/sites/${perTest.node!.account.siteId}/events/`, { event: 'media_available', media_id: `m${i}` });
      time.advance(1);
    }
    await until(async () => (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`)).body.total === 4, 5_000, 'all to fail');
    const list = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?page_length=4`)).body.deliveries;
    const since = list[2].created; // the second oldest (the list is newest first)

    expect((await perTest.node!.account.api.post(`/v2/webhooks/${hook.id}/recover/`, { since: 'yesterday' })).body.errors[0].code).toBe('invalid_body');
    expect((await perTest.node!.account.api.post(`/v2/webhooks/${hook.id}/recover/`, {})).status).toBe(400);
    up = true;
    const res = await perTest.node!.account.api.post(`/v2/webhooks/${hook.id}/recover/`, { since });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ webhook_id: hook.id, since, recovered: 3 });
    const got = await rx.waitFor(4 + 3);
    expect(got.slice(4).map((r) => r.json.media_id)).toEqual(['m1', 'm2', 'm3']);
    const audit = (await perTest.node!.account.api.get('/v2/audit_log/')).body.audit_log;
    expect(audit[0]).toMatchObject({ action: 'webhook.recovered', target_type: 'webhook', target_id: hook.id });
  });

  it('purges what is past retention in batches, keeping what is pending', async () => {
    const time = manualClock();
    await start({ retentionMs: 30 * DAY }, time.clock);
    const rx = await receiver();
    const hook = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], rx.url);
    await report(3);
    await rx.waitFor(3);
    await until(async () => (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=succeeded`)).body.total === 3, 5_000, 'the outcomes');
    await perTest.node!.account.api.patch(`/v2/webhooks/${hook.id}/`, { status: 'disabled' });
    await report(1, 'media_available', 'kept');
    time.advance(30 * DAY + 1);
    await perTest.node!.hookline.retention.runOnce();
    const left = (await perTest.node!.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body;
    expect(left.total).toBe(1);
    expect(left.deliveries[0].status).toBe('pending');
    expect((db().prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n).toBe(1);
  });
});

describe('GET /metrics', () => {
  it('shows the operator deliveries by outcome, latency, the backlog, disabled webhooks and the most failing', async () => {
    await start({ retrySchedule: [0, 3_600_000] });
    const ok = await receiver();
    const bad = await receiver(() => 500);
    await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], ok.url);
    const failing = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], bad.url);
    const off = await createWebhook(perTest.node!.account.api, [perTest.node!.account.siteId], 'http://127.0.0.1:1/off', ['media_created']);
    await perTest.node!.account.api.patch(`/v2/webhooks/${off.id}/`, { status: 'disabled' });
    await report(2);
    await ok.waitFor(2);
    await bad.waitFor(2);
    await until(() => webhookRow(failing.id).consecutive_failures === 2, 5_000, 'the failures');

    expect((await fetch(`${perTest.node!.url}/metrics`)).status).toBe(401);
    const forbidden = await perTest.node!.account.api.get('/metrics');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.errors[0].code).toBe('forbidden');
    const res = await perTest.node!.operator.get<string>('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = res.body;
    expect(text).toContain('hookline_delivery_attempts_total{outcome="succeeded"} 2');
    expect(text).toContain('hookline_delivery_attempts_total{outcome="retrying"} 2');
    expect(text).toContain('hookline_delivery_attempts_total{outcome="failed"} 0');
    expect(text).toContain('hookline_attempt_duration_seconds_count 4');
    expect(text).toContain('hookline_deliveries_pending 2');
    expect(text).toMatch(/hookline_oldest_pending_age_seconds \d/);
    expect(text).toContain('hookline_webhooks_disabled 1');
    expect(text).toContain(`hookline_webhook_consecutive_failures{webhook_id="${failing.id}"} 2`);
  });
});
