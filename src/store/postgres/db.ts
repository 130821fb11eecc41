// The pool every operation of the PostgreSQL store goes through, and its two ways in: one
// statement (query) or one transaction (transaction), each a call with its deadline (run). A
// transaction also carries what its write announces (tx.announce): NOTIFYed inside it for the
// other nodes, told to this process's listeners once COMMIT has answered, never before and never
// for a transaction rolled back.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Listeners, type Listener } from '../listeners.js';
import type { Row } from '../rows.js';
import type { StoreChange } from '../types.js';
import { CommitUnknown, StoreUnavailable } from '../unavailable.js';
import { changeChannel, forTheFeed, withoutCreated } from './changes.js';
import { isUnavailable, storeError } from './errors.js';

export interface PostgresOptions {
  /** postgres://…; `?schema=name` keeps Hookline's tables in that schema (made if missing). */
  url: string;
  poolSize: number;
  /** Opening a connection, or waiting for a free one in the pool (5 s unless given). */
  connectTimeoutMs?: number;
  /** One call: a statement or a whole transaction (5 s unless given). See HOOKLINE_DATABASE_QUERY_TIMEOUT. */
  queryTimeoutMs?: number;
  /** The time each partition of events, deliveries and attempts covers (1 day unless given). See HOOKLINE_PARTITION_INTERVAL. */
  partitionIntervalMs?: number;
}

/** Silence on an idle connection before TCP keepalive probes it (Node then probes every second, 10 times). */
const KEEPALIVE_IDLE_MS = 10_000;
/**
 * This side gives up this long after the server's statement_timeout would have cancelled the
 * statement: a slow statement is then cancelled by the server, which keeps the connection, and
 * only a connection that stays silent is dropped.
 */
const GRACE_MS = 1_000;
/** /readyz: a database that does not answer SELECT 1 this fast is not ready. */
export const READY_TIMEOUT_MS = 2_000;

/** What an operation runs its SQL on: the pool (one statement) or a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/** One transaction: its statements, and the changes it announces if it commits. */
export interface Tx extends Queryable {
  announce(change: StoreChange): void;
}


// BIGINT (epoch ms, counts) as numbers: every time and count Hookline keeps fits in 2^53.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** Splits `?schema=` off the URL: PostgreSQL itself knows no such parameter. */
export function parseDatabaseUrl(url: string): { connectionString: string; schema: string } {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new Error(`DATABASE_URL: schema "${schema}" must be lower-case letters, digits and _ (starting with a letter or _)`);
  }
  parsed.searchParams.delete('schema');
  return { connectionString: parsed.toString(), schema };
}

export class Db implements Queryable {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The channel of this schema's changes (src/store/postgres/changes.ts). */
  readonly channel: string;
  /** Tags this store's notifications, so that its own feed leaves out what it told here already. */
  readonly origin = randomUUID();
  /** Connection settings without the timeouts: for migrations. */
  readonly connection: pg.ClientConfig;
  /** The pool's settings, timeouts included: for the feed's connection too. */
  readonly guarded: pg.ClientConfig;
  /** The deadline of one call (run()): the query timeout and its grace. */
  readonly callTimeoutMs: number;
  /** See PostgresOptions. */
  readonly partitionIntervalMs: number;
  private readonly listeners = new Listeners();

  constructor(options: PostgresOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.schema = schema;
    this.partitionIntervalMs = options.partitionIntervalMs ?? 86_400_000;
    this.channel = changeChannel(schema);
    const queryTimeoutMs = options.queryTimeoutMs ?? 5_000;
    this.callTimeoutMs = queryTimeoutMs + GRACE_MS;
    this.connection = {
      connectionString, types, connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000, options: `-c search_path=${schema}`,
      keepAlive: true, keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    };
    // A connection that goes silent (a dropped NAT entry, a failover without a reset) is found
    // out: the server cancels what runs too long and ends a transaction whose client has gone
    // quiet (the locks it held are freed), and this side gives up waiting on a statement, TCP
    // keepalive probes an idle connection, and every call has its deadline (run()).
    // (Server settings go in `options`, the one startup parameter sent already, rather than as
    // startup parameters of their own, which a pooler such as PgBouncer may refuse.)
    this.guarded = {
      ...this.connection,
      options: `${this.connection.options} -c statement_timeout=${queryTimeoutMs} -c idle_in_transaction_session_timeout=${queryTimeoutMs}`,
      query_timeout: this.callTimeoutMs,
    };
    this.pool = new pg.Pool({ ...this.guarded, max: options.poolSize });
    // An idle connection that the server dropped (a restart): the next query opens a new one.
    this.pool.on('error', () => {});
  }

