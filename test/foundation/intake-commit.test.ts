// Event intake when the connection to PostgreSQL is lost around the commit, cut for real by a TCP
// proxy between the node and the database: lost before COMMIT was sent, nothing is stored and
// the answer says so; lost once COMMIT was sent, the event may be stored, the answer says that,
// and a resend with the same Idempotency-Key delivers nothing twice. PostgreSQL only: the
// embedded store has no connection to lose.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  TEST_DATABASE_URL, TEST_SECRET_KEY, createWebhook, freshSchema, schemaQuery, startReceiver, startTestNode, until,
  type Receiver, type TestNode,
} from '../helpers.js';
import { tcpProxy, type TcpProxy } from '../proxy.js';

/** A simple-protocol Query message ('Q', its length, the text, a NUL), as pg sends a query without parameters. */
function simpleQuery(sql: string): Buffer {
  const text = Buffer.from(`${sql}\0`);
  const length = Buffer.alloc(4);
  length.writeInt32BE(4 + text.length);
  return Buffer.concat([Buffer.from('Q'), length, text]);
}
/** Intake's INSERT of the event, sent (in a Parse message) after the key is taken and before COMMIT. */
const EVENT_INSERT = Buffer.from('INSERT INTO events');

const cleanups: (() => Promise<unknown> | unknown)[] = [];
let schema: string;
let proxy: TcpProxy;
let node: TestNode;
let receiver: Receiver;
let hookId: string;

beforeEach(async () => {
  const fresh = await freshSchema();
  cleanups.push(() => fresh.drop());
  schema = fresh.schema;
  const target = new URL(TEST_DATABASE_URL);
  proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
  cleanups.push(() => proxy.close());
  const viaProxy = new URL(fresh.url);
  viaProxy.host = `127.0.0.1:${proxy.port}`;
  node = await startTestNode({ databaseUrl: viaProxy.toString(), secretKey: TEST_SECRET_KEY }, { store: 'postgres' });
  cleanups.push(() => node.close());
  receiver = await startReceiver();
  cleanups.push(() => receiver.close());
  hookId = (await createWebhook(node.account.api, [node.account.siteId], receiver.url)).id;
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const BODY = { event: 'media_available', media_id: 'MNYaMSQl' };
const report = (key: string) => node.operator.post(`/v2/sites/${node.account.siteId}/events/`, BODY, { 'idempotency-key': key });
const count = async (table: string) => (await schemaQuery(schema, `SELECT count(*)::int AS n FROM ${table}`))[0]!.n as number;
/** The delivery's row once its attempt is recorded. */
const recorded = () => until(async () => {
  const rows = await schemaQuery(schema, `SELECT * FROM deliveries WHERE webhook_id = $1 AND status = 'succeeded'`, [hookId]);
  return rows.length > 0 && rows;
}, 10_000, 'the delivery recorded');

describe('intake when the database connection is lost around the commit', () => {
  it('answers 503 commit_unknown when the connection is lost once COMMIT was sent; the same Idempotency-Key then answers as the first and delivers once', async () => {
    const cut = proxy.cutAt({ marker: simpleQuery('COMMIT'), when: 'after', following: EVENT_INSERT });
    const lost = await report('upload-42');
    await cut;
    expect(lost.status).toBe(503);
    expect(lost.headers.get('retry-after')).toBe('5');
    expect(lost.body).toEqual({
      errors: [{
        code: 'commit_unknown',
        description: 'the database did not confirm the commit: the event may have been recorded, and delivered; '
          + 'resend it with the same Idempotency-Key, which answers as the first time and delivers nothing new',
      }],
    });

    // PostgreSQL did commit it, and the event went out.
    const [event] = await until(async () => {
      const rows = await schemaQuery(schema, 'SELECT id FROM events');
      return rows.length > 0 && rows;
    }, 10_000, 'the event committed');
    const [delivered] = await receiver.waitFor(1);
    expect(delivered!.json.media_id).toBe('MNYaMSQl');

    // The platform resends, as told: the first answer, nothing new.
    const resent = await report('upload-42');
    expect(resent.status).toBe(202);
    expect(resent.body).toEqual({ id: event!.id, event: 'media_available', site_id: node.account.siteId, deliveries: 1 });
    const [delivery] = await recorded();
    expect(delivered!.headers['webhook-id']).toBe(delivery!.id);
    expect(delivery!.attempts).toBe(1);
    expect([await count('events'), await count('deliveries')]).toEqual([1, 1]);
    expect(receiver.received).toHaveLength(1);
  });

  it('answers 503 database_unavailable when the connection is lost before COMMIT was sent, with nothing stored; the resend delivers once', async () => {
    const cut = proxy.cutAt({ marker: EVENT_INSERT, when: 'before' });
    const lost = await report('upload-43');
    await cut;
    expect(lost.status).toBe(503);
    expect(lost.headers.get('retry-after')).toBe('5');
    expect(lost.body).toEqual({
      errors: [{ code: 'database_unavailable', description: 'the database does not answer; nothing was committed, so the request may be sent again' }],
    });
    expect([await count('events'), await count('deliveries'), await count('idempotency_keys')]).toEqual([0, 0, 0]);

    const resent = await report('upload-43');
    expect(resent.status).toBe(202);
    expect(resent.body).toMatchObject({ event: 'media_available', deliveries: 1 });
    const [delivered] = await receiver.waitFor(1);
    const [delivery] = await recorded();
    expect(delivered!.headers['webhook-id']).toBe(delivery!.id);
    expect([await count('events'), await count('deliveries')]).toEqual([1, 1]);
    expect(receiver.received).toHaveLength(1);
  });
});
