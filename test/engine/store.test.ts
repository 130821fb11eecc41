// The engine's store methods on the real stores (the embedded SQLite in project "sqlite",
// PostgreSQL in its own schema in project "postgres"): endpoint health as outcomes move it,
// recovery, retention and the figures /metrics reads. Time is passed in.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { HealthPolicy, Outcome, Webhook } from '../../src/store/types.js';
import type { Store } from '../../src/store/ports.js';
import { TEST_STORE, openTestStore, webhookRow } from '../helpers.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const policy: HealthPolicy = { breakerThreshold: 5, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * DAY };
let store: Store;
let dispose: () => Promise<void>;
let seq = 0;

beforeEach(async () => {
  ({ store, dispose } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'a', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 's', created: NOW });
  await store.createAccount({ id: 'acct0002', name: 'b', created: NOW });
  await store.createSite({ id: 'site0002', accountId: 'acct0002', name: 's', created: NOW });
});
afterEach(() => dispose());

/** A webhook of acct0001 (on site0001), or of acct0002 (on site0002). */
async function webhook(id: string, events: string[], maxInFlight: number | null = null, account = 'acct0001'): Promise<void> {
  const w: Webhook = webhookRow(id, NOW, { accountId: account, name: id, siteIds: [account === 'acct0001' ? 'site0001' : 'site0002'], events, maxInFlight });
  await store.createWebhook(w, 'sealed.v1.unused');
}

/** `n` events of one type, created a millisecond apart from `at`; each fans out to its subscribers. */
async function events(name: string, n: number, at = NOW, siteId = 'site0001'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `evt_${++seq}`;
    const created = at + i;
    await store.ingest([{ siteId, events: [{ id, siteId, event: name, ids: {}, eventTime: created, created }] }], created,
      { idempotencyWindowMs: DAY, firstAttemptAt: created });
    ids.push(id);
  }
  return ids;
}

function outcome(
  deliveryId: string, webhookId: string, statusCode: number | null, nextAttemptAt: number | null, extra: Partial<Outcome> = {}, attemptedAt = NOW,
): Outcome {
  const succeeded = statusCode !== null && statusCode < 300;
  return {
    deliveryId, webhookId, succeeded, nextAttemptAt: succeeded ? null : nextAttemptAt,
    attempt: { attemptedAt, statusCode, durationMs: 5, error: succeeded ? null : `HTTP ${statusCode}`, responseBody: '' },
    ...extra,
  };
}

/** Runs SQL written with ? placeholders on either store; the first row comes back. */
async function row(sql: string, ...args: unknown[]): Promise<Record<string, any>> {
  if (store instanceof SqliteStore) {
    const statement = store.db.prepare(sql);
    return (statement.reader ? statement.get(...args) : statement.run(...args)) as Record<string, any>;
  }
  let n = 0;
  return (await (store as PostgresStore).pool.query(sql.replace(/\?/g, () => `$${++n}`), args)).rows[0]!;
}

/** Up to `limit` of the webhook's deliveries due at `at`, in order. */
const due = async (webhookId: string, at: number, limit = 100) => (await store.loadDue(webhookId, at, limit)).deliveries;

