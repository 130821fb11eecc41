// API keys: listed without secrets, revoked at once; per-key rate limits with 429 and
// Retry-After; the audit log of who changed what.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { buildApi } from '../../src/api/app.js';
import type { ApiContext } from '../../src/api/context.js';
import { ApiError } from '../../src/api/errors.js';
import { bootstrap, type FirstStart } from '../../src/bootstrap.js';
import { TargetGuard } from '../../src/security/ssrf.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { systemClock } from '../../src/time.js';
import {
  createAccount, createWebhook, OPERATOR_KEY, startReceiver, startTestNode, testConfig, until, type TestNode,
} from '../helpers.js';

describe('API keys', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode();
  });
  afterAll(() => node.close());

  it('lists an account\'s keys without their secrets', async () => {
    const acct = await createAccount(node.operator, 'Listed');
    const made = await node.operator.post(`/v2/accounts/${acct.id}/api_keys/`, { name: 'second' });
    expect(made.status).toBe(201);
    expect(made.body.secret).toMatch(/^hlk_/);
    const list = await node.operator.get(`/v2/accounts/${acct.id}/api_keys/`);
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(2);
    expect(list.body.api_keys.map((k: any) => k.name)).toEqual(['key', 'second']);
    for (const k of list.body.api_keys) expect(Object.keys(k)).toEqual(['id', 'name', 'created']);
    expect(JSON.stringify(list.body)).not.toContain(made.body.secret);
    expect((await node.operator.get('/v2/accounts/Nope1234/api_keys/')).status).toBe(404);
  });

  it('revokes a key: the next request with it is refused, other keys go on working', async () => {
    const acct = await createAccount(node.operator, 'Revoked');
    const spare = await node.operator.post(`/v2/accounts/${acct.id}/api_keys/`, { name: 'spare' });
    const spareApi = node.operator.as(spare.body.secret);
    const hook = await createWebhook(acct.api, [acct.siteId], 'https://example.test/h');
    const keys = (await node.operator.get(`/v2/accounts/${acct.id}/api_keys/`)).body.api_keys;
    const first = keys.find((k: any) => k.name === 'key').id;

    expect((await acct.api.get(`/v2/webhooks/${hook.id}/`)).status).toBe(200);
    // A wrong account id neither revokes nor reveals the key.
    const other = await createAccount(node.operator, 'Bystander');
    expect((await node.operator.delete(`/v2/accounts/${other.id}/api_keys/${first}/`)).status).toBe(404);
    expect((await acct.api.get(`/v2/webhooks/${hook.id}/`)).status).toBe(200);

    const revoked = await node.operator.delete(`/v2/accounts/${acct.id}/api_keys/${first}/`);
    expect(revoked.status).toBe(204);
    expect(revoked.body).toBeNull();
    const refused = await acct.api.get(`/v2/webhooks/${hook.id}/`);
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual({ errors: [{ code: 'unauthorized', description: 'invalid API key' }] });
    expect((await acct.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { name: 'x' } })).status).toBe(401);

    expect((await spareApi.get(`/v2/webhooks/${hook.id}/`)).status).toBe(200);
    expect((await node.operator.delete(`/v2/accounts/${acct.id}/api_keys/${first}/`)).status).toBe(404);
    expect((await node.operator.get(`/v2/accounts/${acct.id}/api_keys/`)).body.api_keys.map((k: any) => k.name)).toEqual(['spare']);
  });

  it('stores only hashes of keys', async () => {
    const acct = await createAccount(node.operator, 'Hashed');
    const made = await node.operator.post(`/v2/accounts/${acct.id}/api_keys/`, { name: 'k' });
    const db = (node.hookline.store as unknown as { db: import('better-sqlite3').Database }).db;
    const dump = JSON.stringify(db.prepare('SELECT * FROM api_keys').all());
    expect(dump).not.toContain(made.body.secret);
    expect(dump).not.toContain(made.body.secret.slice(4));
  });
});

