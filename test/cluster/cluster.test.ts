// Many nodes, one PostgreSQL database: `hookline start` as child processes in a schema of their
// own, API nodes and worker nodes apart, real receivers on loopback, a worker killed with
// SIGKILL mid-stream. Nothing acknowledged is lost; a killed worker repeats at most what it held.
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { verify } from '../../src/signing/verify.js';
import {
  Api, OPERATOR_KEY, TEST_DATABASE_URL, TEST_SECRET_KEY, createAccount, createWebhook, freshSchema, schemaQuery, spawnCli, startReceiver,
  startTestNode, until, type CliProcess, type Receiver,
} from '../helpers.js';
import { tcpProxy } from '../proxy.js';

const EVENTS = 400;
const WEBHOOKS = 50;
/** Each worker's in-flight bound, hence the most attempts a killed worker can leave unfinished. */
const WORKER_MAX_IN_FLIGHT = 100;
/** A worker silent this long is dead to the others, which take its webhooks. */
const NODE_TIMEOUT_S = 6;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Node {
  cli: CliProcess;
  url: string;
}

async function startNode(databaseUrl: string, role: 'api' | 'worker' | 'all', env: Record<string, string> = {}): Promise<Node> {
  const cli = spawnCli(['start', '--dev', '--port', '0', '--role', role], {
    DATABASE_URL: databaseUrl,
    HOOKLINE_SECRET_KEY: TEST_SECRET_KEY,
    HOOKLINE_OPERATOR_KEY: OPERATOR_KEY,
    HOOKLINE_RATE_LIMIT: '0',
    HOOKLINE_INTAKE_RATE_LIMIT: '0',
    HOOKLINE_LOG_LEVEL: 'warn',
    ...env,
  });
  cleanups.push(async () => {
    if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
    await cli.exited;
  });
  const [, url] = await cli.waitFor(/listening on (http:\/\/\S+)/, 20_000);
  return { cli, url: url! };
}

async function clusterSchema() {
  const schema = await freshSchema();
  cleanups.push(() => schema.drop());
  return schema;
}

