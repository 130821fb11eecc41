// Tenant isolation, route by route: with two accounts, an account key sees and changes only its
// own account. Another account's webhook or delivery answers 404 exactly as a missing one does,
// another account's properties are refused with 400, operator routes answer 403. The route list
// comes from the app's OpenAPI document, so a route added without a case here fails the test.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAccount, createWebhook, startReceiver, startTestNode, until, type Api, type Receiver, type TestNode,
} from '../helpers.js';

let node: TestNode;
let rx: Receiver;
let a: { id: string; siteId: string; api: Api };
let b: { id: string; siteId: string; api: Api };
let hookA: { id: string };
let hookB: { id: string };
let deliveryA: string;
let keyA: string;

beforeAll(async () => {
  node = await startTestNode();
  rx = await startReceiver();
  a = node.account;
  b = await createAccount(node.operator, 'Tenant B');
  hookA = await createWebhook(a.api, [a.siteId], rx.url);
  hookB = await createWebhook(b.api, [b.siteId], rx.url);
  await node.operator.post(`/v2/sites/${a.siteId}/events/`, { event: 'media_available', media_id: 'isoA' });
  deliveryA = await until(async () => {
    const list = await a.api.get(`/v2/webhooks/${hookA.id}/deliveries/?status=succeeded`);
    return list.body.deliveries[0]?.id as string | undefined;
  }, 10_000, "A's delivery");
  keyA = (await node.operator.get(`/v2/accounts/${a.id}/api_keys/`)).body.api_keys[0].id;
});
afterAll(async () => {
  await node.close();
  await rx.close();
});

const missingHook = 'Zz9Zz9Zz';
const missingDelivery = 'msg_000000000000000000000000';

/** A 404 for another account's resource must read exactly as the 404 for a missing one. */
async function expectHidden(call: (id: string) => Promise<{ status: number; body: any }>, theirs: string, missing: string) {
  const hidden = await call(theirs);
  const absent = await call(missing);
  expect(hidden.status).toBe(404);
  expect(absent.status).toBe(404);
  expect(JSON.stringify(hidden.body).replaceAll(theirs, 'ID')).toBe(JSON.stringify(absent.body).replaceAll(missing, 'ID'));
}

async function expectForbidden(res: Promise<{ status: number; body: any }>) {
  const r = await res;
  expect(r.status).toBe(403);
  expect(r.body).toEqual({ errors: [{ code: 'forbidden', description: 'this route needs the operator key' }] });
}

