// Webhooks on the embedded store: their rows, the subscriptions fan-out reads, their sealed
// secrets and the adoption of sealing. Every committed change is announced ({kind: 'webhook'}).
import type Database from 'better-sqlite3';
import { isOperational } from '../../catalog/operational.js';
import { orderKeyOf } from '../order-key.js';
import { idsFrom, webhookFrom, type Row } from '../rows.js';
import type { Webhooks } from '../ports.js';
import type { Webhook, WebhookOrdering } from '../types.js';
import { statement, type Context } from './statement.js';

/** The webhook's row as it is now; undefined when it is gone. */
export function webhookRow(db: Database.Database, id: string): Row | undefined {
  return statement(db, 'SELECT * FROM webhooks WHERE id = ?').get(id) as Row | undefined;
}

/** Disables an active webhook; its row, or undefined if it was not active. Also used by recordOutcomes (410 Gone). */
export function disableWebhook(db: Database.Database, id: string, reason: string | null, now: number): Row | undefined {
  return statement(db, `UPDATE webhooks SET status = 'disabled', disabled_reason = @reason, disabled_at = @now, last_modified = @now
    WHERE id = @id AND status = 'active' RETURNING *`).get({ id, reason, now }) as Row | undefined;
}

/**
 * The (site, event) rows fan-out reads: one per pair of a property and a JWP event the webhook
 * listens to. Operational events go by account, not by property (recordOutcomes reads `events`).
 */
function subscribe(db: Database.Database, w: Pick<Webhook, 'id' | 'siteIds' | 'events'>): void {
  statement(db, 'DELETE FROM subscriptions WHERE webhook_id = ?').run(w.id);
  const insert = statement(db, 'INSERT OR IGNORE INTO subscriptions (site_id, event, webhook_id) VALUES (?, ?, ?)');
  for (const site of w.siteIds) for (const event of w.events.filter((e) => !isOperational(e))) insert.run(site, event, w.id);
}

/**
 * The webhook's ordering changed: its pending deliveries take keys (per_media), from their events,
 * or lose them (none), in the same transaction, so that the new ordering holds for its backlog too.
 */
function rekey(db: Database.Database, id: string, ordering: WebhookOrdering): void {
  if (ordering === 'none') {
    statement(db, `UPDATE deliveries SET order_key = NULL WHERE webhook_id = ? AND status = 'pending'`).run(id);
    return;
  }
  const setKey = statement(db, 'UPDATE deliveries SET order_key = ? WHERE id = ?');
  const pending = statement(db, `SELECT d.id, e.event, e.media_id, e.channel_id, e.thumbnail_id, e.track_id FROM deliveries d
    JOIN events e ON e.id = d.event_id WHERE d.webhook_id = ? AND d.status = 'pending'`).all(id) as Row[];
  for (const r of pending) setKey.run(orderKeyOf({ event: r.event, ids: idsFrom(r) }), r.id);
}