describe('a cluster on one PostgreSQL database', () => {
  it(`delivers ${EVENTS} events × ${WEBHOOKS} webhooks from 2 API and 3 worker nodes, one worker killed with SIGKILL midway`, async () => {
    const { url: databaseUrl, schema } = await clusterSchema();
    const receivers: Receiver[] = [];
    // Counted as they come, so that waiting for them costs the receivers nothing.
    const ids = new Set<string>();
    let received = 0;
    const arrivals: { webhookId: string; at: number }[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await startReceiver((entry) => {
        received++;
        ids.add(entry.headers['webhook-id'] as string);
        arrivals.push({ webhookId: entry.json.webhook_id, at: Date.now() });
        return 200;
      });
      receivers.push(r);
      cleanups.push(() => r.close());
    }

    // The first node migrates and sets the operator key; the others start together after it.
    const workerEnv = {
      HOOKLINE_MAX_IN_FLIGHT: String(WORKER_MAX_IN_FLIGHT), HOOKLINE_ACCOUNT_MAX_IN_FLIGHT: String(WORKER_MAX_IN_FLIGHT),
      HOOKLINE_REQUEST_TIMEOUT: '10s', HOOKLINE_NODE_TIMEOUT: `${NODE_TIMEOUT_S}s`,
    };
    const api1 = await startNode(databaseUrl, 'api');
    const [api2, ...workers] = await Promise.all([
      startNode(databaseUrl, 'api'),
      ...[0, 1, 2].map(() => startNode(databaseUrl, 'worker', workerEnv)),
    ]);
    const operator = new Api(api1.url, OPERATOR_KEY);
    const account = await createAccount(operator, 'Cluster');
    for (let i = 0; i < WEBHOOKS; i++) {
      await createWebhook(account.api, [account.siteId], `${receivers[i % receivers.length]!.url}/${i}`, ['media_updated']);
    }

    // Events go to both API nodes, 20 at a time; each answer is a commit.
    const apis = [new Api(api1.url, OPERATOR_KEY), new Api(api2!.url, OPERATOR_KEY)];
    let killed = false;
    const start = Date.now();
    for (let i = 0; i < EVENTS; i += 20) {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, j) =>
        apis[(i + j) % 2]!.post(`/v2/sites/${account.siteId}/events/`, { event: 'media_updated', media_id: `m${i + j}` })));
      expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
      expect(answers.every((a) => a.body.deliveries === WEBHOOKS)).toBe(true);
    }
    // Midway through the deliveries, one worker dies without a word.
    await until(() => received >= (EVENTS * WEBHOOKS) / 3, 60_000, 'a third of the deliveries');
    workers[0]!.cli.child.kill('SIGKILL');
    const killedAt = Date.now();
    const perWebhookBefore = new Map<string, number>();
    for (const a of arrivals) perWebhookBefore.set(a.webhookId, (perWebhookBefore.get(a.webhookId) ?? 0) + 1);
    await workers[0]!.cli.exited;
    killed = true;

    const total = EVENTS * WEBHOOKS;
    await until(() => ids.size >= total, 90_000, `all ${total} deliveries`);
    await until(async () => {
      const [row] = await schemaQuery(schema, `SELECT count(*)::int AS n FROM deliveries WHERE status <> 'succeeded'`);
      return row!.n === 0;
    }, 20_000, 'nothing pending');

    // Every (event, webhook) pair arrived, at least once.
    const pairs = new Set(receivers.flatMap((r) => r.received.map((x) => `${x.json.media_id} ${x.json.webhook_id}`)));
    expect(pairs.size).toBe(total);
    expect(ids.size).toBe(total);
    const duplicates = received - total;
    // Takeover: the webhooks still owed deliveries at the kill, each until its first delivery
    // after it; the slowest of them are the killed worker's, waiting for its heartbeat to age.
    const firstAfter = new Map<string, number>();
    for (const a of arrivals) if (a.at > killedAt && !firstAfter.has(a.webhookId)) firstAfter.set(a.webhookId, a.at);
    const owed = [...firstAfter.keys()].filter((id) => (perWebhookBefore.get(id) ?? 0) < EVENTS);
    const takeoverMs = Math.max(...owed.map((id) => firstAfter.get(id)! - killedAt));
    console.log(`cluster: ${total} deliveries in ${Date.now() - start} ms, ${duplicates} repeated (the killed worker held at most ${WORKER_MAX_IN_FLIGHT}); `
      + `the killed worker's webhooks delivered again ${takeoverMs} ms after the kill (node timeout ${NODE_TIMEOUT_S} s)`);
    expect(takeoverMs).toBeLessThan(15_000);
    expect(killed).toBe(true);
    expect(duplicates).toBeLessThanOrEqual(WORKER_MAX_IN_FLIGHT);
  }, 180_000);

  it('runs API and worker roles apart: an api node only commits, a worker only delivers and serves its health', async () => {
    const { url: databaseUrl } = await clusterSchema();
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const api = await startNode(databaseUrl, 'api');
    const operator = new Api(api.url, OPERATOR_KEY);
    const account = await createAccount(operator, 'Roles');
    await createWebhook(account.api, [account.siteId], receiver.url, ['media_updated']);
    const sent = await operator.post(`/v2/sites/${account.siteId}/events/`, { event: 'media_updated', media_id: 'before' });
    expect(sent.status).toBe(202);
    expect((await operator.get('/readyz')).body).toEqual({ status: 'ready' });

    // No worker yet: the delivery waits, committed.
    const [hook] = (await account.api.get('/v2/webhooks/')).body.webhooks;
    const waiting = await account.api.get(`/v2/webhooks/${hook.id}/deliveries/`);
    expect(waiting.body.deliveries.map((d: any) => d.status)).toEqual(['pending']);
    expect(receiver.received).toHaveLength(0);

    const worker = await startNode(databaseUrl, 'worker');
    const health = new Api(worker.url);
    expect((await health.get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await health.get('/readyz')).body).toEqual({ status: 'ready' });
    const refused = await new Api(worker.url, OPERATOR_KEY).get('/v2/webhooks/');
    expect(refused.status).toBe(404);
    expect(refused.body.errors[0].code).toBe('not_found');

    await receiver.waitFor(1, 10_000);
    // A new event on the api node reaches the worker by NOTIFY, not by a poll of the api node.
    await operator.post(`/v2/sites/${account.siteId}/events/`, { event: 'media_updated', media_id: 'after' });
    await receiver.waitFor(2, 10_000);
    expect(receiver.received.map((r) => r.json.media_id).sort()).toEqual(['after', 'before']);

    // The worker's own counters are on its /metrics, for the operator's key only.
    const workerMetrics = new Api(worker.url, OPERATOR_KEY);
    const scraped = await until(async () => {
      const r = await workerMetrics.get('/metrics');
      // Counted as each attempt ends; the backlog once its outcome is written.
      return typeof r.body === 'string' && /^hookline_deliveries_pending 0$/m.test(r.body) && r;
    }, 10_000, 'the worker to record its 2 deliveries');
    expect(scraped.status).toBe(200);
    expect(scraped.body).toMatch(/^hookline_delivery_attempts_total\{outcome="succeeded"\} 2$/m);
    expect(scraped.body).toMatch(/^hookline_attempt_duration_seconds_count 2$/m);
    expect((await health.get('/metrics')).status).toBe(401);
    const byAccount = await new Api(worker.url, account.api.key).get('/metrics');
    expect(byAccount.status).toBe(403);
    expect(byAccount.body.errors[0].code).toBe('forbidden');
    // The api node sent nothing: its counters stay at 0.
    expect((await operator.get('/metrics')).body).toMatch(/^hookline_delivery_attempts_total\{outcome="succeeded"\} 0$/m);
  });

  it('makes a rotated secret, a revoked key and a deleted webhook count on every node as soon as they are committed', async () => {
    const { url: databaseUrl } = await clusterSchema();
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    const [api1, api2] = await Promise.all([startNode(databaseUrl, 'api'), startNode(databaseUrl, 'api'), startNode(databaseUrl, 'worker')]);
    const operator = new Api(api1.url, OPERATOR_KEY);
    const account = await createAccount(operator, 'Changes');
    const hook = await createWebhook(account.api, [account.siteId], receiver.url, ['media_updated']);
    const send = (media_id: string) => operator.post(`/v2/sites/${account.siteId}/events/`, { event: 'media_updated', media_id });

    // The worker opens the secret once and keeps it; a rotation on an API node makes it drop it.
    await send('first');
    const [first] = await receiver.waitFor(1, 10_000);
    expect(verify(first!.body, first!.headers, hook.secret)).toMatchObject({ media_id: 'first' });
    const rotated = await account.api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 0 });
    expect(rotated.status).toBe(200);
    await send('second');
    const second = (await receiver.waitFor(2, 10_000))[1]!;
    expect(verify(second.body, second.headers, rotated.body.secret)).toMatchObject({ media_id: 'second' });
    expect(() => verify(second.body, second.headers, hook.secret)).toThrow();

    // A key revoked through one API node is refused by the other at once.
    const key = await operator.post(`/v2/accounts/${account.id}/api_keys/`, { name: 'short-lived' });
    const elsewhere = new Api(api2.url, key.body.secret);
    expect((await elsewhere.get('/v2/webhooks/')).status).toBe(200);
    expect((await operator.delete(`/v2/accounts/${account.id}/api_keys/${key.body.id}/`)).status).toBe(204);
    expect((await elsewhere.get('/v2/webhooks/')).status).toBe(401);

    // A webhook deleted through one API node gets nothing more from the worker.
    expect((await new Api(api2.url, account.api.key).delete(`/v2/webhooks/${hook.id}/`)).status).toBe(204);
    expect((await send('third')).body.deliveries).toBe(0);
    expect(receiver.received.map((r) => r.json.media_id)).toEqual(['first', 'second']);
  });

  it('answers 503 on /readyz while the database is unreachable, and resumes delivering once it is back', async () => {
    const { url: databaseUrl, schema } = await clusterSchema();
    const direct = await startNode(databaseUrl, 'api');
    const operator = new Api(direct.url, OPERATOR_KEY);
    const account = await createAccount(operator, 'Outage');
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    await createWebhook(account.api, [account.siteId], receiver.url, ['media_updated']);

    // The worker reaches PostgreSQL through a proxy on loopback that the test can cut.
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(databaseUrl);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const worker = await startNode(viaProxy.toString(), 'worker');
    const health = new Api(worker.url);
    expect((await health.get('/readyz')).status).toBe(200);

    await proxy.cut();
    const down = await until(async () => {
      const r = await health.get('/readyz');
      return r.status === 503 && r;
    }, 15_000, '/readyz to answer 503');
    expect(down.body).toEqual({ errors: [{ code: 'database_unavailable', description: 'the database does not answer; nothing was committed, so the request may be sent again' }] });
    expect((await health.get('/healthz')).status).toBe(200);
    // Committed while the worker cannot see the database.
    expect((await operator.post(`/v2/sites/${account.siteId}/events/`, { event: 'media_updated', media_id: 'during' })).status).toBe(202);

    await proxy.restore();
    await until(async () => (await health.get('/readyz')).status === 200, 15_000, '/readyz to answer 200 again');
    await receiver.waitFor(1, 15_000);
    expect(receiver.received[0]!.json.media_id).toBe('during');
    await until(async () => (await schemaQuery(schema, `SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`))[0]!.n === 1,
      10_000, 'the outcome recorded');
  });
});

