// The engine's load for a webhook that orders per media (src/delivery/ordering.ts), on
// PostgreSQL: its due deliveries in insertion order (seq), so that the owner meets each key's
// deliveries in the order they were written, less those behind an earlier pending delivery of
// their key that is not due yet (it holds the key while it waits for its retry). Both walks are
// on the partial indexes of migration 12, which hold the ordered webhooks' pending deliveries only.
import type { PendingDelivery } from '../types.js';
import type { Db } from './db.js';
import { PENDING_COLUMNS } from '../rows.js';
import { pendingFrom } from './engine.js';

export async function loadDueOrdered(db: Db, webhookId: string, now: number, limit: number, learn: boolean): Promise<{
  deliveries: PendingDelivery[]; nextDueAt: number | null; waiting: { key: string; deliveryId: string }[];
}> {
  // One statement, so one snapshot: the due ones with their events, and the first not yet due.
  const { rows } = await db.query(`
    WITH due AS (
      SELECT id, event_id, webhook_id, attempts, last_chance, due_at, seq, order_key FROM deliveries d
      WHERE webhook_id = $1 AND status = 'pending' AND order_key IS NOT NULL AND due_at <= $2
        AND (order_key = '' OR NOT EXISTS (SELECT 1 FROM deliveries p
          WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.order_key IS NOT NULL
            AND p.due_at > $2 AND p.seq < d.seq))
      ORDER BY seq LIMIT $3
    ), next AS (
      SELECT min(due_at) AS next_due_at FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND due_at > $2
    )
    SELECT n.next_due_at, ${PENDING_COLUMNS}
    FROM next n
    LEFT JOIN (due d JOIN events e ON e.id = d.event_id) ON true
    ORDER BY d.seq`, [webhookId, now, limit]);
  // Each key held by a delivery waiting for its retry (attempted, not due yet): the first such of the key.
  const waiting = learn
    ? (await db.query(`SELECT d.order_key, d.id FROM deliveries d
        WHERE d.webhook_id = $1 AND d.status = 'pending' AND d.order_key IS NOT NULL AND d.order_key <> '' AND d.due_at > $2 AND d.attempts > 0
          AND NOT EXISTS (SELECT 1 FROM deliveries p
            WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.order_key IS NOT NULL
              AND p.due_at > $2 AND p.attempts > 0 AND p.seq < d.seq)`,
      [webhookId, now])).rows.map((r) => ({ key: r.order_key as string, deliveryId: r.id as string }))
    : [];
  return {
    deliveries: rows.filter((r) => r.id !== null).map(pendingFrom),
    nextDueAt: rows[0]?.next_due_at ?? null,
    waiting,
  };
}
