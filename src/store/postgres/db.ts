// The pool every operation of the PostgreSQL store goes through, and its two ways in: one
// statement (query) or one transaction (transaction). A transaction also carries what its write
// announces (tx.announce): NOTIFYed inside it for the other nodes, told to this process's
// listeners once COMMIT has answered, never before and never for a transaction rolled back.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Row } from '../rows.js';
import type { StoreChange } from '../types.js';
import { CommitUnknown } from '../unavailable.js';
import { changeChannel, forTheFeed, withoutCreated } from './changes.js';
import { isUnavailable, storeError } from './errors.js';

export interface PostgresOptions {
  /** postgres://…; `?schema=name` keeps Hookline's tables in that schema (made if missing). */
  url: string;
  poolSize: number;
}

/** What an operation runs its SQL on: the pool (one statement) or a transaction. */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<pg.QueryResult<Row>>;
}

/** One transaction: its statements, and the changes it announces if it commits. */
export interface Tx extends Queryable {
  announce(change: StoreChange): void;
}

type Listener = (change: StoreChange) => void;

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
  /** How the feed's connection opens: as the pool's. */
  readonly connection: pg.ClientConfig;
  private readonly listeners: Listener[] = [];

  constructor(options: PostgresOptions) {
    const { connectionString, schema } = parseDatabaseUrl(options.url);
    this.schema = schema;
    this.channel = changeChannel(schema);
    this.connection = { connectionString, types, connectionTimeoutMillis: 5_000, options: `-c search_path=${schema}` };
    this.pool = new pg.Pool({ ...this.connection, max: options.poolSize });
    // An idle connection that the server dropped (a restart): the next query opens a new one.
    this.pool.on('error', () => {});
  }

  async query(text: string, values: unknown[] = []): Promise<pg.QueryResult<Row>> {
    try {
      return await this.pool.query(text, values);
    } catch (err) {
      throw storeError(err);
    }
  }

  /** Calls `listener` with each change this process commits, right after its COMMIT. */
  listen(listener: Listener): void {
    this.listeners.push(listener);
  }

  /**
   * Runs `work` in one transaction. A database that cannot be reached before COMMIT is sent
   * throws StoreUnavailable, with nothing committed; any error once COMMIT was sent (the
   * connection lost before its answer, or COMMIT refused) throws CommitUnknown: it may have
   * been committed. Then this process's listeners hear its changes without the deliveries they
   * created (those may not exist): what the other nodes hear if it did commit, read again.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw storeError(err);
    }
    let broken = false;
    // pg-pool listens for errors only on idle clients: a connection lost between two queries of
    // this transaction would otherwise be an uncaught exception that ends the process.
    const lost = () => {
      broken = true;
    };
    client.on('error', lost);
    const changes: StoreChange[] = [];
    const tx: Tx = { query: (text, values) => client.query(text, values), announce: (change) => changes.push(change) };
    let committing = false;
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      if (changes.length > 0) {
        // Sent by PostgreSQL when (and if) the transaction commits, in this order.
        await client.query('SELECT pg_notify($1, payload) FROM unnest($2::text[]) AS payload',
          [this.channel, changes.map((c) => forTheFeed(c, this.origin))]);
      }
      committing = true;
      await client.query('COMMIT');
      this.tell(changes);
      return result;
    } catch (err) {
      broken ||= isUnavailable(err);
      if (committing) {
        this.tell(changes.map(withoutCreated));
        throw new CommitUnknown(err);
      }
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      throw storeError(err);
    } finally {
      // A connection lost under the transaction is dropped, not handed to the next caller.
      client.removeListener('error', lost);
      client.release(broken);
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => {});
  }

  /**
   * The write is committed whatever a listener does: one that throws does not fail it (its
   * caller would send it again), nor keep the change from the listeners after it; its error
   * is thrown on its own, outside the write.
   */
  private tell(changes: readonly StoreChange[]): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change);
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    }
  }
}
