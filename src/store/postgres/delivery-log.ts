// The delivery log on PostgreSQL (the DeliveryLog port, src/store/ports.ts): what the API shows
// of deliveries, events and attempts, and the retries asked for by hand, announced to the node
// that sends to the webhook.
import { DELIVERY_COLUMNS, PENDING_COLUMNS, attemptFrom, deliveryFrom, eventFrom } from '../rows.js';
import type { Attempt, Delivery, DeliveryFilter, EventRecord, Page, WebhookStats } from '../types.js';
import type { Db } from './db.js';
import { pendingFrom } from './engine.js';
import { announceDeliveries } from './intake.js';

export async function listDeliveries(db: Db, webhookId: string, filter: DeliveryFilter, page: Page): Promise<{ deliveries: Delivery[]; total: number }> {
  const args: unknown[] = [webhookId];
  const conditions = ['d.webhook_id = $1'];
  if (filter.status) conditions.push(`d.status = $${args.push(filter.status)}`);
  if (filter.event) conditions.push(`e.event = $${args.push(filter.event)}`);
  // events is partitioned by time and a delivery's event found by id alone (a replay's is older
  // than the delivery): each lookup probes every partition's index. So the page is cut from
  // deliveries first and only its rows look up their events; without an event filter the total
  // needs no events at all (every delivery has its event).
  const from = filter.event
    ? `FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${conditions.join(' AND ')}`
    : `FROM deliveries d WHERE ${conditions.join(' AND ')}`;
  const { rows } = await db.query(`SELECT ${DELIVERY_COLUMNS} FROM (
      SELECT d.* ${from} ORDER BY d.created DESC, d.seq DESC LIMIT $${args.length + 1} OFFSET $${args.length + 2}
    ) d JOIN events e ON e.id = d.event_id ORDER BY d.created DESC, d.seq DESC`,
  [...args, page.pageLength, (page.page - 1) * page.pageLength]);
  const total = (await db.query(`SELECT count(*) AS total ${from}`, args)).rows[0]!.total;
  return { deliveries: rows.map(deliveryFrom), total };
}

export async function getDelivery(db: Db, id: string): Promise<Delivery | undefined> {
  const r = (await db.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1`, [id])).rows[0];
  return r && deliveryFrom(r);
}

export async function getEvent(db: Db, id: string): Promise<EventRecord | undefined> {
  const r = (await db.query('SELECT * FROM events WHERE id = $1', [id])).rows[0];
  return r && eventFrom(r);
}

export async function webhookStats(db: Db, webhookIds: readonly string[], since: number): Promise<Map<string, WebhookStats>> {
  const all = new Map<string, WebhookStats>(webhookIds.map((id) => [id, { pending: 0, succeeded: 0, failed: 0, lastAttempted: undefined }]));
  if (webhookIds.length === 0) return all;
  // Two statements for the whole page of webhooks: the counts, and each one's newest attempted delivery.
  const counts = await db.query(`SELECT webhook_id, status, count(*) AS n FROM deliveries
    WHERE webhook_id = ANY($1) AND created >= $2 GROUP BY webhook_id, status`, [webhookIds, since]);
  for (const r of counts.rows) all.get(r.webhook_id)![r.status as Delivery['status']] = r.n;
  const last = await db.query(`SELECT l.* FROM unnest($1::text[]) AS w(id) CROSS JOIN LATERAL (
      SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE d.webhook_id = w.id AND d.attempts > 0 ORDER BY d.created DESC, d.seq DESC LIMIT 1) l`, [webhookIds]);
  for (const r of last.rows) all.get(r.webhook_id)!.lastAttempted = deliveryFrom(r);
  return all;
}

export async function listAttempts(db: Db, deliveryId: string, created?: number): Promise<Attempt[]> {
  // With the delivery's creation time, the one partition of attempts that holds them (the
  // planner prunes the others); without it, each partition's attempts_by_delivery is probed.
  const { rows } = created === undefined
    ? await db.query('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY attempted_at, seq', [deliveryId])
    : await db.query('SELECT * FROM attempts WHERE delivery_id = $1 AND delivery_created = $2 ORDER BY attempted_at, seq', [deliveryId, created]);
  return rows.map(attemptFrom);
}

export function retryDelivery(db: Db, id: string, now: number): Promise<boolean> {
  return db.transaction(async (tx) => {
    // Due now, and the request's time kept: if an attempt is in flight, its outcome, once
    // written, keeps the delivery due (recordOutcomes). A delivery that had ended gets one
    // attempt more, its last.
    const r = (await tx.query(`UPDATE deliveries SET status = 'pending', due_at = $2, retry_requested = $2,
      last_chance = (status <> 'pending'), last_modified = $2 WHERE id = $1 RETURNING webhook_id`, [id, now])).rows[0];
    if (!r) return false;
    tx.announce({ kind: 'retried', webhookId: r.webhook_id, deliveryId: id });
    return true;
  });
}

export function recoverDeliveries(db: Db, webhookId: string, since: number, now: number): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query(`UPDATE deliveries d SET status = 'pending', due_at = $3, last_chance = true, last_modified = $3
      FROM events e WHERE e.id = d.event_id AND d.webhook_id = $1 AND d.status = 'failed' AND d.created >= $2
      RETURNING ${PENDING_COLUMNS}, d.created, d.seq`, [webhookId, since, now]);
    // Oldest first, as they were created.
    rows.sort((a, b) => a.created - b.created || a.seq - b.seq);
    announceDeliveries(tx, rows.map(pendingFrom));
    return rows.length;
  });
}