describe('recordOutcomes and endpoint health', () => {
  beforeEach(async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 8);
  });

  async function failures(n: number, at: number, statusCode: number | null = 500): Promise<Webhook[]> {
    const loaded = await due('hookAAAA', at, n);
    return store.recordOutcomes(loaded.map((d) => outcome(d.id, d.webhookId, statusCode, at + 1_000, {}, at)), at, policy);
  }
  const health = () => row(`SELECT consecutive_failures, failing_since, paused_until, status FROM webhooks WHERE id = 'hookAAAA'`);

  it('counts the failure streak from its start, opens the breaker with a pause until the next probe, and a success ends it', async () => {
    expect(await failures(3, NOW + 10)).toEqual([]);
    expect(await health()).toEqual({ consecutive_failures: 3, failing_since: NOW + 10, paused_until: null, status: 'active' });
    await failures(2, NOW + 20);
    expect(await health()).toEqual({ consecutive_failures: 5, failing_since: NOW + 10, paused_until: NOW + 20 + 30_000, status: 'active' });
    expect(await store.getEndpoint('hookAAAA')).toMatchObject({ consecutiveFailures: 5, pausedUntil: NOW + 20 + 30_000 });
    // A failed probe keeps the breaker open: the next probe is a probe interval later.
    await failures(1, NOW + 20 + 30_000);
    expect(await health()).toMatchObject({ consecutive_failures: 6, paused_until: NOW + 20 + 60_000 });
    const [probe] = await due('hookAAAA', NOW + 20 + 60_000, 1);
    await store.recordOutcomes([outcome(probe!.id, 'hookAAAA', 204, null)], NOW + 20 + 60_001, policy);
    expect(await health()).toMatchObject({ consecutive_failures: 0, failing_since: null });
    expect(await store.getEndpoint('hookAAAA')).toMatchObject({ consecutiveFailures: 0 });
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(7);
  });

  it('pauses the webhook until a Retry-After, and disables it at once on 410 Gone', async () => {
    const [a, b] = await due('hookAAAA', NOW + 10, 2);
    await store.recordOutcomes([outcome(a!.id, 'hookAAAA', 429, NOW + 120_000, { pauseUntil: NOW + 120_000 })], NOW + 10, policy);
    expect((await health()).paused_until).toBe(NOW + 120_000);
    expect(await store.getEndpoint('hookAAAA')).toMatchObject({ pausedUntil: NOW + 120_000, status: 'active' });
    const disabled = await store.recordOutcomes([outcome(b!.id, 'hookAAAA', 410, NOW + 60_000)], NOW + 20, policy);
    expect(disabled).toMatchObject([{ id: 'hookAAAA', status: 'disabled', disabledReason: 'the endpoint answered 410 Gone', disabledAt: NOW + 20 }]);
    expect(await store.getEndpoint('hookAAAA')).toMatchObject({ status: 'disabled' });
  });

  it('disables a webhook failing for longer than the policy allows, once, and keeps its deliveries', async () => {
    await failures(1, NOW + 10);
    expect(await failures(1, NOW + 10 + 5 * DAY - 1)).toEqual([]);
    const disabled = await failures(1, NOW + 10 + 5 * DAY);
    expect(disabled).toMatchObject([{ id: 'hookAAAA', status: 'disabled', disabledReason: 'every attempt failed for 5 d', disabledAt: NOW + 10 + 5 * DAY }]);
    expect(await failures(1, NOW + 11 + 5 * DAY)).toEqual([]);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`)).n).toBe(8);

    // Re-enabling resumes the deliveries and starts a fresh streak.
    const enabled = await store.updateWebhook('hookAAAA', { status: 'active' }, NOW + 6 * DAY);
    expect(enabled).toMatchObject({ status: 'active', disabledReason: null, disabledAt: null });
    expect(await health()).toMatchObject({ consecutive_failures: 0, failing_since: null, paused_until: null });
    expect(await due('hookAAAA', NOW + 6 * DAY)).toHaveLength(8);
  });

  it('records outcomes of deliveries deleted meanwhile as nothing', async () => {
    const loaded = await due('hookAAAA', NOW + 10, 1);
    await store.deleteWebhook('hookAAAA');
    expect(await store.recordOutcomes([outcome(loaded[0]!.id, 'hookAAAA', 410, null)], NOW + 20, policy)).toEqual([]);
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(0);
  });
});

describe('recovery, retention and statistics', () => {
  it('re-queues the failed deliveries created since a time, oldest first, for one attempt each', async () => {
    await webhook('hookAAAA', ['media_created']);
    const ids = await events('media_created', 4);
    const loaded = await due('hookAAAA', NOW + 10);
    await store.recordOutcomes(loaded.map((d) => outcome(d.id, d.webhookId, 500, null)), NOW + 20, policy);
    expect(await store.recoverDeliveries('hookAAAA', NOW + 1, NOW + 100)).toBe(3);
    expect(await store.recoverDeliveries('hookAAAA', NOW + 1, NOW + 100)).toBe(0);
    const again = await due('hookAAAA', NOW + 100);
    expect(again.map((d) => d.eventId)).toEqual(ids.slice(1));
    expect(again.every((d) => d.lastChance)).toBe(true);
  });

  it('purges in batches what is past retention, never a pending delivery nor an event still owed', async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 5, NOW - 40 * DAY);
    const fresh = await events('media_created', 1, NOW);
    const old = await due('hookAAAA', NOW, 3);
    await store.recordOutcomes(old.map((d) => outcome(d.id, d.webhookId, 200, null)), NOW, policy);
    const before = NOW - 30 * DAY;
    expect(await store.purgeDeliveries(before, 2)).toBe(2);
    expect(await store.purgeDeliveries(before, 2)).toBe(1);
    expect(await store.purgeDeliveries(before, 2)).toBe(0);
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(0);
    expect(await store.purgeEvents(before, 500)).toBe(3);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`)).n).toBe(3);
    expect(await store.getEvent(fresh[0]!)).toBeDefined();

    // An event's key and a fact's, in the one table.
    await store.ingest([{
      siteId: 'site0001', events: [{ id: 'evt_keyed', siteId: 'site0001', event: 'media_created', ids: {}, eventTime: NOW, created: NOW }],
      idempotency: { key: 'k', requestHash: 'h', answer: () => '{}' },
    }], NOW - 2 * DAY, { idempotencyWindowMs: DAY, firstAttemptAt: NOW });
    await store.ingest([{
      siteId: 'site0001', writes: [{ kind: 'media', id: 'm_keyed', state: {}, version: 0 }], events: [],
      idempotency: { key: 'f', requestHash: 'h', answer: () => '{}' },
    }], NOW - 2 * DAY, { idempotencyWindowMs: DAY, firstAttemptAt: NOW });
    expect(await store.purgeIdempotencyKeys(NOW - DAY, 1)).toBe(1);
    expect(await store.purgeIdempotencyKeys(NOW - DAY, 1)).toBe(1);
    expect(await store.purgeIdempotencyKeys(NOW - DAY, 1)).toBe(0);
  });

  it('reports the pending backlog, disabled webhooks and the longest failure streaks', async () => {
    expect(await store.engineStats(10)).toEqual({ pending: 0, oldestPendingCreated: null, disabledWebhooks: 0, failing: [] });
    await webhook('hookAAAA', ['media_created']);
    await webhook('hookBBBB', ['media_created']);
    await webhook('hookCCCC', ['media_updated']);
    await events('media_created', 3, NOW - 1_000);
    await row(`UPDATE webhooks SET consecutive_failures = CASE id WHEN 'hookAAAA' THEN 2 WHEN 'hookBBBB' THEN 7 ELSE 0 END`);
    await store.updateWebhook('hookCCCC', { status: 'disabled', disabledReason: 'by hand' }, NOW);
    expect(await store.engineStats(1)).toEqual({
      pending: 6, oldestPendingCreated: NOW - 1_000, disabledWebhooks: 1, failing: [{ webhookId: 'hookBBBB', consecutiveFailures: 7 }],
    });
  });

  it.runIf(TEST_STORE === 'sqlite')('serves the engine\'s reads and statistics from indexes, without sorting a backlog (SQLite\'s plans)', () => {
    const plan = (sql: string) => ((store as SqliteStore).db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
    // As in src/store/sqlite/engine.ts: loadDue, its next due time, pendingWebhooks, engineStats.
    const load = plan(`SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.webhook_id = 'x' AND d.status = 'pending' AND d.due_at <= 1 ORDER BY d.due_at, d.created, d.rowid LIMIT 5`);
    expect(load).toMatch(/deliveries_due/);
    expect(load).not.toMatch(/TEMP B-TREE/);
    expect(plan(`SELECT min(due_at) FROM deliveries WHERE webhook_id = 'x' AND status = 'pending' AND due_at > 1`)).toMatch(/COVERING INDEX deliveries_due/);
    expect(plan(`SELECT id FROM webhooks w
      WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') ORDER BY id`)).toMatch(/COVERING INDEX deliveries_due/);
    expect(plan(`SELECT count(*), min(created) FROM deliveries WHERE status = 'pending'`)).toMatch(/deliveries_due/);
  });
});
