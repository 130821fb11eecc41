// What the delivery engine reads and writes on the embedded store. The engine keeps each
// webhook's queue in memory; the database is the durable log under it, not the scheduler:
// loading what is due writes nothing, and outcomes are written as they come.
import type Database from 'better-sqlite3';
import { alertEvent, autoDisableReason, GONE_REASON, healthChanges, outcomesByWebhook, streakAlerts, type Alert } from '../health.js';
import { orderKeyFrom } from '../order-key.js';
import { PENDING_COLUMNS, factsFrom, jsonOrNull, webhookFrom, type Row } from '../rows.js';
import type { EngineStore } from '../ports.js';
import type { Outcome, PendingDelivery, Webhook } from '../types.js';
import { insertEventRow } from './intake.js';
import { loadDueOrdered } from './load-ordered.js';
import { statement, type Context } from './statement.js';
import { disableWebhook } from './webhooks.js';

export const pendingFrom = (r: Row): PendingDelivery => ({
  id: r.id, eventId: r.event_id, webhookId: r.webhook_id, attempts: r.attempts, lastChance: r.last_chance === 1, dueAt: r.due_at,
  facts: factsFrom(r), orderKey: orderKeyFrom(r.order_key),
});

/**
 * Commits the alerts raised about `subject` (its row: id, account_id, webhook_url) as
 * operational events, each with one delivery, due now, to every other webhook of its account
 * subscribed to it (disabled ones keep theirs until enabled, as with any event). A webhook is
 * never sent the alerts about itself. Returns the deliveries made.
 */
function raiseAlerts(db: Database.Database, subject: Row, alerts: Alert[], now: number): PendingDelivery[] {
  const made: PendingDelivery[] = [];
  for (const alert of alerts) {
    const recipients = (statement(db, `SELECT id FROM webhooks WHERE account_id = @accountId AND id <> @subjectId
      AND EXISTS (SELECT 1 FROM json_each(webhooks.events) WHERE value = @event) ORDER BY id`)
      .all({ accountId: subject.account_id, subjectId: subject.id, event: alert.event }) as Row[]).map((r) => r.id as string);
    if (recipients.length === 0) continue;
    const event = alertEvent(alert, { id: subject.id, url: subject.webhook_url }, now);
    insertEventRow(db, event, false);
    // About no media: on a per_media webhook's ordered path ('') but held by no key.
    const insert = statement(db, `INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
      SELECT 'msg_' || lower(hex(randomblob(12))), @eventId, id, @now, @now, @now, CASE WHEN ordering = 'per_media' THEN '' END
      FROM webhooks WHERE id = @webhookId RETURNING id`);
    for (const webhookId of recipients) {
      const { id } = insert.get({ eventId: event.id, webhookId, now }) as Row;
      made.push({ id, eventId: event.id, webhookId, attempts: 0, lastChance: false, dueAt: now, facts: { event: event.event, siteId: '', eventTime: event.eventTime, ids: {}, alert: event.alert }, orderKey: null });
    }
  }
  return made;
}

/**
 * By due time, then commit order, straight from deliveries_due (webhook_id, due_at, created),
 * whose entries end with the rowid: `created` is the committing call's clock, so it departs from
 * the rowid's commit order only if that clock went back between two commits. (By due_at then
 * rowid alone, SQLite would sort each run of equal due times: a recovery makes thousands.)
 */
const LOAD_DUE = `SELECT ${PENDING_COLUMNS} FROM deliveries d JOIN events e ON e.id = d.event_id
  WHERE d.webhook_id = @webhookId AND d.status = 'pending' AND d.due_at <= @now
  ORDER BY d.due_at, d.created, d.rowid LIMIT @limit`;

