// The event feed on PostgreSQL (the EventFeed port, src/store/ports.ts): each property's events in
// commit order, for clients that catch up with a cursor, and replays of them into a webhook.
//
// Why not simply "feed_seq greater than the cursor": a sequence value is handed out at insert,
// not at commit, so two intake transactions (two nodes, or two connections of one) may commit out
// of their sequence order. A reader that listed seq 11 while seq 10's transaction was still open
// would then step past seq 10 for good. Instead each event keeps the id of the transaction that
// wrote it (feed_xid, pg_current_xact_id() by default), and the feed:
// - lists only events whose transaction is older than every transaction still in progress
//   (feed_xid < pg_snapshot_xmin of the statement's own snapshot): that set is final, since every
//   transaction that may still commit has an id at or above that horizon, and this snapshot sees
//   every committed transaction below it;
// - orders by (feed_xid, feed_seq): by writing transaction, then by insertion within it. So no
//   event can ever appear before a position already handed out. Two events whose transactions
//   overlapped come in transaction-id order, not necessarily the order of their commits; for two
//   that are causally ordered (the second's transaction began after the first's committed, as two
//   facts about one media are) the transaction ids, hence the feed, agree with the commit order.
// The price: the feed's end lags behind the oldest writing transaction still open anywhere on
// the server (Hookline's own last at most the query timeout). It is the method of transactional
// outboxes that page by transaction id (pg_snapshot_xmin as the visibility horizon).
import { setTimeout as sleep } from 'node:timers/promises';
import { orderKeyFrom, orderKeyOf } from '../order-key.js';
import { eventFrom, idsFrom, type Row } from '../rows.js';
import type { EventRecord, FeedPosition, PendingDelivery } from '../types.js';
import type { Db, Queryable } from './db.js';
import { NEW_DELIVERY_ID, announceDeliveries } from './intake.js';

/** Events a replay looks at per transaction: each is short, and intake never waits long behind one. */
export const REPLAY_BATCH = 1_000;

const EVENT_COLUMNS = `e.id, e.site_id, e.event, e.media_id, e.channel_id, e.thumbnail_id, e.track_id, e.event_time, e.created,
  e.feed_xid::text AS feed_xid, e.feed_seq`;

const START: FeedPosition = { tx: '0', seq: 0 };

/** A page of the feed, from events_feed (site_id, feed_xid, feed_seq) in its order. Exported for the test of its plan. */
export function feedQuery(siteId: string, after: FeedPosition | null, event: string | undefined, limit: number): { text: string; values: unknown[] } {
  const from = after ?? START;
  const values: unknown[] = [siteId, from.tx, from.seq, limit];
  const filter = event === undefined ? '' : ` AND e.event = $${values.push(event)}`;
  return {
    text: `SELECT ${EVENT_COLUMNS} FROM events e
      WHERE e.site_id = $1 AND NOT e.test AND (e.feed_xid, e.feed_seq) > ($2::xid8, $3::bigint)
        AND e.feed_xid < (SELECT pg_snapshot_xmin(pg_current_snapshot()))${filter}
      ORDER BY e.feed_xid, e.feed_seq LIMIT $4`,
    values,
  };
}

export async function readFeed(db: Db, siteId: string, after: FeedPosition | null, event: string | undefined, limit: number): Promise<{ events: EventRecord[]; next: FeedPosition | null }> {
  const { text, values } = feedQuery(siteId, after, event, limit);
  const { rows } = await db.query(text, values);
  const last = rows.at(-1);
  return { events: rows.map(eventFrom), next: last ? { tx: last.feed_xid, seq: last.feed_seq } : after };
}

/**
 * The next events of the property after `after`, in feed order, each with whether the webhook
 * is owed it: created since `since`, of an event it subscribes to, and without a delivery to it.
 */
