// The API's per-key rate-limit counters on PostgreSQL (the RateLimits port, src/store/ports.ts):
// one row per key in `rate_limits`, so that every api node counts against the same window. One
// statement per call, an upsert on one row; the window is timed by the database's clock, so the
// nodes' clocks need not agree. What calls it, and how often, is src/api/shared-rate-limit.ts.
import type { Db } from './db.js';

/** Adds `n` to the key's window, starting a new one if it has ended; one round trip. */
export async function take(db: Db, key: string, n: number, windowMs: number): Promise<{ count: number; ttlMs: number }> {
  const { rows } = await db.query(`
    INSERT INTO rate_limits AS r (key, window_start, count)
      VALUES ($1, (extract(epoch FROM statement_timestamp()) * 1000)::bigint, $2)
    ON CONFLICT (key) DO UPDATE SET
      window_start = CASE WHEN r.window_start + $3 <= excluded.window_start THEN excluded.window_start ELSE r.window_start END,
      count = CASE WHEN r.window_start + $3 <= excluded.window_start THEN excluded.count ELSE r.count + excluded.count END
    RETURNING count, window_start + $3 - (extract(epoch FROM statement_timestamp()) * 1000)::bigint AS ttl`, [key, n, windowMs]);
  return { count: rows[0]!.count as number, ttlMs: rows[0]!.ttl as number };
}
