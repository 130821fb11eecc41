// Where the sealing key comes from, and the check that it is the right one. The key is
// HOOKLINE_SECRET_KEY or, on the embedded store, a key file made once in the data dir
// (mode 0600). The store keeps a known value sealed with the key: a wrong or lost key is a clear
// error at start, not garbage at the first delivery.
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Store } from '../store/ports.js';
import { generateSealingKey, parseSealingKey, SecretBox } from './sealing.js';

export const KEY_FILE = 'secret.key';
const CHECK_TEXT = 'hookline sealing key check';
const CHECK_CONTEXT = 'seal_check';

/** The key is missing or wrong: Hookline must not start. */
export class SealingKeyError extends Error {}

type KeySettings = Pick<Config, 'secretKey' | 'dataDir' | 'databaseUrl'>;

export async function openSecretBox(config: KeySettings, store: Store, log: Logger): Promise<SecretBox> {
  const check = await store.getSealCheck();
  const { key, source } = loadKey(config, check !== undefined, log);
  const box = new SecretBox(key);
  const stored = check ?? (await store.adoptSealing(box.seal(CHECK_TEXT, CHECK_CONTEXT), (id, plaintext) => box.seal(plaintext, id)));
  let opens = false;
  try {
    opens = box.unseal(stored, CHECK_CONTEXT) === CHECK_TEXT;
  } catch {
    // reported below
  }
  if (!opens) {
    throw new SealingKeyError(
      `${source} is not the key that sealed the webhook secrets in this database. ` +
      'Start with the key they were sealed with (the HOOKLINE_SECRET_KEY of the first start, or the data dir\'s ' +
      `${KEY_FILE}); without it the secrets cannot be read.`,
    );
  }
  return box;
}

function loadKey(config: KeySettings, sealedBefore: boolean, log: Logger): { key: Buffer; source: string } {
  if (config.secretKey) return { key: parseSealingKey(config.secretKey), source: 'HOOKLINE_SECRET_KEY' };
  if (config.databaseUrl) {
    throw new SealingKeyError('HOOKLINE_SECRET_KEY is required with PostgreSQL: every node seals and opens webhook secrets with that one key');
  }
  const path = join(config.dataDir, KEY_FILE);
  if (existsSync(path)) {
    if ((statSync(path).mode & 0o077) !== 0) log.warn({ path }, 'the key file is readable by others; chmod 600 it');
    try {
      return { key: parseSealingKey(readFileSync(path, 'utf8')), source: `the key file ${path}` };
    } catch (err) {
      throw new SealingKeyError(`the key file ${path} holds no key: ${(err as Error).message}`);
    }
  }
  if (sealedBefore) {
    throw new SealingKeyError(
      `the webhook secrets in this database are sealed, but the key is missing: restore ${path} or set HOOKLINE_SECRET_KEY to the key they were sealed with`,
    );
  }
  const key = generateSealingKey();
  // 'wx': never replace a key file another process has just written.
  writeFileSync(path, key + '\n', { mode: 0o600, flag: 'wx' });
  log.info({ path }, 'created the key that seals webhook secrets; back it up apart from the database');
  return { key: parseSealingKey(key), source: `the key file ${path}` };
}