/** One case per route of the API: what account B may do with account A's things. */
const CASES: Record<string, () => Promise<void>> = {
  'GET /healthz': async () => {
    expect((await b.api.get('/healthz')).body).toEqual({ status: 'ok' });
  },
  'GET /readyz': async () => {
    expect((await b.api.get('/readyz')).body).toEqual({ status: 'ready' });
  },
  'POST /v2/accounts/': () => expectForbidden(b.api.post('/v2/accounts/', { name: 'mine now' })),
  'GET /v2/accounts/': () => expectForbidden(b.api.get('/v2/accounts/')),
  'POST /v2/admin/backup/': () => expectForbidden(b.api.post('/v2/admin/backup/')),
  'POST /v2/accounts/{account_id}/api_keys/': async () => {
    await expectForbidden(b.api.post(`/v2/accounts/${a.id}/api_keys/`, { name: 'steal' }));
    await expectForbidden(b.api.post(`/v2/accounts/${b.id}/api_keys/`, { name: 'more' }));
  },
  'GET /v2/accounts/{account_id}/api_keys/': () => expectForbidden(b.api.get(`/v2/accounts/${a.id}/api_keys/`)),
  'DELETE /v2/accounts/{account_id}/api_keys/{key_id}/': async () => {
    await expectForbidden(b.api.delete(`/v2/accounts/${a.id}/api_keys/${keyA}/`));
    expect((await a.api.get('/v2/webhooks/')).status).toBe(200);
  },
  'POST /v2/accounts/{account_id}/portal_sessions/': async () => {
    await expectForbidden(b.api.post(`/v2/accounts/${a.id}/portal_sessions/`, { ttl: '1h' }));
    await expectForbidden(b.api.post(`/v2/accounts/${b.id}/portal_sessions/`, { ttl: '1h' }));
  },
  // Opening a portal link needs its token: B has none of A's, and a guess opens nothing.
  'POST /ui/portal': async () => {
    const res = await b.api.post('/ui/portal', { token: 'A'.repeat(43) }, { origin: b.api.baseUrl });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  },
  'POST /v2/sites/': () => expectForbidden(b.api.post('/v2/sites/', { name: 'p', account_id: b.id })),
  'GET /v2/sites/': async () => {
    const res = await b.api.get('/v2/sites/');
    expect(res.body.sites.map((s: any) => s.id)).toEqual([b.siteId]);
  },
  'POST /v2/sites/{site_id}/events/': async () => {
    await expectForbidden(b.api.post(`/v2/sites/${a.siteId}/events/`, { event: 'media_available', media_id: 'x' }));
    await expectForbidden(b.api.post(`/v2/sites/${b.siteId}/events/`, { event: 'media_available', media_id: 'x' }));
    // 403 comes first: an account key learns nothing from validation either.
    await expectForbidden(b.api.post(`/v2/sites/${a.siteId}/events/`, {}));
  },
  'POST /v2/webhooks/': async () => {
    for (const siteIds of [[a.siteId], [b.siteId, a.siteId]]) {
      const res = await b.api.post('/v2/webhooks/', { metadata: { name: 'spy', webhook_url: rx.url, events: ['media_available'], site_ids: siteIds } });
      expect(res.status).toBe(400);
      expect(res.body.errors[0].description).toBe(`metadata.site_ids: property ${a.siteId} does not exist in this account`);
    }
    // Exactly the answer for a property that does not exist at all.
    const none = await b.api.post('/v2/webhooks/', { metadata: { name: 'spy', webhook_url: rx.url, events: ['media_available'], site_ids: ['Nope1234'] } });
    expect(none.body.errors[0].description).toBe('metadata.site_ids: property Nope1234 does not exist in this account');
  },
  'GET /v2/webhooks/': async () => {
    const res = await b.api.get('/v2/webhooks/');
    expect(res.body.webhooks.map((w: any) => w.id)).toEqual([hookB.id]);
    expect(res.body.total).toBe(1);
  },
  'GET /v2/webhooks/{webhook_id}/': () => expectHidden((id) => b.api.get(`/v2/webhooks/${id}/`), hookA.id, missingHook),
  'PATCH /v2/webhooks/{webhook_id}/': async () => {
    await expectHidden((id) => b.api.patch(`/v2/webhooks/${id}/`, { metadata: { name: 'mine' } }), hookA.id, missingHook);
    await expectHidden((id) => b.api.patch(`/v2/webhooks/${id}/`, { status: 'disabled' }), hookA.id, missingHook);
    expect((await a.api.get(`/v2/webhooks/${hookA.id}/`)).body.status).toBe('active');
    const res = await b.api.patch(`/v2/webhooks/${hookB.id}/`, { metadata: { site_ids: [a.siteId] } });
    expect(res.status).toBe(400);
  },
  'DELETE /v2/webhooks/{webhook_id}/': () => expectHidden((id) => b.api.delete(`/v2/webhooks/${id}/`), hookA.id, missingHook),
  'POST /v2/webhooks/{webhook_id}/rotate_secret/': () =>
    expectHidden((id) => b.api.post(`/v2/webhooks/${id}/rotate_secret/`, { grace_period_seconds: 0 }), hookA.id, missingHook),
  'POST /v2/webhooks/{webhook_id}/test/': () => expectHidden((id) => b.api.post(`/v2/webhooks/${id}/test/`), hookA.id, missingHook),
  'POST /v2/webhooks/{webhook_id}/recover/': () =>
    expectHidden((id) => b.api.post(`/v2/webhooks/${id}/recover/`, { since: '2020-01-01T00:00:00Z' }), hookA.id, missingHook),
  'GET /v2/webhooks/{webhook_id}/replay/': () =>
    expectHidden((id) => b.api.get(`/v2/webhooks/${id}/replay/?since=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`), hookA.id, missingHook),
  'POST /v2/webhooks/{webhook_id}/replay/': async () => {
    const total = (await a.api.get(`/v2/webhooks/${hookA.id}/deliveries/`)).body.total;
    await expectHidden((id) => b.api.post(`/v2/webhooks/${id}/replay/`, { since: new Date(Date.now() - 3_600_000).toISOString() }), hookA.id, missingHook);
    expect((await a.api.get(`/v2/webhooks/${hookA.id}/deliveries/`)).body.total).toBe(total);
  },
  // Another account's property reads exactly as one that does not exist; its own is there.
  'GET /v2/sites/{site_id}/events/': async () => {
    await expectHidden((id) => b.api.get(`/v2/sites/${id}/events/`), a.siteId, 'Nope1234');
    expect((await b.api.get(`/v2/sites/${b.siteId}/events/`)).status).toBe(200);
  },
  'GET /metrics': () => expectForbidden(b.api.get('/metrics')),
  'GET /v2/webhooks/{webhook_id}/stats/': () => expectHidden((id) => b.api.get(`/v2/webhooks/${id}/stats/`), hookA.id, missingHook),
  'GET /v2/event_types/': async () => {
    const res = await b.api.get('/v2/event_types/');
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.body)).not.toContain(a.siteId);
  },
  // The dashboard's session routes act only on the caller's own key and cookie.
  'POST /ui/session': async () => {
    const res = await b.api.post('/ui/session', { api_key: 'hlk_not_a_key' }, { origin: b.api.baseUrl });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  },
  'GET /ui/session': async () => {
    const res = await b.api.get('/ui/session');
    expect(JSON.stringify(res.body)).not.toContain(a.id);
  },
  'DELETE /ui/session': async () => {
    const res = await b.api.delete('/ui/session');
    expect(res.status).toBeLessThan(500);
    expect((await a.api.get(`/v2/webhooks/${hookA.id}/`)).status).toBe(200);
  },
  'GET /v2/webhooks/{webhook_id}/deliveries/': () => expectHidden((id) => b.api.get(`/v2/webhooks/${id}/deliveries/`), hookA.id, missingHook),
  // The search finds none of A's deliveries for B, whatever B filters on; the operator sees them.
  'GET /v2/deliveries/': async () => {
    for (const filter of ['', `?webhook_id=${hookA.id}`, '?media_id=isoA', `?event_id=${(await a.api.get(`/v2/deliveries/${deliveryA}/`)).body.event_id}`]) {
      const res = await b.api.get(`/v2/deliveries/${filter}`);
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.body)).not.toContain(hookA.id);
    }
    const theirs = await node.operator.get('/v2/deliveries/?media_id=isoA');
    expect(theirs.body.deliveries.map((d: { id: string }) => d.id)).toEqual([deliveryA]);
  },
  'GET /v2/deliveries/{delivery_id}/': () => expectHidden((id) => b.api.get(`/v2/deliveries/${id}/`), deliveryA, missingDelivery),
  'POST /v2/deliveries/{delivery_id}/retry/': () => expectHidden((id) => b.api.post(`/v2/deliveries/${id}/retry/`), deliveryA, missingDelivery),
  'GET /v2/audit_log/': async () => {
    const res = await b.api.get('/v2/audit_log/?page_length=100');
    expect(res.status).toBe(200);
    expect(res.body.total).toBeGreaterThan(0);
    for (const entry of res.body.audit_log) expect(entry.account_id).toBe(b.id);
    expect(JSON.stringify(res.body)).not.toContain(hookA.id);
    const other = await b.api.get(`/v2/audit_log/?account_id=${a.id}`);
    expect(other.status).toBe(403);
  },
};

