// Rotating a webhook's secret: during the grace period a Standard Webhooks receiver holding only
// the old secret keeps verifying, after it it does not; the JWT is signed with the new secret.
import { jwtVerify } from 'jose';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { verify } from '../../src/signing/verify.js';
import { createAccount, createWebhook, startReceiver, startTestNode, type Received, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let rx: Receiver;
/** The node's clock runs `offset` ms ahead of real time. */
let offset = 0;
const clock = { now: () => Date.now() + offset };

beforeEach(async () => {
  offset = 0;
  node = await startTestNode({}, { clock });
  rx = await startReceiver();
});
afterEach(async () => {
  await node.close();
  await rx.close();
});

/** What a receiver using the standardwebhooks package says, judging the time by the node's clock. */
function standardVerdict(secret: string, got: Received): string {
  // Time is the one thing mocked, and only around the synchronous verify call.
  const spy = vi.spyOn(Date, 'now').mockReturnValue(clock.now());
  try {
    new StandardWebhook(secret).verify(got.body, got.headers as Record<string, string>);
    return 'verified';
  } catch (err) {
    return (err as Error).message;
  } finally {
    spy.mockRestore();
  }
}

function jwtVerdict(secrets: string[], got: Received): string {
  try {
    verify(got.body, got.headers, secrets, { scheme: 'jwt' });
    return 'verified';
  } catch (err) {
    return (err as Error).message;
  }
}

async function send(count: number): Promise<Received> {
  await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: `media${String(count).padStart(3, '0')}` });
  const all = await rx.waitFor(count);
  return all[count - 1]!;
}

describe('rotate_secret', () => {
  it('returns the webhook with a new secret, shown this once', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    offset = 5_000;
    const res = await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 3600 });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body)).toEqual(['id', 'type', 'created', 'last_modified', 'relationships', 'metadata',
      'status', 'disabled_reason', 'disabled_at', 'max_in_flight', 'rate_limit', 'ordering', 'account_id', 'headers', 'secret']);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(res.body.secret).not.toBe(hook.secret);
    expect(res.body.metadata).toEqual(hook.metadata);
    expect(res.body.last_modified > hook.last_modified).toBe(true);
    const got = await node.account.api.get(`/v2/webhooks/${hook.id}/`);
    expect(got.body.secret).toBeUndefined();
    expect(JSON.stringify((await node.account.api.get('/v2/webhooks/')).body)).not.toContain(res.body.secret);
  });

  it('keeps the old secret signing for 24 hours by default, and for no time with 0', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const before = clock.now();
    expect((await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`)).status).toBe(200);
    const after = clock.now();
    const stored = await node.hookline.store.getWebhookSecrets(hook.id);
    expect(stored!.previousExpiresAt!).toBeGreaterThanOrEqual(before + 86_400_000);
    expect(stored!.previousExpiresAt!).toBeLessThanOrEqual(after + 86_400_000);

    const leaked = await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 0 });
    const got = await send(1);
    expect(got.headers['webhook-signature']).not.toContain(' ');
    expect(standardVerdict(leaked.body.secret, got)).toBe('verified');
    expect(standardVerdict(hook.secret, got)).toBe('No matching signature found');
  });

  it('during the grace period: both signatures, the new one first; after it: the new one only', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const oldSecret: string = hook.secret;
    const newSecret: string = (await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 3600 })).body.secret;

    const during = await send(1);
    const signatures = String(during.headers['webhook-signature']).split(' ');
    expect(signatures).toHaveLength(2);
    expect(signatures.every((s) => s.startsWith('v1,'))).toBe(true);
    const firstOnly = { ...during, headers: { ...during.headers, 'webhook-signature': signatures[0] } };
    expect(standardVerdict(newSecret, firstOnly)).toBe('verified');
    // A Standard Webhooks receiver with only the old secret keeps working, as does one with the new.
    expect(standardVerdict(oldSecret, during)).toBe('verified');
    expect(standardVerdict(newSecret, during)).toBe('verified');
    // The JWT is signed with the new secret: a JWT receiver holding both verifies.
    expect(jwtVerdict([oldSecret, newSecret], during)).toBe('verified');
    expect(jwtVerdict([oldSecret], during)).toMatch(/JWT's signature matches none/);
    await jwtVerify(String(during.headers.authorization).slice(7), new TextEncoder().encode(newSecret), { algorithms: ['HS256'] });

    offset = 3_601_000; // an hour and a second later
    const after = await send(2);
    expect(String(after.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(standardVerdict(oldSecret, after)).toBe('No matching signature found');
    expect(standardVerdict(newSecret, after)).toBe('verified');
    expect(jwtVerdict([oldSecret, newSecret], after)).toBe('verified');
  });

  it('judges the grace period at each attempt: a retry after it ends carries the new signature only', async () => {
    await rx.close();
    // The first attempt fails; the retry is made an hour later by the node's clock.
    rx = await startReceiver((_req, i) => {
      if (i === 0) offset = 3_601_000;
      return i === 0 ? 503 : 200;
    });
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 3600 });
    await send(2);
    expect(rx.received[0]!.headers['webhook-id']).toBe(rx.received[1]!.headers['webhook-id']);
    expect(String(rx.received[0]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(String(rx.received[1]!.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(standardVerdict(hook.secret, rx.received[1]!)).toBe('No matching signature found');
  });

  it('rotating again within the grace period keeps only the secret it replaces', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const second = (await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 3600 })).body.secret;
    const third = (await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 600 })).body.secret;
    const got = await send(1);
    expect(String(got.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(standardVerdict(third, got)).toBe('verified');
    expect(standardVerdict(second, got)).toBe('verified');
    expect(standardVerdict(hook.secret, got)).toBe('No matching signature found');
    expect(jwtVerdict([third], got)).toBe('verified');
  });

  it('refuses bad input naming the field, and changes nothing', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const stored = await node.hookline.store.getWebhookSecrets(hook.id);
    for (const [body, message] of [
      [{ grace_period_seconds: -1 }, /grace_period_seconds must be >= 0/],
      [{ grace_period_seconds: 2_592_001 }, /grace_period_seconds must be <= 2592000/],
      [{ grace_period_seconds: 1.5 }, /grace_period_seconds must be integer/],
      [{ grace_period_seconds: 'soon' }, /grace_period_seconds must be integer/],
      [{ grace: 60 }, /grace is not a known field/],
    ] as const) {
      const res = await node.account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.errors[0].code).toBe('invalid_body');
      expect(res.body.errors[0].description).toMatch(message);
    }
    expect(await node.hookline.store.getWebhookSecrets(hook.id)).toEqual(stored);
    expect(standardVerdict(hook.secret, await send(1))).toBe('verified');
  });

  it("is the owner's: 404 for another account and for no webhook, 403 for the operator", async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const other = await createAccount(node.operator);
    expect((await other.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`)).status).toBe(404);
    expect((await node.account.api.post('/v2/webhooks/AAAAAAAA/rotate_secret/')).status).toBe(404);
    expect((await node.operator.post(`/v2/webhooks/${hook.id}/rotate_secret/`)).status).toBe(403);
    expect(standardVerdict(hook.secret, await send(1))).toBe('verified');
    expect(String(rx.received[0]!.headers['webhook-signature'])).not.toContain(' ');
  });
});
