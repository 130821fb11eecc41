// Chooses the store from the settings: PostgreSQL when a database URL is given, else the
// embedded SQLite in the data dir.
import type { Config } from '../config.js';
import { PostgresStore } from './postgres/index.js';
import { SqliteStore } from './sqlite/index.js';
import type { Store } from './ports.js';

export async function openStore(config: Config): Promise<Store> {
  if (!config.databaseUrl) return new SqliteStore({ dataDir: config.dataDir, synchronous: config.sqliteSynchronous });
  const store = new PostgresStore({
    url: config.databaseUrl,
    poolSize: config.databasePool,
    connectTimeoutMs: config.databaseConnectTimeoutMs,
    queryTimeoutMs: config.databaseQueryTimeoutMs,
  });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
