// The partitions of events, deliveries and attempts on PostgreSQL (migration 15): made ahead of
// time by the nodes, and dropped whole by retention once past the window. Every node runs both
// (src/maintenance/retention.ts) under one advisory lock taken with pg_try_advisory_xact_lock:
// a node that finds it held leaves the work to the one holding it, so two nodes never race to
// create (or drop) the same partition.
import type { Db, Queryable } from './db.js';

/** The tables partitioned alike: each interval has one partition in each, of the same name suffix. */
const TABLES = ['events', 'deliveries', 'attempts'] as const;

/** Intervals made ahead of the current one. */
export const PARTITIONS_AHEAD = 3;

/** Past this, a statement waiting for a lock on a table gives up; the next pass tries again. */
const LOCK_TIMEOUT = '2s';

export interface PartitionRange {
  /** The suffix shared by the three tables' partitions: _p20260101_0000. */
  suffix: string;
  from: number;
  to: number;
}

/** Each range partition of deliveries, oldest first (the default partition is none of them). */
export async function listPartitions(q: Queryable): Promise<PartitionRange[]> {
  const { rows } = await q.query(`SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'deliveries'::regclass`);
  const ranges: PartitionRange[] = [];
  for (const r of rows) {
    const m = /FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)/.exec(r.bound as string);
    if (m) ranges.push({ suffix: (r.relname as string).slice('deliveries'.length), from: Number(m[1]), to: Number(m[2]) });
  }
  return ranges.sort((a, b) => a.from - b.from);
}

/** _pYYYYMMDD_HHMM of the interval's start, in UTC: the name the migration gives too. */
export function partitionSuffix(from: number): string {
  const iso = new Date(from).toISOString();
  return `_p${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}`;
}

/** Takes the cluster's partition lock for this transaction; false if another node holds it. */
async function lockPartitions(tx: Queryable, schema: string): Promise<boolean> {
  const { rows } = await tx.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS locked', [`hookline partitions ${schema}`]);
  if (!rows[0]!.locked) return false;
  await tx.query(`SET LOCAL lock_timeout = '${LOCK_TIMEOUT}'`);
  return true;
}

/**
 * Makes sure the current interval and the next PARTITIONS_AHEAD have their partitions, starting
 * after the last one made (an interval changed meanwhile applies from there). An interval whose
 * rows already sit in the default partition (a clock far off, a cluster stopped for longer than
 * the intervals ahead) is left to the default partition: no row ever moves, and no insert ever
 * fails for lack of a partition. Returns how many intervals were made.
 */
export async function ensurePartitions(db: Db, now: number, intervalMs: number): Promise<number> {
  return db.transaction(async (tx) => {
    if (!(await lockPartitions(tx, db.schema))) return 0;
    const last = (await listPartitions(tx)).at(-1);
    let from = Math.max(last?.to ?? -Infinity, Math.floor(now / intervalMs) * intervalMs);
    const until = (Math.floor(now / intervalMs) + PARTITIONS_AHEAD + 1) * intervalMs;
    let made = 0;
    for (; from < until; from += intervalMs) {
      const suffix = partitionSuffix(from);
      await tx.query('SAVEPOINT partition');
      try {
        for (const table of TABLES) {
          await tx.query(`CREATE TABLE ${table}${suffix} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${from + intervalMs})`);
        }
        await tx.query('RELEASE SAVEPOINT partition');
        made++;
      } catch (err) {
        // 23514: the default partition holds rows of this interval; 42P07: the name is taken
        // (an interval changed to one whose starts fall elsewhere). Either way: not this one.
        const code = (err as { code?: string }).code;
        if (code !== '23514' && code !== '42P07') throw err;
        await tx.query('ROLLBACK TO SAVEPOINT partition');
      }
    }
    return made;
  }, null).catch((err: unknown) => {
    // 55P03: a long statement holds a table past the lock_timeout. The intervals ahead leave
    // days of slack; the next pass (a minute on) makes them.
    if ((err as { code?: string }).code === '55P03') return 0;
    throw err;
  });
}

/**
 * Drops, with their attempts and events, the partitions of deliveries wholly older than `before`,
 * unless one still holds a pending delivery, or a replay made since points at one of its events:
 * such an interval stays (the batch purge clears its finished rows meanwhile) and goes on the
 * first pass after its last pending delivery finished. Each interval in a transaction of its own.
 */
export async function dropPartitions(db: Db, before: number): Promise<{ dropped: number; kept: number }> {
  const old = (await listPartitions(db)).filter((p) => p.to <= before);
  let dropped = 0;
  let kept = 0;
  for (const p of old) {
    const outcome = await db.transaction<'busy' | 'kept' | 'dropped'>(async (tx) => {
      if (!(await lockPartitions(tx, db.schema))) return 'busy';
      // The partitions themselves, by name: each check reads one partition's own index.
      const { rows: [held] } = await tx.query(`SELECT
          EXISTS (SELECT 1 FROM deliveries${p.suffix} WHERE status = 'pending') AS pending,
          EXISTS (SELECT 1 FROM deliveries d JOIN events${p.suffix} e ON e.id = d.event_id
            WHERE d.replay AND d.created >= $1) AS replayed`, [p.to]);
      if (held!.pending || held!.replayed) return 'kept';
      await tx.query(`DROP TABLE ${TABLES.map((t) => `${t}${p.suffix}`).join(', ')}`);
      return 'dropped';
    }, null).catch((err: unknown) => {
      // 55P03: a long statement holds one of the tables past the lock_timeout; the next pass tries again.
      if ((err as { code?: string }).code === '55P03') return 'busy' as const;
      throw err;
    });
    if (outcome === 'busy') break;
    if (outcome === 'kept') kept++;
    else dropped++;
  }
  return { dropped, kept };
}
