// Per-media ordering as both stores keep it (SQLite in project "sqlite", PostgreSQL in its own
// schema in project "postgres"): the order key each delivery to a per_media webhook gets at
// intake, the ordered load (commit order, less what waits behind a key's retry), what an owner
// learns of the keys held in the store, and the re-keying when a webhook's ordering changes.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import type { EventRecord, HealthPolicy, Outcome, PendingDelivery, Webhook } from '../../src/store/types.js';
import { TEST_STORE, openTestStore, webhookRow } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: NOW };
const policy: HealthPolicy = { breakerThreshold: 1_000, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * 86_400_000 };
let store: Store;
let dispose: () => Promise<void>;

const hook = (id: string, ordering: Webhook['ordering']): Webhook =>
  webhookRow(id, NOW, { events: ['media_available', 'media_updated', 'channel_active', 'channel_idle'], ordering });
const event = (id: string, name: string, ids: EventRecord['ids']): EventRecord => ({ id, siteId: 'site0001', event: name, ids, eventTime: NOW, created: NOW });
const failed = (d: PendingDelivery, next: number | null): Outcome => ({
  deliveryId: d.id, webhookId: d.webhookId, succeeded: false, nextAttemptAt: next,
  attempt: { attemptedAt: NOW, statusCode: 500, durationMs: 4, error: 'HTTP 500', responseBody: 'no' },
});
const ordered = (at: number, learn = false) => store.loadDueOrdered('hook0001', at, 100, learn);
const ids = (ds: PendingDelivery[]) => ds.map((d) => `${d.eventId}:${d.orderKey}`);

beforeEach(async () => {
  ({ store, dispose } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
  await store.createWebhook(hook('hook0001', 'per_media'), 's');
  await store.createWebhook(hook('hook0002', 'none'), 's');
  // One commit per event, in this order.
  for (const e of [
    event('evt_1', 'media_updated', { media_id: 'm1' }), event('evt_2', 'media_updated', { media_id: 'm2' }),
    event('evt_3', 'media_available', { media_id: 'm1' }), event('evt_4', 'channel_active', { channel_id: 'c1' }),
    event('evt_5', 'media_available', {}), event('evt_6', 'channel_idle', { channel_id: 'c1' }),
  ]) await store.ingest([{ siteId: 'site0001', events: [e] }], NOW, options);
});
afterEach(() => dispose());

describe(`per-media ordering in the store (${TEST_STORE})`, () => {
  it('keys the deliveries of a per_media webhook at intake, and loads them in commit order', async () => {
    const all = await ordered(NOW, true);
    expect(ids(all.deliveries)).toEqual(['evt_1:media:m1', 'evt_2:media:m2', 'evt_3:media:m1', 'evt_4:channel:c1', 'evt_5:null', 'evt_6:channel:c1']);
    expect(all.waiting).toEqual([]);
    expect(all.nextDueAt).toBeNull();
    // The other webhook's deliveries carry no key, and are not on the ordered path.
    expect((await store.loadDue('hook0002', NOW, 100)).deliveries.every((d) => d.orderKey === null)).toBe(true);
    expect((await store.loadDueOrdered('hook0002', NOW, 100, true)).deliveries).toEqual([]);
  });

  it("holds a key's later deliveries back while its first waits for a retry, and tells an owner that learns which keys wait", async () => {
    const [d1] = (await ordered(NOW)).deliveries;
    await store.recordOutcomes([failed(d1!, NOW + 60_000)], NOW, policy);
    const waiting = await ordered(NOW + 1, true);
    // m1's later one waits with it; m2, c1 and the unkeyed one go on.
    expect(ids(waiting.deliveries)).toEqual(['evt_2:media:m2', 'evt_4:channel:c1', 'evt_5:null', 'evt_6:channel:c1']);
    expect(waiting.waiting).toEqual([{ key: 'media:m1', deliveryId: d1!.id }]);
    expect(waiting.nextDueAt).toBe(NOW + 60_000);
    expect((await ordered(NOW + 1)).waiting).toEqual([]);
    // Due again: the first, then the later one, in commit order.
    expect(ids((await ordered(NOW + 60_000)).deliveries).slice(0, 3)).toEqual(['evt_1:media:m1', 'evt_2:media:m2', 'evt_3:media:m1']);
    // Failed for good: it holds nothing any more.
    await store.recordOutcomes([failed({ ...d1!, attempts: 1 }, null)], NOW + 60_000, policy);
    expect(ids((await ordered(NOW + 60_001, true)).deliveries)[0]).toBe('evt_2:media:m2');
    expect((await ordered(NOW + 60_001, true)).waiting).toEqual([]);
  });

  it("re-keys a webhook's pending deliveries when its ordering changes", async () => {
    await store.updateWebhook('hook0001', { ordering: 'none' }, NOW);
    expect((await ordered(NOW)).deliveries).toEqual([]);
    expect((await store.loadDue('hook0001', NOW, 100)).deliveries.map((d) => d.orderKey)).toEqual([null, null, null, null, null, null]);
    await store.updateWebhook('hook0002', { ordering: 'per_media' }, NOW);
    expect(ids((await store.loadDueOrdered('hook0002', NOW, 100, false)).deliveries))
      .toEqual(['evt_1:media:m1', 'evt_2:media:m2', 'evt_3:media:m1', 'evt_4:channel:c1', 'evt_5:null', 'evt_6:channel:c1']);
    expect((await store.getWebhook('hook0002'))!.ordering).toBe('per_media');
    expect((await store.getEndpoint('hook0002'))!.ordered).toBe(true);
  });
});
