// The migration to one Idempotency-Key table (SQLite's 9, PostgreSQL's 5), on the store under test:
// a database of the version before, with keys of events (idempotency_keys: event_id, deliveries)
// and of facts (fact_keys: the answer), comes out with every key that can still answer, each
// answering as its route did, and no fact_keys.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { TEST_STORE, freshSchema, schemaQuery, tempDir } from '../helpers.js';

const T = Date.parse('2026-01-01T00:00:00Z');
const options = { idempotencyWindowMs: 86_400_000, firstAttemptAt: T };
const FACT_ANSWER = JSON.stringify({ id: 'm1', about: 'm1', state: { deleted: false }, events: [{ id: 'evt_f', event: 'media_created' }], repeat: false });

/** What the version before held: the same statements in both dialects. */
const OLD_ROWS = [
  "INSERT INTO accounts VALUES ('acct0001', 'a', 0)",
  "INSERT INTO sites VALUES ('site0001', 'acct0001', 's', 0)",
  "INSERT INTO events VALUES ('evt_1', 'site0001', 'media_available', 'm1', NULL, NULL, NULL, 0, 0)",
  "INSERT INTO events VALUES ('evt_2', 'site0001', 'channel_created', NULL, 'c1', NULL, NULL, 0, 0)",
  // An event's key, a fact's, a key in both tables (two requests, which were allowed), and an
  // event's key whose event retention took.
  `INSERT INTO idempotency_keys VALUES ('site0001', 'ev-key', 'hash-e', 'evt_1', 2, ${T})`,
  `INSERT INTO fact_keys VALUES ('site0001', 'fact-key', 'hash-f', '${FACT_ANSWER}', ${T})`,
  `INSERT INTO idempotency_keys VALUES ('site0001', 'both', 'hash-e2', 'evt_2', 0, ${T})`,
  `INSERT INTO fact_keys VALUES ('site0001', 'both', 'hash-f2', '{"later":true}', ${T + 1})`,
  `INSERT INTO idempotency_keys VALUES ('site0001', 'gone', 'hash-g', 'evt_gone', 1, ${T})`,
];

/** The versions just before the one table: later migrations do not move them. */
const SQLITE_BEFORE = 8;
const PG_BEFORE = 4;

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store opened on a database of the version before the one table, holding OLD_ROWS; and its tables after. */
async function upgraded(): Promise<{ store: Store; tables: () => Promise<string[]> }> {
  if (TEST_STORE === 'sqlite') {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const before = SQLITE_BEFORE;
    const db = new Database(join(dir, 'hookline.db'));
    for (const migration of SQLITE_MIGRATIONS.slice(0, before)) db.exec(migration);
    db.pragma(`user_version = ${before}`);
    for (const row of OLD_ROWS) db.exec(row);
    db.close();
    const store = new SqliteStore({ dataDir: dir, synchronous: 'FULL' });
    cleanups.push(() => store.close());
    await store.migrate();
    const tables = async () => (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    return { store, tables };
  }
  const { url, schema, drop } = await freshSchema();
  cleanups.push(drop);
  await schemaQuery(schema, `CREATE SCHEMA ${schema}`);
  await schemaQuery(schema, 'CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
  const before = PG_BEFORE;
  for (let i = 0; i < before; i++) {
    await schemaQuery(schema, PG_MIGRATIONS[i]!);
    await schemaQuery(schema, 'INSERT INTO hookline_migrations (version, applied) VALUES ($1, 0)', [i + 1]);
  }
  for (const row of OLD_ROWS) await schemaQuery(schema, row);
  const store = new PostgresStore({ url, poolSize: 1 });
  cleanups.push(() => store.close());
  await store.migrate();
  const tables = async () => (await schemaQuery(schema,
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema])).map((r) => r.table_name as string);
  return { store, tables };
}

describe(`one Idempotency-Key table, migrated (${TEST_STORE})`, () => {
  it('keeps the keys of events and of facts, each with the answer its route gave, and drops fact_keys', async () => {
    const { store, tables } = await upgraded();
    expect(await tables()).toContain('idempotency_keys');
    expect(await tables()).not.toContain('fact_keys');

    // An event's key answers as POST /events/ did: {id, event, site_id, deliveries}.
    const event = await store.findAnswer('site0001', 'ev-key', T - 1);
    expect(event?.requestHash).toBe('hash-e');
    expect(JSON.parse(event!.answer)).toEqual({ id: 'evt_1', event: 'media_available', site_id: 'site0001', deliveries: 2 });
    // A fact's key keeps its answer as it was.
    expect(await store.findAnswer('site0001', 'fact-key', T - 1)).toEqual({ requestHash: 'hash-f', answer: FACT_ANSWER });
    // A key in both tables keeps the later use; one whose event is gone has nothing to answer with.
    expect(await store.findAnswer('site0001', 'both', T - 1)).toEqual({ requestHash: 'hash-f2', answer: '{"later":true}' });
    expect(await store.findAnswer('site0001', 'gone', T - 1)).toBeUndefined();

    // The migrated keys work: the same request is a repeat, another (an event or a fact) a conflict.
    const eventItem = (requestHash: string) => ({
      siteId: 'site0001', events: [{ id: 'evt_new', siteId: 'site0001', event: 'media_available', ids: { media_id: 'm1' }, eventTime: T, created: T }],
      idempotency: { key: 'ev-key', requestHash, answer: () => '{}' },
    });
    expect(await store.ingest([eventItem('hash-e')], T + 1, options)).toEqual([{ kind: 'repeat', answer: event!.answer }]);
    expect(await store.ingest([{
      siteId: 'site0001', writes: [{ kind: 'media', id: 'm9', state: {}, version: 0 }], events: [],
      idempotency: { key: 'ev-key', requestHash: 'hash-other', answer: () => '{}' },
    }], T + 1, options)).toEqual([{ kind: 'conflict' }]);
    expect(await store.getEvent('evt_new')).toBeUndefined();

    // Retention purges the one table, events' keys and facts' alike.
    expect(await store.purgeIdempotencyKeys(T + 2, 10)).toBe(3);
    expect(await store.findAnswer('site0001', 'fact-key', 0)).toBeUndefined();
  });
});
