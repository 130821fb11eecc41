// What the delivery engine reads and writes on PostgreSQL (the EngineStore port,
// src/store/ports.ts). The engine schedules in memory, webhook by webhook, on the node that owns
// the webhook; these tables are its durable log: what is pending, and each attempt's outcome.
import { alertEvent, autoDisableReason, GONE_REASON, healthChanges, outcomesByWebhook, streakAlerts, type Alert } from '../health.js';
import { orderKeyFrom } from '../order-key.js';
import { PENDING_COLUMNS, factsFrom, jsonOrNull, webhookFrom, type Row } from '../rows.js';
import type { EndpointInfo, EngineStats, HealthPolicy, Outcome, PendingDelivery, Webhook } from '../types.js';
import type { Db, Tx } from './db.js';
import { announceDeliveries, insertEventRow, NEW_DELIVERY_ID } from './intake.js';

/** A pending delivery from a row of deliveries joined to its event. */
export const pendingFrom = (r: Row): PendingDelivery => ({
  id: r.id,
  eventId: r.event_id,
  webhookId: r.webhook_id,
  attempts: r.attempts,
  lastChance: r.last_chance,
  dueAt: Number(r.due_at),
  facts: factsFrom(r),
  orderKey: orderKeyFrom(r.order_key),
});

/**
 * Commits the alerts raised about `subject` (its row: id, account_id, webhook_url) as
 * operational events, each with one delivery, due now, to every other webhook of its account
 * subscribed to it (disabled ones keep theirs until enabled, as with any event). A webhook is
 * never sent the alerts about itself. Returns the deliveries made.
 */
async function raiseAlerts(tx: Tx, subject: Row, alerts: Alert[], now: number): Promise<PendingDelivery[]> {
  const made: PendingDelivery[] = [];
  for (const alert of alerts) {
    const { rows: recipients } = await tx.query(`SELECT id FROM webhooks WHERE account_id = $1 AND id <> $2 AND events::jsonb ? $3 ORDER BY id`,
      [subject.account_id, subject.id, alert.event]);
    if (recipients.length === 0) continue;
    const event = alertEvent(alert, { id: subject.id, url: subject.webhook_url }, now);
    await insertEventRow(tx, event, false);
    // About no media: on a per_media webhook's ordered path ('') but held by no key.
    const { rows } = await tx.query(`INSERT INTO deliveries (id, event_id, webhook_id, due_at, created, last_modified, order_key)
      SELECT ${NEW_DELIVERY_ID}, $1, w.id, $2, $2, $2, CASE WHEN w.ordering = 'per_media' THEN '' END
      FROM unnest($3::text[]) AS r(webhook_id) JOIN webhooks w ON w.id = r.webhook_id RETURNING id, webhook_id`,
    [event.id, now, recipients.map((r) => r.id)]);
    const facts = { event: event.event, siteId: '', eventTime: event.eventTime, ids: {}, alert: event.alert };
    for (const r of rows) made.push({ id: r.id, eventId: event.id, webhookId: r.webhook_id, attempts: 0, lastChance: false, dueAt: now, facts, orderKey: null });
  }
  return made;
}

export async function pendingWebhooks(db: Db): Promise<string[]> {
  // A loose index scan: from one webhook to the next in deliveries_due, one probe each, rather
  // than a DISTINCT that reads every pending delivery.
  const { rows } = await db.query(`WITH RECURSIVE w AS (
      (SELECT webhook_id FROM deliveries WHERE status = 'pending' ORDER BY webhook_id LIMIT 1)
      UNION ALL
      SELECT (SELECT d.webhook_id FROM deliveries d WHERE d.status = 'pending' AND d.webhook_id > w.webhook_id
        ORDER BY d.webhook_id LIMIT 1)
      FROM w WHERE w.webhook_id IS NOT NULL
    )
    SELECT webhook_id FROM w WHERE webhook_id IS NOT NULL`);
  return rows.map((r) => r.webhook_id as string);
}

export async function getEndpoint(db: Db, id: string): Promise<EndpointInfo | undefined> {
  const r = (await db.query(`SELECT id, account_id, webhook_url, status, max_in_flight, rate_limit, ordering, consecutive_failures, paused_until
    FROM webhooks WHERE id = $1`, [id])).rows[0];
  return r && {
    id: r.id, accountId: r.account_id, url: r.webhook_url, status: r.status, maxInFlight: r.max_in_flight,
    rateLimit: r.rate_limit, ordered: r.ordering === 'per_media', consecutiveFailures: r.consecutive_failures, pausedUntil: r.paused_until,
  };
}

