// Worker nodes on PostgreSQL (the Membership port, src/store/ports.ts): each node's heartbeat in
// `nodes`; the nodes heard from recently are the live ones, between which the webhooks are shared.
import type { Db } from './db.js';

/** One round trip: the upsert, and the other nodes read beside it (from the statement's snapshot, taken before it). */
export async function heartbeat(db: Db, nodeId: string, now: number, aliveAfter: number): Promise<string[]> {
  const { rows } = await db.query(`
    WITH me AS (
      INSERT INTO nodes (node_id, heartbeat_at, started_at) VALUES ($1, $2, $2)
      ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
      RETURNING node_id, heartbeat_at
    )
    SELECT node_id FROM me WHERE heartbeat_at > $3
    UNION
    SELECT node_id FROM nodes WHERE node_id <> $1 AND heartbeat_at > $3
    ORDER BY node_id`, [nodeId, now, aliveAfter]);
  return rows.map((r) => r.node_id as string);
}

export async function leave(db: Db, nodeId: string): Promise<void> {
  await db.query('DELETE FROM nodes WHERE node_id = $1', [nodeId]);
}