async function scan(q: Queryable, webhookId: string, siteId: string, since: number, after: FeedPosition): Promise<Row[]> {
  const { rows } = await q.query(`SELECT ${EVENT_COLUMNS},
      e.created >= $4
      AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.site_id = e.site_id AND s.event = e.event AND s.webhook_id = $5)
      AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.webhook_id = $5) AS owed
    FROM events e WHERE e.site_id = $1 AND NOT e.test AND (e.feed_xid, e.feed_seq) > ($2::xid8, $3::bigint)
    ORDER BY e.feed_xid, e.feed_seq LIMIT $6`, [siteId, after.tx, after.seq, since, webhookId, REPLAY_BATCH]);
  return rows;
}

/**
 * An intake transaction that began before the webhook existed may still be open, its fan-out
 * done without the webhook: its events would get no delivery from intake, and a replay that ran
 * before its commit would not see them. So a replay first waits (up to `deadlineMs`, beyond which
 * no Hookline transaction lasts) until every transaction that had its id when the replay began
 * has ended; any later one fans out to the webhook itself.
 */
async function settle(db: Db, deadlineMs: number): Promise<void> {
  const { rows: [start] } = await db.query('SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax');
  const until = Date.now() + deadlineMs;
  for (;;) {
    const { rows: [now] } = await db.query('SELECT pg_snapshot_xmin(pg_current_snapshot()) >= $1::xid8 AS settled', [start!.xmax]);
    if (now!.settled || Date.now() > until) return;
    await sleep(10);
  }
}

export async function replayEvents(db: Db, webhookId: string, since: number, now: number, dryRun: boolean): Promise<number> {
  if (!dryRun) await settle(db, db.callTimeoutMs);
  const { rows: sites } = await db.query('SELECT DISTINCT site_id FROM subscriptions WHERE webhook_id = $1 ORDER BY site_id', [webhookId]);
  let total = 0;
  for (const { site_id: siteId } of sites) {
    let after = START;
    for (;;) {
      const batch = dryRun
        ? { rows: await scan(db, webhookId, siteId, since, after), made: 0 }
        : await db.transaction(async (tx) => {
          // Replays of one webhook take turns, batch by batch, so that each sees what the other
          // made; and the webhook stays until the batch commits.
          await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`hookline replay ${webhookId}`]);
          if ((await tx.query('SELECT 1 FROM webhooks WHERE id = $1 FOR KEY SHARE', [webhookId])).rowCount === 0) return { rows: [], made: 0 };
          const rows = await scan(tx, webhookId, siteId, since, after);
          const owed = rows.filter((r) => r.owed);
          if (owed.length === 0) return { rows, made: 0 };
          // In the events' order, which the deliveries' seq (the engine's order among equal due times) follows.
          const facts = owed.map((r) => ({ event: r.event as string, siteId: r.site_id as string, eventTime: r.event_time as number, ids: idsFrom(r) }));
          const { rows: made } = await tx.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, replay, order_key)
            SELECT ${NEW_DELIVERY_ID}, w.event_id, $2, $3, $3, $3, true,
              CASE WHEN (SELECT ordering FROM webhooks WHERE id = $2) = 'per_media' THEN w.order_key END
            FROM unnest($1::text[], $4::text[]) WITH ORDINALITY AS w(event_id, order_key, n) ORDER BY w.n
            RETURNING id, event_id, order_key`, [owed.map((r) => r.id), webhookId, now, facts.map(orderKeyOf)]);
          const byEvent = new Map(made.map((m) => [m.event_id as string, m]));
          const created: PendingDelivery[] = owed.map((r, i) => ({
            id: byEvent.get(r.id)!.id, eventId: r.id, webhookId, attempts: 0, lastChance: false, dueAt: now,
            facts: facts[i]!, orderKey: orderKeyFrom(byEvent.get(r.id)!.order_key),
          }));
          announceDeliveries(tx, created);
          return { rows, made: created.length };
        });
      total += dryRun ? batch.rows.filter((r) => r.owed).length : batch.made;
      const last = batch.rows.at(-1);
      if (batch.rows.length < REPLAY_BATCH || !last) break;
      after = { tx: last.feed_xid, seq: last.feed_seq };
    }
  }
  return total;
}
