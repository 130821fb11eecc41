// One contract, two stores: what every Store must do, run on the embedded SQLite store (project
// "sqlite") and on PostgreSQL, each test in a schema of its own (project "postgres"): the ports,
// what the engine loads and writes, the changes each write announces once committed, and the
// membership of nodes (a shared store's). The last part holds only for a shared store: several
// nodes at once, the change feed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import type { EventRecord, HealthPolicy, IngestItem, Outcome, PendingDelivery, StoreChange, Webhook } from '../../src/store/types.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { TEST_STORE, openTestStore, until, webhookRow } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const options = { idempotencyWindowMs: DAY, firstAttemptAt: NOW };
const policy: HealthPolicy = { breakerThreshold: 1_000, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * 86_400_000 };
let store: Store;
let dispose: () => Promise<void>;
let url: string | undefined;

const hook = (id: string, over: Partial<Webhook> = {}): Webhook => webhookRow(id, NOW, { events: ['media_available', 'media_updated'], ...over });
const event = (id: string, name = 'media_available', created = NOW): EventRecord =>
  ({ id, siteId: 'site0001', event: name, ids: { media_id: `m_${id}` }, eventTime: NOW - 5, created });
const item = (id: string, extra: Partial<IngestItem> = {}): IngestItem => ({ siteId: 'site0001', events: [event(id)], ...extra });
/** An Idempotency-Key whose kept answer names the event and the deliveries it made. */
const keyed = (key: string, requestHash: string, eventId: string) => ({ key, requestHash, answer: (deliveries: number) => JSON.stringify({ eventId, deliveries }) });
/** A fact about media m1 read at `version`, with its events, and its key if any. */
const fact = (version: number, events: EventRecord[], key?: string, requestHash = 'h'): IngestItem => ({
  siteId: 'site0001', writes: [{ kind: 'media', id: 'm1', state: { v: version + 1 }, version }], events,
  idempotency: key ? { key, requestHash, answer: () => '{"a":1}' } : undefined,
});
const ok = (d: PendingDelivery, at = NOW): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: true, nextAttemptAt: null,
  attempt: {
    attemptedAt: at, statusCode: 200, durationMs: 3, error: null, responseBody: 'ok',
    requestHeaders: { 'webhook-id': d.id, 'x-proxy-token': '********' }, responseHeaders: { 'content-type': 'text/plain', server: 'r' },
  },
});
const failed = (d: PendingDelivery, next: number | null, at = NOW, statusCode = 500): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: false, nextAttemptAt: next,
  attempt: { attemptedAt: at, statusCode, durationMs: 4, error: `HTTP ${statusCode}`, responseBody: 'no', requestHeaders: null, responseHeaders: null },
});

