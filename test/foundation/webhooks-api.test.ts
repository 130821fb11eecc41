// The management API as JWP's clients use it: the webhook resource, paging, auth, errors, and
// accounts that cannot see each other.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, createAccount, createWebhook, startTestNode, type TestNode } from '../helpers.js';

let node: TestNode;
let api: Api;
let site: string;

beforeAll(async () => {
  node = await startTestNode();
  api = node.account.api;
  site = node.account.siteId;
});
afterAll(() => node.close());

const metadata = (over: Record<string, unknown> = {}) => ({
  metadata: { name: 'Uploads', description: 'tell the CMS', webhook_url: 'https://example.test/hook', events: ['media_available', 'conversions_complete'], site_ids: [site], ...over },
});

describe('webhook resource', () => {
  it('creates a webhook, showing its secret only in the create response', async () => {
    const res = await api.post('/v2/webhooks/', metadata());
    expect(res.status).toBe(201);
    expect(Object.keys(res.body)).toEqual(['id', 'type', 'created', 'last_modified', 'relationships', 'metadata',
      'status', 'disabled_reason', 'disabled_at', 'max_in_flight', 'rate_limit', 'ordering', 'account_id', 'headers', 'secret']);
    expect(res.body).toMatchObject({
      type: 'webhook', relationships: {}, metadata: metadata().metadata, status: 'active', disabled_reason: null, disabled_at: null, max_in_flight: null,
    });
    expect(res.body.id).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(res.body.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
    expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(res.body.secret.slice(6), 'base64')).toHaveLength(32);

    const got = await api.get(`/v2/webhooks/${res.body.id}/`);
    expect(got.status).toBe(200);
    expect(got.body.secret).toBeUndefined();
    expect(got.body.metadata).toEqual(res.body.metadata);
    const listed = await api.get('/v2/webhooks/');
    expect(JSON.stringify(listed.body)).not.toContain(res.body.secret);
  });

  it('accepts the key with or without "Bearer"', async () => {
    const raw = await fetch(`${node.url}/v2/webhooks/`, { headers: { authorization: api.key! } });
    expect(raw.status).toBe(200);
  });

  it('updates only what a partial PATCH gives, and deletes with 204 and an empty body', async () => {
    const hook = await createWebhook(api, [site], 'https://example.test/a', ['media_created']);
    const res = await api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { name: 'Renamed', events: ['media_deleted', 'media_created'] } });
    expect(res.status).toBe(200);
    expect(res.body.metadata).toEqual({ ...hook.metadata, name: 'Renamed', events: ['media_deleted', 'media_created'] });
    expect(res.body.last_modified >= hook.last_modified).toBe(true);
    const del = await api.delete(`/v2/webhooks/${hook.id}/`);
    expect(del.status).toBe(204);
    expect(del.body).toBeNull();
    expect((await api.get(`/v2/webhooks/${hook.id}/`)).status).toBe(404);
  });

  it('pages and sorts the list', async () => {
    const other = await createAccount(node.operator, 'Paging account');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await createWebhook(other.api, [other.siteId], `https://example.test/${i}`)).id);
    const first = await other.api.get('/v2/webhooks/?page_length=2');
    expect(first.body).toMatchObject({ page: 1, page_length: 2, total: 5 });
    expect(first.body.webhooks.map((w: any) => w.id)).toEqual([ids[4], ids[3]]);
    const asc = await other.api.get('/v2/webhooks/?page=2&page_length=2&sort=created:asc');
    expect(asc.body.webhooks.map((w: any) => w.id)).toEqual([ids[2], ids[3]]);
    const desc = await other.api.get('/v2/webhooks/?page=3&page_length=2&sort=created:desc');
    expect(desc.body.webhooks.map((w: any) => w.id)).toEqual([ids[0]]);
    expect((await other.api.get('/v2/webhooks/')).body.page_length).toBe(10);
  });

  it('lists 250 on a page, as JWP\'s clients ask, and up to 10 000', async () => {
    const other = await createAccount(node.operator, 'Big account');
    const ids: string[] = [];
    for (let i = 0; i < 260; i++) ids.push((await createWebhook(other.api, [other.siteId], `https://example.test/${i}`)).id);
    const page = await other.api.get('/v2/webhooks/?page_length=250');
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ page: 1, page_length: 250, total: 260 });
    expect(page.body.webhooks.map((w: any) => w.id)).toEqual(ids.slice(10).reverse());
    const rest = await other.api.get('/v2/webhooks/?page=2&page_length=250');
    expect(rest.body.webhooks.map((w: any) => w.id)).toEqual(ids.slice(0, 10).reverse());
    const all = await other.api.get('/v2/webhooks/?page_length=10000&sort=created:asc');
    expect(all.body).toMatchObject({ page_length: 10_000, total: 260 });
    expect(all.body.webhooks.map((w: any) => w.id)).toEqual(ids);
    // the other lists that page take as many
    expect((await other.api.get(`/v2/webhooks/${ids[0]}/deliveries/?page_length=10000`)).status).toBe(200);
    const audit = await other.api.get('/v2/audit_log/?page_length=250');
    // the 260 creations, and the account's own three (account, property, key)
    expect(audit.body).toMatchObject({ page_length: 250, total: 263 });
    expect(audit.body.audit_log).toHaveLength(250);
  });
});

