// `hookline migrate` on this project's store, as a deploy step runs it: a child process that
// migrates a new database from nothing, then finds it current, refuses a database a newer build
// migrated, and (embedded store) refuses while a server holds the data dir. A server then starts
// on what it migrated.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS as POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { MIGRATIONS as SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { TEST_STORE, TEST_SECRET_KEY, freshSchema, runCli, schemaQuery, startTestNode, tempDir } from '../helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe(`hookline migrate (${TEST_STORE})`, () => {
  it.runIf(TEST_STORE === 'sqlite')('migrates the embedded database, says when it is current, and refuses while a server holds it or a newer build migrated it', async () => {
    const dataDir = tempDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const file = join(dataDir, 'hookline.db');
    const last = SQLITE_MIGRATIONS.length;

    const first = await runCli(['migrate', '--data-dir', dataDir]);
    expect(first).toEqual({ code: 0, output: `Migrated the embedded database ${file} from schema version 0 to ${last}.\n` });
    const again = await runCli(['migrate'], { HOOKLINE_DATA_DIR: dataDir });
    expect(again).toEqual({ code: 0, output: `The embedded database ${file} is current (schema version ${last}): nothing to do.\n` });

    // A database an older build made (its first migrations only) is taken the rest of the way.
    const olderDir = tempDir();
    cleanups.push(() => rmSync(olderDir, { recursive: true, force: true }));
    const older = new Database(join(olderDir, 'hookline.db'));
    for (const [i, sql] of SQLITE_MIGRATIONS.slice(0, 3).entries()) {
      older.exec(sql);
      older.pragma(`user_version = ${i + 1}`);
    }
    older.close();
    const upgraded = await runCli(['migrate', '--data-dir', olderDir]);
    expect(upgraded).toEqual({ code: 0, output: `Migrated the embedded database ${join(olderDir, 'hookline.db')} from schema version 3 to ${last}.
` });

    const node = await startTestNode({ dataDir });
    cleanups.push(() => node.close());
    const held = await runCli(['migrate', '--data-dir', dataDir]);
    expect(held.code).toBe(1);
    expect(held.output).toContain(`another process (a Hookline server) holds ${file}: a server migrates its database when it starts; stop it before migrating with this build`);
    await node.close();

    const newer = new Database(file);
    newer.pragma(`user_version = ${last + 1}`);
    newer.close();
    const refused = await runCli(['migrate', '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`the embedded database ${file} is at schema version ${last + 1}, newer than this build's ${last}: a newer Hookline migrated it; run that version (nothing was changed)`);
  });

  it.runIf(TEST_STORE === 'postgres')('migrates a PostgreSQL schema once, names it without credentials, and a node starts on it', async () => {
    const schema = await freshSchema();
    cleanups.push(() => schema.drop());
    const last = POSTGRES_MIGRATIONS.length;
    const url = new URL(schema.url);
    const where = `the PostgreSQL database ${url.protocol}//${url.host}${url.pathname} (schema ${schema.schema})`;

    const first = await runCli(['migrate', '--database', schema.url]);
    expect(first).toEqual({ code: 0, output: `Migrated ${where} from schema version 0 to ${last}.\n` });
    const again = await runCli(['migrate'], { DATABASE_URL: schema.url });
    expect(again).toEqual({ code: 0, output: `The PostgreSQL database ${url.protocol}//${url.host}${url.pathname} (schema ${schema.schema}) is current (schema version ${last}): nothing to do.\n` });

    const node = await startTestNode({ databaseUrl: schema.url, secretKey: TEST_SECRET_KEY });
    cleanups.push(() => node.close());
    expect((await node.account.api.get('/v2/webhooks/')).status).toBe(200);
    await node.close();

    await schemaQuery(schema.schema, 'INSERT INTO hookline_migrations (version, applied) VALUES ($1, $2)', [last + 1, Date.now()]);
    const refused = await runCli(['migrate', '--database', schema.url]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`${where} is at schema version ${last + 1}, newer than this build's ${last}`);
  });

  it('takes one database at a time', async () => {
    const res = await runCli(['migrate', '--data-dir', 'x', '--database', 'postgres://127.0.0.1/x']);
    expect(res.code).toBe(2);
    expect(res.output).toContain('--data-dir or --database: one database at a time');
  });
});