/** The deliveries of `webhookId` due at `at`, in the order the engine is to send them. */
const due = async (webhookId: string, at = NOW, limit = 100) => (await store.loadDue(webhookId, at, limit)).deliveries;

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
    expect(await store.findSession('s1', NOW)).toEqual({ apiKeyId: 'key00001', accountId: 'acct0001', csrfToken: 'csrf', created: NOW, expires: NOW + 1000, portal: false, readOnly: false });
    expect(await store.findSession('s2', NOW + 10)).toBeUndefined();
    expect(await store.purgeSessions(NOW + 10)).toBe(1);
    await store.revokeApiKey('acct0001', 'key00001');
    expect(await store.findSession('s1', NOW)).toBeUndefined();
  });

  it('opens a portal link once, into a session of its account that ends when it says, and forgets it when its key goes', async () => {
    await store.setOperatorKey({ id: 'op000001', accountId: null, name: 'operator', created: NOW }, 'op-hash');
    const link = { apiKeyId: 'op000001', accountId: 'acct0001', created: NOW, expires: NOW + 300_000, sessionExpires: NOW + 3_600_000 };
    await store.createPortalToken('t-hash', { ...link, readOnly: true });
    const opened = await store.openPortalSession('t-hash', 'ps1', 'csrf-p', NOW + 10);
    const session = { apiKeyId: 'op000001', accountId: 'acct0001', csrfToken: 'csrf-p', created: NOW + 10, expires: NOW + 3_600_000, portal: true, readOnly: true };
    expect(opened).toEqual(session);
    expect(await store.findSession('ps1', NOW + 20)).toEqual(session);
    // Once: the token is gone, and a second open makes no session.
    expect(await store.openPortalSession('t-hash', 'ps2', 'csrf-2', NOW + 20)).toBeUndefined();
    expect(await store.findSession('ps2', NOW + 20)).toBeUndefined();
    // Concurrent opens of one link: one session at most.
    await store.createPortalToken('race', { ...link, readOnly: false });
    const raced = await Promise.all(['r1', 'r2', 'r3', 'r4'].map((id) => store.openPortalSession('race', id, 'c', NOW + 30)));
    expect(raced.filter(Boolean)).toHaveLength(1);
    expect(raced.find(Boolean)).toMatchObject({ portal: true, readOnly: false, accountId: 'acct0001' });
    // A link past its expiry opens nothing, and is purged with expired sessions.
    await store.createPortalToken('late', { ...link, readOnly: false });
    expect(await store.openPortalSession('late', 'ps3', 'c', NOW + 300_000)).toBeUndefined();
    await store.createPortalToken('stale', { ...link, readOnly: false });
    expect(await store.purgeSessions(NOW + 300_000)).toBe(2); // late and stale
    expect(await store.openPortalSession('stale', 'ps4', 'c', NOW + 1)).toBeUndefined();
    // The session ends at its link's sessionExpires.
    expect(await store.findSession('ps1', NOW + 3_600_000)).toBeUndefined();
    // Replacing the operator key that made them ends its portal sessions and voids its links.
    await store.createPortalToken('pending', { ...link, readOnly: false });
    await store.setOperatorKey({ id: 'op000002', accountId: null, name: 'operator', created: NOW }, 'op-hash-2');
    expect(await store.findSession('ps1', NOW + 20)).toBeUndefined();
    expect(await store.openPortalSession('pending', 'ps5', 'c', NOW + 20)).toBeUndefined();
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

    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-hook0001', previous: null, previousExpiresAt: null, headers: null });
    expect((await store.rotateWebhookSecret('hook0001', 'sealed-new', NOW + 100, NOW + 6))!.lastModified).toBe(NOW + 6);
    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-new', previous: 'sealed-hook0001', previousExpiresAt: NOW + 100, headers: null });
    await store.rotateWebhookSecret('hook0001', 'sealed-newer', null, NOW + 7);
    expect(await store.getWebhookSecrets('hook0001')).toEqual({ current: 'sealed-newer', previous: null, previousExpiresAt: null, headers: null });
    expect(await store.rotateWebhookSecret('nope', 's', null, NOW)).toBeUndefined();

    expect(await store.deleteWebhook('hook0002')).toBe(true);
    expect(await store.deleteWebhook('hook0002')).toBe(false);
    expect((await store.listWebhooks('acct0001', { page: 1, pageLength: 10 }, true)).total).toBe(2);
  });

  it("keeps a webhook's own headers: names in clear, the sealed value as given, replaced as a whole by an update", async () => {
    await store.createWebhook(hook('hook0001', { headerNames: ['X-Proxy-Token', 'X-Team'] }), 'sealed-secret', 'sealed-headers');
    expect(await store.getWebhook('hook0001')).toEqual(hook('hook0001', { headerNames: ['X-Proxy-Token', 'X-Team'] }));
    expect((await store.getWebhookSecrets('hook0001'))!.headers).toBe('sealed-headers');
    // An update that leaves the headers out keeps them.
    await store.updateWebhook('hook0001', { name: 'renamed' }, NOW + 1);
    expect((await store.getWebhookSecrets('hook0001'))!.headers).toBe('sealed-headers');
    const updated = await store.updateWebhook('hook0001', { headers: { names: ['X-Other'], sealed: 'sealed-other' } }, NOW + 2);
    expect(updated).toMatchObject({ headerNames: ['X-Other'], lastModified: NOW + 2 });
    expect(await store.getWebhookSecrets('hook0001')).toMatchObject({ current: 'sealed-secret', headers: 'sealed-other' });
    await store.updateWebhook('hook0001', { headers: { names: [], sealed: null } }, NOW + 3);
    expect(await store.getWebhook('hook0001')).toMatchObject({ headerNames: [] });
    expect((await store.getWebhookSecrets('hook0001'))!.headers).toBeNull();
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
    expect(out).toEqual({ kind: 'accepted', deliveries: 1 });
    expect(await store.getEvent('evt_1')).toEqual(event('evt_1'));
    const { deliveries, total } = await store.listDeliveries('hook0001', {}, { page: 1, pageLength: 10 });
    expect(total).toBe(1);
    expect(deliveries[0]).toMatchObject({ eventId: 'evt_1', event: 'media_available', webhookId: 'hook0001', status: 'pending', attempts: 0, nextAttemptAt: NOW });
    expect(deliveries[0]!.id).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(await store.getDelivery(deliveries[0]!.id)).toEqual(deliveries[0]);

    // A test event goes to one webhook, whatever it subscribes to.
    const [test] = await store.ingest([item('evt_2', { onlyWebhookId: 'hook0003' })], NOW, options);
    expect(test).toEqual({ kind: 'accepted', deliveries: 1 });
    // A webhook that stops listening gets nothing new.
    await store.updateWebhook('hook0001', { events: ['media_updated'] }, NOW);
    expect((await store.ingest([item('evt_3')], NOW, options))[0]).toMatchObject({ deliveries: 0 });
  });

  it('loads a webhook\'s due deliveries by due time then commit order, up to a limit, with when the next comes due', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.createWebhook(hook('hook0002', { events: ['media_updated'] }), 's');
    expect(await store.loadDue('hook0001', NOW, 10)).toEqual({ deliveries: [], nextDueAt: null });
    await store.ingest([item('evt_late')], NOW, { ...options, firstAttemptAt: NOW + 10 });
    // Committed one after the other, all due at NOW and created at NOW: commit order decides.
    for (const id of ['evt_b', 'evt_c', 'evt_d']) await store.ingest([item(id)], NOW, options);
    await store.ingest(['evt_e', 'evt_f', 'evt_g', 'evt_h', 'evt_i'].map((id) => item(id)), NOW, options);
    await store.ingest([item('evt_early')], NOW, { ...options, firstAttemptAt: NOW - 5 });
    await store.ingest([item('evt_later')], NOW, { ...options, firstAttemptAt: NOW + 20 });
    // Another webhook's deliveries are not this one's.
    await store.ingest([item('evt_other', { onlyWebhookId: 'hook0002' })], NOW, { ...options, firstAttemptAt: NOW - 100 });

    const order = ['evt_early', 'evt_b', 'evt_c', 'evt_d', 'evt_e', 'evt_f', 'evt_g', 'evt_h', 'evt_i'];
    const all = await store.loadDue('hook0001', NOW, 100);
    expect(all.deliveries.map((d) => d.eventId)).toEqual(order);
    expect(all.nextDueAt).toBe(NOW + 10);
    expect(all.deliveries[1]).toEqual({
      id: expect.stringMatching(/^msg_[0-9a-f]{24}$/), eventId: 'evt_b', webhookId: 'hook0001', attempts: 0, lastChance: false, dueAt: NOW, orderKey: null,
      facts: { event: 'media_available', siteId: 'site0001', eventTime: NOW - 5, ids: { media_id: 'm_evt_b' } },
    });
    // Writes nothing: the same again, and a limit takes the first ones.
    expect(await store.loadDue('hook0001', NOW, 100)).toEqual(all);
    expect(await store.loadDue('hook0001', NOW, 3)).toEqual({ deliveries: all.deliveries.slice(0, 3), nextDueAt: NOW + 10 });
    expect((await store.loadDue('hook0001', NOW + 10, 100)).deliveries.map((d) => d.eventId)).toEqual([...order, 'evt_late']);
    expect(await store.loadDue('hook0001', NOW + 20, 100)).toMatchObject({ deliveries: { length: 11 }, nextDueAt: null });
    expect((await due('hook0002')).map((d) => d.eventId)).toEqual(['evt_other']);

    // Only pending deliveries: succeeded and failed ones are done, a retry comes due at its time.
    const [early, b, c] = all.deliveries;
    await store.recordOutcomes([ok(early!), failed(b!, null), failed(c!, NOW + 5)], NOW, policy);
    const after = await store.loadDue('hook0001', NOW, 100);
    expect(after.deliveries.map((x) => x.eventId)).toEqual(order.slice(3));
    expect(after.nextDueAt).toBe(NOW + 5);
    const retried = await due('hook0001', NOW + 5);
    expect(retried.map((x) => x.id)).toEqual([...after.deliveries.map((x) => x.id), c!.id]);
    expect(retried.at(-1)).toMatchObject({ attempts: 1, lastChance: false });
  });

  it('lists the webhooks that have pending deliveries, disabled ones too', async () => {
    for (const id of ['hook0001', 'hook0002', 'hook0003']) await store.createWebhook(hook(id), 's');
    expect(await store.pendingWebhooks()).toEqual([]);
    await store.ingest([item('evt_1', { onlyWebhookId: 'hook0002' }), item('evt_2', { onlyWebhookId: 'hook0001' })], NOW, options);
    await store.ingest([item('evt_3', { onlyWebhookId: 'hook0001' })], NOW, { ...options, firstAttemptAt: NOW + DAY });
    expect((await store.pendingWebhooks()).sort()).toEqual(['hook0001', 'hook0002']);
    await store.updateWebhook('hook0001', { status: 'disabled', disabledReason: 'by hand' }, NOW);
    expect((await store.pendingWebhooks()).sort()).toEqual(['hook0001', 'hook0002']);
    await store.recordOutcomes((await due('hook0002')).map((d) => ok(d)), NOW, policy);
    expect(await store.pendingWebhooks()).toEqual(['hook0001']);
  });

  it('gives the engine an endpoint as it stands: URL, cap, rate limit, status and health', async () => {
    await store.createWebhook(hook('hook0001', { maxInFlight: 5 }), 's');
    expect(await store.getEndpoint('hook0001')).toEqual({
      id: 'hook0001', accountId: 'acct0001', url: 'http://127.0.0.1:9/hook0001', status: 'active', maxInFlight: 5,
      rateLimit: null, ordered: false, consecutiveFailures: 0, pausedUntil: null,
    });
    expect(await store.getEndpoint('nope')).toBeUndefined();
    await store.ingest([item('evt_1'), item('evt_2')], NOW, options);
    const [d1, d2] = await due('hook0001');
    await store.recordOutcomes([{ ...failed(d1!, NOW + 60_000, NOW, 429), pauseUntil: NOW + 60_000 }], NOW + 1, policy);
    expect(await store.getEndpoint('hook0001')).toMatchObject({ consecutiveFailures: 1, pausedUntil: NOW + 60_000, status: 'active' });
    await store.recordOutcomes([failed(d2!, NOW + 60_000, NOW + 2, 410)], NOW + 3, policy);
    expect(await store.getEndpoint('hook0001')).toMatchObject({ consecutiveFailures: 2, status: 'disabled' });
    await store.updateWebhook('hook0001', { status: 'active', webhookUrl: 'http://127.0.0.1:9/moved' }, NOW + 4);
    expect(await store.getEndpoint('hook0001')).toMatchObject({ url: 'http://127.0.0.1:9/moved', status: 'active', consecutiveFailures: 0, pausedUntil: null });
    await store.deleteWebhook('hook0001');
    expect(await store.getEndpoint('hook0001')).toBeUndefined();
  });

  it('records outcomes and attempts, schedules retries, and retries by hand (the last chance of a finished delivery)', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1'), item('evt_2'), item('evt_3')], NOW, options);
    const [d1, d2, d3] = await due('hook0001');
    await store.recordOutcomes([ok(d1!), failed(d2!, NOW + 500), failed(d3!, null)], NOW + 10, policy);
    expect(await store.getDelivery(d1!.id)).toMatchObject({ status: 'succeeded', attempts: 1, lastStatusCode: 200, nextAttemptAt: null, lastModified: NOW + 10 });
    expect(await store.getDelivery(d2!.id)).toMatchObject({ status: 'pending', attempts: 1, lastStatusCode: 500, nextAttemptAt: NOW + 500 });
    expect(await store.getDelivery(d3!.id)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
    expect(await store.listAttempts(d1!.id)).toEqual([{
      attemptedAt: NOW, statusCode: 200, durationMs: 3, error: null, responseBody: 'ok',
      requestHeaders: { 'webhook-id': d1!.id, 'x-proxy-token': '********' }, responseHeaders: { 'content-type': 'text/plain', server: 'r' },
    }]);
    expect(await store.listAttempts(d2!.id)).toEqual([{ attemptedAt: NOW, statusCode: 500, durationMs: 4, error: 'HTTP 500', responseBody: 'no', requestHeaders: null, responseHeaders: null }]);
    expect(await store.loadDue('hook0001', NOW + 10, 10)).toEqual({ deliveries: [], nextDueAt: NOW + 500 });

    // A manual retry of a failed delivery: due now, one more attempt, the last.
    expect(await store.retryDelivery(d3!.id, NOW + 600)).toBe(true);
    expect(await store.retryDelivery('msg_nope', NOW)).toBe(false);
    const again = await due('hook0001', NOW + 600);
    expect(again.map((d) => [d.id, d.attempts, d.lastChance])).toEqual([[d2!.id, 1, false], [d3!.id, 1, true]]);
    await store.recordOutcomes([ok(again[1]!, NOW + 601)], NOW + 602, policy);
    expect(await store.getDelivery(d3!.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(await store.listAttempts(d3!.id)).toHaveLength(2);

    const stats = await store.webhookStats(['hook0001', 'hook0002'], NOW);
    expect(stats.get('hook0001')).toMatchObject({ pending: 1, succeeded: 2, failed: 0 });
    expect(stats.get('hook0001')!.lastAttempted!.webhookId).toBe('hook0001');
    expect(stats.get('hook0002')).toEqual({ pending: 0, succeeded: 0, failed: 0, lastAttempted: undefined });
    expect((await store.listDeliveries('hook0001', { status: 'succeeded' }, { page: 1, pageLength: 10 })).total).toBe(2);
    expect((await store.listDeliveries('hook0001', { event: 'media_updated' }, { page: 1, pageLength: 10 })).total).toBe(0);
  });

  it('makes a delivery due again when a retry was asked for during its attempt, whatever the outcome; one asked before is answered by it', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1'), item('evt_2'), item('evt_3')], NOW, options);
    const [d1, d2, d3] = await due('hook0001');

    // Asked for (twice) while the attempt begun at NOW + 1 was in flight; the attempt succeeded.
    expect(await store.retryDelivery(d1!.id, NOW + 2)).toBe(true);
    expect(await store.retryDelivery(d1!.id, NOW + 3)).toBe(true);
    await store.recordOutcomes([ok(d1!, NOW + 1)], NOW + 5, policy);
    expect(await store.getDelivery(d1!.id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: NOW + 5 });
    const again = (await due('hook0001', NOW + 5)).find((d) => d.id === d1!.id);
    expect(again).toMatchObject({ attempts: 1, lastChance: true });
    // The outcome cleared the request: a next outcome, even of an attempt begun before it, ends the delivery.
    await store.recordOutcomes([ok(again!, NOW + 1)], NOW + 6, policy);
    expect(await store.getDelivery(d1!.id)).toMatchObject({ status: 'succeeded', attempts: 2, nextAttemptAt: null });

    // Failed with retries left: the requested attempt comes now, not at the schedule's time, and is not the last.
    expect(await store.retryDelivery(d2!.id, NOW + 8)).toBe(true);
    await store.recordOutcomes([failed(d2!, NOW + 5_000, NOW + 7)], NOW + 9, policy);
    expect(await store.getDelivery(d2!.id)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: NOW + 9 });
    expect((await due('hook0001', NOW + 9)).find((d) => d.id === d2!.id)).toMatchObject({ lastChance: false });

    // Asked for before the attempt began: that attempt answers it, its outcome stands.
    expect(await store.retryDelivery(d3!.id, NOW + 10)).toBe(true);
    await store.recordOutcomes([failed(d3!, null, NOW + 11)], NOW + 12, policy);
    expect(await store.getDelivery(d3!.id)).toMatchObject({ status: 'failed', attempts: 1, nextAttemptAt: null });
  });

  it('drops the deliveries of a deleted webhook; outcomes recorded after that change nothing', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    await store.ingest([item('evt_1')], NOW, options);
    const [loaded] = await due('hook0001');
    await store.deleteWebhook('hook0001');
    expect(await store.recordOutcomes([ok(loaded!)], NOW + 1, policy)).toEqual([]);
    expect(await store.getDelivery(loaded!.id)).toBeUndefined();
    expect(await store.listAttempts(loaded!.id)).toEqual([]);
    expect(await store.loadDue('hook0001', NOW + 1, 10)).toEqual({ deliveries: [], nextDueAt: null });
    expect(await store.pendingWebhooks()).toEqual([]);
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

  it('reads each page of a list as one walk along an index, in order, and its total: two statements, whatever the page length', async () => {
    const seen = recordStatements(store);
    await store.createAccount({ id: 'acct0002', name: 'Other', created: NOW });
    for (const [i, id] of ['hook0001', 'hook0002', 'hook0003'].entries()) await store.createWebhook(hook(id, { created: NOW + i }), 's');
    await store.createWebhook(hook('hook0004', { accountId: 'acct0002' }), 's');
    await store.ingest(['evt_1', 'evt_2', 'evt_3'].map((id) => item(id)), NOW, options);
    for (const id of ['a1', 'a2', 'a3']) {
      await store.appendAudit({ id, accountId: id === 'a2' ? null : 'acct0001', actor: 'account', keyId: null, action: 'x', targetType: null, targetId: null, ip: null, created: NOW });
    }
    const page = { page: 1, pageLength: 10_000 };
    const lists: [string, () => Promise<{ total: number }>][] = [
      ['an account\'s webhooks, newest first', () => store.listWebhooks('acct0001', page, false)],
      ['an account\'s webhooks, oldest first', () => store.listWebhooks('acct0001', page, true)],
      ['every webhook (the operator)', () => store.listWebhooks(null, page, false)],
      ['every webhook, oldest first', () => store.listWebhooks(null, page, true)],
      ['an account\'s audit log', () => store.listAudit('acct0001', page)],
      ['the whole audit log', () => store.listAudit(null, page)],
      ['a webhook\'s deliveries', () => store.listDeliveries('hook0001', {}, page)],
      ['its failed deliveries', () => store.listDeliveries('hook0001', { status: 'failed' }, page)],
      ['its deliveries of one event', () => store.listDeliveries('hook0001', { event: 'media_available' }, page)],
    ];
    for (const [what, list] of lists) {
      const statements = await seen.during(list);
      expect(statements.map((st) => (st.sql.includes('LIMIT') ? 'page' : st.sql.includes('count(*)') ? 'total' : st.sql)), what).toEqual(['page', 'total']);
      const plan = await seen.plan(statements[0]!);
      // no sort of the matching rows (they come in the index's order) and no scan of a whole table;
      // a Merge Append of partitions' index scans (its "Sort Key:" line) merges, sorts nothing
      expect(plan.filter((step) => /^(-> +)?(Incremental )?Sort +\(|TEMP B-TREE|Seq Scan|^SCAN \w+( AS \w+)?$/.test(step)), `${what}:\n${plan.join('\n')}`).toEqual([]);
    }
    expect((await store.listWebhooks(null, page, false)).total).toBe(4);
    expect((await store.listDeliveries('hook0001', {}, page)).total).toBe(3);
  });
});

