// Events in, on PostgreSQL (the Intake port, src/store/ports.ts): reported events and platform
// facts, each batch with its deliveries and each request's Idempotency-Key (one table for both)
// in one transaction. What a commit creates is announced
// with the deliveries themselves (to this process's engine) and the webhooks concerned (to the
// other nodes).
import { orderKeyFrom, orderKeyOf } from '../order-key.js';
import { alertJson } from '../rows.js';
import type { EventRecord, IngestItem, IngestOptions, IngestOutcome, PendingDelivery, PlatformKind, PlatformObject } from '../types.js';
import type { Db, Queryable, Tx } from './db.js';

/** A new delivery's id, made by the database: msg_ and 24 hex digits. */
export const NEW_DELIVERY_ID = `'msg_' || encode(substring(uuid_send(gen_random_uuid()) from 1 for 12), 'hex')`;

/** Thrown inside an item's savepoint to roll the item back when a fact was read at an old version. */
class StaleFact extends Error {}

/** Announces the deliveries a transaction created (or made due again), if any. */
export function announceDeliveries(tx: Tx, created: PendingDelivery[]): void {
  if (created.length === 0) return;
  tx.announce({ kind: 'deliveries', webhookIds: [...new Set(created.map((d) => d.webhookId))], created });
}

/**
 * The event's row: a reported event's, a fact's, a test event's (`test`: not the property's, so
 * neither the feed nor a replay shows it) or an operational event's (recordOutcomes). feed_seq
 * and feed_xid (this transaction's id) take their defaults: src/store/postgres/feed.ts.
 */
export async function insertEventRow(tx: Queryable, event: EventRecord, test: boolean): Promise<void> {
  await tx.query(`INSERT INTO events (id, site_id, event, media_id, channel_id, thumbnail_id, track_id, event_time, created, test, alert, traceparent)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`, [
    event.id, event.siteId, event.event, event.ids.media_id ?? null, event.ids.channel_id ?? null,
    event.ids.thumbnail_id ?? null, event.ids.track_id ?? null, event.eventTime, event.created, test, alertJson(event.alert),
    event.traceparent ?? null,
  ]);
}

/** Inserts the event and its deliveries: one per subscribed webhook, or one to `onlyWebhookId`. */
async function insertEvent(tx: Queryable, event: EventRecord, now: number, firstAttemptAt: number, onlyWebhookId?: string): Promise<PendingDelivery[]> {
  await insertEventRow(tx, event, onlyWebhookId !== undefined);
  // A per_media webhook's delivery takes the event's order key (src/store/order-key.ts).
  const orderKey = orderKeyOf(event);
  const { rows } = onlyWebhookId
    ? await tx.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
        SELECT ${NEW_DELIVERY_ID}, $1, id, $2, $3, $3, CASE WHEN ordering = 'per_media' THEN $5 END FROM webhooks WHERE id = $4
        RETURNING id, webhook_id, order_key`, [event.id, firstAttemptAt, now, onlyWebhookId, orderKey])
    : await tx.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
        SELECT ${NEW_DELIVERY_ID}, $1, s.webhook_id, $2, $3, $3, CASE WHEN w.ordering = 'per_media' THEN $6 END
        FROM subscriptions s JOIN webhooks w ON w.id = s.webhook_id WHERE s.site_id = $4 AND s.event = $5
        RETURNING id, webhook_id, order_key`, [event.id, firstAttemptAt, now, event.siteId, event.event, orderKey]);
  const facts = {
    event: event.event, siteId: event.siteId, eventTime: event.eventTime, ids: event.ids,
    ...(event.alert ? { alert: event.alert } : {}), ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  };
  return rows.map((r) => ({
    id: r.id, eventId: event.id, webhookId: r.webhook_id, attempts: 0, lastChance: false, dueAt: firstAttemptAt, facts, orderKey: orderKeyFrom(r.order_key),
  }));
}

