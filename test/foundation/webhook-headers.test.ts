// A webhook's own request headers (`headers`, e.g. for a receiver behind an access proxy), and
// what each attempt logs of its request and response, on both stores: sent on every attempt to
// a real receiver on loopback, sealed at rest (the raw column does not hold the value), masked in
// every answer and in the attempt log, refused for the names Hookline or HTTP set, every bad one at once.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Api, createWebhook, freshSchema, schemaQuery, startReceiver, startTestNode, TEST_SECRET_KEY, TEST_STORE, until,
  type Receiver, type TestNode,
} from '../helpers.js';

const TOKEN = 'proxy-token-5f1d9c0e7b3a4';
const MASK = '********';

let node: TestNode;
let rx: Receiver;
let schema: string | undefined;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function start(answer?: Parameters<typeof startReceiver>[0]): Promise<void> {
  const fresh = TEST_STORE === 'postgres' ? await freshSchema() : undefined;
  schema = fresh?.schema;
  node = await startTestNode(fresh ? { databaseUrl: fresh.url, secretKey: TEST_SECRET_KEY } : {});
  cleanup.push(async () => {
    await node.close();
    await fresh?.drop();
  });
  rx = await startReceiver(answer);
  cleanup.push(() => rx.close());
}

/**
 * Rows as the database holds them, read beside the node (not through Hookline). The embedded
 * store holds its file locked: the node stops first (a test reads them last).
 */
