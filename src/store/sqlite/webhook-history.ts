// A webhook's health over time on the embedded store (GET /v2/webhooks/{id}/stats/): its attempts
// in a window, counted per bucket (an hour, a day) and their durations' percentiles, aggregated by
// SQLite along attempts_by_webhook (migration 16).
import type { Row } from '../rows.js';
import type { DeliveryInsights } from '../ports.js';
import { statement, type Context } from './statement.js';

export function webhookHistory({ db }: Context): Pick<DeliveryInsights, 'webhookHistory'> {
  return {
    async webhookHistory(webhookId, { start, end, bucketMs }) {
      // better-sqlite3 binds numbers as REAL: the bucket's index is cast back to an integer.
      const params = { webhookId, start, end, bucketMs };
      const buckets = (statement(db, `SELECT CAST((attempted_at - @start) / @bucketMs AS INTEGER) AS bucket, count(*) AS attempts, sum(error IS NULL) AS succeeded
        FROM attempts WHERE webhook_id = @webhookId AND attempted_at >= @start AND attempted_at < @end
        GROUP BY bucket ORDER BY bucket`).all(params) as Row[])
        .map((r) => ({ index: r.bucket as number, attempts: r.attempts as number, succeeded: r.succeeded as number }));
      // Nearest rank, as PostgreSQL's percentile_disc: the first duration, in order, whose rank r
      // has r / n >= p (SQLite's own percentile_disc picks another rank).
      const p = statement(db, `SELECT
          min(CASE WHEN rank * 100 >= 50 * n THEN duration_ms END) AS p50,
          min(CASE WHEN rank * 100 >= 95 * n THEN duration_ms END) AS p95,
          min(CASE WHEN rank * 100 >= 99 * n THEN duration_ms END) AS p99
        FROM (SELECT duration_ms, row_number() OVER (ORDER BY duration_ms) AS rank, count(*) OVER () AS n
          FROM attempts WHERE webhook_id = @webhookId AND attempted_at >= @start AND attempted_at < @end)`).get(params) as Row;
      return { buckets, latency: p.p50 === null ? null : { p50: p.p50, p95: p.p95, p99: p.p99 } };
    },
  };
}
