// A webhook's health over time (GET /v2/webhooks/{id}/stats/?window=): its attempts per hour over
// the last 24 hours or per UTC day over the last 30, each bucket with its success rate, and the
// attempts' durations' percentiles over the window. The store counts and ranks (in SQL); this
// cuts the window and gives every bucket, the empty ones too, so that a chart has all its bars.
import type { Store } from '../store/ports.js';
import { jwpMicros } from '../time.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const HISTORY_WINDOWS = {
  '24h': { bucketMs: HOUR, buckets: 24 },
  '30d': { bucketMs: DAY, buckets: 30 },
} as const;
export type HistoryWindowName = keyof typeof HISTORY_WINDOWS;

export async function historyOf(store: Store, webhookId: string, window: HistoryWindowName, now: number) {
  const { bucketMs, buckets: count } = HISTORY_WINDOWS[window];
  // The last bucket is the one now is in (an hour, a UTC day), so far.
  const end = Math.floor(now / bucketMs) * bucketMs + bucketMs;
  const start = end - count * bucketMs;
  const found = await store.webhookHistory(webhookId, { start, end, bucketMs });
  const byIndex = new Map(found.buckets.map((b) => [b.index, b]));
  return {
    window,
    buckets: Array.from({ length: count }, (_, i) => {
      const { attempts = 0, succeeded = 0 } = byIndex.get(i) ?? {};
      return { start: jwpMicros(start + i * bucketMs), attempts, succeeded, success_rate: attempts === 0 ? null : succeeded / attempts };
    }),
    latency_ms: found.latency,
  };
}