async function raw(sql: string): Promise<Record<string, unknown>[]> {
  if (schema) return schemaQuery(schema, sql);
  await node.hookline.close();
  const db = new Database(join(node.dataDir, 'hookline.db'), { readonly: true });
  try {
    return db.prepare(sql).all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

const body = (site: string, url: string, extra: Record<string, unknown> = {}) => ({
  metadata: { name: 'Behind a proxy', description: '', webhook_url: url, events: ['media_available'], site_ids: [site] }, ...extra,
});

describe(`a webhook's own headers (${TEST_STORE})`, () => {
  it('are sent on every attempt, sealed at rest, masked in every answer and in the attempt log', async () => {
    // The first attempt fails: the retry must carry them too.
    await start((_req, i) => (i === 0 ? { status: 503, body: 'busy', headers: { 'x-receiver': 'first' } } : { status: 200, body: '{"ok":true}', headers: { 'x-receiver': 'second', 'content-type': 'application/json' } }));
    const api = node.account.api;
    const site = node.account.siteId;
    const created = await api.post('/v2/webhooks/', body(site, rx.url, { headers: { 'X-Proxy-Token': TOKEN, 'CF-Access-Client-Id': 'client-7' } }));
    expect(created.status).toBe(201);
    expect(created.body.headers).toEqual({ 'X-Proxy-Token': MASK, 'CF-Access-Client-Id': MASK });
    expect(created.body.account_id).toBe(node.account.id);
    const id = created.body.id;
    expect((await api.get(`/v2/webhooks/${id}/`)).body.headers).toEqual({ 'X-Proxy-Token': MASK, 'CF-Access-Client-Id': MASK });
    const listed = await api.get('/v2/webhooks/');
    expect(listed.body.webhooks.find((w: { id: string }) => w.id === id).headers).toEqual({ 'X-Proxy-Token': MASK, 'CF-Access-Client-Id': MASK });
    for (const answer of [created, listed]) expect(JSON.stringify(answer.body)).not.toContain(TOKEN);

    await node.operator.post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const received = await rx.waitFor(2);
    for (const r of received) {
      expect(r.headers['x-proxy-token']).toBe(TOKEN);
      expect(r.headers['cf-access-client-id']).toBe('client-7');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['webhook-signature']).toMatch(/^v1,/);
    }

    const delivery = await until(async () => {
      const list = await api.get(`/v2/webhooks/${id}/deliveries/`);
      return list.body.deliveries.find((d: { status: string }) => d.status === 'succeeded');
    }, 10_000, 'the delivery to succeed');
    expect(delivery.test).toBe(false);
    const detail = await api.get(`/v2/deliveries/${delivery.id}/`);
    expect(detail.body.test).toBe(false);
    expect(detail.body.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 200]);
    const [first, second] = detail.body.attempts;
    for (const [attempt, r] of [[first, received[0]!], [second, received[1]!]] as const) {
      // What was sent, as sent, but for the webhook's own values.
      expect(attempt.request_headers).toEqual({
        'X-Proxy-Token': MASK, 'CF-Access-Client-Id': MASK, 'content-type': 'application/json', 'user-agent': 'Hookline/0.1',
        authorization: r.headers.authorization, 'webhook-id': delivery.id,
        'webhook-timestamp': r.headers['webhook-timestamp'], 'webhook-signature': r.headers['webhook-signature'],
      });
    }
    expect(first.response_headers).toMatchObject({ 'x-receiver': 'first' });
    expect(second.response_headers).toMatchObject({ 'x-receiver': 'second', 'content-type': 'application/json' });
    expect(second.response_body).toBe('{"ok":true}');
    expect(JSON.stringify(detail.body)).not.toContain(TOKEN);

    const [row] = await raw(`SELECT headers, header_names FROM webhooks WHERE id = '${id}'`);
    expect(row!.headers).toMatch(/^sealed\.v1\./);
    expect(String(row!.headers)).not.toContain(TOKEN);
    expect(String(row!.headers)).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 12));
    expect(JSON.parse(String(row!.header_names))).toEqual(['X-Proxy-Token', 'CF-Access-Client-Id']);
    const attempts = await raw('SELECT request_headers, response_headers FROM attempts');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(String(a.request_headers)).not.toContain(TOKEN);
  });

  it('are replaced by an update, which may keep a value by sending its mask back; a test delivery says it is one', async () => {
    await start();
    const api = node.account.api;
    const hook = await createWebhook(api, [node.account.siteId], rx.url);
    expect(hook.headers).toEqual({});
    const set = await api.patch(`/v2/webhooks/${hook.id}/`, { headers: { 'X-Proxy-Token': TOKEN } });
    expect(set.status).toBe(200);
    expect(set.body.headers).toEqual({ 'X-Proxy-Token': MASK });
    // The dashboard's way: the names as read, a new one beside them.
    const kept = await api.patch(`/v2/webhooks/${hook.id}/`, { headers: { 'x-proxy-token': MASK, 'X-Team': 'video' } });
    expect(kept.status).toBe(200);
    expect(kept.body.headers).toEqual({ 'x-proxy-token': MASK, 'X-Team': MASK });
    const unknown = await api.patch(`/v2/webhooks/${hook.id}/`, { headers: { 'X-Other': MASK } });
    expect(unknown.status).toBe(400);
    expect(unknown.body.errors.map((e: { description: string }) => e.description)).toEqual([expect.stringMatching(/^headers\.X-Other: /)]);

    expect((await api.post(`/v2/webhooks/${hook.id}/test/`, { event: 'media_available' })).status).toBe(202);
    const [got] = await rx.waitFor(1);
    expect(got!.headers['x-proxy-token']).toBe(TOKEN);
    expect(got!.headers['x-team']).toBe('video');
    const list = await until(async () => {
      const l = await api.get(`/v2/webhooks/${hook.id}/deliveries/`);
      return l.body.deliveries.length === 1 && l.body.deliveries[0].status === 'succeeded' && l.body;
    }, 10_000, 'the test delivery');
    expect(list.deliveries[0].test).toBe(true);
    expect((await api.get(`/v2/deliveries/${list.deliveries[0].id}/`)).body.test).toBe(true);

    const cleared = await api.patch(`/v2/webhooks/${hook.id}/`, { headers: null });
    expect(cleared.body.headers).toEqual({});
    await api.post(`/v2/webhooks/${hook.id}/test/`, { event: 'media_available' });
    const [, again] = await rx.waitFor(2);
    expect(again!.headers['x-proxy-token']).toBeUndefined();
    const [row] = await raw(`SELECT headers, header_names FROM webhooks WHERE id = '${hook.id}'`);
    expect(row).toEqual({ headers: null, header_names: '[]' });
  });

  it('refuses the names Hookline or HTTP set, bad names and values, too many: every one at once, and writes nothing', async () => {
    await start();
    const api = node.account.api;
    const site = node.account.siteId;
    const refused = {
      Connection: 'close', 'Keep-Alive': '1', 'Proxy-Authorization': 'x', TE: 'trailers', Trailer: 'x', 'Transfer-Encoding': 'chunked',
      Upgrade: 'h2c', Host: 'evil.test', 'Content-Length': '1', 'Content-Type': 'text/plain', Authorization: 'Bearer x',
      'Webhook-Signature': 'v1,x', 'webhook-id': 'x', 'User-Agent': 'x',
      'Bad Name': 'v', 'X-Split': 'a\r\nInjected: 1', 'X-Long': 'v'.repeat(1025), 'X-Ok': 'fine',
    };
    const res = await api.post('/v2/webhooks/', body(site, 'ftp://nowhere', { headers: refused }));
    expect(res.status).toBe(400);
    const descriptions: string[] = res.body.errors.map((e: { code: string; description: string }) => e.description);
    expect(res.body.errors.every((e: { code: string }) => e.code === 'invalid_body')).toBe(true);
    expect(descriptions[0]).toMatch(/^metadata\.webhook_url/);
    const named = descriptions.slice(1).map((d) => d.slice(0, d.indexOf(':')));
    expect(named).toEqual(Object.keys(refused).filter((n) => n !== 'X-Ok').map((n) => `headers.${n}`));
    expect((await api.get('/v2/webhooks/')).body.total).toBe(0);

    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`X-H${i}`, 'v']));
    const tooMany = await api.post('/v2/webhooks/', body(site, rx.url, { headers: many }));
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.errors).toHaveLength(1);
    expect(tooMany.body.errors[0].description).toMatch(/^headers/);
    const notText = await api.post('/v2/webhooks/', body(site, rx.url, { headers: { 'X-A': { v: 1 } } }));
    expect(notText.status).toBe(400);
    const twice = await api.post('/v2/webhooks/', body(site, rx.url, { headers: { 'X-A': 'a', 'x-a': 'b' } }));
    expect(twice.body.errors.map((e: { description: string }) => e.description)).toEqual([expect.stringMatching(/^headers\.x-a: given twice/)]);
    const big = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`X-H${i}`, 'v'.repeat(1000)]));
    const tooBig = await api.post('/v2/webhooks/', body(site, rx.url, { headers: big }));
    expect(tooBig.body.errors.map((e: { description: string }) => e.description)).toEqual([expect.stringMatching(/^headers: .* at most 8192/)]);
    expect((await api.get('/v2/webhooks/')).body.total).toBe(0);

    // An update refused leaves the stored headers as they were.
    const hook = await api.post('/v2/webhooks/', body(site, rx.url, { headers: { 'X-Proxy-Token': TOKEN } }));
    const patch = await api.patch(`/v2/webhooks/${hook.body.id}/`, { headers: { Host: 'x', 'X-New': 'n' } });
    expect(patch.status).toBe(400);
    expect((await api.get(`/v2/webhooks/${hook.body.id}/`)).body.headers).toEqual({ 'X-Proxy-Token': MASK });
  });
});

