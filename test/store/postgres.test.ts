// What only the shared store (PostgreSQL) does, each test in a schema of its own: worker nodes'
// heartbeats (Membership), the change feed between nodes (a NOTIFY payload that must stay under
// PostgreSQL's limit, and a store's own notifications, which its feed leaves out: it told its
// listeners in process already, with the deliveries created), a database gone silent, and the
// migration from the lease era. The store contract itself is test/store/contract.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EventRecord, PendingDelivery, StoreChange, Webhook } from '../../src/store/types.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { StoreUnavailable } from '../../src/store/unavailable.js';
import { freshSchema, schemaQuery, until, webhookRow } from '../helpers.js';
import { tcpProxy } from '../proxy.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: NOW };
let store: PostgresStore;
let url: string;
let drop: () => Promise<void>;
let schema: string;
const others: PostgresStore[] = [];

const hook = (id: string): Webhook => webhookRow(id, NOW);
const event = (id: string): EventRecord => ({ id, siteId: 'site0001', event: 'media_available', ids: { media_id: `m_${id}` }, eventTime: NOW - 5, created: NOW });

/** Another node's store on the same schema. */
async function secondNode(): Promise<PostgresStore> {
  const other = new PostgresStore({ url, poolSize: 2 });
  others.push(other);
  await other.migrate();
  return other;
}

let keys = 0;
/**
 * Waits until a feed that pushes into `heard` hears what `writer` commits (LISTEN is set up on a
 * connection of its own), and has heard everything `writer` committed before: notifications come
 * in commit order.
 */
async function feedListening(writer: PostgresStore, heard: StoreChange[]): Promise<void> {
  await until(async () => {
    const id = `key_${++keys}`;
    await writer.createApiKey({ id, accountId: 'acct0001', name: id, created: NOW }, `hash-${id}`);
    await writer.revokeApiKey('acct0001', id);
    return heard.some((c) => c.kind === 'api_key' && c.id === id);
  }, 10_000, 'the change feed to listen');
}

beforeEach(async () => {
  ({ url, drop, schema } = await freshSchema());
  store = new PostgresStore({ url, poolSize: 4 });
  await store.migrate();
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
  await store.createWebhook(hook('hook0001'), 's');
});
afterEach(async () => {
  await Promise.all(others.splice(0).map((o) => o.close()));
  await store.close();
  await drop();
});

describe('membership', () => {
  it('returns the live nodes, this one included; an old heartbeat is not live, and a node that leaves is gone', async () => {
    const membership = store.membership;
    expect(await membership.heartbeat('node_a', NOW, NOW - 10_000)).toEqual(['node_a']);
    expect(await membership.heartbeat('node_b', NOW + 1_000, NOW - 10_000)).toEqual(['node_a', 'node_b']);
    // node_a heard from at NOW, node_b at NOW + 1000: past the window, node_a is not live.
    expect(await membership.heartbeat('node_c', NOW + 5_000, NOW + 500)).toEqual(['node_b', 'node_c']);
    // A heartbeat moves its node's time, not its start.
    expect(await membership.heartbeat('node_a', NOW + 6_000, NOW + 500)).toEqual(['node_a', 'node_b', 'node_c']);
    expect(await schemaQuery(schema, 'SELECT node_id, heartbeat_at, started_at FROM nodes WHERE node_id = $1', ['node_a']))
      .toEqual([{ node_id: 'node_a', heartbeat_at: String(NOW + 6_000), started_at: String(NOW) }]);

    await membership.leave('node_b');
    await membership.leave('node_b');
    const other = await secondNode();
    expect(await other.membership.heartbeat('node_c', NOW + 7_000, NOW + 500)).toEqual(['node_a', 'node_c']);
  });
});

describe('the change feed', () => {
  it('tells the other nodes of a fan-out too wide for a NOTIFY as "any webhook", and this process of every one', async () => {
    // 120 webhooks whose ids alone take more than PostgreSQL's 8000 bytes.
    const ids = Array.from({ length: 120 }, (_, i) => `hook_${String(i).padStart(3, '0')}_${'x'.repeat(64)}`);
    for (const id of ids) await store.createWebhook(hook(id), 's');
    const other = await secondNode();
    const there: StoreChange[] = [];
    other.onChange((c) => there.push(c));
    await feedListening(store, there);
    const here: StoreChange[] = [];
    store.onChange((c) => here.push(c));

    const [outcome] = await store.ingest([{ siteId: 'site0001', events: [event('evt_wide')] }], NOW, options);
    expect(outcome).toMatchObject({ kind: 'accepted', deliveries: 121 });
    const local = here.filter((c) => c.kind === 'deliveries');
    expect(local).toHaveLength(1);
    const { webhookIds, created } = local[0] as { webhookIds: string[]; created: PendingDelivery[] };
    expect([...webhookIds].sort()).toEqual(['hook0001', ...ids].sort());
    expect(created).toHaveLength(121);
    await until(() => there.some((c) => c.kind === 'deliveries'), 5_000, 'the wide fan-out');
    expect(there.filter((c) => c.kind === 'deliveries')).toEqual([{ kind: 'deliveries', webhookIds: null }]);

    // A narrow one is told with its webhooks, still without the deliveries.
    await store.ingest([{ siteId: 'site0001', events: [event('evt_narrow')], onlyWebhookId: 'hook0001' }], NOW, options);
    await until(() => there.filter((c) => c.kind === 'deliveries').length === 2, 5_000, 'the narrow fan-out');
    expect(there.filter((c) => c.kind === 'deliveries')[1]).toEqual({ kind: 'deliveries', webhookIds: ['hook0001'] });
  });

  it('leaves out a store\'s own notifications: its listeners hear each of its writes once, right after the commit', async () => {
    const other = await secondNode();
    const here: StoreChange[] = [];
    store.onChange((c) => here.push(c));
    await feedListening(other, here);
    const there: StoreChange[] = [];
    other.onChange((c) => there.push(c));
    await feedListening(store, there);
    here.length = 0;
    there.length = 0;

    await store.ingest([{ siteId: 'site0001', events: [event('evt_1')] }], NOW, options);
    // Told in process before ingest resolves, with the delivery.
    expect(here).toEqual([{ kind: 'deliveries', webhookIds: ['hook0001'], created: [expect.objectContaining({ webhookId: 'hook0001', eventId: 'evt_1' })] }]);
    await until(() => there.length > 0, 5_000, 'the other node to hear it');
    // Notifications come in commit order: once the store hears a later commit of the other
    // node, its own notification, had it been let through, would have come first.
    await other.deleteWebhook('hook0001');
    await until(() => here.length > 1, 5_000, 'the store to hear the other node');
    expect(here.map((c) => c.kind)).toEqual(['deliveries', 'webhook']);
    // And the other node heard the store's write without its deliveries, and its own delete once.
    await feedListening(store, there);
    expect(there.filter((c) => c.kind !== 'api_key')).toEqual([{ kind: 'deliveries', webhookIds: ['hook0001'] }, { kind: 'webhook', id: 'hook0001' }]);
  });
});

