// The engine's store methods on the real stores (the embedded SQLite in project "sqlite",
// PostgreSQL in its own schema in project "postgres"): claims that are capped and fair, endpoint
// health, recovery, retention and the figures /metrics reads. Time is passed in.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { ClaimOptions, HealthPolicy, Outcome, Store, Webhook } from '../../src/store/types.js';
import { TEST_STORE, openTestStore } from '../helpers.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
const claim: ClaimOptions = {
  leaseMs: 60_000, owner: 'node_a', defaultMaxInFlight: 10, maxInFlightLimit: 10_000, accountMaxInFlight: 10_000, breakerThreshold: 5,
};
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
  const w: Webhook = {
    id, accountId: account, name: id, description: '', webhookUrl: `http://127.0.0.1:9/${id}`, siteIds: [account === 'acct0001' ? 'site0001' : 'site0002'], events,
    created: NOW, lastModified: NOW, status: 'active', disabledReason: null, disabledAt: null, maxInFlight,
  };
  await store.createWebhook(w, 'sealed.v1.unused');
}

/** `n` events of one type, created a millisecond apart from `at`; each fans out to its subscribers. */
async function events(name: string, n: number, at = NOW, siteId = 'site0001'): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `evt_${++seq}`;
    const created = at + i;
    await store.ingest([{ event: { id, siteId, event: name, ids: {}, eventTime: created, created } }], created,
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

describe('claimDue', () => {
  it('holds each webhook to its cap, counting the leases it already holds, and leases what it takes', async () => {
    await webhook('hookAAAA', ['media_created']);
    await webhook('hookBBBB', ['media_updated'], 3);
    await events('media_created', 15);
    await events('media_updated', 15);
    const first = await store.claimDue(NOW + 100, 100, claim);
    const byHook = (list: { webhookId: string }[], id: string) => list.filter((d) => d.webhookId === id).length;
    expect([byHook(first, 'hookAAAA'), byHook(first, 'hookBBBB')]).toEqual([10, 3]);
    expect(await store.claimDue(NOW + 100, 100, claim)).toEqual([]);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE claimed_at IS NOT NULL AND lease_owner = 'node_a' AND due_at = ?`, NOW + 100 + 60_000)).n).toBe(13);

    // One finished attempt frees one place; an expired lease frees its place and comes due again.
    await store.recordOutcomes([outcome(first.find((d) => d.webhookId === 'hookBBBB')!.id, 'hookBBBB', 200, null)], NOW + 200, policy);
    const next = await store.claimDue(NOW + 200, 100, claim);
    expect(next.map((d) => d.webhookId)).toEqual(['hookBBBB']);
    // hookBBBB still holds the lease taken at NOW + 200: two places of three.
    const afterLease = await store.claimDue(NOW + 100 + 60_000, 100, claim);
    expect([byHook(afterLease, 'hookAAAA'), byHook(afterLease, 'hookBBBB')]).toEqual([10, 2]);
  });

  it('takes a webhook\'s deliveries by due time, then creation, and carries what sending needs', async () => {
    await webhook('hookAAAA', ['media_created'], 100);
    const ids = await events('media_created', 5);
    await row(`UPDATE deliveries SET due_at = ? WHERE event_id = ?`, NOW - 1, ids[3]);
    const claimed = await store.claimDue(NOW + 100, 100, claim);
    expect(claimed.map((d) => d.eventId)).toEqual([ids[3], ids[0], ids[1], ids[2], ids[4]]);
    expect(claimed[0]).toMatchObject({
      webhookId: 'hookAAAA', webhookUrl: 'http://127.0.0.1:9/hookAAAA', attempts: 0, lastChance: false,
      facts: { event: 'media_created', siteId: 'site0001', eventTime: NOW + 3, ids: {} },
    });
  });

  it('interleaves webhooks: a quiet webhook\'s fresh event goes out before another\'s backlog drains', async () => {
    await webhook('hookBUSY', ['media_created'], 1000);
    await webhook('hookCALM', ['media_updated']);
    await events('media_created', 500, NOW - DAY);
    const [fresh] = await events('media_updated', 1, NOW);
    const claimed = await store.claimDue(NOW, 4, claim);
    expect(claimed).toHaveLength(4);
    expect(claimed.map((d) => d.eventId)).toContain(fresh);
    // Water-filling: the calm webhook (1 in flight) is brought up to the busy one's level (3)
    // before they share the rest.
    await events('media_updated', 3, NOW + 1);
    const again = await store.claimDue(NOW + 10, 6, claim);
    expect(again.map((d) => d.webhookId)).toEqual(['hookCALM', 'hookCALM', 'hookCALM', 'hookBUSY', 'hookBUSY', 'hookBUSY']);
  });

  it('gives a quiet webhook all its fresh deliveries in one claim, not one per claim behind busy webhooks', async () => {
    for (const id of ['hookBUS1', 'hookBUS2', 'hookBUS3']) await webhook(id, ['media_created']);
    await webhook('hookCALM', ['media_updated']);
    await events('media_created', 50, NOW - DAY);
    expect(await store.claimDue(NOW, 15, claim)).toHaveLength(15); // 5 in flight at each busy webhook
    const fresh = await events('media_updated', 5, NOW);
    const claimed = await store.claimDue(NOW + 10, 6, claim);
    expect(claimed.filter((d) => d.webhookId === 'hookCALM').map((d) => d.eventId)).toEqual(fresh);
    expect(claimed).toHaveLength(6);
  });

  it('shares a claim between accounts first, the one with the fewest in flight on this node first, then between its webhooks', async () => {
    for (const id of ['hookA001', 'hookA002', 'hookA003']) await webhook(id, ['media_created']);
    await webhook('hookB001', ['media_created'], null, 'acct0002');
    await events('media_created', 20, NOW - DAY);
    await events('media_created', 20, NOW - 1_000, 'site0002');
    // Per webhook, acct0001's three would take 6 of 8; per account each takes 4.
    const first = await store.claimDue(NOW, 8, claim);
    expect(first.map((d) => d.webhookId)).toEqual(['hookA001', 'hookB001', 'hookA002', 'hookB001', 'hookA003', 'hookB001', 'hookA001', 'hookB001']);
    // Both hold 4 here: acct0001, waiting longest, goes first, to its least busy webhooks.
    const next = await store.claimDue(NOW, 4, claim);
    expect(next.map((d) => d.webhookId)).toEqual(['hookA002', 'hookB001', 'hookA003', 'hookB001']);
  });

  it('counts a webhook\'s max_in_flight above the operator\'s limit as the limit', async () => {
    await webhook('hookAAAA', ['media_created'], 50);
    await events('media_created', 20);
    const limited = { ...claim, maxInFlightLimit: 5 };
    expect(await store.claimDue(NOW + 10, 100, limited)).toHaveLength(5);
    expect(await store.claimDue(NOW + 10, 100, limited)).toEqual([]);
    expect(await store.nextDueAt(NOW + 10, limited)).toBe(NOW + 10 + claim.leaseMs);
  });

  it('skips disabled and paused webhooks, and gives a webhook past the breaker threshold one probe at a time', async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 5);
    await store.updateWebhook('hookAAAA', { status: 'disabled' }, NOW);
    expect(await store.claimDue(NOW + 10, 100, claim)).toEqual([]);
    expect(await store.nextDueAt(NOW + 10, claim)).toBeNull();
    await store.updateWebhook('hookAAAA', { status: 'active' }, NOW);

    await row(`UPDATE webhooks SET paused_until = ?`, NOW + 1_000);
    expect(await store.claimDue(NOW + 10, 100, claim)).toEqual([]);
    expect(await store.nextDueAt(NOW + 10, claim)).toBe(NOW + 1_000);
    await row(`UPDATE webhooks SET paused_until = NULL, consecutive_failures = 5`);
    const probe = await store.claimDue(NOW + 10, 100, claim);
    expect(probe).toHaveLength(1);
    expect(await store.claimDue(NOW + 10, 100, claim)).toEqual([]);
  });
});

describe('nextDueAt', () => {
  it('gives the next due time of a webhook with room, not the due deliveries of one at its cap', async () => {
    await webhook('hookAAAA', ['media_created'], 1);
    await webhook('hookBBBB', ['media_updated']);
    await events('media_created', 3);
    await events('media_updated', 1);
    const first = await store.claimDue(NOW + 10, 100, claim);
    expect(first.map((d) => d.webhookId).sort()).toEqual(['hookAAAA', 'hookBBBB']);
    const [a, b] = ['hookAAAA', 'hookBBBB'].map((id) => first.find((d) => d.webhookId === id)!);

    // hookAAAA is at its cap with two deliveries due; hookBBBB's retry is what comes next.
    await store.recordOutcomes([outcome(b!.id, 'hookBBBB', 500, NOW + 5_000)], NOW + 20, policy);
    expect(await store.claimDue(NOW + 20, 100, claim)).toEqual([]);
    expect(await store.nextDueAt(NOW + 20, claim)).toBe(NOW + 5_000);
    expect((await store.claimDue(NOW + 5_000, 100, claim)).map((d) => d.id)).toEqual([b!.id]);

    // With nothing else pending, the capped webhook's next chance is its lease running out...
    await store.recordOutcomes([outcome(b!.id, 'hookBBBB', 200, null)], NOW + 5_010, policy);
    expect(await store.nextDueAt(NOW + 5_010, claim)).toBe(NOW + 10 + claim.leaseMs);
    // ... or its attempt ending, which leaves its head due at once.
    await store.recordOutcomes([outcome(a!.id, 'hookAAAA', 200, null)], NOW + 5_020, policy);
    expect(await store.nextDueAt(NOW + 5_020, claim)).toBe(NOW + 1);
  });
});

describe('recordOutcomes and endpoint health', () => {
  beforeEach(async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 8);
  });

  async function failures(n: number, at: number, statusCode: number | null = 500): Promise<Webhook[]> {
    const claimed = await store.claimDue(at, n, claim);
    return store.recordOutcomes(claimed.map((d) => outcome(d.id, d.webhookId, statusCode, at + 1_000, {}, at)), at, policy);
  }
  const health = () => row(`SELECT consecutive_failures, failing_since, paused_until, status FROM webhooks WHERE id = 'hookAAAA'`);

  it('counts the failure streak from its start, opens the breaker with a pause until the next probe, and a success ends it', async () => {
    expect(await failures(3, NOW + 10)).toEqual([]);
    expect(await health()).toEqual({ consecutive_failures: 3, failing_since: NOW + 10, paused_until: null, status: 'active' });
    await failures(2, NOW + 20);
    expect(await health()).toEqual({ consecutive_failures: 5, failing_since: NOW + 10, paused_until: NOW + 20 + 30_000, status: 'active' });
    expect(await store.claimDue(NOW + 30, 10, claim)).toEqual([]);
    const [probe, ...rest] = await store.claimDue(NOW + 20 + 30_000, 10, claim);
    expect(rest).toEqual([]);
    await store.recordOutcomes([outcome(probe!.id, 'hookAAAA', 204, null)], NOW + 20 + 30_001, policy);
    expect(await health()).toMatchObject({ consecutive_failures: 0, failing_since: null });
    expect(await store.claimDue(NOW + 20 + 30_002, 10, claim)).toHaveLength(7);
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(6);
  });

  it('pauses the webhook until a Retry-After, and disables it at once on 410 Gone', async () => {
    const [a, b] = await store.claimDue(NOW + 10, 2, claim);
    await store.recordOutcomes([outcome(a!.id, 'hookAAAA', 429, NOW + 120_000, { pauseUntil: NOW + 120_000 })], NOW + 10, policy);
    expect((await health()).paused_until).toBe(NOW + 120_000);
    expect(await store.claimDue(NOW + 119_999, 10, claim)).toEqual([]);
    const disabled = await store.recordOutcomes([outcome(b!.id, 'hookAAAA', 410, NOW + 60_000)], NOW + 20, policy);
    expect(disabled).toMatchObject([{ id: 'hookAAAA', status: 'disabled', disabledReason: 'the endpoint answered 410 Gone', disabledAt: NOW + 20 }]);
    expect(await store.claimDue(NOW + 200_000, 10, claim)).toEqual([]);
  });

  it('disables a webhook failing for longer than the policy allows, once, and keeps its deliveries', async () => {
    await failures(1, NOW + 10);
    expect(await failures(1, NOW + 10 + 5 * DAY - 1)).toEqual([]);
    await row(`UPDATE webhooks SET paused_until = NULL`);
    const disabled = await failures(1, NOW + 10 + 5 * DAY);
    expect(disabled).toMatchObject([{ id: 'hookAAAA', status: 'disabled', disabledReason: 'every attempt failed for 5 d', disabledAt: NOW + 10 + 5 * DAY }]);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`)).n).toBe(8);

    // Re-enabling resumes the deliveries and starts a fresh streak.
    const enabled = await store.updateWebhook('hookAAAA', { status: 'active' }, NOW + 6 * DAY);
    expect(enabled).toMatchObject({ status: 'active', disabledReason: null, disabledAt: null });
    expect(await health()).toMatchObject({ consecutive_failures: 0, failing_since: null, paused_until: null });
    expect(await store.claimDue(NOW + 6 * DAY, 100, claim)).toHaveLength(8);
  });

  it('records outcomes of deliveries deleted meanwhile as nothing', async () => {
    const claimed = await store.claimDue(NOW + 10, 1, claim);
    await store.deleteWebhook('hookAAAA');
    expect(await store.recordOutcomes([outcome(claimed[0]!.id, 'hookAAAA', 410, null)], NOW + 20, policy)).toEqual([]);
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(0);
  });
});

