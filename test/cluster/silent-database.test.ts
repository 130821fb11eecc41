// A database that goes silent: the connections stay open but no byte passes either way (a
// dropped NAT entry, a failover without a reset), so no error ever comes. The node must find it
// out by itself: /readyz answers 503 within a few seconds, requests answer 503 rather than hang,
// the engine backs off rather than wait on a load forever, and once the network passes
// bytes again (new connections work; the silenced ones never come back) it delivers everything
// acknowledged, without a restart.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  Api, TEST_DATABASE_URL, TEST_SECRET_KEY, createWebhook, freshSchema, schemaQuery, startReceiver, startTestNode, until,
} from '../helpers.js';
import { tcpProxy } from '../proxy.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A request that gives up after `ms`, so that a hang fails the test instead of stalling it. */
async function timed(api: Api, method: string, path: string, body?: unknown, ms = 20_000) {
  const started = Date.now();
  const res = await fetch(api.baseUrl + path, {
    method,
    headers: { ...(api.key ? { authorization: `Bearer ${api.key}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(ms),
  }).catch((err: Error) => {
    throw new Error(`${method} ${path}: no answer within ${ms} ms (${err.name})`);
  });
  return { status: res.status, headers: res.headers, body: await res.json(), ms: Date.now() - started };
}

describe('a node whose database goes silent', () => {
  it('answers 503 on /readyz and on intake within seconds, backs its loads off, and delivers everything acknowledged once the network is back', async () => {
    const schema = await freshSchema();
    cleanups.push(() => schema.drop());
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(schema.url);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const logs: { level: number; msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    // The default timeouts (HOOKLINE_DATABASE_CONNECT_TIMEOUT and _QUERY_TIMEOUT, 5 s each).
    // The first attempt comes 2 s after the event: while the database is silent.
    const node = await startTestNode({ databaseUrl: viaProxy.toString(), secretKey: TEST_SECRET_KEY, retrySchedule: [2_000, 100, 200] },
      { store: 'postgres', logger });
    cleanups.push(() => node.close());
    cleanups.push(() => proxy.speak()); // (before closing the node, should the test fail while silent)
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_updated']);
    const health = new Api(node.url);
    expect((await timed(health, 'GET', '/readyz')).status).toBe(200);

    // Seven events acknowledged (each 202 a commit), none attempted yet.
    const events = `/v2/sites/${node.account.siteId}/events/`;
    for (let i = 0; i < 7; i++) {
      expect((await timed(node.operator, 'POST', events, { event: 'media_updated', media_id: `before${i}` })).status).toBe(202);
    }
    proxy.silence();

    // /readyz notices within its 2 s deadline (and a little slack), and keeps saying so.
    const down = await timed(health, 'GET', '/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ errors: [{ code: 'database_unavailable', description: 'the database does not answer; nothing was committed, so the request may be sent again' }] });
    expect(down.ms).toBeLessThan(3_500);
    expect((await timed(health, 'GET', '/readyz')).status).toBe(503);
    expect((await timed(health, 'GET', '/healthz')).status).toBe(200);

    // Intake answers 503 with Retry-After once its call's deadline (or the connect timeout) has
    // passed, rather than hanging.
    const refused = await timed(node.operator, 'POST', events, { event: 'media_updated', media_id: 'during' });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body.errors[0].code).toBe('database_unavailable');
    expect(refused.ms).toBeLessThan(12_500);

    // The engine's calls end too: the deliveries come due, their load is given up at its deadline,
    // and it backs off and tries again, rather than waiting forever.
    await until(() => logs.some((l) => l.msg.startsWith('loading deliveries failed')), 20_000, 'a load given up');
    expect(receiver.received).toHaveLength(0);

    // The network passes bytes again: the connections silenced stay dead, new ones work.
    proxy.speak();
    await receiver.waitFor(7, 45_000);
    expect(receiver.received.map((r) => r.json.media_id).sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `before${i}`));
    await until(async () => (await schemaQuery(schema.schema, `SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`))[0]!.n === 7,
      20_000, 'the 7 outcomes recorded');
    await until(async () => (await timed(health, 'GET', '/readyz')).status === 200, 20_000, '/readyz to answer 200 again');
    // And it goes on working: a new event is committed and delivered.
    expect((await timed(node.operator, 'POST', events, { event: 'media_updated', media_id: 'after' })).status).toBe(202);
    await receiver.waitFor(8, 20_000);
  }, 120_000);
});