export async function loadDue(db: Db, webhookId: string, now: number, limit: number): Promise<{ deliveries: PendingDelivery[]; nextDueAt: number | null }> {
  // One statement, so one snapshot: the due ones (in deliveries_due's order: due time, then
  // insertion) with their events, and the first not yet due. `next` always gives one row.
  const { rows } = await db.query(`
    WITH due AS (
      SELECT id, event_id, webhook_id, attempts, last_chance, due_at, seq, order_key FROM deliveries
      WHERE webhook_id = $1 AND status = 'pending' AND due_at <= $2
      ORDER BY due_at, seq LIMIT $3
    ), next AS (
      SELECT min(due_at) AS next_due_at FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND due_at > $2
    )
    SELECT n.next_due_at, ${PENDING_COLUMNS}
    FROM next n
    LEFT JOIN (due d JOIN events e ON e.id = d.event_id) ON true
    ORDER BY d.due_at, d.seq`, [webhookId, now, limit]);
  return {
    deliveries: rows.filter((r) => r.id !== null).map(pendingFrom),
    nextDueAt: rows[0]?.next_due_at ?? null,
  };
}

export function recordOutcomes(db: Db, outcomes: Outcome[], now: number, policy: HealthPolicy): Promise<Webhook[]> {
  if (outcomes.length === 0) return Promise.resolve([]);
  const column = <T>(pick: (o: Outcome) => T) => outcomes.map(pick);
  const status = (o: Outcome) => (o.succeeded ? 'succeeded' : o.nextAttemptAt === null ? 'failed' : 'pending');
  return db.transaction(async (tx) => {
    // One statement for the batch. A delivery deleted meanwhile (its webhook went) gets no attempt row.
    const { rows: recordedIds } = await tx.query(`
      WITH o AS (
        SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::bigint[], $6::int[], $7::text[], $8::text[], $10::text[], $11::text[])
          AS o(id, status, due_at, status_code, attempted_at, duration_ms, error, response_body, request_headers, response_headers)
      ), updated AS (
        -- A retry asked for after the attempt started (the API cannot know it is in flight) makes
        -- the delivery due now whatever the outcome, its last chance if the outcome ended it, as
        -- a retry asked for just now would. Either way the request is answered.
        UPDATE deliveries d SET attempts = d.attempts + 1,
          status = CASE WHEN d.retry_requested > o.attempted_at THEN 'pending' ELSE o.status END,
          due_at = CASE WHEN d.retry_requested > o.attempted_at THEN $9 ELSE o.due_at END,
          last_chance = d.retry_requested > o.attempted_at AND o.status <> 'pending', retry_requested = 0,
          last_status_code = o.status_code, last_modified = $9
        FROM o WHERE d.id = o.id
        RETURNING d.id, d.webhook_id, d.created
      ), logged AS (
        -- In their delivery's partition (delivery_created: src/store/postgres/partition-migration.ts).
        INSERT INTO attempts (delivery_id, webhook_id, delivery_created, attempted_at, status_code, duration_ms, error, response_body, request_headers, response_headers)
        SELECT o.id, u.webhook_id, u.created, o.attempted_at, o.status_code, o.duration_ms, o.error, o.response_body, o.request_headers, o.response_headers
        FROM o JOIN updated u ON u.id = o.id
      )
      SELECT id FROM updated`, [
      column((o) => o.deliveryId),
      column(status),
      column((o) => (status(o) === 'pending' ? o.nextAttemptAt : null)),
      column((o) => o.attempt.statusCode),
      column((o) => o.attempt.attemptedAt),
      column((o) => Math.round(o.attempt.durationMs)),
      column((o) => o.attempt.error),
      column((o) => o.attempt.responseBody),
      now,
      column((o) => jsonOrNull(o.attempt.requestHeaders)),
      column((o) => jsonOrNull(o.attempt.responseHeaders)),
    ]);
    const recorded = new Set(recordedIds.map((r) => r.id as string));
    // In id order, so that nodes writing the health of the same webhooks take their locks alike.
    const kept = outcomes.filter((o) => recorded.has(o.deliveryId));
    const changes = healthChanges(kept).sort((a, b) => (a.webhookId < b.webhookId ? -1 : 1));
    if (changes.length === 0) return [];
    const ids = changes.map((h) => h.webhookId);
    // A failure that opens (or keeps open) the breaker holds attempts back until the next probe;
    // a healthy webhook's row is not written (nor locked) at all. `before` is each written row as
    // it was, locked first so that it is the latest one: its streak decides the alerts.
    const { rows: written } = await tx.query(`
      UPDATE webhooks w SET
        consecutive_failures = CASE WHEN h.reset THEN h.failures ELSE w.consecutive_failures + h.failures END,
        failing_since = CASE WHEN h.failures = 0 THEN NULL WHEN h.reset THEN h.first_failure_at ELSE coalesce(w.failing_since, h.first_failure_at) END,
        paused_until = nullif(greatest(coalesce(w.paused_until, 0), coalesce(h.pause_until, 0),
          CASE WHEN h.failures > 0 AND CASE WHEN h.reset THEN 0 ELSE w.consecutive_failures END + h.failures >= $6
            THEN $7::bigint ELSE 0 END), 0)
      FROM unnest($1::text[], $2::bool[], $3::int[], $4::bigint[], $5::bigint[]) AS h(id, reset, failures, first_failure_at, pause_until),
        (SELECT b.id, b.consecutive_failures FROM webhooks b JOIN unnest($1::text[], $3::int[], $5::bigint[]) AS hb(id, failures, pause_until) ON hb.id = b.id
          WHERE NOT (hb.failures = 0 AND b.consecutive_failures = 0 AND hb.pause_until IS NULL) ORDER BY b.id FOR UPDATE OF b) AS before
      WHERE w.id = h.id AND before.id = w.id
      RETURNING w.id, w.account_id, w.webhook_url, before.consecutive_failures AS failures_before`, [
      ids, changes.map((h) => h.reset), changes.map((h) => h.failures), changes.map((h) => h.firstFailureAt), changes.map((h) => h.pauseUntil),
      policy.breakerThreshold, now + policy.probeIntervalMs,
    ]);
    const { rows: disabled } = await tx.query(`
      UPDATE webhooks w SET status = 'disabled', disabled_reason = CASE WHEN h.gone THEN $3 ELSE $4 END, disabled_at = $5, last_modified = $5
      FROM unnest($1::text[], $2::bool[], $7::int[]) AS h(id, gone, failures)
      WHERE w.id = h.id AND w.status = 'active' AND (h.gone OR (h.failures > 0 AND w.failing_since <= $6))
      RETURNING w.*`, [ids, changes.map((h) => h.gone), GONE_REASON, autoDisableReason(policy), now, now - policy.autoDisableAfterMs, changes.map((h) => h.failures)]);
    for (const w of disabled) tx.announce({ kind: 'webhook', id: w.id });
    // The operational events these outcomes raise, committed with them (src/store/health.ts).
    const byWebhook = outcomesByWebhook(kept);
    const gone = new Map(disabled.map((w) => [w.id as string, w]));
    const raised: PendingDelivery[] = [];
    for (const w of written.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const alerts = streakAlerts(byWebhook.get(w.id)!, w.failures_before, policy.breakerThreshold);
      const off = gone.get(w.id);
      if (off) alerts.push({ event: 'webhook_disabled', reason: off.disabled_reason, failures: off.consecutive_failures, at: now });
      if (alerts.length > 0) raised.push(...await raiseAlerts(tx, w, alerts, now));
    }
    announceDeliveries(tx, raised);
    return disabled.map(webhookFrom);
  });
}

export async function engineStats(db: Db, top: number): Promise<EngineStats> {
  const pending = (await db.query(`SELECT count(*) AS pending, min(created) AS oldest FROM deliveries WHERE status = 'pending'`)).rows[0]!;
  const disabled = (await db.query(`SELECT count(*) AS n FROM webhooks WHERE status = 'disabled'`)).rows[0]!;
  const failing = await db.query(`SELECT id, consecutive_failures FROM webhooks WHERE consecutive_failures > 0
    ORDER BY consecutive_failures DESC, id LIMIT $1`, [top]);
  return {
    pending: pending.pending,
    oldestPendingCreated: pending.oldest ?? null,
    disabledWebhooks: disabled.n,
    failing: failing.rows.map((r) => ({ webhookId: r.id, consecutiveFailures: r.consecutive_failures })),
  };
}