describe('leases, recovery, retention and statistics', () => {
  it('hands back one node\'s leases, or all of them', async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 4);
    await store.claimDue(NOW + 10, 1, claim);
    await store.claimDue(NOW + 10, 2, { ...claim, owner: 'node_b' });
    expect(await store.releaseLeases(NOW + 20, 'node_b')).toBe(2);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE claimed_at IS NULL AND lease_owner IS NULL AND due_at = ?`, NOW + 20)).n).toBe(2);
    expect(await store.releaseLeases(NOW + 30)).toBe(1);
    expect(await store.claimDue(NOW + 30, 10, claim)).toHaveLength(4);
  });

  it('re-queues the failed deliveries created since a time, oldest first, for one attempt each', async () => {
    await webhook('hookAAAA', ['media_created']);
    const ids = await events('media_created', 4);
    const claimed = await store.claimDue(NOW + 10, 10, claim);
    await store.recordOutcomes(claimed.map((d) => outcome(d.id, d.webhookId, 500, null)), NOW + 20, policy);
    await row(`UPDATE webhooks SET consecutive_failures = 0`);
    expect(await store.recoverDeliveries('hookAAAA', NOW + 1, NOW + 100)).toBe(3);
    expect(await store.recoverDeliveries('hookAAAA', NOW + 1, NOW + 100)).toBe(0);
    const again = await store.claimDue(NOW + 100, 10, claim);
    expect(again.map((d) => d.eventId)).toEqual(ids.slice(1));
    expect(again.every((d) => d.lastChance)).toBe(true);
  });

  it('purges in batches what is past retention, never a pending delivery nor an event still owed', async () => {
    await webhook('hookAAAA', ['media_created']);
    await events('media_created', 5, NOW - 40 * DAY);
    const fresh = await events('media_created', 1, NOW);
    const old = await store.claimDue(NOW, 3, claim);
    await store.recordOutcomes(old.map((d) => outcome(d.id, d.webhookId, 200, null)), NOW, policy);
    const before = NOW - 30 * DAY;
    expect(await store.purgeDeliveries(before, 2)).toBe(2);
    expect(await store.purgeDeliveries(before, 2)).toBe(1);
    expect(await store.purgeDeliveries(before, 2)).toBe(0);
    expect((await row(`SELECT count(*) AS n FROM attempts`)).n).toBe(0);
    expect(await store.purgeEvents(before, 500)).toBe(3);
    expect((await row(`SELECT count(*) AS n FROM deliveries WHERE status = 'pending'`)).n).toBe(3);
    expect(await store.getEvent(fresh[0]!)).toBeDefined();

    await store.ingest([{ event: { id: 'evt_keyed', siteId: 'site0001', event: 'media_created', ids: {}, eventTime: NOW, created: NOW }, idempotency: { key: 'k', requestHash: 'h' } }],
      NOW - 2 * DAY, { idempotencyWindowMs: DAY, firstAttemptAt: NOW });
    await store.commitFact({ siteId: 'site0001', writes: [], events: [], idempotency: { key: 'f', requestHash: 'h', answer: '{}' } }, NOW - 2 * DAY,
      { idempotencyWindowMs: DAY, firstAttemptAt: NOW });
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

  it.runIf(TEST_STORE === 'sqlite')('serves claims and statistics from indexes, without sorting a backlog (SQLite\'s plans)', () => {
    const plan = (sql: string) => ((store as SqliteStore).db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as { detail: string }[]).map((r) => r.detail).join('\n');
    expect(plan(`SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.webhook_id = 'x' AND d.status = 'pending' AND d.due_at <= 1 ORDER BY d.due_at, d.created LIMIT 5`)).not.toMatch(/TEMP B-TREE/);
    expect(plan(`SELECT count(*), min(created) FROM deliveries WHERE status = 'pending'`)).toMatch(/deliveries_due/);
  });
});