describe('a method the route does not take', () => {
  it('answers 405 with Allow listing the route\'s methods, in JWP\'s error format', async () => {
    const hook = await createWebhook(api, [site], 'https://example.test/405');
    const put = await api.request('PUT', `/v2/webhooks/${hook.id}/`, metadata());
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, DELETE, PATCH');
    expect(put.body).toEqual({ errors: [{ code: 'method_not_allowed', description: 'PUT is not allowed here; this route takes GET, HEAD, DELETE, PATCH' }] });
    const list = await api.request('DELETE', '/v2/webhooks/');
    expect([list.status, list.headers.get('allow')]).toEqual([405, 'GET, HEAD, POST']);
    // as the router matches it: without the trailing slash, or spelled with an escape
    expect((await api.request('PUT', `/v2/webhooks/${hook.id}`, {})).headers.get('allow')).toBe('GET, HEAD, DELETE, PATCH');
    expect((await api.request('PATCH', '/%762/webhooks/', {})).headers.get('allow')).toBe('GET, HEAD, POST');
    // nothing changed, and the webhook is as it was
    expect((await api.get(`/v2/webhooks/${hook.id}/`)).body.metadata).toEqual(hook.metadata);
  });

  it('says the same with no key, a wrong key, or another account\'s key: the methods and nothing else', async () => {
    const hook = await createWebhook(api, [site], 'https://example.test/405-private');
    const other = await createAccount(node.operator, '405 account');
    const answers = await Promise.all([api, api.as('hlk_nope'), other.api, new Api(node.url)].map(async (caller) => {
      const res = await caller.request('PUT', `/v2/webhooks/${hook.id}/`, {});
      return { status: res.status, allow: res.headers.get('allow'), body: res.body };
    }));
    for (const a of answers) expect(a).toEqual(answers[0]);
    expect(JSON.stringify(answers[0])).not.toContain('405-private');
    // An id that does not exist gets the same: the answer is about the route, not the webhook.
    const missing = await api.request('PUT', '/v2/webhooks/ZZZZZZZZ/', {});
    expect({ status: missing.status, allow: missing.headers.get('allow'), body: missing.body }).toEqual(answers[0]);
  });

  it('keeps 404 for a path that is no route, whatever the method', async () => {
    for (const method of ['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS']) {
      const res = await api.request(method, '/v2/nothing/here/', method === 'GET' || method === 'DELETE' || method === 'OPTIONS' ? undefined : {});
      expect([res.status, res.headers.get('allow'), res.body.errors[0].code], method).toEqual([404, null, 'not_found']);
    }
  });
});

