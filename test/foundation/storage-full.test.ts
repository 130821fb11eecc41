// A full disk on the embedded store. SQLite's PRAGMA max_page_count makes the real engine answer
// SQLITE_FULL once the database would grow past it, as it does when the disk is full: writes
// answer 503 storage_full with Retry-After (not 500 with a stack per request), /readyz and
// /metrics say so, the engine keeps the outcomes it cannot write and backs off, the state is
// logged once when it fills and once when it has room again, and once there is room everything
// acknowledged is delivered.
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { Api, TEST_STORE, createWebhook, startReceiver, startTestNode, until } from '../helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Attempts held by the receiver while the disk fills: what the engine sends a new webhook at once. */
const HELD = 4;

interface Line {
  level: number;
  msg: string;
  err?: { stack?: string };
  [field: string]: unknown;
}

describe.skipIf(TEST_STORE !== 'sqlite')('the embedded store on a full disk', () => {
  it('answers 503 storage_full, says so on /readyz and /metrics, keeps the outcomes, logs once, and catches up once there is room', async () => {
    const logs: Line[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
    // A long request timeout: an attempt held by the receiver is not abandoned while the test
    // fills the disk.
    const node = await startTestNode({ requestTimeoutMs: 60_000 }, { store: 'sqlite', logger });
    cleanups.push(() => node.close());
    // Held until `open()`, then 200 with a body as large as Hookline keeps (4 KiB): each attempt
    // row then needs pages of its own.
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve));
    const receiver = await startReceiver(async () => {
      await opened;
      return { status: 200, body: 'x'.repeat(4096) };
    });
    cleanups.push(() => receiver.close());
    await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_updated']);
    const db = (node.hookline.store as SqliteStore).db;
    const send = (media_id: string) => node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_updated', media_id });
    const health = new Api(node.url);
    const gauge = async () => /^hookline_storage_full (\d)$/m.exec((await node.operator.get('/metrics')).body)?.[1];
    expect(await gauge()).toBe('0');

    // Acknowledged before the disk fills; sent, and held by the receiver (4: the engine starts a
    // webhook at 4 in flight).
    const acknowledged: string[] = [];
    for (let i = 0; i < HELD; i++) {
      expect((await send(`before${i}`)).status).toBe(202);
      acknowledged.push(`before${i}`);
    }
    await receiver.waitFor(HELD);

    // The disk fills: the database may not grow past its size now. Intake goes on until there is
    // no room left in the pages it has.
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
    let refused;
    for (let i = 0; i < 5_000 && !refused; i++) {
      const res = await send(`fill${i}`);
      if (res.status === 202) acknowledged.push(`fill${i}`);
      else refused = res;
    }
    expect(refused).toBeDefined();
    expect(refused!.status).toBe(503);
    expect(refused!.headers.get('retry-after')).toBe('30');
    expect(refused!.body).toEqual({ errors: [{ code: 'storage_full', description: 'the server has no room left to write; nothing was written' }] });
    expect((await send('refused')).status).toBe(503);
    const ready = await health.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.errors[0].code).toBe('storage_full');
    expect((await health.get('/healthz')).status).toBe(200);
    expect(await gauge()).toBe('1');

    // The receiver answers now: the outcomes cannot be written, so the engine keeps them and
    // backs off, quietly.
    open();
    const outcomeRetries = () => logs.filter((l) => l.msg.startsWith('recording delivery outcomes failed'));
    await until(() => outcomeRetries().length >= 3, 15_000, 'three tries at writing the outcomes');
    expect(outcomeRetries().every((l) => l.level === 20 && l.err === undefined)).toBe(true);
    const before = db.prepare(`SELECT d.status, d.attempts FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.media_id LIKE 'before%'`).all();
    expect(before).toEqual(Array(HELD).fill({ status: 'pending', attempts: 0 }));

    // Room again.
    db.pragma('max_page_count = 1073741823');
    await until(async () => (await health.get('/readyz')).status === 200, 10_000, '/readyz to answer 200 again');
    expect(await gauge()).toBe('0');
    expect((await send('after')).status).toBe(202);
    acknowledged.push('after');
    await until(() => new Set(receiver.received.map((r) => r.json.media_id)).size >= acknowledged.length, 30_000, 'every acknowledged event delivered');
    expect(new Set(receiver.received.map((r) => r.json.media_id))).toEqual(new Set(acknowledged));
    await until(() => (db.prepare(`SELECT count(*) AS n FROM deliveries WHERE status <> 'succeeded'`).get() as { n: number }).n === 0,
      15_000, 'every outcome written');
    // The outcomes kept were written as they were: the events held before the disk filled were
    // sent once each, not again.
    for (let i = 0; i < HELD; i++) expect(receiver.received.filter((r) => r.json.media_id === `before${i}`)).toHaveLength(1);

    // Logged once when the disk filled (with its cause) and once when it had room again;
    // nothing else at error level, and no stack but that first one.
    const full = logs.filter((l) => l.msg.startsWith('the disk is full'));
    expect(full).toHaveLength(1);
    expect(full[0]!.level).toBe(50);
    expect(full[0]!.err?.stack).toMatch(/SQLITE_FULL|database or disk is full/);
    expect(logs.filter((l) => l.msg.startsWith('the disk has room again'))).toHaveLength(1);
    expect(logs.filter((l) => l.level >= 50 && l !== full[0])).toEqual([]);
    expect(logs.filter((l) => l.err?.stack && l !== full[0])).toEqual([]);
  }, 90_000);
});