describe('a node cut off from its database', () => {
  it('answers 503 with Retry-After and commits nothing, backs its loads off, and resumes once the database is back', async () => {
    const { url: databaseUrl, schema } = await clusterSchema();
    const target = new URL(TEST_DATABASE_URL);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    cleanups.push(() => proxy.close());
    const viaProxy = new URL(databaseUrl);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const logs: { msg: string; retryInMs?: number }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    // random 1: each backoff is its ceiling, so that the waits can be read exactly. Each event's
    // first attempt comes 1 s after it: due while the database is cut off.
    const node = await startTestNode({ databaseUrl: viaProxy.toString(), secretKey: TEST_SECRET_KEY, retrySchedule: [1_000, 100] },
      { store: 'postgres', logger, random: () => 1 });
    cleanups.push(() => node.close());
    const receiver = await startReceiver();
    cleanups.push(() => receiver.close());
    await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_updated']);
    const send = (media_id: string) => node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_updated', media_id });
    const loadBackoffs = () => logs.filter((l) => l.msg.startsWith('loading deliveries failed')).map((l) => l.retryInMs);
    const committed = async () => (await schemaQuery(schema, 'SELECT count(*)::int AS n FROM events'))[0]!.n as number;

    expect((await send('before')).status).toBe(202);
    await proxy.cut();
    const refused = await send('during');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('5');
    expect(refused.body).toEqual({ errors: [{ code: 'database_unavailable', description: 'the database does not answer; nothing was committed, so the request may be sent again' }] });
    expect((await node.account.api.get('/v2/webhooks/')).status).toBe(503);
    // 'before' comes due: its load fails, and the engine tries again after 250 ms, then doubles each wait.
    await until(() => loadBackoffs().length >= 4, 15_000, 'four failed loads');
    expect(loadBackoffs().slice(0, 4)).toEqual([250, 500, 1_000, 2_000]);
    expect(await committed()).toBe(1);

    await proxy.restore();
    expect((await send('after')).status).toBe(202);
    await receiver.waitFor(2, 15_000);
    expect(receiver.received.map((r) => r.json.media_id).sort()).toEqual(['after', 'before']);
    expect(await committed()).toBe(2);
    await until(async () => (await schemaQuery(schema, `SELECT count(*)::int AS n FROM deliveries WHERE status = 'succeeded'`))[0]!.n === 2,
      10_000, 'the outcomes recorded');

    // A success starts the backoff afresh.
    const before = loadBackoffs().length;
    expect((await send('late')).status).toBe(202);
    await proxy.cut();
    await until(() => loadBackoffs().length > before, 15_000, 'a failed load after the second cut');
    expect(loadBackoffs()[before]).toBe(250);
    await proxy.restore();
    await receiver.waitFor(3, 15_000);
  });
});
