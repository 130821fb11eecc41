// hookline restore: puts a copy made by `hookline backup` in place as the data dir's database,
// refusing while a server holds the data dir and refusing a file that is not a whole Hookline
// database this build can run on (src/store/sqlite/backup.ts checks and places it).
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, configFrom, settingFlags } from '../config.js';
import { KEY_FILE } from '../security/secret-key.js';
import { readServerNote } from '../server-file.js';
import { DATABASE_FILE, DatabaseHeld, NotRestorable, REPLACED_FILE, restoreDatabase } from '../store/sqlite/backup.js';
import { MIGRATIONS } from '../store/sqlite/migrations.js';
import { out } from './args.js';
import { defineCommand } from './command.js';

export const restore = defineCommand({
  summary: 'put a backup in place as the data dir\'s database (no server running)',
  synopsis: ['<file> [--data-dir <dir>]'],
  description: `Puts <file>, a copy made by \`hookline backup\`, in place as the data dir's database:
- refuses while a server holds the data dir: stop it first;
- refuses a file that is not a whole Hookline database this build can run on (integrity_check,
  Hookline's tables, a schema version not newer than this build's);
- checks a copy of it beside the database, then renames that over the database in one step: the
  data dir holds the old database or the new one, whole, whatever happens. The database it
  replaces is kept as ${REPLACED_FILE} (until the next restore).

Then start the server on the data dir: it migrates the database if it is older than this build.
It needs the sealing key the backup was made with: the ${KEY_FILE} kept with the backup, copied
into the data dir (mode 0600), or HOOKLINE_SECRET_KEY.

On PostgreSQL (DATABASE_URL) use pg_restore.`,
  flags: settingFlags('data-dir'),
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new ConfigError(positionals.length === 0 ? 'which backup? name its file' : `one backup file, not ${positionals.join(' ')}`);
    const config = configFrom(values);
    if (config.databaseUrl) throw new Error('the database is PostgreSQL (DATABASE_URL): restore a pg_dump with pg_restore');
    const file = resolve(positionals[0]!);
    let restored: { version: number; replaced: boolean };
    try {
      restored = restoreDatabase(config.dataDir, file);
    } catch (err) {
      if (err instanceof DatabaseHeld) {
        const note = readServerNote(config.dataDir);
        const which = note ? ` (the server at ${note.url}, pid ${note.pid})` : '';
        throw new Error(`a server holds ${config.dataDir}${which}: stop it before restoring; nothing was changed`);
      }
      if (err instanceof NotRestorable) throw new Error(`${file} cannot be restored: ${err.message}; nothing was changed`);
      throw err;
    }
    const database = join(config.dataDir, DATABASE_FILE);
    const older = restored.version < MIGRATIONS.length ? `; the server migrates it to ${MIGRATIONS.length} when it starts` : '';
    out(`Restored ${file} as ${database} (schema version ${restored.version}${older}).`);
    if (restored.replaced) out(`The database it replaced is kept as ${join(config.dataDir, REPLACED_FILE)}.`);
    if (!config.secretKey && !existsSync(join(config.dataDir, KEY_FILE))) {
      out('');
      out(`!! There is no sealing key in ${config.dataDir}: copy the ${KEY_FILE} kept with the backup there (chmod 600),`);
      out('!! or set HOOKLINE_SECRET_KEY to the key it was made with. Until then the server refuses to start.');
    }
  },
});