describe('rate limits', () => {
  let node: TestNode;
  afterEach(() => node?.close());

  it('allows 60 management requests a minute per key by default', async () => {
    const { loadConfig } = await import('../../src/config.js');
    expect(loadConfig([], {})).toMatchObject({ rateLimit: 60 });
    expect(loadConfig([], {}).intakeRateLimit).toBeGreaterThanOrEqual(100 * 60);
  });

  it('answers 429 with Retry-After past the per-key limit, in JWP\'s format, counting each key on its own', async () => {
    node = await startTestNode({ rateLimit: 5, intakeRateLimit: 1000 });
    const other = await createAccount(node.operator, 'Other');
    const api = node.account.api;
    for (let i = 0; i < 5; i++) {
      const res = await api.get('/v2/webhooks/');
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit')).toBe('5');
      expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
    }
    const limited = await api.post('/v2/webhooks/', { metadata: { name: 'x', webhook_url: 'https://e.test/', events: ['media_available'], site_ids: [node.account.siteId] } });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ errors: [{ code: 'rate_limited', description: expect.stringMatching(/^too many requests for this API key: at most 5 a minute; retry in \d+ s \(Retry-After\)$/) }] });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // The refused create wrote nothing.
    expect((await other.api.get('/v2/webhooks/')).body.total).toBe(0);
    expect((await node.operator.get(`/v2/audit_log/?account_id=${node.account.id}`)).body.audit_log.filter((e: any) => e.action === 'webhook.created')).toHaveLength(0);

    // Another key, from the same address: its own budget.
    expect((await other.api.get('/v2/webhooks/')).status).toBe(200);
    // A wrong key is refused before it counts against anything.
    expect((await api.as('hlk_wrong').get('/v2/webhooks/')).status).toBe(401);
  });

  it('counts event intake apart from management, with its own limit', async () => {
    node = await startTestNode({ rateLimit: 3, intakeRateLimit: 4 });
    const site = node.account.siteId;
    for (let i = 0; i < 4; i++) {
      expect((await node.operator.post(`/v2/sites/${site}/events/`, { event: 'media_created', media_id: `m${i}` })).status).toBe(202);
    }
    const limited = await node.operator.post(`/v2/sites/${site}/events/`, { event: 'media_created', media_id: 'm4' });
    expect(limited.status).toBe(429);
    expect(limited.body.errors[0].description).toMatch(/at most 4 a minute for event intake/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    // Management calls with the same key still have their own budget.
    expect((await node.operator.get('/v2/accounts/')).status).toBe(200);
  });

  it('turns off with 0', async () => {
    node = await startTestNode({ rateLimit: 0 });
    for (let i = 0; i < 65; i++) expect((await node.account.api.get('/v2/sites/')).status).toBe(200);
  });
});

