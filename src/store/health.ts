// How a batch of outcomes moves each webhook's health, folded here once so that both stores
// write the same thing: one update per webhook, not one per delivery.
import type { HealthPolicy, Outcome } from './types.js';

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

const UNITS: [number, string][] = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'min'], [1_000, 's']];

function spell(ms: number): string {
  const unit = UNITS.find(([size]) => ms >= size && ms % size === 0);
  return unit ? `${ms / unit[0]} ${unit[1]}` : `${ms} ms`;
}
