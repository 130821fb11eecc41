// What every operation file of the embedded store shares: its prepared statements, cached per
// database and SQL text so that an operation can keep its SQL beside it and still prepare it only
// once, and the context the operations run in.
import type Database from 'better-sqlite3';
import type { StoreChange } from '../types.js';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** `sql` prepared on `db`, once: later calls with the same text get the same statement. */
export function statement(db: Database.Database, sql: string): Database.Statement {
  let statements = cache.get(db);
  if (!statements) cache.set(db, (statements = new Map()));
  let prepared = statements.get(sql);
  if (!prepared) statements.set(sql, (prepared = db.prepare(sql)));
  return prepared;
}

/** What the operations of every port are given. */
export interface Context {
  db: Database.Database;
  /** The configured synchronous level; undefined in memory (nothing to fsync). */
  synchronous: 'FULL' | 'NORMAL' | undefined;
  /** Tells the store's listeners of a committed change: call it once the transaction is over, never inside. */
  announce(change: StoreChange): void;
}
