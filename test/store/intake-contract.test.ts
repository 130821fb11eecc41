// The intake part of the store contract, on both stores (projects "sqlite" and "postgres"): one
// Intake.ingest for reported events and platform facts, and one Idempotency-Key table for both,
// one key space per property. Apart from contract.test.ts, which holds the rest of the contract.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import type { EventRecord, IngestItem, Webhook } from '../../src/store/types.js';
import { TEST_STORE, openTestStore, webhookRow } from '../helpers.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const DAY = 86_400_000;
const options = { idempotencyWindowMs: DAY, firstAttemptAt: NOW };
let store: Store;
let dispose: () => Promise<void>;

const hook = (id: string): Webhook => webhookRow(id, NOW, { events: ['media_available', 'media_updated'] });
const event = (id: string, name = 'media_available'): EventRecord =>
  ({ id, siteId: 'site0001', event: name, ids: { media_id: `m_${id}` }, eventTime: NOW - 5, created: NOW });
const item = (id: string, extra: Partial<IngestItem> = {}): IngestItem => ({ siteId: 'site0001', events: [event(id)], ...extra });
/** An Idempotency-Key whose kept answer names the event and the deliveries it made. */
const keyed = (key: string, requestHash: string, eventId: string) => ({ key, requestHash, answer: (deliveries: number) => JSON.stringify({ eventId, deliveries }) });
/** A fact about media m1 read at `version`, with its events, and its key if any. */
const fact = (version: number, events: EventRecord[], key?: string, requestHash = 'h'): IngestItem => ({
  siteId: 'site0001', writes: [{ kind: 'media', id: 'm1', state: { v: version + 1 }, version }], events,
  idempotency: key ? { key, requestHash, answer: () => '{"a":1}' } : undefined,
});

beforeEach(async () => {
  ({ store, dispose } = await openTestStore());
  await store.createAccount({ id: 'acct0001', name: 'Acme', created: NOW });
  await store.createSite({ id: 'site0001', accountId: 'acct0001', name: 'TV', created: NOW });
});
afterEach(() => dispose());

describe(`the store contract: intake (${TEST_STORE})`, () => {
  it('answers a repeated idempotency key with the first answer, a changed body with a conflict, and forgets old keys', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const outcomes = await store.ingest([item('evt_1', { idempotency: keyed('k1', 'h1', 'evt_1') }), item('evt_2', { idempotency: keyed('k1', 'h1', 'evt_2') })], NOW, options);
    expect(outcomes).toEqual([{ kind: 'accepted', deliveries: 1 }, { kind: 'repeat', answer: '{"eventId":"evt_1","deliveries":1}' }]);
    expect(await store.findAnswer('site0001', 'k1', NOW - 1)).toEqual({ requestHash: 'h1', answer: '{"eventId":"evt_1","deliveries":1}' });
    expect(await store.ingest([item('evt_3', { idempotency: keyed('k1', 'h2', 'evt_3') })], NOW + 1, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getEvent('evt_2')).toBeUndefined();
    const later = NOW + options.idempotencyWindowMs + 1;
    expect(await store.findAnswer('site0001', 'k1', later - options.idempotencyWindowMs)).toBeUndefined();
    expect(await store.ingest([item('evt_4', { idempotency: keyed('k1', 'h2', 'evt_4') })], later, options))
      .toEqual([{ kind: 'accepted', deliveries: 1 }]);
  });

  it('commits a fact all or nothing, with optimistic versions and keys', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    const updated = (version: number, key = '') => [event(`evt_v${version}${key}`, 'media_updated')];
    expect(await store.ingest([fact(0, updated(0, 'k'), 'k')], NOW, options)).toEqual([{ kind: 'accepted', deliveries: 1 }]);
    expect(await store.getPlatformObject('site0001', 'media', 'm1')).toEqual({ kind: 'media', id: 'm1', state: { v: 1 }, version: 1 });
    expect(await store.findAnswer('site0001', 'k', NOW - 1)).toEqual({ requestHash: 'h', answer: '{"a":1}' });
    expect(await store.ingest([fact(0, updated(0))], NOW, options)).toEqual([{ kind: 'stale' }]);
    // The same request again: the first answer, nothing written; another request with the key: a conflict.
    expect(await store.ingest([fact(1, updated(1, 'k'), 'k')], NOW, options)).toEqual([{ kind: 'repeat', answer: '{"a":1}' }]);
    expect(await store.ingest([fact(1, updated(1, 'k'), 'k', 'h2')], NOW, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getEvent('evt_v1k')).toBeUndefined();
    // A stale fact takes back its own key and writes, and nothing of the rest of its batch.
    const twoWrites: IngestItem = { ...fact(1, updated(1, 's'), 's'), writes: [{ kind: 'thumbnail', id: 't1', state: {}, version: 0 }, { kind: 'media', id: 'm1', state: {}, version: 0 }] };
    expect(await store.ingest([item('evt_before'), twoWrites, item('evt_after')], NOW, options))
      .toEqual([{ kind: 'accepted', deliveries: 1 }, { kind: 'stale' }, { kind: 'accepted', deliveries: 1 }]);
    expect(await store.getPlatformObject('site0001', 'thumbnail', 't1')).toBeUndefined();
    expect(await store.findAnswer('site0001', 's', NOW - 1)).toBeUndefined();
    expect(await store.getEvent('evt_v1s')).toBeUndefined();
    expect(await store.getEvent('evt_after')).toBeDefined();
    expect(await store.ingest([fact(1, updated(1))], NOW, options)).toEqual([{ kind: 'accepted', deliveries: 1 }]);
    expect((await store.getPlatformObject('site0001', 'media', 'm1'))!.version).toBe(2);
  });

  it('keeps one key space per property for events and facts: a key used for one and then the other is a conflict', async () => {
    await store.createWebhook(hook('hook0001'), 's');
    // An event's key, then a fact with it.
    expect(await store.ingest([item('evt_1', { idempotency: keyed('shared', 'event-hash', 'evt_1') })], NOW, options))
      .toEqual([{ kind: 'accepted', deliveries: 1 }]);
    expect(await store.ingest([fact(0, [event('evt_f1', 'media_updated')], 'shared', 'fact-hash')], NOW, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getPlatformObject('site0001', 'media', 'm1')).toBeUndefined();
    expect(await store.getEvent('evt_f1')).toBeUndefined();
    // A fact's key, then an event with it.
    expect(await store.ingest([fact(0, [], 'other', 'fact-hash')], NOW, options)).toEqual([{ kind: 'accepted', deliveries: 0 }]);
    expect(await store.ingest([item('evt_2', { idempotency: keyed('other', 'event-hash', 'evt_2') })], NOW, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getEvent('evt_2')).toBeUndefined();
    // The first answers stand; the key is the property's, not the store's.
    expect(await store.findAnswer('site0001', 'shared', NOW - 1)).toEqual({ requestHash: 'event-hash', answer: '{"eventId":"evt_1","deliveries":1}' });
    expect(await store.findAnswer('site0001', 'other', NOW - 1)).toEqual({ requestHash: 'fact-hash', answer: '{"a":1}' });
    await store.createSite({ id: 'site0002', accountId: 'acct0001', name: 'Radio', created: NOW });
    expect(await store.ingest([{ siteId: 'site0002', events: [{ ...event('evt_3'), siteId: 'site0002' }], idempotency: keyed('shared', 'fact-hash', 'evt_3') }], NOW, options))
      .toEqual([{ kind: 'accepted', deliveries: 0 }]);
  });
});
