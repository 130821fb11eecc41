// The directory on PostgreSQL (the Directory port, src/store/ports.ts): accounts, API keys and
// the operator's key, dashboard sessions, properties. Each operation with its SQL.
import { ownedFrom, sessionFrom } from '../rows.js';
import type { Account, ApiKey, Session, Site } from '../types.js';
import type { Db } from './db.js';

export async function createAccount(db: Db, a: Account): Promise<void> {
  await db.query('INSERT INTO accounts (id, name, created) VALUES ($1, $2, $3)', [a.id, a.name, a.created]);
}

export async function listAccounts(db: Db): Promise<Account[]> {
  return (await db.query('SELECT id, name, created FROM accounts ORDER BY created, id')).rows as Account[];
}

export async function getAccount(db: Db, id: string): Promise<Account | undefined> {
  return (await db.query('SELECT id, name, created FROM accounts WHERE id = $1', [id])).rows[0] as Account | undefined;
}

export async function createApiKey(db: Db, key: ApiKey, hash: string): Promise<void> {
  await db.query('INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES ($1, $2, $3, $4, $5)',
    [key.id, key.accountId, key.name, hash, key.created]);
}

export async function findApiKey(db: Db, hash: string): Promise<ApiKey | undefined> {
  const r = (await db.query('SELECT * FROM api_keys WHERE key_hash = $1', [hash])).rows[0];
  return r && ownedFrom(r);
}

export async function listApiKeys(db: Db, accountId: string): Promise<ApiKey[]> {
  const { rows } = await db.query('SELECT * FROM api_keys WHERE account_id = $1 ORDER BY created, id', [accountId]);
  return rows.map(ownedFrom);
}

export function revokeApiKey(db: Db, accountId: string, keyId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query('DELETE FROM api_keys WHERE account_id = $1 AND id = $2', [accountId, keyId]);
    if (rowCount === 0) return false;
    tx.announce({ kind: 'api_key', id: keyId });
    return true;
  });
}

export async function setOperatorKey(db: Db, key: ApiKey, hash: string): Promise<void> {
  await db.transaction(async (tx) => {
    // Nodes starting together with the same key: the first sets it, the others find it set.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline operator key ${db.schema}`]);
    await tx.query('DELETE FROM api_keys WHERE account_id IS NULL AND key_hash <> $1', [hash]);
    await tx.query(`INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES ($1, NULL, $2, $3, $4)
      ON CONFLICT (key_hash) DO NOTHING`, [key.id, key.name, hash, key.created]);
  });
}

export async function hasOperatorKey(db: Db): Promise<boolean> {
  return (await db.query('SELECT 1 FROM api_keys WHERE account_id IS NULL LIMIT 1')).rows.length > 0;
}

export async function createSession(db: Db, idHash: string, s: Pick<Session, 'apiKeyId' | 'csrfToken' | 'created' | 'expires'>): Promise<void> {
  await db.query('INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires) VALUES ($1, $2, $3, $4, $5)',
    [idHash, s.apiKeyId, s.csrfToken, s.created, s.expires]);
}

export async function findSession(db: Db, idHash: string, now: number): Promise<Session | undefined> {
  const r = (await db.query(`SELECT s.api_key_id, s.csrf_token, s.created, s.expires, s.read_only,
      s.account_id IS NOT NULL AS portal, coalesce(s.account_id, k.account_id) AS account_id
    FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
    WHERE s.id_hash = $1 AND s.expires > $2`, [idHash, now])).rows[0];
  return r && sessionFrom(r);
}

export async function deleteSession(db: Db, idHash: string): Promise<void> {
  await db.query('DELETE FROM sessions WHERE id_hash = $1', [idHash]);
}

export async function createSite(db: Db, s: Site): Promise<void> {
  await db.query('INSERT INTO sites (id, account_id, name, created) VALUES ($1, $2, $3, $4)', [s.id, s.accountId, s.name, s.created]);
}

export async function getSite(db: Db, id: string): Promise<Site | undefined> {
  const r = (await db.query('SELECT * FROM sites WHERE id = $1', [id])).rows[0];
  return r && ownedFrom(r);
}

export async function listSites(db: Db, accountId: string | null): Promise<Site[]> {
  const { rows } = accountId === null
    ? await db.query('SELECT * FROM sites ORDER BY created, id')
    : await db.query('SELECT * FROM sites WHERE account_id = $1 ORDER BY created, id', [accountId]);
  return rows.map(ownedFrom);
}
