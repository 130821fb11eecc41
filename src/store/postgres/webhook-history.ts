// A webhook's health over time on PostgreSQL (GET /v2/webhooks/{id}/stats/): its attempts in a
// window, counted per bucket (an hour, a day) and their durations' percentiles, aggregated by the
// database along attempts_by_webhook (migration 13).
import type { HistoryWindow, WebhookHistory } from '../types.js';
import type { Db } from './db.js';

export async function webhookHistory(db: Db, webhookId: string, { start, end, bucketMs }: HistoryWindow): Promise<WebhookHistory> {
  const args = [webhookId, start, end, bucketMs];
  const { rows } = await db.query(`SELECT (attempted_at - $2) / $4 AS bucket, count(*)::int AS attempts, count(*) FILTER (WHERE error IS NULL)::int AS succeeded
    FROM attempts WHERE webhook_id = $1 AND attempted_at >= $2 AND attempted_at < $3
    GROUP BY bucket ORDER BY bucket`, args);
  // percentile_disc: the nearest rank, the first duration in order whose rank r has r / n >= p.
  const p = (await db.query(`SELECT percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY duration_ms) AS p
    FROM attempts WHERE webhook_id = $1 AND attempted_at >= $2 AND attempted_at < $3`, args.slice(0, 3))).rows[0]!.p as number[] | null;
  return {
    buckets: rows.map((r) => ({ index: Number(r.bucket), attempts: r.attempts, succeeded: r.succeeded })),
    latency: p === null ? null : { p50: p[0]!, p95: p[1]!, p99: p[2]! },
  };
}