describe('bad input changes nothing', () => {
  const cases: [string, () => Promise<any>, number, RegExp][] = [
    ['no key', () => fetch(`${node.url}/v2/webhooks/`).then(async (r) => ({ status: r.status, body: await r.json() })), 401, /Authorization/],
    ['a wrong key', () => api.as('hlk_nope').get('/v2/webhooks/'), 401, /invalid API key/],
    ['a body that is not JSON', () => api.request('POST', '/v2/webhooks/', '{"metadata":', { 'content-type': 'application/json' }), 400, /not valid JSON/],
    ['no metadata', () => api.post('/v2/webhooks/', {}), 400, /metadata is required/],
    ['no name', () => api.post('/v2/webhooks/', { metadata: { ...metadata().metadata, name: undefined } }), 400, /metadata.name is required/],
    ['an unknown field', () => api.post('/v2/webhooks/', metadata({ color: 'red' })), 400, /metadata.color is not a known field/],
    ['an unknown event', () => api.post('/v2/webhooks/', metadata({ events: ['media_exploded'] })), 400, /metadata.events\[0\] must be one of/],
    ['no events', () => api.post('/v2/webhooks/', metadata({ events: [] })), 400, /metadata.events/],
    ['a URL that is not http(s)', () => api.post('/v2/webhooks/', metadata({ webhook_url: 'ftp://example.test/x' })), 400, /webhook_url must be/],
    ['a URL that is not a URL', () => api.post('/v2/webhooks/', metadata({ webhook_url: 'not a url' })), 400, /webhook_url .* is not a URL/],
    ['a property that does not exist', () => api.post('/v2/webhooks/', metadata({ site_ids: ['ZZZZZZZZ'] })), 400, /site_ids: property ZZZZZZZZ/],
    ['a malformed property id', () => api.post('/v2/webhooks/', metadata({ site_ids: ['short'] })), 400, /site_ids\[0\] must match/],
    ['page_length over 10 000', () => api.get('/v2/webhooks/?page_length=10001'), 400, /page_length must be <= 10000/],
    ['page_length 0', () => api.get('/v2/webhooks/?page_length=0'), 400, /page_length must be >= 1/],
    ['an unknown sort', () => api.get('/v2/webhooks/?sort=name:asc'), 400, /sort must be one of/],
    ['an unknown webhook', () => api.get('/v2/webhooks/AAAAAAAA/'), 404, /webhook AAAAAAAA not found/],
    ['an unknown route', () => api.get('/v2/nothing/'), 404, /no route/],
    ['webhook creation with the operator key', () => node.operator.post('/v2/webhooks/', metadata()), 403, /account API key/],
    ['operator routes with an account key', () => api.post('/v2/accounts/', { name: 'x' }), 403, /operator key/],
  ];
  it.each(cases)('refuses %s in JWP error format', async (_what, call, status, description) => {
    const before = await node.operator.get('/v2/webhooks/?page_length=100');
    const res = await call();
    expect(res.status).toBe(status);
    expect(res.body.errors).toHaveLength(1);
    expect(Object.keys(res.body.errors[0])).toEqual(['code', 'description']);
    expect(res.body.errors[0].description).toMatch(description);
    const after = await node.operator.get('/v2/webhooks/?page_length=100');
    expect(after.body).toEqual(before.body);
  });
});

describe('every error at once', () => {
  const unchanged = async (call: () => Promise<any>) => {
    const before = await node.operator.get('/v2/webhooks/?page_length=100');
    const res = await call();
    expect((await node.operator.get('/v2/webhooks/?page_length=100')).body).toEqual(before.body);
    expect(res.status).toBe(400);
    for (const e of res.body.errors) expect(Object.keys(e)).toEqual(['code', 'description']);
    return res.body.errors.map((e: { description: string }) => e.description);
  };

  it('answers a create with three bad fields with three errors, in the order of the resource, and creates nothing', async () => {
    // The schema's refusals and the route's own (the URL) together, whatever the body's order.
    const errors = await unchanged(() => api.post('/v2/webhooks/', {
      metadata: { events: [], site_ids: [site], webhook_url: 'ftp://example.test/x', name: '' },
    }));
    expect(errors).toEqual([
      'metadata.name must NOT have fewer than 1 characters',
      'metadata.webhook_url must be an http or https URL',
      'metadata.events must NOT have fewer than 1 items',
    ]);
  });

  it('names each field once, fields it does not know last, and does the same for an update', async () => {
    expect(await unchanged(() => api.post('/v2/webhooks/', {
      color: 'red', rate_limit: 0, metadata: { name: 'x', webhook_url: 'not a url', events: ['media_exploded', 'also_not'], site_ids: ['short', 'ZZZZZZZZ'] },
    }))).toEqual([
      'metadata.webhook_url "not a url" is not a URL',
      'metadata.site_ids[0] must match pattern "^[A-Za-z0-9]{8}$"',
      'metadata.events[0] must be one of: ' + (await api.get('/v2/event_types/')).body.event_types.map((t: any) => t.name).join(', '),
      'rate_limit must be > 0',
      'color is not a known field',
    ]);
    const hook = await createWebhook(api, [site], 'https://example.test/several');
    expect(await unchanged(() => api.patch(`/v2/webhooks/${hook.id}/`, {
      status: 'paused', max_in_flight: 101, metadata: { site_ids: ['ZZZZZZZZ'], name: '', shape: 'round' },
    }))).toEqual([
      'metadata.name must NOT have fewer than 1 characters',
      'metadata.site_ids: property ZZZZZZZZ does not exist in this account',
      'status must be one of: active, disabled',
      'max_in_flight must be at most 100 (this node\'s HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT), got 101',
      'metadata.shape is not a known field',
    ]);
  });
});

