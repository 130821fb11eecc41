// One contract, two stores: what every Store must do, run on the embedded SQLite store (project
// "sqlite") and on PostgreSQL, each test in a schema of its own (project "postgres"). The last
// part holds only for a shared store: nodes claiming at once, the change feed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ClaimedDelivery, ClaimOptions, EventRecord, HealthPolicy, IngestItem, Outcome, Store, StoreChange, Webhook } from '../../src/store/types.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { TEST_STORE, openTestStore, until } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: NOW };
const LEASE_MS = 60_000;
const LEASE: ClaimOptions = {
  leaseMs: LEASE_MS, owner: 'node_a', defaultMaxInFlight: 1_000, maxInFlightLimit: 10_000, accountMaxInFlight: 10_000, breakerThreshold: 1_000,
};
const policy: HealthPolicy = { breakerThreshold: 1_000, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * 86_400_000 };
let store: Store;
let dispose: () => Promise<void>;
let url: string | undefined;

const hook = (id: string, over: Partial<Webhook> = {}): Webhook => ({
  id, accountId: 'acct0001', name: `hook ${id}`, description: '', webhookUrl: `http://127.0.0.1:9/${id}`,
  siteIds: ['site0001'], events: ['media_available', 'media_updated'], created: NOW, lastModified: NOW,
  status: 'active', disabledReason: null, disabledAt: null, maxInFlight: null, ...over,
});
const event = (id: string, name = 'media_available', created = NOW): EventRecord =>
  ({ id, siteId: 'site0001', event: name, ids: { media_id: `m_${id}` }, eventTime: NOW - 5, created });
const item = (id: string, extra: Partial<IngestItem> = {}): IngestItem => ({ event: event(id), ...extra });
const ok = (d: ClaimedDelivery, at = NOW): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: true, nextAttemptAt: null,
  attempt: { attemptedAt: at, statusCode: 200, durationMs: 3, error: null, responseBody: 'ok' },
});
const failed = (d: ClaimedDelivery, next: number | null): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: false, nextAttemptAt: next,
  attempt: { attemptedAt: NOW, statusCode: 500, durationMs: 4, error: 'HTTP 500', responseBody: 'no' },
});

