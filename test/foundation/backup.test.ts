// `hookline backup` and `hookline restore` on the embedded store, as an operator runs them: the
// CLI as a child process beside a server that holds the data dir. A backup taken while events
// are being ingested and delivered, restored into a new data dir, starts a server that has every
// event acknowledged before the backup began, each with all its deliveries, and delivers what
// was pending. Restore refuses while a server holds the data dir, and refuses what is not a
// whole Hookline database this build can run on, changing nothing.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SOURCE_HEADER } from '../../src/api/routes/admin.js';
import { KEY_FILE } from '../../src/security/secret-key.js';
import { SERVER_FILE } from '../../src/server-file.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import {
  OPERATOR_KEY, TEST_DATABASE_URL, createWebhook, runCli, startReceiver, startTestNode, tempDir, until, type Receiver, type TestNode,
} from '../helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function node(overrides: Parameters<typeof startTestNode>[0] = {}): Promise<TestNode> {
  const n = await startTestNode(overrides);
  cleanups.push(() => n.close());
  return n;
}

async function receiver(): Promise<Receiver> {
  const r = await startReceiver();
  cleanups.push(() => r.close());
  return r;
}

function dir(): string {
  const d = tempDir('hookline-backup-');
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const operatorEnv = { HOOKLINE_OPERATOR_KEY: OPERATOR_KEY };

describe('hookline backup and restore', () => {
  it('backs up through the running server under load; a server restored from it has every event acknowledged before the backup began', async () => {
    const hooks = await receiver();
    const source = await node();
    const site = source.account.siteId;
    for (let i = 0; i < 2; i++) await createWebhook(source.account.api, [site], hooks.url, ['media_created']);

    // Load: events reported without pause, each 202 noted with when it came back.
    const acked: { id: string; at: number }[] = [];
    let stop = false;
    let sent = 0;
    const loops = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const res = await source.operator.post(`/v2/sites/${site}/events/`, { event: 'media_created', media_id: `m${String(sent++).padStart(7, '0')}` });
        if (res.status !== 202) throw new Error(`intake answered ${res.status}: ${JSON.stringify(res.body)}`);
        acked.push({ id: res.body.id, at: performance.now() });
      }
    });
    const loading = Promise.all(loops);
    loading.catch(() => {});
    await until(() => acked.length >= 800 && hooks.received.length >= 400, 60_000, 'events ingested and delivered before the backup');

    const file = join(dir(), 'nightly.db');
    const began = performance.now();
    const deliveredBefore = hooks.received.length;
    const backup = await runCli(['backup', file, '--data-dir', source.dataDir], operatorEnv);
    const ended = performance.now();
    const deliveredDuring = hooks.received.length - deliveredBefore;
    stop = true;
    await loading;

    expect(backup.code, backup.output).toBe(0);
    expect(backup.output).toMatch(new RegExp(`Backed up .*hookline\\.db \\(schema version ${MIGRATIONS.length}, [\\d.]+ MB\\) to ${file} \\(through the server at ${source.url}\\)`));
    expect(backup.output).toContain(`KEEP THE SEALING KEY WITH THIS BACKUP: the key file ${join(source.dataDir, KEY_FILE)}`);
    // The server went on taking and delivering events while the backup ran.
    expect(acked.filter((a) => a.at > began && a.at < ended).length).toBeGreaterThan(0);
    expect(deliveredDuring).toBeGreaterThan(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(`${file}.partial`)).toBe(false);
    // The server made its copy in its data dir and left nothing there.
    expect(readdirSync(source.dataDir).filter((f) => f.includes('.backup-'))).toEqual([]);

    // Restoring onto the data dir the server holds is refused, and changes nothing.
    const before = readdirSync(source.dataDir).sort();
    const refused = await runCli(['restore', file, '--data-dir', source.dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.output).toContain(`a server holds ${source.dataDir} (the server at ${source.url}, pid ${process.pid}): stop it before restoring; nothing was changed`);
    expect(readdirSync(source.dataDir).sort()).toEqual(before);
    expect((await source.account.api.get('/v2/webhooks/')).status).toBe(200);

    // Disaster: the server is gone; its key was kept with the backup.
    const restoredDir = join(dir(), 'data');
    const restore = await runCli(['restore', file, '--data-dir', restoredDir]);
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toContain(`Restored ${file} as ${join(restoredDir, 'hookline.db')} (schema version ${MIGRATIONS.length})`);
    expect(restore.output).toContain(`There is no sealing key in ${restoredDir}`);
    copyFileSync(join(source.dataDir, KEY_FILE), join(restoredDir, KEY_FILE));
    chmodSync(join(restoredDir, KEY_FILE), 0o600);
    const ackedBefore = acked.filter((a) => a.at < began).map((a) => a.id);
    await source.close();

    const restored = await node({ dataDir: restoredDir });
    const store = restored.hookline.store as SqliteStore;
    const missing = [];
    for (const id of ackedBefore) if (!(await store.getEvent(id))) missing.push(id);
    expect(missing).toEqual([]);
    // A consistent copy: every event in it has its two deliveries, none half-written.
    const incomplete = store.db.prepare('SELECT count(*) AS n FROM events e WHERE (SELECT count(*) FROM deliveries d WHERE d.event_id = e.id) <> 2').get() as { n: number };
    expect(incomplete.n).toBe(0);
    // What was pending in the copy is delivered by the restored server.
    await until(async () => (await store.engineStats(1)).pending === 0, 30_000, 'the restored server to deliver what was pending');
  }, 180_000);

  it('refuses a file that is not a whole Hookline database this build can run on, and changes nothing', async () => {
    const first = await node();
    const good = join(dir(), 'good.db');
    expect((await runCli(['backup', good, '--data-dir', first.dataDir], operatorEnv)).code).toBe(0);
    const target = join(dir(), 'data');
    expect((await runCli(['restore', good, '--data-dir', target])).code).toBe(0);
    const placed = sha256(join(target, 'hookline.db'));

    const scratch = dir();
    const text = join(scratch, 'notes.txt');
    writeFileSync(text, 'these are not the bytes of a database\n'.repeat(200));
    const foreign = join(scratch, 'foreign.db');
    const other = new Database(foreign);
    other.exec('CREATE TABLE things (id INTEGER PRIMARY KEY)');
    other.close();
    const newer = join(scratch, 'newer.db');
    copyFileSync(good, newer);
    const db = new Database(newer);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    const damaged = join(scratch, 'damaged.db');
    copyFileSync(good, damaged);
    truncateSync(damaged, Math.floor(statSync(damaged).size / 2));

    const cases: [string, RegExp][] = [
      [text, /cannot be restored: not a SQLite database \(file is not a database\); nothing was changed/],
      [foreign, /cannot be restored: a SQLite database, but not Hookline's \(no table accounts, api_keys, sites, webhooks, events, deliveries\)/],
      [newer, new RegExp(`cannot be restored: its schema version is ${MIGRATIONS.length + 1}, newer than this build's ${MIGRATIONS.length}`)],
      [damaged, /cannot be restored: (the database is damaged|not a SQLite database)/],
      [join(scratch, 'absent.db'), /absent\.db: no such file/],
    ];
    for (const [file, expected] of cases) {
      const res = await runCli(['restore', file, '--data-dir', target]);
      expect(res.code, file).toBe(1);
      expect(res.output, file).toMatch(expected);
      expect(sha256(join(target, 'hookline.db')), file).toBe(placed);
      expect(readdirSync(target), file).toEqual(['hookline.db']);
    }
  }, 60_000);

  it('copies the database itself when no server runs, and keeps the database a restore replaces', async () => {
    const data = dir();
    const made = await runCli(['migrate', '--data-dir', data]);
    expect(made.code, made.output).toBe(0);
    const file = join(dir(), 'offline.db');
    const res = await runCli(['backup', file, '--data-dir', data], { HOOKLINE_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') });
    expect(res.code, res.output).toBe(0);
    expect(res.output).toContain(`to ${file} (no server runs on it: copied here)`);
    expect(res.output).toContain('KEEP THE SEALING KEY WITH THIS BACKUP: the key in HOOKLINE_SECRET_KEY');
    expect(existsSync(join(data, SERVER_FILE))).toBe(false);

    // A change after the backup, which the restore takes back.
    const later = new Database(join(data, 'hookline.db'));
    later.prepare('INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)').run('Later001', 'made after the backup', Date.now());
    later.close();
    const again = await runCli(['restore', file, '--data-dir', data]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain(`The database it replaced is kept as ${join(data, 'hookline.db.before-restore')}`);
    expect(readdirSync(data).sort()).toEqual(['hookline.db', 'hookline.db.before-restore']);
    const accounts = (file: string) => {
      const db = new Database(join(data, file), { readonly: true });
      try {
        return (db.prepare('SELECT id FROM accounts').all() as { id: string }[]).map((r) => r.id);
      } finally {
        db.close();
      }
    };
    expect(accounts('hookline.db')).toEqual([]);
    expect(accounts('hookline.db.before-restore')).toEqual(['Later001']);
  });

  it('says what to do instead: pg_dump on PostgreSQL, the operator key for a running server, a data dir with a database', async () => {
    const file = join(dir(), 'x.db');
    const pg = await runCli(['backup', file], { DATABASE_URL: TEST_DATABASE_URL });
    expect(pg.code).toBe(1);
    expect(pg.output).toMatch(/the database is PostgreSQL \(DATABASE_URL\): back it up with pg_dump/);

    const running = await node();
    const noKey = await runCli(['backup', file, '--data-dir', running.dataDir]);
    expect(noKey.code).toBe(1);
    expect(noKey.output).toContain(`a server runs on ${running.dataDir} (${running.url}, pid ${process.pid}) and holds the database: backup asks it for the copy with the operator key; set HOOKLINE_OPERATOR_KEY`);
    const wrongKey = await runCli(['backup', file, '--data-dir', running.dataDir], { HOOKLINE_OPERATOR_KEY: 'hlk_not_the_operator_key_of_this_server_at_all' });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.output).toMatch(/answered 401: invalid API key \(HOOKLINE_OPERATOR_KEY must be that server's operator key\)/);
    // An account key cannot take a copy of every account's data.
    const byAccount = await running.account.api.post('/v2/admin/backup/');
    expect(byAccount.status).toBe(403);

    const empty = dir();
    const none = await runCli(['backup', file, '--data-dir', empty]);
    expect(none.code).toBe(1);
    expect(none.output).toContain(`there is no database in ${empty}`);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(`${file}.partial`)).toBe(false);
  });

  it('answers the operator with the copy itself, naming the database it copied', async () => {
    const running = await node();
    const res = await fetch(`${running.url}/v2/admin/backup/`, { method: 'POST', headers: { authorization: `Bearer ${OPERATOR_KEY}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.sqlite3');
    expect(decodeURIComponent(res.headers.get(SOURCE_HEADER)!)).toBe(join(running.dataDir, 'hookline.db'));
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.length).toBe(Number(res.headers.get('content-length')));
    expect(bytes.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
    const audit = await running.operator.get('/v2/audit_log/');
    expect(audit.body.audit_log.map((e: { action: string }) => e.action)).toContain('database.backed_up');
  });
});