export function engine({ db, synchronous, announce }: Context): EngineStore {
  /**
   * The engine's bookkeeping (outcomes), committed without an fsync of its own: a power cut that
   * loses it only means a delivery is attempted again (at-least-once), and the next commit at
   * FULL makes it durable with the WAL frames before it. Everything that is acknowledged to a
   * caller (intake, API changes) keeps the configured level.
   */
  function bookkeeping<T>(work: () => T): T {
    if (synchronous !== 'FULL') return db.transaction(work)();
    db.pragma('synchronous = NORMAL');
    try {
      return db.transaction(work)();
    } finally {
      db.pragma('synchronous = FULL');
    }
  }

  return {
    async pendingWebhooks() {
      // One probe of deliveries_due per webhook, rather than a scan of every pending delivery.
      return (statement(db, `SELECT id FROM webhooks w
        WHERE EXISTS (SELECT 1 FROM deliveries d WHERE d.webhook_id = w.id AND d.status = 'pending') ORDER BY id`).all() as Row[])
        .map((r) => r.id as string);
    },

    async getEndpoint(id) {
      const r = statement(db, `SELECT id, account_id, webhook_url, status, max_in_flight, rate_limit, ordering, consecutive_failures, paused_until
        FROM webhooks WHERE id = ?`).get(id) as Row | undefined;
      return r && {
        id: r.id, accountId: r.account_id, url: r.webhook_url, status: r.status, maxInFlight: r.max_in_flight,
        rateLimit: r.rate_limit, ordered: r.ordering === 'per_media', consecutiveFailures: r.consecutive_failures, pausedUntil: r.paused_until,
      };
    },

    async loadDue(webhookId, now, limit) {
      const rows = statement(db, LOAD_DUE).all({ webhookId, now, limit }) as Row[];
      const next = statement(db, `SELECT min(due_at) AS due FROM deliveries
        WHERE webhook_id = ? AND status = 'pending' AND due_at > ?`).get(webhookId, now) as Row;
      return { deliveries: rows.map(pendingFrom), nextDueAt: next.due ?? null };
    },

    async loadDueOrdered(webhookId, now, limit, learn) {
      return loadDueOrdered(db, webhookId, now, limit, learn);
    },

    async recordOutcomes(outcomes, now, policy) {
      const raised: PendingDelivery[] = [];
      const disabled = bookkeeping(() => {
        const recorded: Outcome[] = [];
        for (const o of outcomes) {
          const status = o.succeeded ? 'succeeded' : o.nextAttemptAt === null ? 'failed' : 'pending';
          // A retry asked for after this attempt began (retryDelivery) makes the delivery due now,
          // whatever the outcome: its last chance if the outcome ended it, as a manual retry.
          const { changes } = statement(db, `UPDATE deliveries SET attempts = attempts + 1,
            status = CASE WHEN retry_requested > @attemptedAt THEN 'pending' ELSE @status END,
            due_at = CASE WHEN retry_requested > @attemptedAt THEN @now ELSE @dueAt END,
            last_chance = CASE WHEN retry_requested > @attemptedAt AND @status <> 'pending' THEN 1 ELSE 0 END,
            retry_requested = 0, last_status_code = @statusCode, last_modified = @now WHERE id = @id`).run({
            id: o.deliveryId, status, dueAt: status === 'pending' ? o.nextAttemptAt : null,
            attemptedAt: o.attempt.attemptedAt, statusCode: o.attempt.statusCode, now,
          });
          // The webhook may have been deleted meanwhile, and its deliveries with it.
          if (changes === 0) continue;
          statement(db, `INSERT INTO attempts (delivery_id, webhook_id, attempted_at, status_code, duration_ms, error, response_body, request_headers, response_headers)
            VALUES (@deliveryId, @webhookId, @attemptedAt, @statusCode, @durationMs, @error, @responseBody, @requestHeaders, @responseHeaders)`).run({
            deliveryId: o.deliveryId, webhookId: o.webhookId, ...o.attempt,
            requestHeaders: jsonOrNull(o.attempt.requestHeaders), responseHeaders: jsonOrNull(o.attempt.responseHeaders),
          });
          recorded.push(o);
        }
        const disabled: Webhook[] = [];
        const byWebhook = outcomesByWebhook(recorded);
        for (const h of healthChanges(recorded)) {
          // Its streak before this batch, and what the alerts about it say of it.
          const before = statement(db, 'SELECT id, account_id, webhook_url, consecutive_failures FROM webhooks WHERE id = ?').get(h.webhookId) as Row | undefined;
          if (!before) continue;
          // Once per webhook and batch. A failure that opens (or keeps open) the breaker holds
          // attempts back until the next probe; a healthy webhook's row is not written at all.
          statement(db, `UPDATE webhooks SET
              consecutive_failures = CASE WHEN @reset = 1 THEN @failures ELSE consecutive_failures + @failures END,
              failing_since = CASE WHEN @failures = 0 THEN NULL WHEN @reset = 1 THEN @firstFailureAt ELSE coalesce(failing_since, @firstFailureAt) END,
              paused_until = nullif(max(coalesce(paused_until, 0), coalesce(@pauseUntil, 0),
                CASE WHEN @failures > 0 AND CASE WHEN @reset = 1 THEN 0 ELSE consecutive_failures END + @failures >= @breakerThreshold
                  THEN @nextProbe ELSE 0 END), 0)
            WHERE id = @id AND NOT (@failures = 0 AND consecutive_failures = 0 AND @pauseUntil IS NULL)`).run({
            id: h.webhookId, reset: h.reset ? 1 : 0, failures: h.failures, firstFailureAt: h.firstFailureAt, pauseUntil: h.pauseUntil,
            breakerThreshold: policy.breakerThreshold, nextProbe: now + policy.probeIntervalMs,
          });
          const row = h.gone
            ? disableWebhook(db, h.webhookId, GONE_REASON, now)
            : h.failures > 0
              ? statement(db, `UPDATE webhooks SET status = 'disabled', disabled_reason = @reason, disabled_at = @now, last_modified = @now
                  WHERE id = @id AND status = 'active' AND failing_since <= @failingBefore RETURNING *`)
                .get({ id: h.webhookId, reason: autoDisableReason(policy), now, failingBefore: now - policy.autoDisableAfterMs }) as Row | undefined
              : undefined;
          const alerts = streakAlerts(byWebhook.get(h.webhookId)!, before.consecutive_failures, policy.breakerThreshold);
          if (row) {
            disabled.push(webhookFrom(row));
            alerts.push({ event: 'webhook_disabled', reason: row.disabled_reason, failures: row.consecutive_failures, at: now });
          }
          if (alerts.length > 0) raised.push(...raiseAlerts(db, before, alerts, now));
        }
        return disabled;
      });
      for (const w of disabled) announce({ kind: 'webhook', id: w.id });
      if (raised.length > 0) announce({ kind: 'deliveries', webhookIds: [...new Set(raised.map((d) => d.webhookId))], created: raised });
      return disabled;
    },

    async engineStats(top) {
      const pending = statement(db, `SELECT count(*) AS pending, min(created) AS oldest FROM deliveries WHERE status = 'pending'`).get() as Row;
      const disabled = statement(db, `SELECT count(*) AS n FROM webhooks WHERE status = 'disabled'`).get() as Row;
      const failing = statement(db, `SELECT id, consecutive_failures FROM webhooks WHERE consecutive_failures > 0
        ORDER BY consecutive_failures DESC, id LIMIT ?`).all(top) as Row[];
      return {
        pending: pending.pending,
        oldestPendingCreated: pending.oldest ?? null,
        disabledWebhooks: disabled.n,
        failing: failing.map((r) => ({ webhookId: r.id, consecutiveFailures: r.consecutive_failures })),
      };
    },
  };
}