beforeEach(async () => {
  ({ store, dispose, url } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
});
afterEach(() => dispose());

describe(`the store contract (${TEST_STORE})`, () => {
  it('keeps accounts, sites and keys, and revokes a key for good', async () => {
    await store.createAccount({ id: 'acct0002', name: 'Other', created: NOW + 1 });
    expect(await store.listAccounts()).toEqual([{ id: 'acct0001', name: 'Acme', created: NOW }, { id: 'acct0002', name: 'Other', created: NOW + 1 }]);
    expect(await store.getAccount('acct0002')).toEqual({ id: 'acct0002', name: 'Other', created: NOW + 1 });
    expect(await store.getAccount('nope')).toBeUndefined();
    expect(await store.getSite('site0001')).toEqual({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
    expect(await store.listSites('acct0002')).toEqual([]);
    expect((await store.listSites(null)).map((s) => s.id)).toEqual(['site0001']);

    await store.createApiKey({ id: 'key00001', accountId: 'acct0001', name: 'cms', created: NOW }, 'hash-1');
    expect(await store.findApiKey('hash-1')).toEqual({ id: 'key00001', accountId: 'acct0001', name: 'cms', created: NOW });
    expect(await store.listApiKeys('acct0001')).toHaveLength(1);
    expect(await store.revokeApiKey('acct0002', 'key00001')).toBe(false);
    expect(await store.revokeApiKey('acct0001', 'key00001')).toBe(true);
    expect(await store.findApiKey('hash-1')).toBeUndefined();

    expect(await store.hasOperatorKey()).toBe(false);
    await store.setOperatorKey({ id: 'op000001', accountId: null, name: 'operator', created: NOW }, 'op-1');
    await store.setOperatorKey({ id: 'op000002', accountId: null, name: 'operator', created: NOW }, 'op-2');
    expect(await store.findApiKey('op-1')).toBeUndefined();
    expect(await store.findApiKey('op-2')).toMatchObject({ id: 'op000002', accountId: null });
  });

  it('keeps sessions until they expire or their key goes', async () => {
    await store.createApiKey({ id: 'key00001', accountId: 'acct0001', name: 'cms', created: NOW }, 'hash-1');
    await store.createSession('s1', { apiKeyId: 'key00001', csrfToken: 'csrf', created: NOW, expires: NOW + 1000 });
    await store.createSession('s2', { apiKeyId: 'key00001', csrfToken: 'csrf2', created: NOW, expires: NOW + 10 });
    expect(await store.findSession('s1', NOW)).toEqual({ apiKeyId: 'key00001', accountId: 'acct0001', csrfToken: 'csrf', created: NOW, expires: NOW + 1000 });
    expect(await store.findSession('s2', NOW + 10)).toBeUndefined();
    expect(await store.purgeSessions(NOW + 10)).toBe(1);
    await store.revokeApiKey('acct0001', 'key00001');
    expect(await store.findSession('s1', NOW)).toBeUndefined();
  });

  it('creates, lists in order, updates, rotates and deletes webhooks', async () => {
    for (const id of ['hook0001', 'hook0002', 'hook0003']) await store.createWebhook(hook(id), `sealed-${id}`);
    const desc = await store.listWebhooks('acct0001', { page: 1, pageLength: 2 }, false);
    expect(desc.total).toBe(3);
    expect(desc.webhooks.map((w) => w.id)).toEqual(['hook0003', 'hook0002']);
    const asc = await store.listWebhooks(null, { page: 2, pageLength: 2 }, true);
    expect(asc.webhooks.map((w) => w.id)).toEqual(['hook0003']);
    expect(await store.getWebhook('hook0001')).toEqual(hook('hook0001'));

    const updated = await store.updateWebhook('hook0001', { name: 'renamed', events: ['media_updated'] }, NOW + 5);
    expect(updated).toEqual({ ...hook('hook0001'), name: 'renamed', events: ['media_updated'], lastModified: NOW + 5 });
    expect(await store.getWebhook('hook0001')).toEqual(updated);
    expect(await store.updateWebhook('nope', { name: 'x' }, NOW)).toBeUndefined();

    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-hook0001', previous: null, previousExpiresAt: null });
    expect((await store.rotateWebhookSecret('hook0001', 'sealed-new', NOW + 100, NOW + 6))!.lastModified).toBe(NOW + 6);
    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-new', previous: 'sealed-hook0001', previousExpiresAt: NOW + 100 });
    await store.rotateWebhookSecret('hook0001', 'sealed-newer', null, NOW + 7);
    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-newer', previous: null, previousExpiresAt: null });
    expect(await store.rotateWebhookSecret('nope', 's', null, NOW)).toBeUndefined();

    expect(await store.deleteWebhook('hook0002')).toBe(true);
    expect(await store.deleteWebhook('hook0002')).toBe(false);
    expect((await store.listWebhooks('acct0001', { page: 1, pageLength: 10 }, true)).total).toBe(2);
  });

  it('adopts sealing once: secrets in clear are sealed, and a second adoption changes nothing', async () => {
    await store.createWebhook(hook('hook0001'), 'clear-secret');
    expect(await store.getSealCheck()).toBeUndefined();
    expect(await store.adoptSealing('check-1', (id, plain) => `sealed(${id},${plain})`)).toBe('check-1');
    expect((await store.getWebhookSecrets('hook0001'))!.current).toBe('sealed(hook0001,clear-secret)');
    expect(await store.adoptSealing('check-2', () => 'never')).toBe('check-1');
    expect(await store.getSealCheck()).toBe('check-1');
    expect((await store.getWebhookSecrets('hook0001'))!.current).toBe('sealed(hook0001,clear-secret)');
  });

  it('fans an event out to the subscribed webhooks only, in one commit, and keeps the event', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.createWebhook(hook('hook0002', { events: ['media_updated'] }), 's');
    await store.createWebhook(hook('hook0003', { siteIds: ['other001'] }), 's');
    const [out] = await store.ingest([item('evt_1')], NOW, options);
    expect(out).toEqual({ kind: 'accepted', eventId: 'evt_1', deliveries: 1 });
    expect(await store.getEvent('evt_1')).toEqual(event('evt_1'));
    const { deliveries, total } = await store.listDeliveries('hook0001', {}, { page: 1, pageLength: 10 });
    expect(total).toBe(1);
    expect(deliveries[0]).toMatchObject({ eventId: 'evt_1', event: 'media_available', webhookId: 'hook0001', status: 'pending', attempts: 0, nextAttemptAt: NOW });
    expect(deliveries[0]!.id).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(await store.getDelivery(deliveries[0]!.id)).toEqual(deliveries[0]);

    // A test event goes to one webhook, whatever it subscribes to.
    const [test] = await store.ingest([item('evt_2', { onlyWebhookId: 'hook0003' })], NOW, options);
    expect(test).toEqual({ kind: 'accepted', eventId: 'evt_2', deliveries: 1 });
    // A webhook that stops listening gets nothing new.
    await store.updateWebhook('hook0001', { events: ['media_updated'] }, NOW);
    expect((await store.ingest([item('evt_3')], NOW, options))[0]).toMatchObject({ deliveries: 0 });
  });

  it('answers a repeated idempotency key with the first answer, a changed body with a conflict, and forgets old keys', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const key = { key: 'k1', requestHash: 'h1' };
    const outcomes = await store.ingest([item('evt_1', { idempotency: key }), item('evt_2', { idempotency: key })], NOW, options);
    expect(outcomes).toEqual([{ kind: 'accepted', eventId: 'evt_1', deliveries: 1 }, { kind: 'repeat', eventId: 'evt_1', deliveries: 1 }]);
    expect(await store.ingest([item('evt_3', { idempotency: { key: 'k1', requestHash: 'h2' } })], NOW + 1, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getEvent('evt_2')).toBeUndefined();
    const later = NOW + options.idempotencyWindowMs + 1;
    expect(await store.ingest([item('evt_4', { idempotency: { key: 'k1', requestHash: 'h2' } })], later, options))
      .toEqual([{ kind: 'accepted', eventId: 'evt_4', deliveries: 1 }]);
  });

  it('claims due deliveries with a lease, records outcomes and attempts, and schedules retries', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1'), item('evt_2'), item('evt_3')], NOW, { ...options, firstAttemptAt: NOW });
    expect(await store.nextDueAt(NOW - 1, LEASE)).toBe(NOW);
    expect(await store.claimDue(NOW - 1, 10, LEASE)).toEqual([]);

    const claimed = await store.claimDue(NOW, 2, LEASE);
    expect(claimed).toHaveLength(2);
    expect(claimed[0]).toMatchObject({
      webhookId: 'hook0001', webhookUrl: 'http://127.0.0.1:9/hook0001', attempts: 0, lastChance: false,
      facts: { event: 'media_available', siteId: 'site0001', eventTime: NOW - 5 },
    });
    // Leased: not due again until the lease runs out.
    const rest = await store.claimDue(NOW, 10, LEASE);
    expect(rest).toHaveLength(1);
    expect(await store.claimDue(NOW + LEASE_MS - 1, 10, LEASE)).toEqual([]);

    await store.recordOutcomes([ok(claimed[0]!), failed(claimed[1]!, NOW + 500), failed(rest[0]!, null)], NOW + 10, policy);
    expect(await store.getDelivery(claimed[0]!.id)).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, nextAttemptAt: null, lastModified: NOW + 10 });
    expect(await store.getDelivery(claimed[1]!.id)).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, nextAttemptAt: NOW + 500 });
    expect(await store.getDelivery(rest[0]!.id)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
    expect(await store.listAttempts(claimed[0]!.id)).toEqual([{ attemptedAt: NOW, statusCode: 200, durationMs: 3, error: null, responseBody: 'ok' }]);
    expect(await store.nextDueAt(NOW + 10, LEASE)).toBe(NOW + 500);

    const retry = await store.claimDue(NOW + 500, 10, LEASE);
    expect(retry.map((d) => [d.id, d.attempts])).toEqual([[claimed[1]!.id, 1]]);

    // A manual retry of a failed delivery: one more attempt, the last.
    expect(await store.retryDelivery(rest[0]!.id, NOW + 600)).toBe(true);
    expect(await store.retryDelivery('msg_nope', NOW)).toBe(false);
    const [again] = await store.claimDue(NOW + 600, 10, LEASE);
    expect(again).toMatchObject({ id: rest[0]!.id, lastChance: true, attempts: 1 });
    await store.recordOutcomes([ok(again!, NOW + 600)], NOW + 601, policy);
    expect(await store.listAttempts(again!.id)).toHaveLength(2);

    const stats = await store.webhookStats('hook0001', NOW);
    expect(stats).toMatchObject({ pending: 1, succeeded: 2, failed: 0 });
    expect(stats.lastAttempted!.webhookId).toBe('hook0001');
    expect((await store.listDeliveries('hook0001', { status: 'succeeded' }, { page: 1, pageLength: 10 })).total).toBe(2);
    expect((await store.listDeliveries('hook0001', { event: 'media_updated' }, { page: 1, pageLength: 10 })).total).toBe(0);
  });

  it('lets a lease run out so that another dispatcher takes the delivery, and hands back leases on demand', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1'), item('evt_2')], NOW, options);
    const first = await store.claimDue(NOW, 10, LEASE);
    expect(first).toHaveLength(2);
    const after = await store.claimDue(NOW + LEASE_MS, 1, LEASE);
    expect(after).toHaveLength(1);
    expect(await store.releaseLeases(NOW + LEASE_MS + 1)).toBe(2);
    expect(await store.claimDue(NOW + LEASE_MS + 1, 10, LEASE)).toHaveLength(2);
  });

  it('holds a manual retry of a delivery in flight until its attempt ends, then makes it due once more', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1'), item('evt_2')], NOW, options);
    const [first, second] = await store.claimDue(NOW, 10, LEASE);

    // Retried (twice) while leased: the lease stays, so nothing is claimed again meanwhile.
    expect(await store.retryDelivery(first!.id, NOW + 1)).toBe(true);
    expect(await store.retryDelivery(first!.id, NOW + 2)).toBe(true);
    expect(await store.claimDue(NOW + 3, 10, LEASE)).toEqual([]);
    // The attempt succeeded, yet the retry asked for one more: due at once, its last chance.
    await store.recordOutcomes([ok(first!, NOW + 4)], NOW + 5, policy);
    expect(await store.getDelivery(first!.id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: NOW + 5 });
    const [again] = await store.claimDue(NOW + 5, 10, LEASE);
    expect(again).toMatchObject({ id: first!.id, attempts: 1, lastChance: true });
    await store.recordOutcomes([ok(again!, NOW + 6)], NOW + 7, policy);
    expect(await store.getDelivery(first!.id)).toMatchObject({ status: 'succeeded', attempts: 2 });

    // An attempt that fails with retries left: the requested one comes now, not at the schedule's time.
    expect(await store.retryDelivery(second!.id, NOW + 8)).toBe(true);
    await store.recordOutcomes([failed(second!, NOW + 5_000)], NOW + 9, policy);
    expect(await store.getDelivery(second!.id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: NOW + 9 });
    const [retried] = await store.claimDue(NOW + 9, 10, LEASE);
    expect(retried).toMatchObject({ id: second!.id, lastChance: false });
    // An attempt that starts after the request answers it: its outcome asks for nothing more.
    await store.recordOutcomes([ok(retried!, NOW + 10)], NOW + 11, policy);
    expect(await store.getDelivery(second!.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
  });

  it('retries a delivery whose lease ran out at once, and its late outcome asks for nothing more', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1')], NOW, options);
    const [claimed] = await store.claimDue(NOW, 10, LEASE);
    expect(await store.retryDelivery(claimed!.id, NOW + LEASE_MS)).toBe(true);
    const [again] = await store.claimDue(NOW + LEASE_MS, 10, LEASE);
    expect(again).toMatchObject({ id: claimed!.id, lastChance: false });
    await store.recordOutcomes([ok(again!, NOW + LEASE_MS + 1)], NOW + LEASE_MS + 2, policy);
    expect(await store.getDelivery(claimed!.id)).toMatchObject({ status: 'succeeded' });
  });

  it('drops the deliveries of a deleted webhook; outcomes recorded after that change nothing', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1')], NOW, options);
    const [claimed] = await store.claimDue(NOW, 10, LEASE);
    await store.deleteWebhook('hook0001');
    await store.recordOutcomes([ok(claimed!)], NOW + 1, policy);
    expect(await store.getDelivery(claimed!.id)).toBeUndefined();
    expect(await store.listAttempts(claimed!.id)).toEqual([]);
    expect(await store.nextDueAt(NOW + 1, LEASE)).toBeNull();
  });

  it('holds an account to its share of each node\'s places, whatever its webhooks\' caps, and serves the others', async () => {
    await store.createAccount({ id: 'acct0002', name: 'Other', created: NOW });
    await store.createSite({ id: 'site0002', accountId: 'acct0002', name: 'Other TV', created: NOW });
    await store.createWebhook(hook('hook0001', { maxInFlight: 50 }), 's');
    await store.createWebhook(hook('hook0002', { maxInFlight: 50 }), 's');
    await store.createWebhook(hook('hook0003', { accountId: 'acct0002', siteIds: ['site0002'] }), 's');
    await store.ingest(Array.from({ length: 20 }, (_, i) => item(`evt_${i}`)), NOW, options);
    const share: ClaimOptions = { ...LEASE, accountMaxInFlight: 6 };

    // acct0001 has 40 deliveries due and room for 100 at its webhooks, but 6 places on this node.
    const first = await store.claimDue(NOW, 100, share);
    expect(first.map((d) => d.webhookId).sort()).toEqual([...Array(3).fill('hook0001'), ...Array(3).fill('hook0002')]);
    expect(await store.claimDue(NOW, 100, share)).toEqual([]);
    // Full on this node, its next chance is its first lease to run out (or an attempt ending).
    expect(await store.nextDueAt(NOW, share)).toBe(NOW + LEASE_MS);
    // Another node's places are its own: the account holds its share there too.
    expect(await store.claimDue(NOW, 100, { ...share, owner: 'node_b' })).toHaveLength(6);

    // The other account's deliveries still go out here.
    await store.ingest([1, 2].map((n) => ({ event: { ...event(`evt_b${n}`), siteId: 'site0002' } })), NOW + 1, options);
    expect(await store.nextDueAt(NOW + 1, share)).toBe(NOW);
    const other = await store.claimDue(NOW + 1, 100, share);
    expect(other.map((d) => d.webhookId)).toEqual(['hook0003', 'hook0003']);

    // An attempt that ends frees one place of the share, and no more.
    await store.recordOutcomes([ok(first[0]!)], NOW + 2, policy);
    expect(await store.nextDueAt(NOW + 2, share)).toBe(NOW);
    expect(await store.claimDue(NOW + 2, 100, share)).toHaveLength(1);
    expect(await store.claimDue(NOW + 2, 100, share)).toEqual([]);
  });

  it('commits a fact all or nothing, with optimistic versions and keys', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const fact = (version: number, key?: string) => ({
      siteId: 'site0001', writes: [{ kind: 'media' as const, id: 'm1', state: { v: version + 1 }, version }],
      events: [event(`evt_v${version}${key ?? ''}`, 'media_updated')],
      idempotency: key ? { key, requestHash: 'h', answer: '{"a":1}' } : undefined,
    });
    expect(await store.commitFact(fact(0, 'k'), NOW, options)).toEqual({ deliveries: 1 });
    expect(await store.getPlatformObject('site0001', 'media', 'm1')).toEqual({ kind: 'media', id: 'm1', state: { v: 1 }, version: 1 });
    expect(await store.findFactAnswer('site0001', 'k', NOW - 1)).toEqual({ requestHash: 'h', answer: '{"a":1}' });
    expect(await store.commitFact(fact(0), NOW, options)).toBe('stale');
    expect(await store.commitFact(fact(1, 'k'), NOW, options)).toBe('stale');
    expect(await store.getEvent('evt_v1k')).toBeUndefined();
    expect(await store.commitFact(fact(1), NOW, options)).toEqual({ deliveries: 1 });
    expect((await store.getPlatformObject('site0001', 'media', 'm1'))!.version).toBe(2);
  });

  it('keeps the audit log, newest first, per account', async () => {
    const entry = (id: string, accountId: string | null, created: number) => ({
      id, accountId, actor: 'account' as const, keyId: 'key00001', action: 'webhook.created', targetType: 'webhook', targetId: 'hook0001', ip: '127.0.0.1', created,
    });
    await store.appendAudit(entry('a1', 'acct0001', NOW));
    await store.appendAudit(entry('a2', null, NOW));
    await store.appendAudit(entry('a3', 'acct0001', NOW + 1));
    expect((await store.listAudit(null, { page: 1, pageLength: 10 })).entries.map((e) => e.id)).toEqual(['a3', 'a2', 'a1']);
    const mine = await store.listAudit('acct0001', { page: 1, pageLength: 1 });
    expect(mine).toEqual({ entries: [entry('a3', 'acct0001', NOW + 1)], total: 2 });
  });
});

