// The data directory and the database hold the webhook secrets (sealed) and the audit log: they
// are made for the service user alone, 0700 and 0600, whatever the umask, and a database left
// readable by an earlier version is tightened when Hookline opens it.
import { chmodSync, existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { tempDir } from '../helpers.js';

const mode = (path: string) => statSync(path).mode & 0o777;
let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

it('makes a new data directory 0700 and its database files 0600, under a permissive umask', () => {
  const parent = tempDir();
  dirs.push(parent);
  const dataDir = join(parent, 'data');
  const umask = process.umask(0o022);
  try {
    const store = new SqliteStore({ dataDir, synchronous: 'FULL' });
    try {
      expect(mode(dataDir)).toBe(0o700);
      // No -shm file: in exclusive locking mode SQLite keeps the WAL index in memory.
      for (const file of ['hookline.db', 'hookline.db-wal']) {
        expect(existsSync(join(dataDir, file)), file).toBe(true);
        expect(mode(join(dataDir, file)), file).toBe(0o600);
      }
    } finally {
      store.close();
    }
  } finally {
    process.umask(umask);
  }
});

it('tightens a database file that an earlier version left readable by others', () => {
  const dataDir = tempDir();
  dirs.push(dataDir);
  mkdirSync(dataDir, { recursive: true });
  new SqliteStore({ dataDir, synchronous: 'FULL' }).close();
  chmodSync(join(dataDir, 'hookline.db'), 0o644);
  writeFileSync(join(dataDir, 'untouched.txt'), 'x', { mode: 0o644 });
  const store = new SqliteStore({ dataDir, synchronous: 'FULL' });
  store.close();
  expect(mode(join(dataDir, 'hookline.db'))).toBe(0o600);
  expect(mode(join(dataDir, 'untouched.txt'))).toBe(0o644);
});
