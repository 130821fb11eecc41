// Portal links on PostgreSQL: the operator's key makes a one-use link for one account's
// dashboard; opening it trades the token for a session in one statement: the DELETE takes the
// row's lock, so of two concurrent opens the second finds the row gone and creates nothing.
import type { PortalToken, Session } from '../types.js';
import { sessionFrom } from '../rows.js';
import type { Db } from './db.js';

export async function createPortalToken(db: Db, tokenHash: string, t: PortalToken): Promise<void> {
  await db.query(`INSERT INTO portal_tokens (token_hash, api_key_id, account_id, read_only, created, expires, session_expires)
    VALUES ($1, $2, $3, $4, $5, $6, $7)`, [tokenHash, t.apiKeyId, t.accountId, t.readOnly, t.created, t.expires, t.sessionExpires]);
}

export async function openPortalSession(db: Db, tokenHash: string, idHash: string, csrfToken: string, now: number): Promise<Session | undefined> {
  const r = (await db.query(`WITH link AS (
      DELETE FROM portal_tokens WHERE token_hash = $1 AND expires > $4 RETURNING *
    )
    INSERT INTO sessions (id_hash, api_key_id, csrf_token, created, expires, account_id, read_only)
      SELECT $2, api_key_id, $3, $4, session_expires, account_id, read_only FROM link WHERE session_expires > $4
    RETURNING api_key_id, csrf_token, created, expires, account_id, read_only, true AS portal`, [tokenHash, idHash, csrfToken, now])).rows[0];
  return r && sessionFrom(r);
}
