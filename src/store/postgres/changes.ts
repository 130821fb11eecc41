// The change feed between nodes: one connection LISTENing on the schema's channel, reconnecting
// with backoff when the server goes away. Changes are NOTIFYed inside the transactions that make
// them (src/store/postgres/db.ts), so a node hears of a change once it is committed, never
// before. Each notification names the store that sent it: that store told its own listeners
// already, with what the feed cannot carry (the deliveries created), so its feed leaves it out.
// A connection that goes silent (a dropped NAT entry) would never say so: a heartbeat finds it
// out, and it is replaced.
import pg from 'pg';
import { Listeners } from '../listeners.js';
import type { StoreChange } from '../types.js';

/** One channel per schema: clusters sharing a database do not wake each other. */
export const changeChannel = (schema: string) => `hookline_${schema}`;

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7_999;

/** A change as the committing process alone may tell it: the deliveries it created stay there. */
export function withoutCreated(change: StoreChange): StoreChange {
  if (change.kind !== 'deliveries' || change.created === undefined) return change;
  return { kind: 'deliveries', webhookIds: change.webhookIds };
}

/**
 * The payload that tells the other nodes of `change`, sent by the store `origin`: without the
 * deliveries created, and without the list of webhooks when it would not fit (null: any may
 * have new deliveries).
 */
export function forTheFeed(change: StoreChange, origin: string): string {
  const payload = JSON.stringify({ ...withoutCreated(change), origin });
  if (change.kind !== 'deliveries' || Buffer.byteLength(payload) <= MAX_PAYLOAD_BYTES) return payload;
  return JSON.stringify({ kind: 'deliveries', webhookIds: null, origin });
}

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

export class ChangeFeed {
  private readonly listeners = new Listeners();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Set once a connection was lost: what was said meanwhile is unknown. */
  private missed = false;
  private heartbeat: NodeJS.Timeout | undefined;

  /**
   * `origin`: the store whose own notifications this feed leaves out (it told them in process).
   * `heartbeatMs`: how often the connection is asked SELECT 1; its config's query_timeout bounds the answer.
   */
  constructor(
    private readonly config: pg.ClientConfig,
    private readonly channel: string,
    private readonly origin: string,
    private readonly heartbeatMs: number,
  ) {}

  listen(listener: (change: StoreChange) => void): void {
    this.listeners.add(listener);
    this.connecting ??= this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.heartbeat);
    await this.connecting;
    const client = this.client;
    if (!client) return;
    // A silent connection would never confirm the end: it is then destroyed.
    const ended = client.end().catch(() => {});
    const timer = setTimeout(() => destroyStream(client), 1_000);
    await ended;
    clearTimeout(timer);
  }

  private emit(change: StoreChange): void {
    this.listeners.tell(change);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.config);
    this.client = client;
    client.on('notification', (message) => {
      if (message.channel !== this.channel || !message.payload) return;
      const { origin, ...change } = JSON.parse(message.payload) as StoreChange & { origin?: string };
      if (origin !== this.origin) this.emit(change as StoreChange);
    });
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      this.lost(client);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.retryMs = FIRST_RETRY_MS;
    clearInterval(this.heartbeat);
    this.heartbeat = setInterval(() => {
      if (this.client === client) client.query('SELECT 1').catch(() => this.lost(client));
    }, this.heartbeatMs);
    this.heartbeat.unref();
    if (this.missed) {
      this.missed = false;
      this.emit({ kind: 'missed' });
    }
  }

  private lost(client: pg.Client): void {
    if (client !== this.client) return; // already handled: 'error' and 'end' both come
    this.client = undefined;
    clearInterval(this.heartbeat);
    client.end().catch(() => {});
    if (this.closed || this.retryTimer) return;
    this.missed = true;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connecting = this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }
}

function destroyStream(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}
