// Webhooks on PostgreSQL (the Webhooks port, src/store/ports.ts): the webhooks, what they
// subscribe to, and their sealed secrets. Each operation with its SQL; every change to a webhook
// is announced, so that the node sending to it reads it again.
import { isOperational } from '../../catalog/operational.js';
import { orderKeyOf } from '../order-key.js';
import { idsFrom, webhookFrom } from '../rows.js';
import type { Page, SealedSecrets, Webhook, WebhookChanges, WebhookOrdering } from '../types.js';
import type { Db, Queryable, Tx } from './db.js';

/**
 * Makes the webhook's subscriptions (what fan-out reads) those of its sites and JWP events.
 * Operational events go by account, not by property (recordOutcomes reads `events`).
 */
async function subscribe(tx: Queryable, w: Pick<Webhook, 'id' | 'siteIds' | 'events'>): Promise<void> {
  await tx.query('DELETE FROM subscriptions WHERE webhook_id = $1', [w.id]);
  await tx.query(`INSERT INTO subscriptions (site_id, event, webhook_id)
    SELECT site_id, event, $1 FROM unnest($2::text[]) AS site_id CROSS JOIN unnest($3::text[]) AS event
    ON CONFLICT DO NOTHING`, [w.id, w.siteIds, w.events.filter((e) => !isOperational(e))]);
}

/**
 * The webhook's ordering changed: its pending deliveries take keys (per_media), from their events,
 * or lose them (none), in the same transaction, so that the new ordering holds for its backlog too.
 */
async function rekey(tx: Tx, id: string, ordering: WebhookOrdering): Promise<void> {
  if (ordering === 'none') {
    await tx.query(`UPDATE deliveries SET order_key = NULL WHERE webhook_id = $1 AND status = 'pending'`, [id]);
    return;
  }
  const { rows } = await tx.query(`SELECT d.id, e.event, e.media_id, e.channel_id, e.thumbnail_id, e.track_id FROM deliveries d
    JOIN events e ON e.id = d.event_id WHERE d.webhook_id = $1 AND d.status = 'pending'`, [id]);
  await tx.query(`UPDATE deliveries d SET order_key = k.order_key FROM unnest($1::text[], $2::text[]) AS k(id, order_key) WHERE d.id = k.id`,
    [rows.map((r) => r.id), rows.map((r) => orderKeyOf({ event: r.event, ids: idsFrom(r) }))]);
}