describe('the audit log', () => {
  let node: TestNode;
  let store: SqliteStore;
  let first: FirstStart;
  beforeAll(async () => {
    node = await startTestNode();
    store = new SqliteStore({ memory: true });
    first = await bootstrap(store, OPERATOR_KEY, true, Date.now());
  });
  afterAll(async () => {
    await node.close();
    await store.close();
  });

  it('records who created, changed, retried and deleted what, for the account concerned', async () => {
    const rx = await startReceiver();
    try {
      const acct = await createAccount(node.operator, 'Audited');
      const keyId = (await node.operator.get(`/v2/accounts/${acct.id}/api_keys/`)).body.api_keys[0].id;
      const hook = await createWebhook(acct.api, [acct.siteId], rx.url);
      await acct.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { name: 'Renamed' } });
      // Refused requests leave no entry.
      expect((await acct.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { events: ['nope'] } })).status).toBe(400);
      await node.operator.post(`/v2/sites/${acct.siteId}/events/`, { event: 'media_available', media_id: 'aud' });
      const delivery = await until(async () => (await acct.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=succeeded`)).body.deliveries[0]);
      await acct.api.post(`/v2/deliveries/${delivery.id}/retry/`);
      await acct.api.delete(`/v2/webhooks/${hook.id}/`);
      const spare = await node.operator.post(`/v2/accounts/${acct.id}/api_keys/`, { name: 'spare' });
      await node.operator.delete(`/v2/accounts/${acct.id}/api_keys/${spare.body.id}/`);

      const log = await acct.api.get('/v2/audit_log/?page_length=100');
      expect(log.status).toBe(200);
      expect(log.body).toMatchObject({ page: 1, page_length: 100, total: 9 });
      const entries = [...log.body.audit_log].reverse();
      const operatorKeyId = entries[0].key_id;
      expect(operatorKeyId).toMatch(/^[A-Za-z0-9]{8}$/);
      expect(entries.map((e: any) => [e.action, e.actor, e.key_id, e.target_type, e.target_id])).toEqual([
        ['account.created', 'operator', operatorKeyId, 'account', acct.id],
        ['site.created', 'operator', operatorKeyId, 'site', acct.siteId],
        ['api_key.created', 'operator', operatorKeyId, 'api_key', keyId],
        ['webhook.created', 'account', keyId, 'webhook', hook.id],
        ['webhook.updated', 'account', keyId, 'webhook', hook.id],
        ['delivery.retried', 'account', keyId, 'delivery', delivery.id],
        ['webhook.deleted', 'account', keyId, 'webhook', hook.id],
        ['api_key.created', 'operator', operatorKeyId, 'api_key', spare.body.id],
        ['api_key.revoked', 'operator', operatorKeyId, 'api_key', spare.body.id],
      ]);
      for (const e of entries) {
        expect(e.account_id).toBe(acct.id);
        expect(e.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
        expect(e.ip).toBe('127.0.0.1');
      }
      // Event intake reports facts, not changes: no entry.
      expect(entries.some((e: any) => e.action.includes('events'))).toBe(false);
      expect(JSON.stringify(log.body)).not.toContain(spare.body.secret);
    } finally {
      await rx.close();
    }
  });

  it('lets the operator read every account\'s entries, or one account\'s', async () => {
    const acct = await createAccount(node.operator, 'Operator view');
    const all = await node.operator.get('/v2/audit_log/?page_length=100');
    expect(all.body.audit_log.some((e: any) => e.action === 'account.created' && e.target_id === acct.id)).toBe(true);
    const one = await node.operator.get(`/v2/audit_log/?account_id=${acct.id}`);
    expect(one.body.audit_log.map((e: any) => e.action).reverse()).toEqual(['account.created', 'site.created', 'api_key.created']);
    expect((await node.operator.get('/v2/audit_log/?page_length=10001')).status).toBe(400);
  });

  it('audits a route that names no action under its method and path, and names the caller\'s key', async () => {
    // A plugin added later (secret rotation, say) gets entries without doing anything.
    const app = await buildApi({ ...apiContextOf(node), store }, pino({ level: 'silent' }));
    app.post('/v2/webhooks/:webhook_id/poke/', async (request, reply) => reply.code(202).send({ poked: true }));
    app.post('/v2/webhooks/:webhook_id/refuse/', async () => {
      throw new ApiError(409, 'conflict', 'no');
    });
    await app.ready();
    const headers = { authorization: `Bearer ${first.account!.apiKey}` };
    expect((await app.inject({ method: 'POST', url: '/v2/webhooks/Abc12345/poke/', headers })).statusCode).toBe(202);
    expect((await app.inject({ method: 'POST', url: '/v2/webhooks/Abc12345/refuse/', headers })).statusCode).toBe(409);
    await app.close();
    const { entries } = await store.listAudit(first.account!.id, { page: 1, pageLength: 10 });
    const keyId = (await store.listApiKeys(first.account!.id))[0]!.id;
    expect(entries.map((e) => [e.action, e.actor, e.keyId, e.targetType, e.targetId])).toEqual([
      ['POST /v2/webhooks/:webhook_id/poke/', 'account', keyId, 'webhook', 'Abc12345'],
    ]);
  });
});

/** What an extra API instance needs to answer the routes that test calls; the rest is never reached. */
function apiContextOf(n: TestNode): Omit<ApiContext, 'store'> {
  const unused = undefined as never;
  return {
    dispatcher: n.hookline.dispatcher, clock: systemClock, config: testConfig(n.dataDir), guard: new TargetGuard({ allowAll: true }),
    ingestor: unused, lifecycle: unused, simulator: unused,
  };
}
