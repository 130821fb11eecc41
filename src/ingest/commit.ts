// The one way into the store for what the platform sends: reported events (src/ingest/events.ts)
// and platform facts (src/platform/lifecycle.ts) share here what they have in common: the
// property check, the Idempotency-Key (one table and one key space per property, looked up before
// and kept, with the answer, in the transaction that commits the request), and the group commit:
// what arrives in the same tick is committed together, and each caller is answered only after
// that commit, so that nothing acknowledged is lost.
import { NotFound } from '../errors.js';
import type { Directory, Intake } from '../store/ports.js';
import type { CommitSpan, TraceParent, Tracing } from '../tracing/index.js';
import type { IngestItem, IngestOutcome } from '../store/types.js';
import type { Clock } from '../time.js';

/** How long an Idempotency-Key is remembered (and retention keeps it). */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

/** A request's Idempotency-Key, with the hash of what identifies the request. */
export interface RequestKey {
  key: string;
  requestHash: string;
}

/** What a request commits: the item without its key, which commit() adds with the answer. */
export type Change = Omit<IngestItem, 'idempotency'>;

/** The answer to a request: this one's, or (repeat) the first one to the same key, again. */
export interface Answered<A> {
  answer: A;
  repeat: boolean;
}

interface Waiting {
  item: IngestItem;
  /** Its commit's span, when tracing is on. */
  span?: CommitSpan;
  resolve: (outcome: IngestOutcome) => void;
  reject: (err: unknown) => void;
}

export class IntakeCommit {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Pick<Intake, 'ingest' | 'findAnswer'> & Pick<Directory, 'getSite'>,
    readonly clock: Clock,
    private readonly firstAttemptDelayMs: number,
    private readonly tracing?: Tracing,
  ) {}

  /** Refuses a request about a property that does not exist. */
  async requireSite(siteId: string): Promise<void> {
    if (!(await this.store.getSite(siteId))) throw new NotFound(`property ${siteId} not found`);
  }

  /**
   * The first answer to `key` if it was used within the window at `now`; 'conflict' if it was
   * used for another request. For a request that must look before it decides (a fact: the rules
   * would refuse its repeat); commit() checks the key again, atomically, whatever was found here.
   */
  async recall<A>(siteId: string, key: RequestKey | undefined, now: number): Promise<A | 'conflict' | undefined> {
    if (!key) return undefined;
    const seen = await this.store.findAnswer(siteId, key.key, now - IDEMPOTENCY_WINDOW_MS);
    if (!seen) return undefined;
    return seen.requestHash === key.requestHash ? JSON.parse(seen.answer) as A : 'conflict';
  }

  /**
   * Commits `change` and, with it, `key` and the answer `answer` makes of the deliveries
   * created. A key already used within the window commits nothing: the first answer (repeat) or
   * 'conflict' (another request). 'stale': an object the change writes moved since it was read.
   * `trace`: the request's span, when traced (src/tracing/), under which its commit's span goes.
   */
  async commit<A>(change: Change, key: RequestKey | undefined, answer: (deliveries: number) => A, trace?: TraceParent): Promise<Answered<A> | 'conflict' | 'stale'> {
    const outcome = await this.enqueue({
      ...change,
      idempotency: key && { ...key, answer: (deliveries) => JSON.stringify(answer(deliveries)) },
    }, trace);
    switch (outcome.kind) {
      case 'accepted': return { answer: answer(outcome.deliveries), repeat: false };
      case 'repeat': return { answer: JSON.parse(outcome.answer) as A, repeat: true };
      default: return outcome.kind;
    }
  }

  private enqueue(item: IngestItem, trace: TraceParent | undefined): Promise<IngestOutcome> {
    // Traced: a span per request's commit, in the request's trace; its events keep it for their attempts.
    const span = this.tracing?.startCommit(item.events.map((e) => e.id), item.siteId, trace);
    if (span) item = { ...item, events: item.events.map((e) => ({ ...e, traceparent: span.traceparent })) };
    return new Promise((resolve, reject) => {
      this.queue.push({ item, span, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /**
   * The tick's events in one transaction; each fact (a change with writes) in one of its own, as
   * before: a fact holds its objects' rows until it commits, and two nodes' batches taking rows
   * in different orders could deadlock each other on a shared store.
   */
  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    const events = batch.filter((w) => !w.item.writes?.length);
    if (events.length > 0) void this.run(events);
    for (const fact of batch.filter((w) => w.item.writes?.length)) void this.run([fact]);
  }

  private async run(batch: Waiting[]): Promise<void> {
    const now = this.clock.now();
    try {
      const outcomes = await this.store.ingest(batch.map((w) => w.item), now, {
        idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS,
        firstAttemptAt: now + this.firstAttemptDelayMs,
      });
      // The store tells the engine of the deliveries it committed (StoreChange 'deliveries').
      batch.forEach((w, i) => {
        w.span?.end(outcomes[i]!, batch.length);
        w.resolve(outcomes[i]!);
      });
    } catch (err) {
      for (const w of batch) {
        w.span?.fail(err);
        w.reject(err);
      }
    }
  }
}
