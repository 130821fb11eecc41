// Retention on PostgreSQL (the Retention port, src/store/ports.ts): each purge deletes at most
// `limit` of the oldest rows, in a statement of its own. A pending delivery is never purged, and
// an event goes only once its deliveries have.
import type { Db } from './db.js';

/** Finished deliveries (their attempts with them), found through their events. */
export async function purgeDeliveries(db: Db, before: number, limit: number): Promise<number> {
  return (await db.query(`DELETE FROM deliveries WHERE id IN (
    SELECT d.id FROM events e JOIN deliveries d ON d.event_id = e.id
    WHERE e.created < $1 AND d.status <> 'pending' ORDER BY e.created LIMIT $2)`, [before, limit])).rowCount ?? 0;
}

export async function purgeEvents(db: Db, before: number, limit: number): Promise<number> {
  return (await db.query(`DELETE FROM events WHERE id IN (
    SELECT id FROM events e WHERE e.created < $1 AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
    ORDER BY e.created LIMIT $2)`, [before, limit])).rowCount ?? 0;
}

/** Idempotency-Keys, events' and facts' alike (one table). */
export async function purgeIdempotencyKeys(db: Db, before: number, limit: number): Promise<number> {
  return (await db.query(`DELETE FROM idempotency_keys WHERE (site_id, key) IN (
    SELECT site_id, key FROM idempotency_keys WHERE created < $1 ORDER BY created LIMIT $2)`, [before, limit])).rowCount ?? 0;
}

export async function purgeSessions(db: Db, now: number): Promise<number> {
  const { rows } = await db.query(`WITH links AS (DELETE FROM portal_tokens WHERE expires <= $1 RETURNING 1),
      sessions AS (DELETE FROM sessions WHERE expires <= $1 RETURNING 1)
    SELECT (SELECT count(*) FROM links) + (SELECT count(*) FROM sessions) AS n`, [now]);
  return Number(rows[0].n);
}