export async function createWebhook(db: Db, w: Webhook, sealedSecret: string, sealedHeaders: string | null = null): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret,
        status, disabled_reason, disabled_at, max_in_flight, rate_limit, created, last_modified, ordering, headers, header_names)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`, [
      w.id, w.accountId, w.name, w.description, w.webhookUrl, JSON.stringify(w.siteIds), JSON.stringify(w.events), sealedSecret,
      w.status, w.disabledReason, w.disabledAt, w.maxInFlight, w.rateLimit, w.created, w.lastModified, w.ordering, sealedHeaders, JSON.stringify(w.headerNames),
    ]);
    await subscribe(tx, w);
    tx.announce({ kind: 'webhook', id: w.id });
  });
}

export async function getWebhook(db: Db, id: string): Promise<Webhook | undefined> {
  const r = (await db.query('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0];
  return r && webhookFrom(r);
}

export async function getWebhookSecrets(db: Db, id: string): Promise<SealedSecrets | undefined> {
  const r = (await db.query('SELECT secret, previous_secret, previous_secret_expires, headers FROM webhooks WHERE id = $1', [id])).rows[0];
  return r && { current: r.secret, previous: r.previous_secret, previousExpiresAt: r.previous_secret_expires, headers: r.headers };
}

export function rotateWebhookSecret(db: Db, id: string, sealedSecret: string, previousExpiresAt: number | null, now: number): Promise<Webhook | undefined> {
  return db.transaction(async (tx) => {
    // In an UPDATE, `secret` on the right is the value before it: the one being replaced.
    const r = (await tx.query(`UPDATE webhooks SET secret = $2, last_modified = $4,
        previous_secret = CASE WHEN $3::bigint IS NULL THEN NULL ELSE secret END,
        previous_secret_expires = $3 WHERE id = $1 RETURNING *`, [id, sealedSecret, previousExpiresAt, now])).rows[0];
    if (!r) return undefined;
    tx.announce({ kind: 'webhook', id });
    return webhookFrom(r);
  });
}

export async function listWebhooks(db: Db, accountId: string | null, page: Page, ascending: boolean): Promise<{ webhooks: Webhook[]; total: number }> {
  const where = accountId === null ? '' : 'WHERE account_id = $3';
  const args: unknown[] = [page.pageLength, (page.page - 1) * page.pageLength, ...(accountId === null ? [] : [accountId])];
  const order = ascending ? 'created ASC, seq ASC' : 'created DESC, seq DESC';
  const { rows } = await db.query(`SELECT * FROM webhooks ${where} ORDER BY ${order} LIMIT $1 OFFSET $2`, args);
  const total = (await db.query(`SELECT count(*) AS total FROM webhooks ${where.replace('$3', '$1')}`, args.slice(2))).rows[0]!.total;
  return { webhooks: rows.map(webhookFrom), total };
}

export function updateWebhook(db: Db, id: string, changes: WebhookChanges, now: number): Promise<Webhook | undefined> {
  return db.transaction(async (tx) => {
    const row = (await tx.query('SELECT * FROM webhooks WHERE id = $1 FOR UPDATE', [id])).rows[0];
    if (!row) return undefined;
    const { headers, ...fields } = changes;
    const next = { ...webhookFrom(row), ...fields, lastModified: now };
    await tx.query(`UPDATE webhooks SET name = $2, description = $3, webhook_url = $4, site_ids = $5, events = $6,
      max_in_flight = $7, rate_limit = $8, last_modified = $9, ordering = $10, headers = $11, header_names = $12 WHERE id = $1`,
    [id, next.name, next.description, next.webhookUrl, JSON.stringify(next.siteIds), JSON.stringify(next.events), next.maxInFlight, next.rateLimit, now, next.ordering,
      // The headers are replaced as a whole, or kept as they were.
      headers ? headers.sealed : row.headers, headers ? JSON.stringify(headers.names) : row.header_names]);
    if (changes.siteIds || changes.events) await subscribe(tx, next);
    if (changes.ordering !== undefined && changes.ordering !== row.ordering) await rekey(tx, id, changes.ordering);
    if (changes.status === 'disabled') {
      await tx.query(`UPDATE webhooks SET status = 'disabled', disabled_reason = $2, disabled_at = $3, last_modified = $3
        WHERE id = $1 AND status = 'active'`, [id, changes.disabledReason ?? null, now]);
    }
    if (changes.status === 'active') {
      // Re-enabling starts afresh: the failures that led to disabling are not held against it.
      await tx.query(`UPDATE webhooks SET status = 'active', disabled_reason = NULL, disabled_at = NULL,
        consecutive_failures = 0, failing_since = NULL, paused_until = NULL, last_modified = $2
        WHERE id = $1 AND status = 'disabled'`, [id, now]);
    }
    tx.announce({ kind: 'webhook', id });
    return webhookFrom((await tx.query('SELECT * FROM webhooks WHERE id = $1', [id])).rows[0]!);
  });
}

export function deleteWebhook(db: Db, id: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const { rowCount } = await tx.query('DELETE FROM webhooks WHERE id = $1', [id]);
    if (rowCount === 0) return false;
    tx.announce({ kind: 'webhook', id });
    return true;
  });
}

export async function getSealCheck(db: Db): Promise<string | undefined> {
  return (await db.query(`SELECT value FROM meta WHERE key = 'seal_check'`)).rows[0]?.value;
}

export function adoptSealing(db: Db, check: string, seal: (webhookId: string, plaintext: string) => string): Promise<string> {
  return db.transaction(async (tx) => {
    // The insert waits for a node adopting at the same time, and then finds its check value.
    const inserted = await tx.query(`INSERT INTO meta (key, value) VALUES ('seal_check', $1) ON CONFLICT DO NOTHING`, [check]);
    if (inserted.rowCount === 0) return (await tx.query(`SELECT value FROM meta WHERE key = 'seal_check'`)).rows[0]!.value as string;
    const { rows } = await tx.query('SELECT id, secret FROM webhooks FOR UPDATE');
    for (const r of rows) await tx.query('UPDATE webhooks SET secret = $1 WHERE id = $2', [seal(r.id, r.secret), r.id]);
    return check;
  }, null); // once, at the start that adopts a key: one statement per webhook, however many
}
