// The delivery log on the embedded store: what the API shows of deliveries, their events and
// attempts, and the retries asked for by hand, announced once committed so that the engine
// sends them ({kind: 'retried'}, {kind: 'deliveries'}).
import { DELIVERY_COLUMNS, PENDING_COLUMNS, attemptFrom, deliveryFrom, eventFrom, type Row } from '../rows.js';
import type { DeliveryLog } from '../ports.js';
import type { Delivery, WebhookStats } from '../types.js';
import { pendingFrom } from './engine.js';
import { statement, type Context } from './statement.js';

export function deliveryLog({ db, announce }: Context): DeliveryLog {
  return {
    async listDeliveries(webhookId, filter, page) {
      const conditions = ['d.webhook_id = @webhookId'];
      if (filter.status) conditions.push('d.status = @status');
      if (filter.event) conditions.push('e.event = @event');
      const from = `FROM deliveries d JOIN events e ON e.id = d.event_id WHERE ${conditions.join(' AND ')}`;
      const params = { webhookId, status: filter.status, event: filter.event };
      const rows = statement(db, `SELECT ${DELIVERY_COLUMNS} ${from} ORDER BY d.created DESC, d.rowid DESC LIMIT @limit OFFSET @offset`)
        .all({ ...params, limit: page.pageLength, offset: (page.page - 1) * page.pageLength }) as Row[];
      const { total } = statement(db, `SELECT count(*) AS total ${from}`).get(params) as Row;
      return { deliveries: rows.map(deliveryFrom), total };
    },

    async getDelivery(id) {
      const r = statement(db, `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = ?`).get(id) as Row | undefined;
      return r && deliveryFrom(r);
    },

    async getEvent(id) {
      const r = statement(db, 'SELECT * FROM events WHERE id = ?').get(id) as Row | undefined;
      return r && eventFrom(r);
    },

    async webhookStats(webhookIds, since) {
      const all = new Map<string, WebhookStats>();
      for (const id of webhookIds) {
        const stats: WebhookStats = { pending: 0, succeeded: 0, failed: 0, lastAttempted: undefined };
        const counts = statement(db, 'SELECT status, count(*) AS n FROM deliveries WHERE webhook_id = ? AND created >= ? GROUP BY status')
          .all(id, since) as Row[];
        for (const r of counts) stats[r.status as Delivery['status']] = r.n;
        const last = statement(db, `SELECT ${DELIVERY_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
          WHERE d.webhook_id = ? AND d.attempts > 0 ORDER BY d.created DESC, d.rowid DESC LIMIT 1`).get(id) as Row | undefined;
        stats.lastAttempted = last && deliveryFrom(last);
        all.set(id, stats);
      }
      return all;
    },

    async listAttempts(deliveryId) {
      return (statement(db, 'SELECT * FROM attempts WHERE delivery_id = ? ORDER BY attempted_at, rowid').all(deliveryId) as Row[]).map(attemptFrom);
    },

    async retryDelivery(id, now) {
      // Due now, whatever its status; retry_requested keeps when, so that an attempt in flight
      // since before now does not answer it (recordOutcomes makes the delivery due again).
      const r = statement(db, `UPDATE deliveries SET status = 'pending', due_at = @now, retry_requested = @now,
        last_chance = CASE WHEN status = 'pending' THEN 0 ELSE 1 END, last_modified = @now
        WHERE id = @id RETURNING webhook_id`).get({ id, now }) as Row | undefined;
      if (r) announce({ kind: 'retried', webhookId: r.webhook_id, deliveryId: id });
      return r !== undefined;
    },

    async recoverDeliveries(webhookId, since, now) {
      const recovered = db.transaction(() => {
        const ids = (statement(db, `UPDATE deliveries SET status = 'pending', due_at = @now, last_chance = 1, last_modified = @now
          WHERE webhook_id = @webhookId AND status = 'failed' AND created >= @since RETURNING id`)
          .all({ webhookId, since, now }) as Row[]).map((r) => r.id as string);
        if (ids.length === 0) return [];
        // Oldest first, as the engine is to send them.
        return (statement(db, `SELECT ${PENDING_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
          WHERE d.id IN (SELECT value FROM json_each(?)) ORDER BY d.created, d.rowid`).all(JSON.stringify(ids)) as Row[]).map(pendingFrom);
      })();
      if (recovered.length > 0) announce({ kind: 'deliveries', webhookIds: [webhookId], created: recovered });
      return recovered.length;
    },
  };
}
