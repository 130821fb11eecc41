// hookline backup: a consistent copy of the embedded database, whether or not a server runs on
// the data dir. The server holds the database exclusively, so when one runs the copy is made by
// it (POST /v2/admin/backup/, operator key) and streamed here; the data dir's server.json says
// where it listens (src/server-file.ts). When none runs, the copy is made here, holding the
// database meanwhile as a server would.
import { createWriteStream, existsSync, realpathSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { SOURCE_HEADER } from '../api/routes/admin.js';
import { ConfigError, configFrom, settingFlags, type Config } from '../config.js';
import { KEY_FILE } from '../security/secret-key.js';
import { readServerNote } from '../server-file.js';
import { checkDatabase, copyDatabase, DATABASE_FILE, DatabaseHeld, holdDatabase } from '../store/sqlite/backup.js';
import { out } from './args.js';
import { defineCommand } from './command.js';
import { fetchFailure } from './client.js';

export const backup = defineCommand({
  summary: 'write a consistent copy of the embedded database, server running or not',
  synopsis: ['<file> [--data-dir <dir>]'],
  description: `Writes a consistent copy of the embedded SQLite database to <file>: one self-contained SQLite
file (mode 0600), written under another name and renamed to <file> once it is complete and
checked (integrity_check). Events keep coming in and being delivered meanwhile.

- When a server runs on the data dir (it holds the database), the copy is made by that server
  and streamed here: backup finds it through the data dir's server.json and asks with the
  operator key (HOOKLINE_OPERATOR_KEY or HOOKLINE_OPERATOR_KEY_FILE, as for start).
- When none runs, backup opens the database itself.

Keep the sealing key with the backup: the data dir's ${KEY_FILE}, or HOOKLINE_SECRET_KEY. The
webhook secrets in the copy are sealed with it; without it they cannot be read.

On PostgreSQL (DATABASE_URL) use pg_dump. \`hookline restore\` puts a copy back.`,
  flags: settingFlags('data-dir'),
  positionals: true,
  async run({ values, positionals }) {
    if (positionals.length !== 1) throw new ConfigError(positionals.length === 0 ? 'where to? name the backup file' : `one backup file, not ${positionals.join(' ')}`);
    const config = configFrom(values);
    if (config.databaseUrl) {
      throw new Error('the database is PostgreSQL (DATABASE_URL): back it up with pg_dump, e.g. pg_dump --format=custom --schema=<schema> --file=hookline.dump "$DATABASE_URL" (without ?schema=); '
        + 'keep HOOKLINE_SECRET_KEY with it');
    }
    const target = resolve(positionals[0]!);
    if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new Error(`${target} is a folder: name the backup file`);
    const database = join(config.dataDir, DATABASE_FILE);
    const partial = `${target}.partial`;
    let how: string;
    try {
      try {
        const db = holdDatabase(config.dataDir);
        if (!db) throw new Error(`there is no database in ${config.dataDir} (${database}): --data-dir or HOOKLINE_DATA_DIR names the server's data dir`);
        try {
          await copyDatabase(db, partial);
        } finally {
          db.close();
        }
        how = 'no server runs on it: copied here';
      } catch (err) {
        if (!(err instanceof DatabaseHeld)) throw err;
        how = `through the server at ${await copyThroughServer(config, database, partial)}`;
      }
      const version = checkDatabase(partial);
      renameSync(partial, target);
      const size = (statSync(target).size / 1_048_576).toFixed(1);
      out(`Backed up ${database} (schema version ${version}, ${size} MB) to ${target} (${how}).`);
    } catch (err) {
      rmSync(partial, { force: true });
      throw err;
    }
    const keyFile = join(config.dataDir, KEY_FILE);
    const key = config.secretKey ? 'the key in HOOKLINE_SECRET_KEY'
      : existsSync(keyFile) ? `the key file ${keyFile}` : `the HOOKLINE_SECRET_KEY the server runs with (the data dir has no ${KEY_FILE})`;
    out('');
    out(`!! KEEP THE SEALING KEY WITH THIS BACKUP: ${key}.`);
    out('!! The webhook secrets in the backup are sealed with it: without it they cannot be read, and a');
    out('!! server started on the restored database refuses to start. Store it apart from the backup, safely.');
  },
});

/** Asks the server holding the database for a copy, writes it to `file`; returns the server's URL. */
async function copyThroughServer(config: Config, database: string, file: string): Promise<string> {
  const note = readServerNote(config.dataDir);
  if (!note) {
    throw new Error(`another process holds ${database}, and the data dir has no server.json saying where it listens: `
      + 'stop it and run backup again, or make the copy through its API (POST /v2/admin/backup/ with the operator key)');
  }
  if (!config.operatorKey) {
    throw new Error(`a server runs on ${config.dataDir} (${note.url}, pid ${note.pid}) and holds the database: backup asks it for the copy `
      + 'with the operator key; set HOOKLINE_OPERATOR_KEY or HOOKLINE_OPERATOR_KEY_FILE');
  }
  let res: Response;
  try {
    res = await fetch(new URL('/v2/admin/backup/', note.url), { method: 'POST', headers: { authorization: `Bearer ${config.operatorKey}` } });
  } catch (err) {
    throw new Error(`cannot reach the server that holds ${database} at ${note.url} (${fetchFailure(err)}), as its server.json says`);
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let description = text || res.statusText;
    try {
      description = JSON.parse(text).errors[0].description ?? description;
    } catch {
      // not JWP's error format: the text as it came
    }
    const hint = res.status === 401 ? ' (HOOKLINE_OPERATOR_KEY must be that server\'s operator key)' : '';
    throw new Error(`the server at ${note.url} answered ${res.status}: ${description}${hint}`);
  }
  const source = decodeURIComponent(res.headers.get(SOURCE_HEADER) ?? '');
  if (source !== realpathSync(database)) {
    await res.body.cancel();
    throw new Error(`the server at ${note.url} serves ${source || 'another database'}, not ${database}: the data dir's server.json is out of date`);
  }
  await pipeline(Readable.fromWeb(res.body as ReadableStream), createWriteStream(file, { mode: 0o600 }));
  const expected = Number(res.headers.get('content-length'));
  if (expected > 0 && statSync(file).size !== expected) throw new Error(`the copy from ${note.url} ended early (${statSync(file).size} of ${expected} bytes)`);
  return note.url;
}
