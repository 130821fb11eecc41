// Copies of the embedded database, made and put back while keeping its one rule: a single
// process holds the file (locking_mode=EXCLUSIVE, src/store/sqlite/index.ts). A copy is made by
// SQLite's online backup, by the holder (the server, through POST /v2/admin/backup/, or the CLI
// when no server runs); a restore needs the database free, checks the copy, and puts it in place
// with one rename. `hookline backup` and `hookline restore` (src/cli/) are their users; the
// procedure is in the README ("Backup and restore").
import Database from 'better-sqlite3';
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.js';

/** The database's file in the data dir. */
export const DATABASE_FILE = 'hookline.db';
/** Where a restore keeps the database it replaced, until the next restore. */
export const REPLACED_FILE = `${DATABASE_FILE}.before-restore`;
/** Copies the server is making or sending (backup) and a copy being checked (restore): leftovers of a crash. */
const BACKUP_PREFIX = `${DATABASE_FILE}.backup-`;
const RESTORING_FILE = `${DATABASE_FILE}.restoring`;

/** The tables every Hookline database has had since its first migration. */
const HOOKLINE_TABLES = ['accounts', 'api_keys', 'sites', 'webhooks', 'events', 'deliveries'];

/** Another process (a running server) holds the database: it cannot be opened here. */
export class DatabaseHeld extends Error {}

/** The file is not a Hookline database this build can run on: why, in a sentence. */
export class NotRestorable extends Error {}

/** Removes what a crash left of copies in the making: run by the holder at open. */
export function removeLeftovers(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    if (name.startsWith(BACKUP_PREFIX) || name === RESTORING_FILE) rmSync(join(dataDir, name), { force: true });
  }
}

/** A name for a copy the server makes in its data dir (removed at the next open if the process dies). */
export function backupTempFile(dataDir: string, id: string): string {
  return join(dataDir, `${BACKUP_PREFIX}${id}`);
}

/**
 * Opens the data dir's database and takes its lock, as a server does, without waiting: throws
 * DatabaseHeld while another process holds it. Undefined when the data dir has no database.
 */
export function holdDatabase(dataDir: string): Database.Database | undefined {
  const file = join(dataDir, DATABASE_FILE);
  if (!existsSync(file)) return undefined;
  const db = new Database(file, { fileMustExist: true, timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    // The first read takes the lock, and keeps it until close.
    db.pragma('user_version');
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new DatabaseHeld(`another process (a Hookline server) holds ${file}`);
    throw err;
  }
  return db;
}

/**
 * Writes a consistent copy of `db` to `file` (made 0600: it holds sealed secrets and key
 * hashes) as one self-contained file, with no -wal beside it. SQLite's online backup copies a
 * few pages at a time, so the process keeps serving meanwhile; the holder's own writes during it
 * are carried into the copy, which is the database as it stands when the copy ends.
 */
export async function copyDatabase(db: Database.Database, file: string): Promise<void> {
  closeSync(openSync(file, 'w', 0o600));
  chmodSync(file, 0o600);
  await db.backup(file);
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
}

/**
 * Checks that `file` is a whole Hookline database this build can run on (integrity_check, its
 * tables, a schema version not newer than this build's) and returns that version. Opens it for
 * writing (SQLite may, to open it): run it on a copy, not on what was given.
 */
export function checkDatabase(file: string): number {
  let db: Database.Database;
  try {
    db = new Database(file, { fileMustExist: true, timeout: 0 });
  } catch (err) {
    throw new NotRestorable(`cannot open ${file}: ${(err as Error).message}`);
  }
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    let version: number;
    let problems: string[];
    try {
      version = db.pragma('user_version', { simple: true }) as number;
      problems = (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).filter((r) => r !== 'ok');
    } catch (err) {
      throw new NotRestorable(`not a SQLite database (${(err as Error).message})`);
    }
    if (problems.length > 0) throw new NotRestorable(`the database is damaged (integrity_check: ${problems.slice(0, 3).join('; ')})`);
    const tables = new Set((db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
    const missing = HOOKLINE_TABLES.filter((t) => !tables.has(t));
    if (version === 0 || missing.length > 0) throw new NotRestorable(`a SQLite database, but not Hookline's (${missing.length > 0 ? `no table ${missing.join(', ')}` : 'schema version 0'})`);
    if (version > MIGRATIONS.length) {
      throw new NotRestorable(`its schema version is ${version}, newer than this build's ${MIGRATIONS.length}: restore it with the Hookline that made it (or a newer one)`);
    }
    return version;
  } finally {
    db.close();
  }
}

/**
 * Puts the copy `file` in place as the data dir's database. Refuses (DatabaseHeld) while a
 * server holds the data dir, and (NotRestorable) a file that checkDatabase refuses, before
 * anything in the data dir changes. The copy is checked beside the database, then renamed over
 * it: the data dir has the old database or the new one, whole, whatever happens. The one it
 * replaces is kept as REPLACED_FILE. Returns the restored database's schema version.
 */
export function restoreDatabase(dataDir: string, file: string): { version: number; replaced: boolean } {
  if (!existsSync(file)) throw new NotRestorable(`${file}: no such file`);
  if (existsSync(`${file}-wal`)) {
    throw new NotRestorable(`${file} has a write-ahead log beside it (${file}-wal): it is a live database, not a copy; make one with \`hookline backup\``);
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const target = join(dataDir, DATABASE_FILE);
  // Held until the new file is in place: no server starts on the old one meanwhile.
  const current = holdDatabase(dataDir);
  const incoming = join(dataDir, RESTORING_FILE);
  try {
    copyFileSync(file, incoming);
    chmodSync(incoming, 0o600);
    let version: number;
    try {
      version = checkDatabase(incoming);
    } catch (err) {
      rmSync(incoming, { force: true });
      throw err;
    }
    // The mode the server runs in, set now: nothing but its WAL is ever made beside the file in place.
    const db = new Database(incoming, { fileMustExist: true });
    try {
      db.pragma('journal_mode = WAL');
    } finally {
      db.close();
    }
    syncFile(incoming);
    if (current) {
      // The old database made whole in its own file (its WAL written into it), and kept.
      current.pragma('journal_mode = DELETE');
      rmSync(join(dataDir, REPLACED_FILE), { force: true });
      linkSync(target, join(dataDir, REPLACED_FILE));
    }
    renameSync(incoming, target);
    syncFile(dataDir);
    return { version, replaced: current !== undefined };
  } finally {
    current?.close();
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