describe(`the webhook list's account filter (${TEST_STORE})`, () => {
  it("lists one account's webhooks for the operator, and refuses another account's to an account key", async () => {
    await start();
    const other = await node.operator.post('/v2/accounts/', { name: 'Other' });
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url);
    const mine = await node.operator.get(`/v2/webhooks/?account_id=${node.account.id}`);
    expect(mine.body.webhooks.map((w: { id: string; account_id: string }) => [w.id, w.account_id])).toEqual([[hook.id, node.account.id]]);
    expect((await node.operator.get(`/v2/webhooks/?account_id=${other.body.id}`)).body).toMatchObject({ webhooks: [], total: 0 });
    const refused = await node.account.api.get(`/v2/webhooks/?account_id=${other.body.id}`);
    expect(refused.status).toBe(403);
    expect((await node.account.api.get(`/v2/webhooks/?account_id=${node.account.id}`)).body.total).toBe(1);
  });
});

describe(`API keys (${TEST_STORE})`, () => {
  it('a revoked key gets 401, and the revocation is in the audit log', async () => {
    await start();
    const key = await node.operator.post(`/v2/accounts/${node.account.id}/api_keys/`, { name: 'script' });
    const api = new Api(node.url, key.body.secret);
    expect((await api.get('/v2/webhooks/')).status).toBe(200);
    expect((await node.operator.delete(`/v2/accounts/${node.account.id}/api_keys/${key.body.id}/`)).status).toBe(204);
    const after = await api.get('/v2/webhooks/');
    expect(after.status).toBe(401);
    expect(after.body.errors[0].code).toBeTruthy();
    const log = await node.operator.get(`/v2/audit_log/?account_id=${node.account.id}`);
    expect(log.body.audit_log[0]).toMatchObject({ action: 'api_key.revoked', actor: 'operator', target_id: key.body.id });
  });
});
