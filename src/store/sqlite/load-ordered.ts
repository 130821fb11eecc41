// The engine's load for a webhook that orders per media (src/delivery/ordering.ts), on the
// embedded store: its due deliveries in commit order (created, then the rowid: the one writer's
// insertion order), so that the owner meets each key's deliveries in the order they were
// committed, less those behind an earlier pending delivery of their key that is not due yet (it
// holds the key while it waits for its retry). Both walks are on the partial indexes of
// migration 15, which hold the ordered webhooks' pending deliveries only.
import type Database from 'better-sqlite3';
import { PENDING_COLUMNS, type Row } from '../rows.js';
import type { PendingDelivery } from '../types.js';
import { pendingFrom } from './engine.js';
import { statement } from './statement.js';

export function loadDueOrdered(db: Database.Database, webhookId: string, now: number, limit: number, learn: boolean): {
  deliveries: PendingDelivery[]; nextDueAt: number | null; waiting: { key: string; deliveryId: string }[];
} {
  const rows = statement(db, `SELECT ${PENDING_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.webhook_id = @webhookId AND d.status = 'pending' AND d.order_key IS NOT NULL AND d.due_at <= @now
      AND (d.order_key = '' OR NOT EXISTS (SELECT 1 FROM deliveries p
        WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.order_key IS NOT NULL
          AND p.due_at > @now AND (p.created < d.created OR (p.created = d.created AND p.rowid < d.rowid))))
    ORDER BY d.created, d.rowid LIMIT @limit`).all({ webhookId, now, limit }) as Row[];
  const next = statement(db, `SELECT min(due_at) AS due FROM deliveries
    WHERE webhook_id = ? AND status = 'pending' AND due_at > ?`).get(webhookId, now) as Row;
  // Each key held by a delivery waiting for its retry (attempted, not due yet): the first such of the key.
  const waiting = learn
    ? (statement(db, `SELECT d.order_key, d.id FROM deliveries d
        WHERE d.webhook_id = @webhookId AND d.status = 'pending' AND d.order_key IS NOT NULL AND d.order_key <> ''
          AND d.due_at > @now AND d.attempts > 0
          AND NOT EXISTS (SELECT 1 FROM deliveries p
            WHERE p.webhook_id = d.webhook_id AND p.order_key = d.order_key AND p.status = 'pending' AND p.order_key IS NOT NULL
              AND p.due_at > @now AND p.attempts > 0 AND (p.created < d.created OR (p.created = d.created AND p.rowid < d.rowid)))`)
      .all({ webhookId, now }) as Row[])
      .map((r) => ({ key: r.order_key as string, deliveryId: r.id as string }))
    : [];
  return { deliveries: rows.map(pendingFrom), nextDueAt: next.due ?? null, waiting };
}
