// The engine's small parts on their own: its settings, Retry-After, retention's batching, and
// the backoff and error classification that carry it through a database outage.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:net';
import pg from 'pg';
import { loadConfig } from '../../src/config.js';
import { Backoff } from '../../src/delivery/backoff.js';
import { KEPT_RESPONSE_HEADER_BYTES, keptHeaders, parseRetryAfter } from '../../src/delivery/sender.js';
import { Retention, RETENTION_BATCH } from '../../src/maintenance/retention.js';
import { generateSecret } from '../../src/signing/standard.js';
import { isUnavailable, storeError } from '../../src/store/postgres/errors.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { StoreUnavailable } from '../../src/store/unavailable.js';

describe('engine settings', () => {
  it('has the documented defaults, and durations in days', () => {
    expect(loadConfig([], {})).toMatchObject({
      endpointMaxInFlight: 64, nodeTimeoutMs: 10_000, breakerThreshold: 5, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * 86_400_000,
      retentionMs: 30 * 86_400_000, shutdownGraceMs: 10_000, operatorWebhookUrl: undefined, operatorWebhookSecret: undefined,
    });
    expect(loadConfig([], { HOOKLINE_AUTO_DISABLE_AFTER: '2d', HOOKLINE_RETENTION: '1.5d' })).toMatchObject({ autoDisableAfterMs: 172_800_000, retentionMs: 129_600_000 });
  });

  it('takes the operator notice URL and secret together, and a real secret', () => {
    const secret = generateSecret();
    expect(loadConfig([], { HOOKLINE_OPERATOR_WEBHOOK_URL: 'http://127.0.0.1:9/ops', HOOKLINE_OPERATOR_WEBHOOK_SECRET: secret }))
      .toMatchObject({ operatorWebhookUrl: 'http://127.0.0.1:9/ops', operatorWebhookSecret: secret });
    expect(() => loadConfig([], { HOOKLINE_OPERATOR_WEBHOOK_URL: 'http://127.0.0.1:9/ops' })).toThrow(/go together/);
    expect(() => loadConfig([], { HOOKLINE_OPERATOR_WEBHOOK_URL: 'ops', HOOKLINE_OPERATOR_WEBHOOK_SECRET: secret })).toThrow(/HOOKLINE_OPERATOR_WEBHOOK_URL: expected an http/);
    expect(() => loadConfig([], { HOOKLINE_OPERATOR_WEBHOOK_URL: 'http://127.0.0.1:9/', HOOKLINE_OPERATOR_WEBHOOK_SECRET: 'hunter2' })).toThrow(/whsec_/);
    expect(() => loadConfig([], { HOOKLINE_ENDPOINT_MAX_IN_FLIGHT: '0' })).toThrow(/HOOKLINE_ENDPOINT_MAX_IN_FLIGHT/);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and ignores anything else', () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});

describe("a response's headers as the attempt log keeps them", () => {
  it('keeps them in order, joins a repeated one, and cuts at the cap', () => {
    expect(keptHeaders({ 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'], gone: undefined })).toEqual({ 'content-type': 'text/plain', 'set-cookie': 'a=1, b=2' });
    const big = keptHeaders({ 'x-first': 'f', 'x-big': 'v'.repeat(10_000), 'x-after': 'never' });
    expect(Object.keys(big)).toEqual(['x-first', 'x-big']);
    const bytes = Object.entries(big).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    expect(bytes).toBe(KEPT_RESPONSE_HEADER_BYTES);
  });
});

describe('retention', () => {
  let store: SqliteStore;
  afterEach(() => store.close());

  it('purges batch after batch until nothing past the window is left', async () => {
    const now = Date.UTC(2026, 0, 31);
    const old = now - 40 * 86_400_000;
    store = new SqliteStore({ memory: true });
    await store.createAccount({ id: 'acct0001', name: 'a', created: old });
    await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 's', created: old });
    const n = RETENTION_BATCH * 2 + 1;
    await store.ingest(Array.from({ length: n }, (_, i) => ({
      siteId: 'site0001',
      events: [{ id: `evt_${i}`, siteId: 'site0001', event: 'media_created', ids: {}, eventTime: old, created: old }],
      idempotency: { key: `k${i}`, requestHash: 'h', answer: () => '{}' },
    })), old, { idempotencyWindowMs: 86_400_000, firstAttemptAt: old });
    const count = (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    expect([count('events'), count('idempotency_keys')]).toEqual([n, n]);
    const retention = new Retention(store, { now: () => now }, pino({ level: 'silent' }), { dataMs: 30 * 86_400_000, idempotencyMs: 86_400_000 });
    await retention.runOnce();
    expect([count('events'), count('idempotency_keys')]).toEqual([0, 0]);
  });
});

describe('riding out a database outage', () => {
  it('backs off from 250 ms, doubling to 10 s, with jitter below each step, and starts afresh after a success', () => {
    let draw = 1;
    const backoff = new Backoff(() => draw);
    expect(Array.from({ length: 8 }, () => backoff.next())).toEqual([250, 500, 1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    backoff.reset();
    draw = 0;
    expect([backoff.next(), backoff.next()]).toEqual([125, 250]);
  });

  it('tells a database that cannot be reached from a statement that is wrong', async () => {
    // A port that was just free: nothing listens there, so the connection is refused for real.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/test` });
    const refused = await client.connect().then(() => undefined, (err: unknown) => err);
    expect(isUnavailable(refused)).toBe(true);
    expect(storeError(refused)).toBeInstanceOf(StoreUnavailable);
    const wrong = Object.assign(new Error('syntax error at or near "SELEC"'), { code: '42601' });
    expect(isUnavailable(wrong)).toBe(false);
    expect(storeError(wrong)).toBe(wrong);
    expect(isUnavailable(Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }))).toBe(true);
  });
});