/** The platform's fact routes (media, thumbnails, channels) are all the operator's. */
const FACT_ROUTE = /^[A-Z]+ \/v2\/sites\/\{site_id\}\/(media|thumbnails|channels)\//;

async function apiRoutes(): Promise<string[]> {
  const doc = (await node.operator.get('/openapi.json')).body;
  return Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`));
}

describe('two accounts', () => {
  it('has a case for every route of the API', async () => {
    const routes = await apiRoutes();
    expect(routes.length).toBeGreaterThan(10);
    expect(routes.filter((r) => !(r in CASES) && !FACT_ROUTE.test(r))).toEqual([]);
  });

  it("answers 403 to account B at every platform fact route, on A's property and its own, whatever the body", async () => {
    const facts = (await apiRoutes()).filter((r) => FACT_ROUTE.test(r));
    expect(facts.length).toBeGreaterThan(5);
    for (const route of facts) {
      const [method, template] = route.split(' ') as [string, string];
      for (const site of [a.siteId, b.siteId]) {
        const path = template.replace('{site_id}', site).replace(/\{[a-z_]+\}/g, 'abc123');
        for (const body of method === 'GET' || method === 'DELETE' ? [undefined] : [{}, { status: 'ready', media_id: 'abc123' }]) {
          const res = await b.api.request(method, path, body);
          expect(res.status, `${route} ${JSON.stringify(body)}`).toBe(403);
          expect(res.body.errors[0].code).toBe('forbidden');
        }
      }
    }
  });

  it.each(Object.keys(CASES))('%s: account B cannot reach account A', async (route) => {
    await CASES[route]!();
  });

  it("left account A's webhook, delivery and key as they were", async () => {
    const hook = await a.api.get(`/v2/webhooks/${hookA.id}/`);
    expect(hook.status).toBe(200);
    expect(hook.body.metadata.name).toBe('Test hook');
    const delivery = await a.api.get(`/v2/deliveries/${deliveryA}/`);
    expect(delivery.body).toMatchObject({ status: 'succeeded', attempts: [expect.anything()] });
    expect(rx.received.filter((r) => r.json?.webhook_id === hookA.id)).toHaveLength(1);
    const keys = await node.operator.get(`/v2/accounts/${a.id}/api_keys/`);
    expect(keys.body.api_keys.map((k: any) => k.id)).toContain(keyA);
    const audit = await a.api.get('/v2/audit_log/?page_length=100');
    expect(audit.body.audit_log.every((e: any) => e.account_id === a.id)).toBe(true);
    expect(audit.body.audit_log.some((e: any) => e.key_id !== keyA && e.actor === 'account')).toBe(false);
  });
});
