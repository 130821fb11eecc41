// The delivery search on PostgreSQL (GET /v2/deliveries/): one page of the deliveries that match,
// newest first, from a cursor, each page a walk along an index from where the last one ended
// (migration 13), never an OFFSET: a page deep in the log costs what the first does.
import { DELIVERY_COLUMNS, deliveryFrom } from '../rows.js';
import { tightestBound } from '../search.js';
import type { Delivery, DeliverySearch } from '../types.js';
import type { Db } from './db.js';

export async function searchDeliveries(db: Db, asked: DeliverySearch): Promise<Delivery[]> {
  const search = tightestBound(asked);
  const args: unknown[] = [];
  const arg = (value: unknown) => `$${args.push(value)}`;
  // What every way of driving the search checks along its walk.
  const checks: string[] = [];
  if (search.event !== undefined) checks.push(`e.event = ${arg(search.event)}`);
  if (search.status !== undefined) checks.push(`d.status = ${arg(search.status)}`);
  if (search.statusCode !== undefined) checks.push(`d.last_status_code = ${arg(search.statusCode)}`);
  if (search.since !== undefined) checks.push(`d.created >= ${arg(search.since)}`);
  if (search.until !== undefined) checks.push(`d.created < ${arg(search.until)}`);
  if (search.after !== undefined) {
    // The row comparison walks the index; the plain bound beside it, which it implies, is what
    // lets the planner prune the partitions newer than the cursor (it cannot from a row comparison).
    const created = arg(search.after.created);
    checks.push(`d.created <= ${created}::bigint`, `(d.created, d.id) < (${created}::bigint, ${arg(search.after.id)}::text)`);
  }
  const limit = arg(search.limit);
  const order = `ORDER BY d.created DESC, d.id DESC LIMIT ${limit}`;

  // An event, a media or a channel: its events (by primary key, events_by_media,
  // events_by_channel), then their deliveries (deliveries_by_event), sorted.
  if (search.eventId !== undefined || search.mediaId !== undefined || search.channelId !== undefined) {
    const where = [...checks];
    if (search.eventId !== undefined) where.push(`e.id = ${arg(search.eventId)}`);
    if (search.mediaId !== undefined) where.push(`e.media_id = ${arg(search.mediaId)}`);
    if (search.channelId !== undefined) where.push(`e.channel_id = ${arg(search.channelId)}`);
    if (search.webhookId !== undefined) where.push(`d.webhook_id = ${arg(search.webhookId)}`);
    if (search.accountId !== null) where.push(`d.webhook_id IN (SELECT id FROM webhooks WHERE account_id = ${arg(search.accountId)})`);
    const { rows } = await db.query(`SELECT ${DELIVERY_COLUMNS} FROM events e JOIN deliveries d ON d.event_id = e.id
      WHERE ${where.join(' AND ')} ${order}`, args);
    return rows.map(deliveryFrom);
  }

  // The operator, across every webhook: every delivery, along deliveries_by_time.
  if (search.accountId === null && search.webhookId === undefined) {
    const { rows } = await db.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
      ${checks.length > 0 ? `WHERE ${checks.join(' AND ')}` : ''} ${order}`, args);
    return rows.map(deliveryFrom);
  }

  // One webhook, or each of the account's: a walk along deliveries_by_webhook_time each (LATERAL),
  // whose pages are merged. A page costs the account's webhooks times its length.
  const scope: string[] = [];
  if (search.accountId !== null) scope.push(`account_id = ${arg(search.accountId)}`);
  if (search.webhookId !== undefined) scope.push(`id = ${arg(search.webhookId)}`);
  const { rows } = await db.query(`SELECT l.* FROM (SELECT id FROM webhooks WHERE ${scope.join(' AND ')}) w CROSS JOIN LATERAL (
      SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
      WHERE ${['d.webhook_id = w.id', ...checks].join(' AND ')} ${order}) l
    ORDER BY l.created DESC, l.id DESC LIMIT ${limit}`, args);
  return rows.map(deliveryFrom);
}
