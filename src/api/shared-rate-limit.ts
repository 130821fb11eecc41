// The API's per-key rate limits on a cluster: @fastify/rate-limit's store, counting in the
// counters the nodes share (the RateLimits port: a row per key in PostgreSQL), so that N api nodes
// let a key make its limit in all, not N times it. The README ("Keys, limits and the audit log")
// says what it costs and how it behaves when the database is slow or down.
//
// A node takes its share of a window in blocks: one request (one upsert) at a time for a limit
// under 200 a minute, the management API's 60 among them, so that the count is exact; a
// hundredth of the limit at a time above that (intake's 600 000 a minute: one upsert per 6 000
// requests of a node), so that a busy key does not make every request wait on one hot row. The
// count never passes the limit; a block a node took and did not use by the end of the window is
// lost to the others, who may then be refused a little early (a hundredth of the limit per node
// at most). Once the window's count has reached the limit, the node refuses that key until the
// window ends without asking again.
//
// When the database does not answer (within HOOKLINE_DATABASE_QUERY_TIMEOUT and its grace) or
// refuses, the node counts in its own memory, as on SQLite, for FALLBACK_MS before asking again:
// the limit then holds per node, and a request is neither refused for the database's sake nor
// held longer than the database's deadline.
import type { FastifyBaseLogger } from 'fastify';
import type { RateLimits } from '../store/ports.js';
import type { Clock } from '../time.js';

/** After the shared counter failed, how long this node counts on its own before asking the database again. */
export const FALLBACK_MS = 5_000;

/** Requests a node takes from the shared count at once: 1 below 200 a window, a hundredth of the limit above. */
export function blockSize(max: number): number {
  return Math.max(1, Math.floor(max / 100));
}

/** This node's block of a key's window: the request numbers it may give out, from `next` to `last`. */
interface Block {
  endsAt: number;
  next: number;
  last: number;
  /** The window's count had reached the limit when the block was taken: nothing more to take until it ends. */
  spent: boolean;
}

/** A window counted in this node's memory, while the shared counter fails. */
interface LocalWindow {
  endsAt: number;
  count: number;
}

type Result = { current: number; ttl: number };

export class SharedRateLimit {
  private readonly blocks = new Map<string, Block>();
  private readonly local = new Map<string, LocalWindow>();
  /** The block being taken, per key (blocks of more than one request). */
  private readonly taking = new Map<string, Promise<Result>>();
  /** While set, the shared counter failed and this node counts on its own until then. */
  private fallbackUntil = 0;

  constructor(private readonly counters: RateLimits, private readonly clock: Clock, private readonly log: FastifyBaseLogger) {}

  /** @fastify/rate-limit's store: a class it constructs, with incr() and child(). */
  store() {
    const shared = this;
    return class {
      incr(key: string, callback: (err: Error | null, result?: Result) => void, timeWindow: number, max: number): void {
        shared.incr(key, timeWindow, max).then((r) => callback(null, r), callback);
      }
      child() {
        return this;
      }
    };
  }

  async incr(key: string, windowMs: number, max: number): Promise<Result> {
    const n = blockSize(max);
    for (;;) {
      const now = this.clock.now();
      const block = this.blocks.get(key);
      if (block && block.endsAt > now) {
        if (block.next <= block.last) return { current: block.next++, ttl: block.endsAt - now };
        if (block.spent) return { current: max + 1, ttl: block.endsAt - now };
      }
      if (now < this.fallbackUntil) return this.countHere(key, windowMs, now);
      // One request per block: each takes its own. Larger blocks: one take at a time per key, and
      // the requests that came meanwhile draw from the block it brings.
      if (n === 1) return this.take(key, n, windowMs, max);
      const taking = this.taking.get(key);
      if (taking) {
        await taking.catch(() => {});
        continue;
      }
      const take = this.take(key, n, windowMs, max).finally(() => this.taking.delete(key));
      this.taking.set(key, take);
      return take;
    }
  }

  /** Takes a block of `n` from the shared count: this request's number, and the rest for the next ones here. */
  private async take(key: string, n: number, windowMs: number, max: number): Promise<Result> {
    let taken: { count: number; ttlMs: number };
    try {
      taken = await this.counters.take(key, n, windowMs);
    } catch (err) {
      if (this.fallbackUntil === 0) this.log.warn({ err }, 'the shared rate-limit counters do not answer: each node counts on its own until they do');
      this.fallbackUntil = this.clock.now() + FALLBACK_MS;
      return this.countHere(key, windowMs, this.clock.now());
    }
    if (this.fallbackUntil !== 0) {
      this.fallbackUntil = 0;
      this.local.clear();
      this.log.info('the shared rate-limit counters answer again');
    }
    const before = taken.count - n;
    const endsAt = this.clock.now() + taken.ttlMs;
    const granted = Math.min(n, Math.max(0, max - before));
    const spent = taken.count >= max;
    if (granted === 0) {
      this.blocks.set(key, { endsAt, next: 1, last: 0, spent });
      return { current: max + 1, ttl: taken.ttlMs };
    }
    this.blocks.set(key, { endsAt, next: before + 2, last: before + granted, spent });
    return { current: before + 1, ttl: taken.ttlMs };
  }

  private countHere(key: string, windowMs: number, now: number): Result {
    let window = this.local.get(key);
    if (!window || window.endsAt <= now) {
      window = { endsAt: now + windowMs, count: 0 };
      this.local.set(key, window);
    }
    return { current: ++window.count, ttl: window.endsAt - now };
  }
}
