// Worker nodes on PostgreSQL (the Membership port, src/store/ports.ts): each node's heartbeat in
// `nodes`; the nodes heard from recently are the live ones, between which the webhooks are shared.
// A node that joins or leaves says so ({kind: 'members'}), so that the others read the table
// again at once rather than at their next heartbeat: webhooks change owner within milliseconds.
import type { Db } from './db.js';

/** One round trip: the upsert, and the other nodes read beside it (from the statement's snapshot, taken before it). */
export function heartbeat(db: Db, nodeId: string, now: number, aliveAfter: number): Promise<string[]> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(`
      WITH me AS (
        INSERT INTO nodes (node_id, heartbeat_at, started_at) VALUES ($1, $2, $2)
        ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
        RETURNING node_id, heartbeat_at, (xmax = 0) AS joined
      )
      SELECT node_id, joined FROM me WHERE heartbeat_at > $3
      UNION ALL
      SELECT node_id, false FROM nodes WHERE node_id <> $1 AND heartbeat_at > $3
      ORDER BY node_id`, [nodeId, now, aliveAfter]);
    if (rows.some((r) => r.joined)) tx.announce({ kind: 'members' });
    return rows.map((r) => r.node_id as string);
  });
}

export function leave(db: Db, nodeId: string): Promise<void> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query('DELETE FROM nodes WHERE node_id = $1', [nodeId]);
    if (rowCount) tx.announce({ kind: 'members' });
  });
}
