// A fact commits all or nothing: the objects' states, the events with their deliveries, and
// the key. Run on the real SQLite store; two facts read at the same version cannot both commit.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Conflict } from '../../src/errors.js';
import { IntakeCommit } from '../../src/ingest/commit.js';
import { Lifecycle } from '../../src/platform/lifecycle.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import type { IngestItem } from '../../src/store/types.js';
import type { Store } from '../../src/store/ports.js';
import { webhookRow } from '../helpers.js';

const NOW = Date.parse('2024-08-27T00:13:10Z');
const clock = { now: () => NOW };
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: NOW };
let store: SqliteStore;

beforeEach(async () => {
  store = new SqliteStore({ memory: true });
  await store.createAccount({ id: 'acct0001', name: 'a', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 's', created: NOW });
  const now = NOW;
  await store.createWebhook(webhookRow('hook0001', now, {
    name: 'h', webhookUrl: 'http://127.0.0.1:9/', events: ['media_created', 'media_updated', 'media_available', 'conversions_complete'],
  }), 'sealed.v1.unused');
});
afterEach(() => store.close());

const count = (table: string) => (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
const event = (id: string, name: string) => ({ id, siteId: 'site0001', event: name, ids: { media_id: 'm1' }, eventTime: NOW, created: NOW });
const commit = (version: number, events = [event(`evt_${version}`, 'media_updated')], key?: string, requestHash = 'h'): IngestItem => ({
  siteId: 'site0001',
  writes: [{ kind: 'media', id: 'm1', state: { v: version + 1 }, version }],
  events,
  idempotency: key ? { key, requestHash, answer: () => '{}' } : undefined,
});
const ingest = async (item: IngestItem, now = NOW) => (await store.ingest([item], now, options))[0];

describe('Store.ingest of a fact', () => {
  it('writes state, events, deliveries and key together, and bumps the version', async () => {
    expect(await ingest(commit(0, [event('evt_a', 'media_created')], 'k1'))).toEqual({ kind: 'accepted', deliveries: 1 });
    expect(await store.getPlatformObject('site0001', 'media', 'm1')).toEqual({ kind: 'media', id: 'm1', state: { v: 1 }, version: 1 });
    expect(await store.findAnswer('site0001', 'k1', NOW - 1)).toEqual({ requestHash: 'h', answer: '{}' });
    expect([count('events'), count('deliveries')]).toEqual([1, 1]);
  });

  it('writes nothing at all when a version moved since it was read, or the object already exists', async () => {
    await ingest(commit(0));
    await ingest(commit(1));
    const before = [count('events'), count('deliveries'), count('idempotency_keys')];
    expect(await ingest(commit(1, undefined, 'late'))).toEqual({ kind: 'stale' });
    expect(await ingest(commit(0, undefined, 'late'))).toEqual({ kind: 'stale' });
    expect([count('events'), count('deliveries'), count('idempotency_keys')]).toEqual(before);
    expect((await store.getPlatformObject('site0001', 'media', 'm1'))!.version).toBe(2);
  });

  it('answers a key taken meanwhile with its first answer (or a conflict), and forgets keys older than the window', async () => {
    await ingest(commit(0, [], 'k'));
    expect(await ingest(commit(1, [], 'k'))).toEqual({ kind: 'repeat', answer: '{}' });
    expect(await ingest(commit(1, [], 'k', 'other'))).toEqual({ kind: 'conflict' });
    const later = NOW + options.idempotencyWindowMs + 1;
    expect(await store.findAnswer('site0001', 'k', later - options.idempotencyWindowMs)).toBeUndefined();
    expect(await ingest(commit(1, [], 'k'), later)).toEqual({ kind: 'accepted', deliveries: 0 });
  });
});

describe('Lifecycle under concurrent facts', () => {
  /** The real store, whose reads of an object let other work run first, as a networked database would. */
  function slowReads(inner: Store): Store {
    return new Proxy(inner, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (name !== 'getPlatformObject') return typeof value === 'function' ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          const found = await (value as Function).apply(target, args);
          await new Promise((resolve) => setImmediate(resolve));
          return found;
        };
      },
    });
  }

  it('decides again on fresh state when another fact committed first: each milestone once', async () => {
    const lifecycle = new Lifecycle(slowReads(store), new IntakeCommit(store, clock, 0));
    const renditions = ['a', 'b', 'c', 'd'];
    await lifecycle.media('site0001', 'm1', { kind: 'create', publishStart: null, fields: {}, renditions });
    await lifecycle.createThumbnail('site0001', 'm1', 'th', true);
    const results = await Promise.all(
      [...renditions, ...renditions].map((renditionId) => lifecycle.media('site0001', 'm1', { kind: 'rendition_ready', renditionId })),
    );
    const yielded = results.flatMap((r) => r.events.map((e) => e.event));
    expect(yielded.sort()).toEqual(['conversions_complete', 'media_available']);
    const final = await store.getPlatformObject('site0001', 'media', 'm1');
    expect(final!.version).toBe(2 + 8);
    const stored = store.db.prepare("SELECT event FROM events ORDER BY rowid").all() as { event: string }[];
    expect(stored.map((e) => e.event)).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
  });

  it('creates a media once when two creations race: the other is told it exists', async () => {
    const lifecycle = new Lifecycle(slowReads(store), new IntakeCommit(store, clock, 0));
    const create = () => lifecycle.media('site0001', 'm1', { kind: 'create', publishStart: null, fields: {}, renditions: ['a'] });
    const outcomes = await Promise.allSettled([create(), create()]);
    expect(outcomes.map((o) => o.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toBeInstanceOf(Conflict);
    expect(refused.reason).toMatchObject({ code: 'already_exists' });
    expect(count('events')).toBe(1);
  });
});
