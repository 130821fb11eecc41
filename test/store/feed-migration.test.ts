// The migration that gives events their place in the feed (SQLite's 11, PostgreSQL's 8), on the
// store under test: a database of the version before, with events and a delivery, comes out with
// those events in the feed in the order they were kept, new events after them, and the old
// delivery not a replay, nor replayed again.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/ports.js';
import { PostgresStore } from '../../src/store/postgres/index.js';
import { MIGRATIONS as PG_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { TEST_STORE, freshSchema, schemaQuery, tempDir, until } from '../helpers.js';

const T = Date.parse('2026-01-01T00:00:00Z');
/** How many migrations the version before had (later ones follow this one). */
const SQLITE_BEFORE = 10;
const PG_BEFORE = 7;

/** What the version before held, in the order it was committed: the same statements in both dialects. */
const OLD_ROWS = [
  "INSERT INTO accounts VALUES ('acct0001', 'a', 0)",
  "INSERT INTO sites VALUES ('site0001', 'acct0001', 's', 0)",
  "INSERT INTO sites VALUES ('site0002', 'acct0001', 't', 0)",
  `INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret, created, last_modified)
    VALUES ('hook0001', 'acct0001', 'h', '', 'http://127.0.0.1:9/', '["site0001"]', '["media_available"]', 'sealed', 0, 0)`,
  "INSERT INTO subscriptions VALUES ('site0001', 'media_available', 'hook0001')",
  `INSERT INTO events VALUES ('evt_1', 'site0001', 'media_available', 'm1', NULL, NULL, NULL, ${T}, ${T})`,
  `INSERT INTO deliveries (id, event_id, webhook_id, status, created, last_modified) VALUES ('msg_old', 'evt_1', 'hook0001', 'succeeded', ${T}, ${T})`,
  `INSERT INTO events VALUES ('evt_other', 'site0002', 'media_available', 'm9', NULL, NULL, NULL, ${T + 1}, ${T + 1})`,
  `INSERT INTO events VALUES ('evt_2', 'site0001', 'media_available', 'm2', NULL, NULL, NULL, ${T + 2}, ${T + 2})`,
];

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store opened on a database of the version before the feed, holding OLD_ROWS. */
async function upgraded(): Promise<Store> {
  if (TEST_STORE === 'sqlite') {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const db = new Database(join(dir, 'hookline.db'));
    for (const migration of SQLITE_MIGRATIONS.slice(0, SQLITE_BEFORE)) db.exec(migration);
    db.pragma(`user_version = ${SQLITE_BEFORE}`);
    for (const row of OLD_ROWS) db.exec(row);
    db.close();
    const store = new SqliteStore({ dataDir: dir, synchronous: 'FULL' });
    cleanups.push(() => store.close());
    return store;
  }
  const { url, schema, drop } = await freshSchema();
  cleanups.push(drop);
  await schemaQuery(schema, `CREATE SCHEMA ${schema}`);
  await schemaQuery(schema, 'CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
  for (let i = 0; i < PG_BEFORE; i++) {
    await schemaQuery(schema, PG_MIGRATIONS[i]!);
    await schemaQuery(schema, 'INSERT INTO hookline_migrations (version, applied) VALUES ($1, 0)', [i + 1]);
  }
  for (const row of OLD_ROWS) await schemaQuery(schema, row);
  const store = new PostgresStore({ url, poolSize: 2 });
  cleanups.push(() => store.close());
  await store.migrate();
  return store;
}

/** On PostgreSQL the feed's end waits for every older writing transaction on the server (other test files' too) to end. */
async function settled(store: Store): Promise<void> {
  if (!(store instanceof PostgresStore)) return;
  await until(async () => (await store.pool.query(`SELECT pg_snapshot_xmin(pg_current_snapshot()) > max(feed_xid) AS past FROM events`)).rows[0].past,
    10_000, 'the older transactions on the server to end');
}

describe(`the event feed, migrated (${TEST_STORE})`, () => {
  it('lists the events kept before it in their order, new ones after, and does not replay what was delivered', async () => {
    const store = await upgraded();
    await settled(store);
    const page = await store.readFeed('site0001', null, undefined, 10);
    expect(page.events.map((e) => e.id)).toEqual(['evt_1', 'evt_2']);
    expect((await store.readFeed('site0002', null, undefined, 10)).events.map((e) => e.id)).toEqual(['evt_other']);
    expect(await store.getDelivery('msg_old')).toMatchObject({ status: 'succeeded', replay: false });

    await store.ingest([{ siteId: 'site0001', events: [{ id: 'evt_3', siteId: 'site0001', event: 'media_updated', ids: { media_id: 'm1' }, eventTime: T + 3, created: T + 3 }] }],
      T + 3, { idempotencyWindowMs: 86_400_000, firstAttemptAt: T + 3 });
    await settled(store);
    expect((await store.readFeed('site0001', page.next, undefined, 10)).events.map((e) => e.id)).toEqual(['evt_3']);
    // evt_1 was delivered before: only evt_2 is owed.
    expect(await store.replayEvents('hook0001', T, T + 10, true)).toBe(1);
  });
});
