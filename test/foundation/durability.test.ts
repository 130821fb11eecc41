// What the embedded store promises about fsync: an event is durable when its 202 goes out
// (synchronous=FULL), while the engine's own bookkeeping (outcomes) commits without an fsync of
// its own. The level must come back to FULL after each piece of bookkeeping, or the next intake
// would be acknowledged before it is on disk.
import { rmSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { tempDir, webhookRow } from '../helpers.js';

const NOW = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;
let dir: string | undefined;
let store: SqliteStore | undefined;

afterEach(async () => {
  await store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const FULL = 2;
const level = () => store!.db.pragma('synchronous', { simple: true });

it('keeps synchronous=FULL for what is acknowledged, around outcomes (even a batch that throws)', async () => {
  dir = tempDir();
  store = new SqliteStore({ dataDir: dir, synchronous: 'FULL' });
  await store.createAccount({ id: 'acct0001', name: 'a', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 's', created: NOW });
  await store.createWebhook(webhookRow('hook0001', NOW, { name: 'h', webhookUrl: 'http://127.0.0.1:9/' }), 'sealed.v1.unused');
  await store.ingest([{ siteId: 'site0001', events: [{ id: 'evt_1', siteId: 'site0001', event: 'media_available', ids: { media_id: 'm1' }, eventTime: NOW, created: NOW }] }],
    NOW, { idempotencyWindowMs: DAY, firstAttemptAt: NOW });
  expect(level()).toBe(FULL);

  const [loaded] = (await store.loadDue('hook0001', NOW, 10)).deliveries;
  expect(loaded).toBeDefined();
  expect(level()).toBe(FULL);

  const policy = { breakerThreshold: 5, probeIntervalMs: 30_000, autoDisableAfterMs: 5 * DAY };
  await store.recordOutcomes([{
    deliveryId: loaded!.id, webhookId: 'hook0001', succeeded: true, nextAttemptAt: null,
    attempt: { attemptedAt: NOW, statusCode: 200, durationMs: 1, error: null, responseBody: '' },
  }], NOW, policy);
  expect(level()).toBe(FULL);
  expect((await store.getDelivery(loaded!.id))?.status).toBe('succeeded');

  // A batch that fails half-way rolls back, and still leaves the level as it was.
  const bad = { deliveryId: loaded!.id, webhookId: 'hook0001', succeeded: false, nextAttemptAt: NOW,
    attempt: { attemptedAt: NOW, statusCode: 500, durationMs: 1, error: 'HTTP 500', responseBody: Symbol('not bindable') as never } };
  await expect(store.recordOutcomes([bad], NOW, policy)).rejects.toThrow();
  expect(level()).toBe(FULL);
  expect((await store.getDelivery(loaded!.id))?.status).toBe('succeeded');
});