describe('a database gone silent', () => {
  it('fails a call at its deadline, announcing nothing, and serves again once bytes pass', async () => {
    const target = new URL(url);
    const proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
    try {
      target.hostname = '127.0.0.1';
      target.port = String(proxy.port);
      const node = new PostgresStore({ url: target.toString(), poolSize: 2, connectTimeoutMs: 500, queryTimeoutMs: 500 });
      others.push(node);
      const heard: StoreChange[] = [];
      node.onChange((c) => heard.push(c));
      await node.ping();
      proxy.silence();

      let started = Date.now();
      await expect(node.ingest([{ siteId: 'site0001', events: [event('evt_silent')] }], NOW, options)).rejects.toBeInstanceOf(StoreUnavailable);
      expect(Date.now() - started).toBeLessThan(3_000);
      started = Date.now();
      await expect(node.ping()).rejects.toBeInstanceOf(StoreUnavailable);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(heard.filter((c) => c.kind === 'deliveries')).toEqual([]);
      expect(await store.getEvent('evt_silent')).toBeUndefined();

      proxy.speak();
      await until(() => node.ping().then(() => true, () => false), 10_000, 'the database to answer again');
      await node.ingest([{ siteId: 'site0001', events: [event('evt_back')] }], NOW, options);
      expect(heard.filter((c) => c.kind === 'deliveries')).toMatchObject([{ webhookIds: ['hook0001'], created: [{ eventId: 'evt_back' }] }]);
    } finally {
      await proxy.close();
    }
  });
});

describe('migrations', () => {
  it('migrates a schema of the lease era: retry requests become times, and the nodes table comes', async () => {
    const { url: oldUrl, drop: dropOld, schema: oldSchema } = await freshSchema();
    try {
      await schemaQuery(oldSchema, `CREATE SCHEMA ${oldSchema}`);
      await schemaQuery(oldSchema, 'CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
      for (let i = 0; i < 3; i++) {
        await schemaQuery(oldSchema, MIGRATIONS[i]!);
        await schemaQuery(oldSchema, 'INSERT INTO hookline_migrations (version, applied) VALUES ($1, 0)', [i + 1]);
      }
      await schemaQuery(oldSchema, `INSERT INTO accounts VALUES ('acct0001', 'a', 0);
        INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret, created, last_modified)
          VALUES ('hook0001', 'acct0001', 'h', '', 'http://127.0.0.1:9/', '[]', '[]', 's', 0, 0);
        INSERT INTO events VALUES ('evt_1', 'site0001', 'media_available', NULL, NULL, NULL, NULL, 0, 0);
        INSERT INTO deliveries (id, event_id, webhook_id, due_at, claimed_at, lease_owner, retry_requested, created, last_modified)
          VALUES ('msg_1', 'evt_1', 'hook0001', 60000, 0, 'node_a', true, 0, 5)`);
      const upgraded = new PostgresStore({ url: oldUrl, poolSize: 1 });
      others.push(upgraded);
      await upgraded.migrate();
      // The request that was waiting on a lease is answered by the attempt due when it ends.
      expect(await schemaQuery(oldSchema, 'SELECT retry_requested, due_at, status, claimed_at, lease_owner FROM deliveries'))
        .toEqual([{ retry_requested: '0', due_at: '60000', status: 'pending', claimed_at: null, lease_owner: null }]);
      expect(await upgraded.loadDue('hook0001', 60_000, 10)).toMatchObject({ deliveries: [{ id: 'msg_1' }], nextDueAt: null });
      expect(await upgraded.getEndpoint('hook0001')).toMatchObject({ rateLimit: null });
      expect(await upgraded.membership.heartbeat('node_a', 1, 0)).toEqual(['node_a']);
    } finally {
      await dropOld();
    }
  });
});
