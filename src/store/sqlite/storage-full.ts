// A full disk, on the embedded store: every write that finds no room throws StorageFull (a 503
// `storage_full`, and the engine backs off and keeps its outcomes), and the store says once when
// it fills and once when it has room again, so that it is logged per change of state, not per
// request. While full, a write of 64 KiB is tried every second (and at each /readyz) to see
// whether there is room again: a small in-place write succeeding says nothing.
import Database from 'better-sqlite3';
import { StorageFull } from '../unavailable.js';

/**
 * No room to write: SQLITE_FULL (the disk, or PRAGMA max_page_count), or one of the I/O errors
 * SQLite reports for a full disk on some paths (growing the WAL's shared memory, fsync, …). An
 * I/O error from a failing disk is taken alike: writes cannot be made now, whichever it is.
 */
export function isStorageFull(err: unknown): boolean {
  if (!(err instanceof Database.SqliteError)) return false;
  return err.code === 'SQLITE_FULL' || err.code.startsWith('SQLITE_IOERR');
}

/** While full, how often a write is tried to see whether there is room again. */
const SPACE_PROBE_MS = 1_000;
/** What that write needs: room for it is room for a batch of intake or of outcomes. */
const SPACE_PROBE_BYTES = 64 * 1024;

export class StorageWatch {
  /** Set by the first write that found no room (its error), cleared by a probe that finds some. */
  private full: { cause: unknown; probe: NodeJS.Timeout } | undefined;
  private readonly listeners: ((full: boolean, cause?: unknown) => void)[] = [];

  constructor(private readonly db: Database.Database) {}

  get isFull(): boolean {
    return this.full !== undefined;
  }

  listen(listener: (full: boolean, cause?: unknown) => void): void {
    this.listeners.push(listener);
  }

  /** The port's async operations, each throwing StorageFull (and marking the store full) when it finds no room. */
  guard<T extends object>(port: T): T {
    for (const [name, operation] of Object.entries(port)) {
      if (typeof operation !== 'function') continue;
      (port as Record<string, unknown>)[name] = async (...args: unknown[]) => {
        try {
          return await operation(...args);
        } catch (err) {
          throw this.storageError(err);
        }
      };
    }
    return port;
  }

  /** /readyz: throws StorageFull while there is no room to write (tried again now). */
  check(): void {
    if (this.full && !this.probe()) throw new StorageFull(this.full.cause);
  }

  stop(): void {
    clearInterval(this.full?.probe);
  }

  private storageError(err: unknown): unknown {
    if (err instanceof StorageFull || !isStorageFull(err)) return err;
    if (!this.full) {
      const probe = setInterval(() => {
        try {
          this.probe();
        } catch {
          // not a lack of space: the next probe, or the next write, says more
        }
      }, SPACE_PROBE_MS);
      probe.unref();
      this.full = { cause: err, probe };
      for (const listener of this.listeners) listener(true, err);
    }
    return new StorageFull(err);
  }

  /** While full: writes SPACE_PROBE_BYTES and deletes them again; when that commits there is room again. */
  private probe(): boolean {
    if (!this.full) return true;
    try {
      this.db.prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('space_probe', randomblob(?))`).run(SPACE_PROBE_BYTES);
    } catch (err) {
      if (isStorageFull(err)) return false;
      throw err;
    }
    // The room it took is free again for what comes next (a failure here leaves it for the next probe).
    this.db.prepare(`DELETE FROM meta WHERE key = 'space_probe'`).run();
    clearInterval(this.full.probe);
    this.full = undefined;
    for (const listener of this.listeners) listener(false);
    return true;
  }
}