interface Ran {
  sql: string;
  values: unknown[];
}

/**
 * Watches the statements the store runs (its SQLite statements, prepared from now on; its
 * PostgreSQL queries), to see how many a call takes, and how the database plans each: on
 * PostgreSQL with sorts and sequential scans priced out, so that the plan shows one only where
 * no index can do without it.
 */
function recordStatements(watched: Store) {
  let ran: Ran[] | undefined;
  let plan: (st: Ran) => Promise<string[]>;
  if (watched instanceof SqliteStore) {
    const db = watched.db;
    const prepare = db.prepare.bind(db);
    db.prepare = ((sql: string) => {
      const statement = prepare(sql);
      for (const method of ['all', 'get', 'run'] as const) {
        const original = (statement[method] as (...args: unknown[]) => unknown).bind(statement);
        Object.assign(statement, { [method]: (...values: unknown[]) => (ran?.push({ sql, values }), original(...values)) });
      }
      return statement;
    }) as typeof db.prepare;
    plan = async (st) => (prepare(`EXPLAIN QUERY PLAN ${st.sql}`).all(...st.values) as { detail: string }[]).map((r) => r.detail);
  } else {
    const db = (watched as PostgresStore).db;
    const query = db.query.bind(db);
    db.query = (text, values = []) => (ran?.push({ sql: text, values }), query(text, values));
    plan = (st) => db.transaction(async (tx) => {
      await tx.query('SET LOCAL enable_seqscan = off');
      await tx.query('SET LOCAL enable_sort = off');
      await tx.query('SET LOCAL enable_incremental_sort = off');
      return (await tx.query(`EXPLAIN ${st.sql}`, st.values)).rows.map((r) => String(r['QUERY PLAN']).trim());
    });
  }
  return {
    async during(work: () => Promise<unknown>): Promise<Ran[]> {
      ran = [];
      try {
        await work();
        return ran;
      } finally {
        ran = undefined;
      }
    },
    plan: (st: Ran) => plan(st),
  };
}

