// hookline migrate: applies the database migrations and exits, for an init container or a deploy
// step that migrates before the new version starts (`start` still migrates by itself).
import { join } from 'node:path';
import { ConfigError, configFrom, settingFlags } from '../config.js';
import { parseDatabaseUrl } from '../store/postgres/db.js';
import { migrateDatabase } from '../store/open.js';
import { DATABASE_FILE } from '../store/sqlite/backup.js';
import { out } from './args.js';
import { defineCommand } from './command.js';

export const migrate = defineCommand({
  summary: 'apply the database migrations and exit (for a deploy step)',
  synopsis: ['[--data-dir <dir> | --database <postgres://…>]'],
  description: `Applies the migrations this build has to the database, as \`hookline start\` does when it
starts, and exits: for an init container or a deploy step before the new version starts. Says
from which schema version to which, or that the database is current. On PostgreSQL the nodes
starting meanwhile wait for it (one advisory lock); the embedded database must not be held by a
running server (stop it first).

A PostgreSQL URL takes ?schema=name as for start. The other database settings
(HOOKLINE_DATABASE_CONNECT_TIMEOUT, …) are read as \`start\` reads them.`,
  flags: settingFlags('data-dir', 'database'),
  async run({ values }) {
    if (values['data-dir'] !== undefined && values.database !== undefined) throw new ConfigError('--data-dir or --database: one database at a time');
    const config = configFrom(values);
    const where = config.databaseUrl ? describePostgres(config.databaseUrl) : `the embedded database ${join(config.dataDir, DATABASE_FILE)}`;
    const { from, to } = await migrateDatabase(config);
    if (from > to) {
      throw new Error(`${where} is at schema version ${from}, newer than this build's ${to}: a newer Hookline migrated it; run that version (nothing was changed)`);
    }
    out(from === to ? `${capitalized(where)} is current (schema version ${to}): nothing to do.` : `Migrated ${where} from schema version ${from} to ${to}.`);
  },
});

/** The database without its credentials: postgres://host:port/name, schema s. */
function describePostgres(url: string): string {
  const { connectionString, schema } = parseDatabaseUrl(url);
  const parsed = new URL(connectionString);
  return `the PostgreSQL database ${parsed.protocol}//${parsed.host}${parsed.pathname} (schema ${schema})`;
}

const capitalized = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