/** One item: its key taken, its objects written, its events inserted. Throws StaleFact if an object moved. */
async function ingestOne(tx: Tx, item: IngestItem, now: number, options: IngestOptions, created: PendingDelivery[]): Promise<IngestOutcome> {
  const key = item.idempotency;
  if (key) {
    // Take the key first (an expired one is taken over): a node racing with the same key waits
    // on it here, then finds it taken and answers as a repeat. The answer is written once known.
    const taken = await tx.query(`INSERT INTO idempotency_keys (site_id, key, request_hash, answer, created)
      VALUES ($1, $2, $3, '', $4)
      ON CONFLICT (site_id, key) DO UPDATE SET request_hash = excluded.request_hash, answer = '', created = excluded.created
      WHERE idempotency_keys.created <= $5`,
    [item.siteId, key.key, key.requestHash, now, now - options.idempotencyWindowMs]);
    if (taken.rowCount === 0) {
      const seen = (await tx.query('SELECT request_hash, answer FROM idempotency_keys WHERE site_id = $1 AND key = $2', [item.siteId, key.key])).rows[0]!;
      return seen.request_hash === key.requestHash ? { kind: 'repeat', answer: seen.answer } : { kind: 'conflict' };
    }
  }
  for (const w of item.writes ?? []) {
    const state = JSON.stringify(w.state);
    // A node writing the same object waits here, then finds the version moved (or the row there).
    const { rowCount } = w.version === 0
      ? await tx.query(`INSERT INTO platform_objects (site_id, kind, id, state, version) VALUES ($1, $2, $3, $4, 1)
          ON CONFLICT DO NOTHING`, [item.siteId, w.kind, w.id, state])
      : await tx.query(`UPDATE platform_objects SET state = $4, version = version + 1
          WHERE site_id = $1 AND kind = $2 AND id = $3 AND version = $5`, [item.siteId, w.kind, w.id, state, w.version]);
    if (rowCount === 0) throw new StaleFact();
  }
  const made: PendingDelivery[] = [];
  for (const event of item.events) made.push(...await insertEvent(tx, event, now, options.firstAttemptAt, item.onlyWebhookId));
  if (key) {
    await tx.query('UPDATE idempotency_keys SET answer = $3 WHERE site_id = $1 AND key = $2', [item.siteId, key.key, key.answer(made.length)]);
  }
  created.push(...made);
  return { kind: 'accepted', deliveries: made.length };
}

export async function ingest(db: Db, items: IngestItem[], now: number, options: IngestOptions): Promise<IngestOutcome[]> {
  if (items.length === 1) {
    // One item alone (every fact, as src/ingest/commit.ts sends them): a stale one rolls back the
    // whole transaction, without a savepoint's round trips.
    try {
      return await db.transaction(async (tx) => {
        const created: PendingDelivery[] = [];
        const outcome = await ingestOne(tx, items[0]!, now, options, created);
        announceDeliveries(tx, created);
        return [outcome];
      });
    } catch (err) {
      if (err instanceof StaleFact) return [{ kind: 'stale' }];
      throw err;
    }
  }
  return db.transaction(async (tx) => {
    const outcomes: IngestOutcome[] = [];
    const created: PendingDelivery[] = [];
    for (const item of items) {
      if (!item.writes?.length) {
        outcomes.push(await ingestOne(tx, item, now, options, created));
        continue;
      }
      // A fact in a savepoint of its own: a stale one takes back its key and its writes, and
      // nothing of the rest of the batch.
      await tx.query('SAVEPOINT fact');
      try {
        outcomes.push(await ingestOne(tx, item, now, options, created));
        await tx.query('RELEASE SAVEPOINT fact');
      } catch (err) {
        if (!(err instanceof StaleFact)) throw err;
        await tx.query('ROLLBACK TO SAVEPOINT fact');
        await tx.query('RELEASE SAVEPOINT fact');
        outcomes.push({ kind: 'stale' });
      }
    }
    announceDeliveries(tx, created);
    return outcomes;
  });
}

export async function getPlatformObject(db: Db, siteId: string, kind: PlatformKind, id: string): Promise<PlatformObject | undefined> {
  const r = (await db.query('SELECT state, version FROM platform_objects WHERE site_id = $1 AND kind = $2 AND id = $3', [siteId, kind, id])).rows[0];
  return r && { kind, id, state: JSON.parse(r.state), version: r.version };
}

export async function findAnswer(db: Db, siteId: string, key: string, notBefore: number): Promise<{ requestHash: string; answer: string } | undefined> {
  const r = (await db.query('SELECT request_hash, answer FROM idempotency_keys WHERE site_id = $1 AND key = $2 AND created > $3', [siteId, key, notBefore])).rows[0];
  return r && { requestHash: r.request_hash as string, answer: r.answer as string };
}
