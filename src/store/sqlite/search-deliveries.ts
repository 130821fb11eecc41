// The delivery search on the embedded store (GET /v2/deliveries/): one page of the deliveries
// that match, newest first, from a cursor, each page a walk along an index from where the last
// one ended (migration 16), never an OFFSET: a page deep in the log costs what the first does.
import { DELIVERY_COLUMNS, deliveryFrom, type Row } from '../rows.js';
import type { DeliveryInsights } from '../ports.js';
import { tightestBound } from '../search.js';
import type { Delivery } from '../types.js';
import { statement, type Context } from './statement.js';

/** Newest first; the id breaks ties between deliveries created in the same millisecond. */
const newestFirst = (a: Delivery, b: Delivery) => b.created - a.created || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

export function searchDeliveries({ db }: Context): Pick<DeliveryInsights, 'searchDeliveries'> {
  return {
    async searchDeliveries(asked) {
      const search = tightestBound(asked);
      const params = {
        accountId: search.accountId, webhookId: search.webhookId, eventId: search.eventId, mediaId: search.mediaId,
        channelId: search.channelId, event: search.event, status: search.status, statusCode: search.statusCode,
        since: search.since, until: search.until, afterCreated: search.after?.created, afterId: search.after?.id, limit: search.limit,
      };
      // What every way of driving the search checks along its walk.
      const checks: string[] = [];
      if (search.event !== undefined) checks.push('e.event = @event');
      if (search.status !== undefined) checks.push('d.status = @status');
      if (search.statusCode !== undefined) checks.push('d.last_status_code = @statusCode');
      if (search.since !== undefined) checks.push('d.created >= @since');
      if (search.until !== undefined) checks.push('d.created < @until');
      if (search.after !== undefined) checks.push('(d.created, d.id) < (@afterCreated, @afterId)');
      const order = 'ORDER BY d.created DESC, d.id DESC LIMIT @limit';

      // An event, a media or a channel: its events (by primary key, events_by_media,
      // events_by_channel), then their deliveries (deliveries_by_event), sorted. CROSS JOIN keeps
      // events the outer loop: walking every delivery in order and probing its event would cost
      // the whole log when the object has few deliveries.
      if (search.eventId !== undefined || search.mediaId !== undefined || search.channelId !== undefined) {
        const where = [...checks];
        if (search.eventId !== undefined) where.push('e.id = @eventId');
        if (search.mediaId !== undefined) where.push('e.media_id = @mediaId');
        if (search.channelId !== undefined) where.push('e.channel_id = @channelId');
        if (search.webhookId !== undefined) where.push('d.webhook_id = @webhookId');
        if (search.accountId !== null) where.push('d.webhook_id IN (SELECT id FROM webhooks WHERE account_id = @accountId)');
        const rows = statement(db, `SELECT ${DELIVERY_COLUMNS} FROM events e CROSS JOIN deliveries d ON d.event_id = e.id
          WHERE ${where.join(' AND ')} ${order}`).all(params) as Row[];
        return rows.map(deliveryFrom);
      }

      // The operator, across every webhook: every delivery, along deliveries_by_time.
      if (search.accountId === null && search.webhookId === undefined) {
        const rows = statement(db, `SELECT ${DELIVERY_COLUMNS} FROM deliveries d CROSS JOIN events e ON e.id = d.event_id
          ${checks.length > 0 ? `WHERE ${checks.join(' AND ')}` : ''} ${order}`).all(params) as Row[];
        return rows.map(deliveryFrom);
      }

      // One webhook, or each of the account's in turn: a walk along deliveries_by_webhook_time
      // each, whose pages are merged. A page costs the account's webhooks times its length.
      const scope: string[] = [];
      if (search.accountId !== null) scope.push('account_id = @accountId');
      if (search.webhookId !== undefined) scope.push('id = @webhookId');
      const webhookIds = (statement(db, `SELECT id FROM webhooks WHERE ${scope.join(' AND ')}`).all(params) as Row[]).map((r) => r.id as string);
      const walk = statement(db, `SELECT ${DELIVERY_COLUMNS} FROM deliveries d CROSS JOIN events e ON e.id = d.event_id
        WHERE ${['d.webhook_id = @webhookId', ...checks].join(' AND ')} ${order}`);
      const found = webhookIds.flatMap((webhookId) => (walk.all({ ...params, webhookId }) as Row[]).map(deliveryFrom));
      return found.sort(newestFirst).slice(0, search.limit);
    },
  };
}