  query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    return this.run((client) => client.query(text, values));
  }

  /** Calls `listener` with each change this process commits, right after its COMMIT. */
  listen(listener: Listener): void {
    this.listeners.add(listener);
  }

  /**
   * Runs `work` in one transaction. A database that cannot be reached before COMMIT is sent
   * throws StoreUnavailable, with nothing committed; any error once COMMIT was sent (the
   * connection lost before its answer, COMMIT refused, or the deadline passing) throws
   * CommitUnknown: it may have been committed. Then this process's listeners hear its changes
   * without the deliveries they created (those may not exist): what the other nodes hear if it
   * did commit, to read again. `deadlineMs`: as run()'s.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>, deadlineMs?: number | null): Promise<T> {
    const changes: StoreChange[] = [];
    let committing = false;
    let result: T;
    try {
      result = await this.run(async (client) => {
        const tx: Tx = { query: (text, values) => client.query(text, values), announce: (change) => changes.push(change) };
        await client.query('BEGIN');
        const value = await work(tx);
        if (changes.length > 0) {
          // Sent by PostgreSQL when (and if) the transaction commits, in this order.
          await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload',
            [this.channel, changes.map((c) => forTheFeed(c, this.origin))]);
        }
        committing = true;
        await client.query('COMMIT');
        return value;
      }, { transaction: true, deadlineMs });
    } catch (err) {
      if (!committing) throw err;
      this.tell(changes.map(withoutCreated));
      throw new CommitUnknown(err);
    }
    this.tell(changes);
    return result;
  }

  /**
   * One call to the database on a connection of the pool, within its deadline (the query
   * timeout and its grace, unless given). Past it the call throws StoreUnavailable and its
   * connection is destroyed: what it was doing fails with it, and the server rolls back what was
   * not committed. A connection that failed under the call is dropped, not handed to the next
   * caller; a transaction that failed on a connection still up is rolled back. `deadlineMs:
   * null`: no deadline for the whole call, only each statement's (query_timeout), for work whose
   * length grows with the data.
   */
  async run<T>(work: (client: pg.PoolClient) => Promise<T>, options: { transaction?: boolean; deadlineMs?: number | null } = {}): Promise<T> {
    const { transaction = false } = options;
    const deadlineMs = options.deadlineMs === undefined ? this.callTimeoutMs : options.deadlineMs;
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    let broken = false;
    // pg-pool listens for errors only on idle clients: a connection lost between two queries of
    // a transaction would otherwise be an uncaught exception that ends the process.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      if (deadlineMs === null) return;
      timer = setTimeout(() => {
        broken = true;
        reject(new StoreUnavailable(new Error(`no answer from the database within ${deadlineMs} ms`)));
        destroy(client);
      }, deadlineMs);
    });
    const call = work(client);
    // Once the deadline has passed, what is left of the call fails with its connection, unheard.
    call.catch(() => {});
    deadline.catch(() => {});
    try {
      return await Promise.race([call, deadline]);
    } catch (err) {
      broken ||= isUnavailable(err);
      if (transaction && !broken) await client.query('ROLLBACK').catch(() => {});
      throw storeError(err);
    } finally {
      clearTimeout(timer);
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  /** /readyz: answers within READY_TIMEOUT_MS, waiting for a connection included, or throws StoreUnavailable. */
  async ping(): Promise<void> {
    const deadlineMs = READY_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StoreUnavailable(new Error(`no answer from the database within ${deadlineMs} ms`))), deadlineMs);
    });
    const ping = this.run((client) => client.query('SELECT 1'), { deadlineMs });
    ping.catch(() => {}); // past the deadline, it ends unheard (within the connect timeout)
    try {
      await Promise.race([ping, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  private tell(changes: readonly StoreChange[]): void {
    for (const change of changes) this.listeners.tell(change);
  }

}

/** Ends a connection at once, whatever it was waiting for: its queries fail, and the pool drops it. */
function destroy(client: pg.PoolClient): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