describe(`what the store announces (${TEST_STORE})`, () => {
  let heard: StoreChange[];
  /** Reads made by the listeners as they are called: each must find the write committed. */
  let reads: Promise<unknown>[];
  /** Whether SQLite was still inside a transaction when a listener was called. */
  let inTransaction: boolean[];

  /** A change with its lists in a stable order: webhooks by id, created deliveries by webhook. */
  const tidy = (c: StoreChange): StoreChange => c.kind !== 'deliveries' ? c : {
    ...c,
    webhookIds: c.webhookIds && [...c.webhookIds].sort(),
    ...(c.created && { created: [...c.created].sort((a, b) => a.webhookId.localeCompare(b.webhookId) || a.id.localeCompare(b.id)) }),
  };
  /** What was heard since the last call. */
  const told = () => heard.splice(0).map(tidy);

  beforeEach(async () => {
    heard = [];
    reads = [];
    inTransaction = [];
    store.onChange((change) => {
      heard.push(change);
      if (store instanceof SqliteStore) inTransaction.push(store.db.inTransaction);
      if (change.kind === 'deliveries') for (const d of change.created ?? []) reads.push(store.getDelivery(d.id).then((x) => x?.status));
      if (change.kind === 'retried') reads.push(store.getDelivery(change.deliveryId).then((x) => x?.status));
    });
    await store.createWebhook(hook('hook0001'), 's');
    await store.createWebhook(hook('hook0002'), 's');
    await store.createApiKey({ id: 'key00001', accountId: 'acct0001', name: 'cms', created: NOW }, 'hash-1');
    expect(told()).toEqual([{ kind: 'webhook', id: 'hook0001' }, { kind: 'webhook', id: 'hook0002' }]);
  });
  afterEach(async () => {
    // Once each, and none more: a shared store's own feed does not tell it again.
    if (TEST_STORE === 'postgres') await new Promise((r) => setTimeout(r, 300));
    expect(told()).toEqual([]);
    expect(await Promise.all(reads)).not.toContain(undefined);
    expect(inTransaction).not.toContain(true);
  });

  it('announces the deliveries an intake or a fact created, with all the engine needs, once committed', async () => {
    const key = keyed('k1', 'h1', 'evt_1');
    await store.ingest([item('evt_1', { idempotency: key })], NOW, options);
    const loaded = [...await due('hook0001'), ...await due('hook0002')];
    expect(loaded).toHaveLength(2);
    expect(told()).toEqual([{ kind: 'deliveries', webhookIds: ['hook0001', 'hook0002'], created: loaded }]);
    expect(loaded[1]).toEqual({
      id: expect.stringMatching(/^msg_/), eventId: 'evt_1', webhookId: 'hook0002', attempts: 0, lastChance: false, dueAt: NOW, orderKey: null,
      facts: { event: 'media_available', siteId: 'site0001', eventTime: NOW - 5, ids: { media_id: 'm_evt_1' } },
    });

    // Nothing created, nothing told: a repeat, an event no webhook listens to.
    await store.ingest([item('evt_2', { idempotency: key })], NOW, options);
    await store.ingest([{ siteId: 'site0001', events: [event('evt_3', 'channel_created')] }], NOW, options);
    expect(told()).toEqual([]);
    // One batch, one announcement; a test event goes to its webhook only.
    await store.ingest([item('evt_4'), item('evt_5', { onlyWebhookId: 'hook0002' })], NOW, options);
    const [change] = told();
    expect(change).toMatchObject({ kind: 'deliveries', webhookIds: ['hook0001', 'hook0002'] });
    expect((change as { created: PendingDelivery[] }).created.map((d) => `${d.eventId}>${d.webhookId}`).sort())
      .toEqual(['evt_4>hook0001', 'evt_4>hook0002', 'evt_5>hook0002']);

    // A fact's events, the same way; a stale fact commits nothing and tells nothing.
    expect(await store.ingest([fact(0, [event('evt_f1', 'media_updated')])], NOW + 1, { ...options, firstAttemptAt: NOW + 1 }))
      .toEqual([{ kind: 'accepted', deliveries: 2 }]);
    const [factChange] = told();
    expect(factChange).toEqual({
      kind: 'deliveries', webhookIds: ['hook0001', 'hook0002'],
      created: ['hook0001', 'hook0002'].map((webhookId) => ({
        id: expect.stringMatching(/^msg_/), eventId: 'evt_f1', webhookId, attempts: 0, lastChance: false, dueAt: NOW + 1, orderKey: null,
        facts: { event: 'media_updated', siteId: 'site0001', eventTime: NOW - 5, ids: { media_id: 'm_evt_f1' } },
      })),
    });
    expect(await store.ingest([fact(0, [event('evt_f2', 'media_updated')])], NOW + 2, options)).toEqual([{ kind: 'stale' }]);
    expect(told()).toEqual([]);
  });

  it('announces nothing of a write that fails and rolls back', async () => {
    await store.ingest([item('evt_1')], NOW, options);
    told();
    // The second event's id is taken: the batch rolls back, the first event's deliveries with it.
    await expect(store.ingest([item('evt_2'), item('evt_1')], NOW, options)).rejects.toThrow();
    expect(await store.getEvent('evt_2')).toBeUndefined();
    expect(told()).toEqual([]);
    await expect(store.createWebhook(hook('hook0001'), 's')).rejects.toThrow();
    expect(told()).toEqual([]);
  });

  it('keeps an event\'s trace context with it: its deliveries carry it when announced, loaded and recovered', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await store.ingest([{ siteId: 'site0001', events: [{ ...event('evt_t'), traceparent }] }, item('evt_u')], NOW, options);
    const [announced] = told();
    const created = announced!.kind === 'deliveries' ? announced!.created ?? [] : [];
    expect(created.map((d) => [d.webhookId, d.eventId, d.facts.traceparent]).sort()).toEqual([
      ['hook0001', 'evt_t', traceparent], ['hook0001', 'evt_u', undefined], ['hook0002', 'evt_t', traceparent], ['hook0002', 'evt_u', undefined],
    ]);
    const [traced, untraced] = await due('hook0001');
    expect(traced!.facts).toEqual(created.find((d) => d.id === traced!.id)!.facts);
    expect(traced!.facts.traceparent).toBe(traceparent);
    expect(untraced!.facts).not.toHaveProperty('traceparent');
    expect(await store.getEvent('evt_t')).toEqual({ ...event('evt_t'), traceparent });
    // A recovery announces it again, as loading does.
    await store.recordOutcomes([failed(traced!, null)], NOW + 1, policy);
    expect(await store.recoverDeliveries('hook0001', NOW, NOW + 2)).toBe(1);
    expect(told()).toEqual([{ kind: 'deliveries', webhookIds: ['hook0001'], created: [{ ...traced!, attempts: 1, lastChance: true, dueAt: NOW + 2 }] }]);
  });

  it('announces retries and recoveries by hand, and the webhooks an outcome disabled', async () => {
    await store.ingest([item('evt_1'), item('evt_2')], NOW, options);
    told();
    const [a1, a2] = await due('hook0001');
    const [b1] = await due('hook0002');
    expect(await store.retryDelivery(a1!.id, NOW + 1)).toBe(true);
    expect(await store.retryDelivery('msg_nope', NOW + 1)).toBe(false);
    expect(told()).toEqual([{ kind: 'retried', webhookId: 'hook0001', deliveryId: a1!.id }]);

    // Outcomes tell nothing, but of a webhook they disable.
    await store.recordOutcomes([ok(a1!, NOW + 2), failed(a2!, null)], NOW + 2, policy);
    expect(told()).toEqual([]);
    expect(await store.recordOutcomes([failed(b1!, NOW + 60_000, NOW + 2, 410)], NOW + 3, policy)).toMatchObject([{ id: 'hook0002' }]);
    expect(told()).toEqual([{ kind: 'webhook', id: 'hook0002' }]);

    expect(await store.recoverDeliveries('hook0001', NOW, NOW + 4)).toBe(1);
    expect(told()).toEqual([{
      kind: 'deliveries', webhookIds: ['hook0001'],
      created: [{ ...a2!, attempts: 1, lastChance: true, dueAt: NOW + 4 }],
    }]);
    expect(await store.recoverDeliveries('hook0001', NOW, NOW + 5)).toBe(0);
    expect(told()).toEqual([]);
  });

  it("raises operational events with the outcomes that cause them, for the account's other webhooks subscribed to them", async () => {
    const breaker: HealthPolicy = { ...policy, breakerThreshold: 2 };
    await store.createWebhook(hook('alert001', { siteIds: [], events: ['webhook_failing', 'webhook_disabled', 'webhook_recovered'] }), 's');
    // hook0002 hears of hook0001 failing, never of itself; no JWP event fans out to alert001.
    await store.updateWebhook('hook0002', { events: ['media_available', 'webhook_failing'] }, NOW);
    await store.createAccount({ id: 'acct0002', name: 'Other', created: NOW });
    await store.createWebhook(hook('other001', { accountId: 'acct0002', siteIds: [], events: ['webhook_failing', 'webhook_disabled'] }), 's');
    await store.ingest([item('evt_1'), item('evt_2'), item('evt_3'), item('evt_4')], NOW, options);
    expect(await due('alert001')).toEqual([]);
    told();
    const [a1, a2, a3, a4] = await due('hook0001');
    const subject = { subjectWebhookId: 'hook0001', subjectWebhookUrl: 'http://127.0.0.1:9/hook0001' };
    /** The operational events the last writes raised, as announced: each must be what the store keeps. */
    const raised = async () => {
      const changes = told();
      const made = changes.flatMap((c) => (c.kind === 'deliveries' ? c.created ?? [] : []));
      for (const d of made) expect((await due(d.webhookId, NOW + 10_000)).find((x) => x.id === d.id)).toEqual(d);
      return { changes, made: made.map((d) => ({ to: d.webhookId, ...d.facts })) };
    };

    await store.recordOutcomes([failed(a1!, NOW + 60_000, NOW + 1)], NOW + 1, breaker);
    expect(told()).toEqual([]);
    // The second failure in a row reaches the threshold: one event, with a delivery due now to each subscriber.
    await store.recordOutcomes([failed(a2!, NOW + 60_000, NOW + 2, 503)], NOW + 2, breaker);
    const failing = { event: 'webhook_failing', siteId: '', eventTime: NOW + 2, ids: {}, alert: { ...subject, reason: 'HTTP 503', failures: 2 } };
    expect((await raised()).made).toEqual([{ to: 'alert001', ...failing }, { to: 'hook0002', ...failing }]);
    expect((await due('alert001', NOW + 2))[0]).toMatchObject({ dueAt: NOW + 2, attempts: 0 });
    // Once per streak.
    await store.recordOutcomes([failed(a3!, NOW + 60_000, NOW + 3)], NOW + 3, breaker);
    expect(told()).toEqual([]);
    // The first success after it: webhook_recovered, with the streak it ended.
    await store.recordOutcomes([ok(a4!, NOW + 4)], NOW + 4, breaker);
    expect((await raised()).made).toEqual([{ to: 'alert001', event: 'webhook_recovered', siteId: '', eventTime: NOW + 4, ids: {}, alert: { ...subject, reason: 'delivered again (HTTP 200)', failures: 3 } }]);

    // The failures of operational events' deliveries (the engine marks their outcomes) raise no
    // failing: an alert never causes an alert. They count in the streak all the same.
    const [f1, f2] = await due('alert001', NOW + 10);
    const operational = (o: Outcome): Outcome => ({ ...o, operational: true });
    await store.recordOutcomes([operational(failed(f1!, NOW + 60_000, NOW + 5)), operational(failed(f2!, NOW + 60_000, NOW + 5))], NOW + 5, breaker);
    expect(told()).toEqual([]);
    expect(await store.getEndpoint('alert001')).toMatchObject({ consecutiveFailures: 2 });

    // 410 Gone disables hook0002: webhook_disabled, with the webhook change, in the same commit.
    await store.ingest([item('evt_5')], NOW + 6, options);
    told();
    const [b] = (await due('hook0002', NOW + 6)).filter((d) => d.eventId === 'evt_5');
    await store.recordOutcomes([failed(b!, NOW + 60_000, NOW + 7, 410)], NOW + 7, breaker);
    const { changes, made } = await raised();
    expect(changes[0]).toEqual({ kind: 'webhook', id: 'hook0002' });
    expect(made).toEqual([{
      to: 'alert001', event: 'webhook_disabled', siteId: '', eventTime: NOW + 7, ids: {},
      alert: { subjectWebhookId: 'hook0002', subjectWebhookUrl: 'http://127.0.0.1:9/hook0002', reason: 'the endpoint answered 410 Gone', failures: 1 },
    }]);
    const kept = await store.getEvent((await due('alert001', NOW + 10)).at(-1)!.eventId);
    expect(kept).toMatchObject({ event: 'webhook_disabled', siteId: '', alert: made[0]!.alert });
    // Nothing reached the other account's webhook.
    expect(await due('other001', NOW + 10)).toEqual([]);
  });

  it('announces each change of a webhook or an API key once, and nothing when there was nothing to change', async () => {
    const webhook = { kind: 'webhook', id: 'hook0001' };
    await store.updateWebhook('hook0001', { name: 'renamed' }, NOW + 1);
    expect(told()).toEqual([webhook]);
    await store.updateWebhook('hook0001', { status: 'disabled', disabledReason: 'by hand' }, NOW + 2);
    expect(told()).toEqual([webhook]);
    await store.updateWebhook('hook0001', { status: 'active' }, NOW + 3);
    expect(told()).toEqual([webhook]);
    await store.rotateWebhookSecret('hook0001', 's2', NOW + 100, NOW + 4);
    expect(told()).toEqual([webhook]);
    await store.updateWebhook('nope', { name: 'x' }, NOW);
    await store.rotateWebhookSecret('nope', 's', null, NOW);
    expect(told()).toEqual([]);

    expect(await store.revokeApiKey('acct0002', 'key00001')).toBe(false);
    expect(told()).toEqual([]);
    expect(await store.revokeApiKey('acct0001', 'key00001')).toBe(true);
    expect(told()).toEqual([{ kind: 'api_key', id: 'key00001' }]);

    expect(await store.deleteWebhook('hook0001')).toBe(true);
    expect(await store.deleteWebhook('hook0001')).toBe(false);
    expect(told()).toEqual([webhook]);
  });
});

