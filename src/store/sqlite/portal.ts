// Portal links on the embedded store: the operator's key makes a one-use link for one account's
// dashboard; opening it trades the token for a session in one transaction (the single writer
// and DELETE … RETURNING make the second of two opens find nothing).
import type { Directory } from '../ports.js';
import { sessionFrom, type Row } from '../rows.js';
import { statement, type Context } from './statement.js';

export function portal(db: Context['db']): Pick<Directory, 'createPortalToken' | 'openPortalSession'> {
  return {
    async createPortalToken(tokenHash, t) {
      statement(db, `INSERT INTO portal_tokens (token_hash, api_key_id, account_id, read_only, created, expires, session_expires)
        VALUES (?, ?, ?, ?, ?, ?, ?)`).run(tokenHash, t.apiKeyId, t.accountId, t.readOnly ? 1 : 0, t.created, t.expires, t.sessionExpires);
    },

    async openPortalSession(tokenHash, idHash, csrfToken, now) {
      return db.transaction(() => {
        const t = statement(db, 'DELETE FROM portal_tokens WHERE token_hash = ? AND expires > ? RETURNING *').get(tokenHash, now) as Row | undefined;
        if (!t || t.session_expires <= now) return undefined;
        statement(db, `INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires, account_id, read_only)
          VALUES (?, ?, ?, ?, ?, ?, ?)`).run(idHash, t.api_key_id, csrfToken, now, t.session_expires, t.account_id, t.read_only);
        return sessionFrom({ ...t, csrf_token: csrfToken, created: now, expires: t.session_expires, portal: true });
      })();
    },
  };
}
