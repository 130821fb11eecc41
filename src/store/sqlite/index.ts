// The embedded store: better-sqlite3 in WAL mode, held by one process (exclusive locking). This
// file opens it and tells of its writes; each port's operations live in a file of their own
// (directory.ts, webhooks.ts, intake.ts, engine.ts, delivery-log.ts, search-deliveries.ts,
// webhook-history.ts, feed.ts, retention.ts, audit.ts),
// each with its SQL beside it; copies of the file are backup.ts's.
import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync, realpathSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Audit, DatabaseCopy, DeliveryInsights, DeliveryLog, Directory, EngineStore, EventFeed, Intake, Migrated, Retention, Store, Webhooks } from '../ports.js';
import type { StoreChange } from '../types.js';
import { audit } from './audit.js';
import { backupTempFile, copyDatabase, DATABASE_FILE, removeLeftovers } from './backup.js';
import { deliveryLog } from './delivery-log.js';
import { directory } from './directory.js';
import { engine } from './engine.js';
import { eventFeed } from './feed.js';
import { intake } from './intake.js';
import { randomId } from '../../ids.js';
import { Listeners } from '../listeners.js';
import { MIGRATIONS } from './migrations.js';
import { retention } from './retention.js';
import { searchDeliveries } from './search-deliveries.js';
import type { Context } from './statement.js';
import { StorageWatch } from './storage-full.js';
import { webhookHistory } from './webhook-history.js';
import { webhooks } from './webhooks.js';

export interface SqliteOptions {
  dataDir: string;
  synchronous: 'FULL' | 'NORMAL';
}

/**
 * The data directory and the database file, readable by the service user only: the database
 * holds the webhook secrets (sealed) and the audit log. A new directory is made 0700; the file is
 * made (or tightened to) 0600 before SQLite opens it, and SQLite gives its -wal and -shm files
 * the database file's mode.
 */
function createPrivately(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, DATABASE_FILE);
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  return file;
}

/** The ports' operations, put on the class by the constructor (one object per port file). */
export interface SqliteStore extends Directory, Webhooks, Intake, EngineStore, DeliveryLog, DeliveryInsights, EventFeed, Retention, Audit {}

export class SqliteStore implements Store {
  readonly membership = null;
  /** One process counts the API's rate limits, in its memory. */
  readonly rateLimits = null;
  readonly db: Database.Database;
  /** What opening did: the embedded store migrates as it opens. */
  private readonly migrated: Migrated;
  private readonly dataDir: string | undefined;
  private readonly listeners = new Listeners();
  private readonly storage: StorageWatch;

  constructor(options: SqliteOptions | { memory: true }) {
    let synchronous: SqliteOptions['synchronous'] | undefined;
    if ('memory' in options) {
      this.db = new Database(':memory:');
    } else {
      this.dataDir = options.dataDir;
      this.db = new Database(createPrivately(options.dataDir));
      this.db.pragma('locking_mode = EXCLUSIVE');
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${options.synchronous}`);
      synchronous = options.synchronous;
      // Held now: no other process makes copies in this data dir.
      removeLeftovers(options.dataDir);
    }
    this.db.pragma('foreign_keys = ON');
    this.migrated = this.migrateNow();
    const context: Context = { db: this.db, synchronous, announce: (change) => this.announce(change) };
    // Every operation that finds no room to write throws StorageFull (storage-full.ts).
    this.storage = new StorageWatch(this.db);
    for (const port of [directory(context), webhooks(context), intake(context), engine(context), deliveryLog(context), searchDeliveries(context), webhookHistory(context), eventFeed(context), retention(context), audit(context)]) {
      Object.assign(this, this.storage.guard(port));
    }
  }

  private migrateNow(): Migrated {
    const from = this.db.pragma('user_version', { simple: true }) as number;
    for (let i = from; i < MIGRATIONS.length; i++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[i]!);
        this.db.pragma(`user_version = ${i + 1}`);
      })();
    }
    return { from, to: MIGRATIONS.length };
  }

  /** Done at open, with the file held since: what that did. */
  async migrate(): Promise<Migrated> {
    return this.migrated;
  }

  /** A consistent copy, made beside the database while the store keeps serving (backup.ts), open and already unlinked. */
  async backup(): Promise<DatabaseCopy> {
    if (!this.dataDir) throw new Error('an in-memory store has no file to copy');
    const file = backupTempFile(this.dataDir, randomId(16));
    try {
      await copyDatabase(this.db, file);
      const handle = await open(file, 'r');
      return { handle, size: (await handle.stat()).size, source: realpathSync(this.db.name) };
    } finally {
      rmSync(file, { force: true });
    }
  }

  async close(): Promise<void> {
    this.storage.stop();
    if (this.db.open) this.db.close();
  }

  get storageFull(): boolean {
    return this.storage.isFull;
  }

  onStorageFull(listener: (full: boolean, cause?: unknown) => void): void {
    this.storage.listen(listener);
  }

  /** /readyz: throws StorageFull while there is no room to write (tried again now). */
  async ping(): Promise<void> {
    this.storage.check();
  }

  /** In this process only: no other process writes to the file. */
  onChange(listener: (change: StoreChange) => void): void {
    this.listeners.add(listener);
  }

  /** Called by the operations once their transaction has committed, synchronously. */
  private announce(change: StoreChange): void {
    this.listeners.tell(change);
  }

}