describe.runIf(TEST_STORE === 'postgres')('a shared store (PostgreSQL)', () => {
  /** A second node's store on the same schema. */
  async function secondNode(): Promise<PostgresStore> {
    const other = new PostgresStore({ url: url!, poolSize: 4 });
    await other.migrate();
    return other;
  }

  it('migrates once when several nodes start at the same time', async () => {
    const nodes = Array.from({ length: 4 }, () => new PostgresStore({ url: url!, poolSize: 2 }));
    try {
      await Promise.all(nodes.map((n) => n.migrate()));
      const { rows } = await nodes[0]!.pool.query('SELECT version FROM hookline_migrations ORDER BY version');
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });

  it('never hands one delivery to two nodes claiming at once', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest(Array.from({ length: 300 }, (_, i) => item(`evt_${i}`)), NOW, options);
    const others = await Promise.all([secondNode(), secondNode()]);
    try {
      const nodes = [store, ...others];
      const claimed: string[] = [];
      for (let round = 0; round < 10; round++) {
        const batches = await Promise.all(nodes.map((n) => n.claimDue(NOW, 20, LEASE)));
        for (const b of batches) claimed.push(...b.map((d) => d.id));
      }
      expect(claimed).toHaveLength(300);
      expect(new Set(claimed).size).toBe(300);
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('holds a webhook to its cap across nodes claiming at once, counting every node\'s leases', async () => {
    await store.createWebhook(hook('hook0001', { maxInFlight: 5 }), 's');
    await store.createWebhook(hook('hook0002'), 's');
    await store.ingest(Array.from({ length: 40 }, (_, i) => item(`evt_${i}`)), NOW, options);
    const others = await Promise.all([secondNode(), secondNode(), secondNode()]);
    try {
      const nodes = [store, ...others];
      const claimed = (await Promise.all(nodes.map((n, i) => n.claimDue(NOW, 3, { ...LEASE, owner: `node_${i}` })))).flat();
      expect(claimed.filter((d) => d.webhookId === 'hook0001').length).toBeLessThanOrEqual(5);
      const more = (await Promise.all(nodes.map((n) => n.claimDue(NOW + 1, 100, LEASE)))).flat();
      expect([...claimed, ...more].filter((d) => d.webhookId === 'hook0001')).toHaveLength(5);
      expect(new Set([...claimed, ...more].map((d) => d.id)).size).toBe(claimed.length + more.length);
      // A disabled webhook gets nothing from any node once the change is committed.
      await others[0]!.updateWebhook('hook0002', { status: 'disabled', disabledReason: 'by hand' }, NOW);
      await store.releaseLeases(NOW + 2);
      const after = (await Promise.all(nodes.map((n) => n.claimDue(NOW + 2, 100, LEASE)))).flat();
      expect(after.map((d) => d.webhookId)).toEqual(Array(5).fill('hook0001'));
    } finally {
      await Promise.all(others.map((o) => o.close()));
    }
  });

  it('accepts a racing idempotency key once, whichever node commits first', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const other = await secondNode();
    try {
      const key = { key: 'race', requestHash: 'h' };
      const outcomes = (await Promise.all([
        store.ingest([item('evt_a', { idempotency: key })], NOW, options),
        other.ingest([item('evt_b', { idempotency: key })], NOW, options),
      ])).flat();
      expect(outcomes.filter((o) => o.kind === 'accepted')).toHaveLength(1);
      expect(outcomes.filter((o) => o.kind === 'repeat')).toHaveLength(1);
      expect((await store.listDeliveries('hook0001', {}, { page: 1, pageLength: 10 })).total).toBe(1);
    } finally {
      await other.close();
    }
  });

  it('tells every node of committed deliveries, webhook changes and revoked keys', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.createApiKey({ id: 'key00001', accountId: 'acct0001', name: 'cms', created: NOW }, 'hash-1');
    const other = await secondNode();
    try {
      const heard: StoreChange[] = [];
      other.onChange((change) => heard.push(change));
      // LISTEN is set up on the feed's own connection: wait until a change gets through.
      await until(async () => {
        await store.ingest([item(`evt_${heard.length}_${Date.now()}`)], NOW, options);
        return heard.some((c) => c.kind === 'deliveries');
      }, 10_000, 'the change feed to listen');
      await store.updateWebhook('hook0001', { name: 'x' }, NOW);
      await store.rotateWebhookSecret('hook0001', 's2', null, NOW);
      await store.revokeApiKey('acct0001', 'key00001');
      await store.deleteWebhook('hook0001');
      await until(() => heard.filter((c) => c.kind !== 'deliveries').length >= 4, 5_000, 'the changes');
      expect(heard.filter((c) => c.kind !== 'deliveries')).toEqual([
        { kind: 'webhook', id: 'hook0001' }, { kind: 'webhook', id: 'hook0001' },
        { kind: 'api_key', id: 'key00001' }, { kind: 'webhook', id: 'hook0001' },
      ]);
    } finally {
      await other.close();
    }
  });

  it('sends no change of a transaction that rolls back', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const other = await secondNode();
    try {
      const heard: StoreChange[] = [];
      other.onChange((change) => heard.push(change));
      await until(async () => {
        await store.updateWebhook('hook0001', { name: `n${Date.now()}` }, NOW);
        return heard.length > 0;
      }, 10_000, 'the change feed to listen');
      heard.length = 0;
      // A stale fact rolls back its events and their deliveries: no wake-up for them.
      await store.commitFact({ siteId: 'site0001', writes: [{ kind: 'media', id: 'm', state: {}, version: 3 }], events: [event('evt_x')] }, NOW, options);
      await store.deleteWebhook('hook0001');
      await until(() => heard.length > 0, 5_000, 'the delete');
      expect(heard).toEqual([{ kind: 'webhook', id: 'hook0001' }]);
    } finally {
      await other.close();
    }
  });

  it('answers ping while the database is up, and throws once it is gone', async () => {
    const pg = store as PostgresStore;
    await pg.ping();
    const other = await secondNode();
    await other.close();
    await expect(other.ping()).rejects.toThrow();
  });
});