export function webhooks({ db, announce }: Context): Webhooks {
  const changed = (id: string) => announce({ kind: 'webhook', id });

  return {
    async createWebhook(w, sealedSecret, sealedHeaders = null) {
      db.transaction(() => {
        statement(db, `INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret,
            status, disabled_reason, disabled_at, max_in_flight, rate_limit, ordering, created, last_modified, headers, header_names)
          VALUES (@id, @accountId, @name, @description, @webhookUrl, @siteIds, @events, @secret,
            @status, @disabledReason, @disabledAt, @maxInFlight, @rateLimit, @ordering, @created, @lastModified, @headers, @headerNames)`)
          .run({
            ...w, secret: sealedSecret, siteIds: JSON.stringify(w.siteIds), events: JSON.stringify(w.events),
            headers: sealedHeaders, headerNames: JSON.stringify(w.headerNames),
          });
        subscribe(db, w);
      })();
      changed(w.id);
    },

    async getWebhook(id) {
      const r = webhookRow(db, id);
      return r && webhookFrom(r);
    },

    async getWebhookSecrets(id) {
      const r = statement(db, 'SELECT secret, previous_secret, previous_secret_expires, headers FROM webhooks WHERE id = ?').get(id) as Row | undefined;
      return r && { current: r.secret, previous: r.previous_secret, previousExpiresAt: r.previous_secret_expires, headers: r.headers };
    },

    async rotateWebhookSecret(id, sealedSecret, previousExpiresAt, now) {
      // In an UPDATE, `secret` on the right is the value before it: the one being replaced.
      const r = statement(db, `UPDATE webhooks SET secret = @secret, last_modified = @now,
        previous_secret = CASE WHEN @previousExpires IS NULL THEN NULL ELSE secret END,
        previous_secret_expires = @previousExpires WHERE id = @id RETURNING *`)
        .get({ id, secret: sealedSecret, previousExpires: previousExpiresAt, now }) as Row | undefined;
      if (r) changed(id);
      return r && webhookFrom(r);
    },

    async listWebhooks(accountId, page, ascending) {
      const where = accountId === null ? '' : 'WHERE account_id = ?';
      const args = accountId === null ? [] : [accountId];
      const order = ascending ? 'created ASC, rowid ASC' : 'created DESC, rowid DESC';
      const rows = statement(db, `SELECT * FROM webhooks ${where} ORDER BY ${order} LIMIT ? OFFSET ?`)
        .all(...args, page.pageLength, (page.page - 1) * page.pageLength) as Row[];
      const { total } = statement(db, `SELECT count(*) AS total FROM webhooks ${where}`).get(...args) as Row;
      return { webhooks: rows.map(webhookFrom), total };
    },

    async updateWebhook(id, changes, now) {
      const updated = db.transaction(() => {
        const row = webhookRow(db, id);
        if (!row) return undefined;
        const { headers, ...fields } = changes;
        const next = { ...webhookFrom(row), ...fields, lastModified: now };
        statement(db, `UPDATE webhooks SET name = @name, description = @description, webhook_url = @webhookUrl,
          site_ids = @siteIds, events = @events, max_in_flight = @maxInFlight, rate_limit = @rateLimit, ordering = @ordering,
          headers = @sealedHeaders, header_names = @headerNames, last_modified = @lastModified WHERE id = @id`)
          .run({
            ...next, siteIds: JSON.stringify(next.siteIds), events: JSON.stringify(next.events),
            // The headers are replaced as a whole, or kept as they were.
            sealedHeaders: headers ? headers.sealed : row.headers, headerNames: headers ? JSON.stringify(headers.names) : row.header_names,
          });
        if (changes.siteIds || changes.events) subscribe(db, next);
        if (changes.ordering !== undefined && changes.ordering !== row.ordering) rekey(db, id, changes.ordering);
        if (changes.status === 'disabled') disableWebhook(db, id, changes.disabledReason ?? null, now);
        // Re-enabling starts afresh: the failures that led to disabling are not held against it.
        if (changes.status === 'active') {
          statement(db, `UPDATE webhooks SET status = 'active', disabled_reason = NULL, disabled_at = NULL,
            consecutive_failures = 0, failing_since = NULL, paused_until = NULL, last_modified = @now
            WHERE id = @id AND status = 'disabled'`).run({ id, now });
        }
        return webhookFrom(webhookRow(db, id)!);
      })();
      if (updated) changed(id);
      return updated;
    },

    async deleteWebhook(id) {
      const deleted = statement(db, 'DELETE FROM webhooks WHERE id = ?').run(id).changes > 0;
      if (deleted) changed(id);
      return deleted;
    },

    async getSealCheck() {
      return (statement(db, 'SELECT value FROM meta WHERE key = ?').get('seal_check') as Row | undefined)?.value;
    },

    async adoptSealing(check, seal) {
      let sealed = 0;
      const stored = db.transaction(() => {
        const existing = statement(db, 'SELECT value FROM meta WHERE key = ?').get('seal_check') as Row | undefined;
        if (existing) return existing.value as string;
        const setSecret = statement(db, 'UPDATE webhooks SET secret = ? WHERE id = ?');
        for (const r of statement(db, 'SELECT id, secret FROM webhooks').all() as Row[]) sealed += setSecret.run(seal(r.id, r.secret), r.id).changes;
        statement(db, 'INSERT INTO meta (key, value) VALUES (?, ?)').run('seal_check', check);
        return check;
      })();
      if (sealed > 0 && db.name !== ':memory:') {
        // The secrets in clear may linger in freed space of the file and in the WAL: rewrite both.
        db.exec('VACUUM');
        db.pragma('wal_checkpoint(TRUNCATE)');
      }
      return stored;
    },
  };
}
