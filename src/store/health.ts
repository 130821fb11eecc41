// How a batch of outcomes moves each webhook's health, folded here once so that both stores
// write the same thing: one update per webhook, not one per delivery; and which operational
// events (src/catalog/operational.ts) it raises, which both stores commit with the outcomes.
import type { OperationalEventName } from '../catalog/operational.js';
import { newEventId } from '../ids.js';
import type { EventRecord, HealthPolicy, Outcome } from './types.js';

export interface HealthChange {
  webhookId: string;
  /** The streak ended in this batch (a success); `failures` then counts the failures after it. */
  reset: boolean;
  failures: number;
  /** When the first of those failures was attempted: the streak's start if it begins here. */
  firstFailureAt: number | null;
  /** The endpoint answered 410 Gone: disable it at once. */
  gone: boolean;
  pauseUntil: number | null;
}

export const GONE_REASON = 'the endpoint answered 410 Gone';

export function autoDisableReason(policy: HealthPolicy): string {
  return `every attempt failed for ${spell(policy.autoDisableAfterMs)}`;
}

/** Outcomes in the order they were reached, folded per webhook. */
export function healthChanges(outcomes: readonly Outcome[]): HealthChange[] {
  const changes = new Map<string, HealthChange>();
  for (const o of outcomes) {
    let c = changes.get(o.webhookId);
    if (!c) changes.set(o.webhookId, (c = { webhookId: o.webhookId, reset: false, failures: 0, firstFailureAt: null, gone: false, pauseUntil: null }));
    if (o.succeeded) {
      c.reset = true;
      c.failures = 0;
      c.firstFailureAt = null;
    } else {
      c.failures++;
      c.firstFailureAt ??= o.attempt.attemptedAt;
    }
    if (o.attempt.statusCode === 410) c.gone = true;
    if (o.pauseUntil !== undefined) c.pauseUntil = Math.max(c.pauseUntil ?? 0, o.pauseUntil);
  }
  return [...changes.values()];
}

/** An operational event that outcomes raise about their webhook (its subject). */
export interface Alert {
  event: OperationalEventName;
  reason: string;
  failures: number;
  /** When it happened: the attempt's time, or the time the webhook was disabled. */
  at: number;
}

/**
 * The webhook_failing and webhook_recovered events one webhook's outcomes raise, in the order
 * the outcomes were reached, given its failure streak before them: webhook_failing when the
 * streak reaches the breaker threshold (once per streak), webhook_recovered at the first success
 * after a streak that reached it. An operational event's own delivery counts in the streak like
 * any, but raises nothing: an alert never causes an alert, so alert webhooks that fail cannot
 * feed each other (webhook_disabled, raised once per disabling, is bounded anyway).
 */
export function streakAlerts(outcomes: readonly Outcome[], before: number, threshold: number): Alert[] {
  const alerts: Alert[] = [];
  let streak = before;
  for (const o of outcomes) {
    if (o.succeeded) {
      if (streak >= threshold && !o.operational) {
        alerts.push({ event: 'webhook_recovered', reason: `delivered again (HTTP ${o.attempt.statusCode})`, failures: streak, at: o.attempt.attemptedAt });
      }
      streak = 0;
    } else if (++streak === threshold && !o.operational) {
      alerts.push({ event: 'webhook_failing', reason: o.attempt.error ?? 'the attempt failed', failures: streak, at: o.attempt.attemptedAt });
    }
  }
  return alerts;
}

/** The outcomes of a batch by webhook, each webhook's in the order they were reached. */
export function outcomesByWebhook(outcomes: readonly Outcome[]): Map<string, Outcome[]> {
  const by = new Map<string, Outcome[]>();
  for (const o of outcomes) {
    const list = by.get(o.webhookId);
    if (list) list.push(o);
    else by.set(o.webhookId, [o]);
  }
  return by;
}

/** The event an alert is stored as: no property (site_id ''), its subject in `alert`. */
export function alertEvent(alert: Alert, subject: { id: string; url: string }, now: number): EventRecord {
  return {
    id: newEventId(), siteId: '', event: alert.event, ids: {}, eventTime: alert.at, created: now,
    alert: { subjectWebhookId: subject.id, subjectWebhookUrl: subject.url, reason: alert.reason, failures: alert.failures },
  };
}

const UNITS: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1_000, 's']];

function spell(ms: number): string {
  const unit = UNITS.find(([size]) => ms >= size && ms % size === 0);
  return unit ? `${ms / unit[0]} ${unit[1]}` : `${ms} ms`;
}