describe('accounts', () => {
  it('cannot see or touch another account webhooks or use its properties', async () => {
    const a = await createAccount(node.operator, 'Account A');
    const b = await createAccount(node.operator, 'Account B');
    const hookA = await createWebhook(a.api, [a.siteId], 'https://example.test/a');
    expect((await b.api.get(`/v2/webhooks/${hookA.id}/`)).status).toBe(404);
    expect((await b.api.patch(`/v2/webhooks/${hookA.id}/`, { metadata: { name: 'mine' } })).status).toBe(404);
    expect((await b.api.delete(`/v2/webhooks/${hookA.id}/`)).status).toBe(404);
    expect((await b.api.get(`/v2/webhooks/${hookA.id}/deliveries/`)).status).toBe(404);
    expect((await b.api.get('/v2/webhooks/')).body.webhooks.map((w: any) => w.id)).not.toContain(hookA.id);
    const steal = await b.api.post('/v2/webhooks/', { metadata: { name: 'x', webhook_url: 'https://example.test/b', events: ['media_created'], site_ids: [a.siteId] } });
    expect(steal.status).toBe(400);
    expect((await b.api.get('/v2/sites/')).body.sites.map((s: any) => s.id)).toEqual([b.siteId]);
    expect((await a.api.get(`/v2/webhooks/${hookA.id}/`)).body.metadata.name).toBe('Test hook');
    // The operator may read any webhook (support), but not change it.
    expect((await node.operator.get(`/v2/webhooks/${hookA.id}/`)).status).toBe(200);
    expect((await node.operator.delete(`/v2/webhooks/${hookA.id}/`)).status).toBe(403);
  });

  it('lets the operator make accounts, properties and keys, showing a key once', async () => {
    const account = await node.operator.post('/v2/accounts/', { name: 'Acme' });
    expect(account.status).toBe(201);
    const site = await node.operator.post('/v2/sites/', { name: 'Acme TV', account_id: account.body.id });
    expect(site.status).toBe(201);
    expect(site.body).toMatchObject({ name: 'Acme TV', account_id: account.body.id });
    expect(site.body.id).toMatch(/^[A-Za-z0-9]{8}$/);
    const key = await node.operator.post(`/v2/accounts/${account.body.id}/api_keys/`, { name: 'cms' });
    expect(key.status).toBe(201);
    expect(Object.keys(key.body)).toEqual(['id', 'name', 'secret', 'created']);
    expect((await node.operator.as(key.body.secret).get('/v2/sites/')).body.sites).toHaveLength(1);
    expect((await node.operator.post('/v2/sites/', { name: 'x', account_id: 'NOPENOPE' })).status).toBe(400);
    expect((await node.operator.post('/v2/accounts/NOPENOPE/api_keys/', { name: 'x' })).status).toBe(404);
    const accounts = await node.operator.get('/v2/accounts/');
    expect(accounts.body.accounts.map((a: any) => a.name)).toContain('Acme');
  });
});

describe('service routes', () => {
  it('answers /healthz and describes every route in /openapi.json', async () => {
    expect((await fetch(`${node.url}/healthz`)).status).toBe(200);
    const spec = await (await fetch(`${node.url}/openapi.json`)).json();
    for (const path of ['/v2/webhooks/', '/v2/webhooks/{webhook_id}/', '/v2/sites/{site_id}/events/', '/v2/deliveries/{delivery_id}/retry/', '/v2/webhooks/{webhook_id}/deliveries/', '/v2/accounts/', '/v2/sites/']) {
      expect(spec.paths, path).toHaveProperty([path]);
    }
    expect(spec.paths['/v2/webhooks/'].post.requestBody).toBeDefined();
  });
});

describe('requests as JWP clients send them', () => {
  it('takes a DELETE with Content-Type: application/json and no body', async () => {
    const hook = await createWebhook(api, [site], 'https://example.test/del');
    const res = await api.request('DELETE', `/v2/webhooks/${hook.id}/`, '', { 'content-type': 'application/json' });
    expect(res.status).toBe(204);
    const empty = await api.request('POST', '/v2/webhooks/', '', { 'content-type': 'application/json' });
    expect(empty.status).toBe(400);
    expect(empty.body.errors[0].code).toBe('invalid_body');
  });
});
