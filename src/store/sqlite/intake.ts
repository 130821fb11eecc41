// Events in, on the embedded store: reported events and platform facts, each batch in one
// transaction at the configured synchronous level (durable when acknowledged), with the
// deliveries they fan out to and each request's Idempotency-Key (one table for both). Once committed, the deliveries are announced with all the engine
// needs to send them ({kind: 'deliveries', created}), so that it need not read them back.
import type Database from 'better-sqlite3';
import { orderKeyFrom, orderKeyOf } from '../order-key.js';
import { alertJson, type Row } from '../rows.js';
import type { Intake } from '../ports.js';
import type { EventRecord, IngestItem, IngestOutcome, PendingDelivery } from '../types.js';
import { statement, type Context } from './statement.js';

/** Thrown inside an item's savepoint to roll the item back when a fact was read at an old version. */
class StaleFact extends Error {}

/**
 * The event's row: a reported event's, a fact's, a test event's (`test`: not the property's, so
 * neither the feed nor a replay shows it) or an operational event's (recordOutcomes). Its place
 * in the property's feed is taken here, in this (the one) writer's commit order (src/store/sqlite/feed.ts).
 */
export function insertEventRow(db: Database.Database, event: EventRecord, test: boolean): void {
  const { last: feedSeq } = statement(db, 'UPDATE event_feed_seq SET last = last + 1 RETURNING last').get() as Row;
  statement(db, `INSERT INTO events (id, site_id, event, media_id, channel_id, thumbnail_id, track_id, event_time, created, feed_seq, test, alert, traceparent)
    VALUES (@id, @siteId, @event, @media_id, @channel_id, @thumbnail_id, @track_id, @eventTime, @created, @feedSeq, @test, @alert, @traceparent)`).run({
    id: event.id, siteId: event.siteId, event: event.event, eventTime: event.eventTime, created: event.created,
    media_id: event.ids.media_id ?? null, channel_id: event.ids.channel_id ?? null,
    thumbnail_id: event.ids.thumbnail_id ?? null, track_id: event.ids.track_id ?? null,
    feedSeq, test: test ? 1 : 0, alert: alertJson(event.alert), traceparent: event.traceparent ?? null,
  });
}

/**
 * Inserts the event and its deliveries: one per subscribed webhook, or one to `onlyWebhookId`
 * (a test event). Returns the deliveries created, as the engine keeps them.
 */
function insertEvent(db: Database.Database, event: EventRecord, now: number, dueAt: number, onlyWebhookId?: string): PendingDelivery[] {
  insertEventRow(db, event, onlyWebhookId !== undefined);
  // A per_media webhook's delivery takes the event's order key (src/store/order-key.ts).
  const orderKey = orderKeyOf(event);
  const rows = (onlyWebhookId
    ? statement(db, `INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
        SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, id, @dueAt, @now, @now, CASE WHEN ordering = 'per_media' THEN @orderKey END
        FROM webhooks WHERE id = @webhookId
        RETURNING id, webhook_id, order_key`).all({ eventId: event.id, dueAt, now, webhookId: onlyWebhookId, orderKey })
    : statement(db, `INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
        SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, s.webhook_id, @dueAt, @now, @now, CASE WHEN w.ordering = 'per_media' THEN @orderKey END
        FROM subscriptions s JOIN webhooks w ON w.id = s.webhook_id WHERE s.site_id = @siteId AND s.event = @event
        RETURNING id, webhook_id, order_key`).all({ eventId: event.id, dueAt, now, siteId: event.siteId, event: event.event, orderKey })) as Row[];
  const facts = {
    event: event.event, siteId: event.siteId, eventTime: event.eventTime, ids: event.ids,
    ...(event.alert ? { alert: event.alert } : {}), ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  };
  return rows.map((r) => ({ id: r.id, eventId: event.id, webhookId: r.webhook_id, attempts: 0, lastChance: false, dueAt, facts, orderKey: orderKeyFrom(r.order_key) }));
}

/** Writes a fact's objects, each only at the version it was read at; StaleFact if one moved. */
function writeObjects(db: Database.Database, item: IngestItem): void {
  for (const w of item.writes ?? []) {
    const state = JSON.stringify(w.state);
    const { changes } = w.version === 0
      ? statement(db, `INSERT INTO platform_objects (site_id, kind, id, state, version) VALUES (?, ?, ?, ?, 1)
          ON CONFLICT DO NOTHING`).run(item.siteId, w.kind, w.id, state)
      : statement(db, `UPDATE platform_objects SET state = ?, version = version + 1
          WHERE site_id = ? AND kind = ? AND id = ? AND version = ?`).run(state, item.siteId, w.kind, w.id, w.version);
    if (changes === 0) throw new StaleFact();
  }
}

export function intake({ db, announce }: Context): Intake {
  /** After the commit: the new deliveries, if any, to the listeners. */
  const created = (deliveries: PendingDelivery[]) => {
    if (deliveries.length === 0) return;
    announce({ kind: 'deliveries', webhookIds: [...new Set(deliveries.map((d) => d.webhookId))], created: deliveries });
  };

  return {
    async ingest(items, now, options) {
      const deliveries: PendingDelivery[] = [];
      const outcomes = db.transaction(() =>
        items.map((item): IngestOutcome => {
          const key = item.idempotency;
          if (key) {
            const seen = statement(db, 'SELECT request_hash, answer FROM idempotency_keys WHERE site_id = ? AND key = ? AND created > ?')
              .get(item.siteId, key.key, now - options.idempotencyWindowMs) as Row | undefined;
            if (seen) return seen.request_hash === key.requestHash ? { kind: 'repeat', answer: seen.answer } : { kind: 'conflict' };
          }
          const write = () => {
            writeObjects(db, item);
            return item.events.flatMap((event) => insertEvent(db, event, now, options.firstAttemptAt, item.onlyWebhookId));
          };
          let made: PendingDelivery[];
          try {
            // A fact's writes go in a savepoint (a nested transaction), so that a stale one takes
            // back its own writes and nothing of the rest of the batch.
            made = item.writes?.length ? db.transaction(write)() : write();
          } catch (err) {
            if (err instanceof StaleFact) return { kind: 'stale' };
            throw err;
          }
          deliveries.push(...made);
          if (key) {
            // Replaces an expired key's row, if any.
            statement(db, `INSERT OR REPLACE INTO idempotency_keys (site_id, key, request_hash, answer, created)
              VALUES (?, ?, ?, ?, ?)`).run(item.siteId, key.key, key.requestHash, key.answer(made.length), now);
          }
          return { kind: 'accepted', deliveries: made.length };
        }),
      )();
      created(deliveries);
      return outcomes;
    },

    async getPlatformObject(siteId, kind, id) {
      const r = statement(db, 'SELECT state, version FROM platform_objects WHERE site_id = ? AND kind = ? AND id = ?')
        .get(siteId, kind, id) as Row | undefined;
      return r && { kind, id, state: JSON.parse(r.state), version: r.version };
    },

    async findAnswer(siteId, key, notBefore) {
      const r = statement(db, 'SELECT request_hash, answer FROM idempotency_keys WHERE site_id = ? AND key = ? AND created > ?')
        .get(siteId, key, notBefore) as Row | undefined;
      return r && { requestHash: r.request_hash as string, answer: r.answer as string };
    },
  };
}
