// Chooses the store from the settings: PostgreSQL when a database URL is given, else the
// embedded SQLite in the data dir. Also what `hookline migrate` runs: the same migrations, and
// nothing else.
import type { Config } from '../config.js';
import { PostgresStore } from './postgres/index.js';
import { DatabaseHeld, holdDatabase } from './sqlite/backup.js';
import { SqliteStore } from './sqlite/index.js';
import type { Migrated, Store } from './ports.js';

type StoreSettings = Pick<Config, 'dataDir' | 'sqliteSynchronous' | 'databaseUrl' | 'databasePool' | 'databaseConnectTimeoutMs' | 'databaseQueryTimeoutMs' | 'partitionIntervalMs'>;

function postgres(config: StoreSettings & { databaseUrl: string }): PostgresStore {
  return new PostgresStore({
    url: config.databaseUrl,
    poolSize: config.databasePool,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
    partitionIntervalMs: config.partitionIntervalMs,
  });
}

export async function openStore(config: StoreSettings): Promise<Store> {
  if (!config.databaseUrl) return new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous });
  const store = postgres({ ...config, databaseUrl: config.databaseUrl });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * Migrates the database the settings name, as a start would, and closes it. The embedded one
 * must be free: a server holding it has migrated it already, and is the one to stop first.
 */
export async function migrateDatabase(config: StoreSettings): Promise<Migrated> {
  if (!config.databaseUrl) {
    try {
      holdDatabase(config.dataDir)?.close();
    } catch (err) {
      if (err instanceof DatabaseHeld) {
        throw new DatabaseHeld(`${err.message}: a server migrates its database when it starts; stop it before migrating with this build`);
      }
      throw err;
    }
  }
  const store = config.databaseUrl ? postgres({ ...config, databaseUrl: config.databaseUrl }) : await openStore(config);
  try {
    return await store.migrate();
  } finally {
    await store.close();
  }
}
