// The directory on the embedded store: accounts, API keys (the operator's too), dashboard
// sessions and properties (sites). What the API's key check and the dashboard read.
import { ownedFrom, sessionFrom, type Row } from '../rows.js';
import type { Directory } from '../ports.js';
import type { Account, ApiKey, Session, Site } from '../types.js';
import { portal } from './portal.js';
import { statement, type Context } from './statement.js';

export function directory({ db, announce }: Context): Directory {
  const insertKey = (key: ApiKey, hash: string) =>
    statement(db, 'INSERT INTO api_keys (id, account_id, name, key_hash, created) VALUES (?, ?, ?, ?, ?)')
      .run(key.id, key.accountId, key.name, hash, key.created);

  return {
    async createAccount(a) {
      statement(db, 'INSERT INTO accounts (id, name, created) VALUES (?, ?, ?)').run(a.id, a.name, a.created);
    },

    async listAccounts() {
      return statement(db, 'SELECT id, name, created FROM accounts ORDER BY created, id').all() as Account[];
    },

    async getAccount(id) {
      return statement(db, 'SELECT id, name, created FROM accounts WHERE id = ?').get(id) as Account | undefined;
    },

    async createApiKey(key, hash) {
      insertKey(key, hash);
    },

    async findApiKey(hash) {
      const r = statement(db, 'SELECT * FROM api_keys WHERE key_hash = ?').get(hash) as Row | undefined;
      return r && ownedFrom(r);
    },

    async listApiKeys(accountId) {
      return (statement(db, 'SELECT * FROM api_keys WHERE account_id = ? ORDER BY created, id').all(accountId) as Row[]).map(ownedFrom);
    },

    async revokeApiKey(accountId, keyId) {
      const revoked = statement(db, 'DELETE FROM api_keys WHERE account_id = ? AND id = ?').run(accountId, keyId).changes > 0;
      if (revoked) announce({ kind: 'api_key', id: keyId });
      return revoked;
    },

    async setOperatorKey(key, hash) {
      db.transaction(() => {
        statement(db, 'DELETE FROM api_keys WHERE account_id IS NULL').run();
        insertKey({ ...key, accountId: null }, hash);
      })();
    },

    async hasOperatorKey() {
      return statement(db, 'SELECT 1 FROM api_keys WHERE account_id IS NULL LIMIT 1').get() !== undefined;
    },

    async createSession(idHash, s) {
      statement(db, `INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires)
        VALUES (@idHash, @apiKeyId, @csrfToken, @created, @expires)`).run({ idHash, ...s });
    },

    async findSession(idHash, now): Promise<Session | undefined> {
      const r = statement(db, `SELECT s.api_key_id, s.csrf_token, s.created, s.expires, s.read_only,
          s.account_id IS NOT NULL AS portal, coalesce(s.account_id, k.account_id) AS account_id
        FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
        WHERE s.id_hash = ? AND s.expires > ?`).get(idHash, now) as Row | undefined;
      return r && sessionFrom(r);
    },

    async deleteSession(idHash) {
      statement(db, 'DELETE FROM sessions WHERE id_hash = ?').run(idHash);
    },

    ...portal(db),

    async createSite(s) {
      statement(db, 'INSERT INTO sites (id, account_id, name, created) VALUES (?, ?, ?, ?)').run(s.id, s.accountId, s.name, s.created);
    },

    async getSite(id): Promise<Site | undefined> {
      const r = statement(db, 'SELECT * FROM sites WHERE id = ?').get(id) as Row | undefined;
      return r && ownedFrom(r);
    },

    async listSites(accountId) {
      const rows = accountId === null
        ? statement(db, 'SELECT * FROM sites ORDER BY created, id').all()
        : statement(db, 'SELECT * FROM sites WHERE account_id = ? ORDER BY created, id').all(accountId);
      return (rows as Row[]).map(ownedFrom);
    },
  };
}
