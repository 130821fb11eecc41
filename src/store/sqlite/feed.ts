// The event feed on the embedded store (the EventFeed port, src/store/ports.ts): each property's
// events in commit order, for clients that catch up with a cursor, and replays of them into a
// webhook. One process writes, and intake numbers each event (feed_seq) inside its transaction,
// so feed_seq order is the commit order: no later commit ever lands behind a position handed
// out. A position's `tx` means nothing here (it is "0").
import { orderKeyFrom, orderKeyOf } from '../order-key.js';
import { eventFrom, idsFrom, type Row } from '../rows.js';
import type { EventFeed } from '../ports.js';
import type { PendingDelivery } from '../types.js';
import { statement, type Context } from './statement.js';

/** Events a replay looks at per transaction: each is short, and other work runs between two. */
export const REPLAY_BATCH = 1_000;

const EVENT_COLUMNS = 'e.id, e.site_id, e.event, e.media_id, e.channel_id, e.thumbnail_id, e.track_id, e.event_time, e.created, e.feed_seq';

/** A page of the feed, straight from events_feed (site_id, feed_seq) in its order. Exported for the test of its plan. */
export function feedSql(filtered: boolean): string {
  return `SELECT ${EVENT_COLUMNS} FROM events e
    WHERE e.site_id = @siteId AND e.test = 0 AND e.feed_seq > @after${filtered ? ' AND e.event = @event' : ''}
    ORDER BY e.feed_seq LIMIT @limit`;
}

export function eventFeed({ db, announce }: Context): EventFeed {
  return {
    async readFeed(siteId, after, event, limit) {
      const rows = statement(db, feedSql(event !== undefined)).all({ siteId, after: after?.seq ?? 0, event, limit }) as Row[];
      const last = rows.at(-1);
      return { events: rows.map(eventFrom), next: last ? { tx: '0', seq: last.feed_seq } : after };
    },

    async replayEvents(webhookId, since, now, dryRun) {
      const sites = (statement(db, 'SELECT DISTINCT site_id FROM subscriptions WHERE webhook_id = ? ORDER BY site_id')
        .all(webhookId) as Row[]).map((r) => r.site_id as string);
      let total = 0;
      for (const siteId of sites) {
        let after = 0;
        for (;;) {
          const { scanned, last, owed, made } = db.transaction(() => {
            // The next events of the property, each with whether the webhook is owed it: created
            // since `since`, of an event it subscribes to, and without a delivery to it.
            const rows = statement(db, `SELECT ${EVENT_COLUMNS},
                e.created >= @since
                AND EXISTS (SELECT 1 FROM subscriptions s WHERE s.site_id = e.site_id AND s.event = e.event AND s.webhook_id = @webhookId)
                AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.webhook_id = @webhookId) AS owed
              FROM events e WHERE e.site_id = @siteId AND e.test = 0 AND e.feed_seq > @after
              ORDER BY e.feed_seq LIMIT @limit`).all({ siteId, webhookId, since, after, limit: REPLAY_BATCH }) as Row[];
            const owed = rows.filter((r) => r.owed === 1);
            const made: PendingDelivery[] = [];
            if (!dryRun) {
              // One by one, in the events' order: the deliveries' rowids, the engine's order among equal due times, follow it.
              for (const r of owed) {
                const facts = { event: r.event, siteId: r.site_id, eventTime: r.event_time, ids: idsFrom(r) };
                const row = statement(db, `INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, replay, order_key)
                  SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, id, @now, @now, @now, 1, CASE WHEN ordering = 'per_media' THEN @orderKey END
                  FROM webhooks WHERE id = @webhookId RETURNING id, order_key`)
                  .get({ eventId: r.id, webhookId, now, orderKey: orderKeyOf(facts) }) as Row | undefined;
                if (!row) continue; // the webhook was deleted meanwhile
                made.push({ id: row.id, eventId: r.id, webhookId, attempts: 0, lastChance: false, dueAt: now, facts, orderKey: orderKeyFrom(row.order_key) });
              }
            }
            return { scanned: rows.length, last: rows.at(-1)?.feed_seq as number | undefined, owed: owed.length, made };
          })();
          total += owed;
          if (made.length > 0) announce({ kind: 'deliveries', webhookIds: [webhookId], created: made });
          if (scanned < REPLAY_BATCH || last === undefined) break;
          after = last;
          // Intake and the engine run between two batches.
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      return total;
    },
  };
}