describe(`membership (${TEST_STORE})`, () => {
  it.runIf(TEST_STORE === 'sqlite')('is none on the embedded store: one process owns everything', () => {
    expect(store.membership).toBeNull();
  });

  it.runIf(TEST_STORE === 'postgres')('tells which nodes are live by their heartbeats, and forgets a node that leaves', async () => {
    const nodes = store.membership!;
    expect(await nodes.heartbeat('node_a', NOW, NOW - 10_000)).toEqual(['node_a']);
    expect((await nodes.heartbeat('node_b', NOW + 1_000, NOW - 10_000)).sort()).toEqual(['node_a', 'node_b']);
    // node_b's last heartbeat is too old to count; node_a's own is always in.
    expect(await nodes.heartbeat('node_a', NOW + 20_000, NOW + 10_000)).toEqual(['node_a']);
    expect((await nodes.heartbeat('node_b', NOW + 20_001, NOW + 10_000)).sort()).toEqual(['node_a', 'node_b']);
    await nodes.leave('node_a');
    expect(await nodes.heartbeat('node_b', NOW + 20_002, NOW + 10_000)).toEqual(['node_b']);
    await nodes.leave('node_b');
    await nodes.leave('node_b');
    expect(await nodes.heartbeat('node_c', NOW + 30_000, NOW + 10_000)).toEqual(['node_c']);
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

  it('accepts a racing idempotency key once, whichever node commits first', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const other = await secondNode();
    try {
      const key = keyed('race', 'h', 'evt_a');
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
      // The loop may have written once more after the change it heard; notices arrive in commit
      // order, so once a later write's notice is in, no earlier one is still on its way.
      await store.createWebhook(hook('hook0002'), 's');
      await until(() => heard.some((c) => c.kind === 'webhook' && c.id === 'hook0002'), 5_000, 'the sentinel');
      heard.length = 0;
      // A stale fact rolls back its events and their deliveries: no wake-up for them.
      await store.ingest([{ siteId: 'site0001', writes: [{ kind: 'media', id: 'm', state: {}, version: 3 }], events: [event('evt_x')] }], NOW, options);
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
