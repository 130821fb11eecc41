// The delivery engine: the owner of a set of webhooks schedules their deliveries in memory over
// the durable log that the store keeps. Handing out the next delivery costs no query: intake
// hands the deliveries it just committed straight to their endpoint's lanes, the store is read
// only to rebuild (at start, on a takeover, after a backlog spilled past memory) and written only
// with outcomes, in batches. Which webhooks this node owns is the ownership's business
// (ownership.ts): every one on the embedded store, a share of them on PostgreSQL.
//
// Per delivery, the hot path is: shift from a lane, sign, send, push the outcome to a buffer.
// A batch of outcomes is one transaction. See the README's architecture section for the figures.
import type { Logger } from 'pino';
import type { WebhookSecrets } from '../security/webhook-secrets.js';
import type { EngineStore } from '../store/ports.js';
import type { Outcome, PendingDelivery } from '../store/types.js';
import { StoreUnavailable } from '../store/unavailable.js';
import type { Clock } from '../time.js';
import { Attempts, type AttemptOptions } from './attempt.js';
import { Backoff } from './backoff.js';
import { Coalesced } from './coalesce.js';
import { Endpoint } from './endpoint.js';
import { MEMORY_BUDGET, WINDOW, type EngineOptions } from './engine-options.js';
import { OutcomeWriter } from './outcome-writer.js';
import type { Sender } from './sender.js';
import { Turns } from './turns.js';

export type { EngineOptions } from './engine-options.js';

export class Engine {
  private running = false;
  private abandoned = false;
  private readonly endpoints = new Map<string, Endpoint>();
  /** Whose turn it is to send (turns.ts). */
  private readonly turns: Turns;
  private inFlight = 0;
  /**
   * Attempts ended whose outcome is not written yet. They hold their place on the node until it
   * is: a node that dies then repeats at most `maxInFlight` deliveries (sent, still pending).
   */
  private unwritten = 0;
  /** Deliveries queued in memory, over every endpoint. */
  private queued = 0;
  /** Endpoints that could not load for lack of memory budget, loaded as it frees. */
  private readonly starved = new Set<Endpoint>();
  /** Webhooks being read from the store, so that a burst of handovers reads each once. */
  private readonly reading = new Coalesced<string>();
  private idle: (() => void) | undefined;
  private readonly backoff: Backoff;
  private readonly attempts: Attempts;
  private readonly writer: OutcomeWriter;
  private readonly bounds: { defaultMaxInFlight: number; maxInFlightLimit: number };
  private readonly window: number;
  private readonly budget: number;

  constructor(
    private readonly store: EngineStore,
    private readonly sender: Sender,
    private readonly secrets: WebhookSecrets,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: EngineOptions,
  ) {
    this.backoff = new Backoff(options.random);
    this.attempts = new Attempts(sender, secrets, clock, log, options);
    this.writer = new OutcomeWriter(store, clock, log, options.health, {
      written: (batch, lost) => this.written(batch, lost),
      // The store announces each webhook it disabled ('webhook'), which reloads it: only tell the operator.
      disabled: (webhooks) => this.options.onDisabled?.(webhooks),
    }, options.random);
    this.turns = new Turns(clock, options.accountMaxInFlight, options.health.breakerThreshold, {
      running: () => this.running,
      hasRoom: () => this.inFlight + this.unwritten < this.options.maxInFlight,
      send: (ep) => this.send(ep),
      timeUp: (ep) => this.timeUp(ep),
      spilled: (ep) => this.spill(ep),
    });
    this.bounds = { defaultMaxInFlight: options.endpointMaxInFlight, maxInFlightLimit: options.maxInFlightLimit };
    this.window = options.window ?? WINDOW;
    this.budget = options.memoryBudget ?? MEMORY_BUDGET;
  }

  /** Starts sending: rebuilds the queues of the webhooks it owns from their pending deliveries. */
  async start(): Promise<void> {
    this.running = true;
    await this.rebalance();
  }

  /**
   * Which webhooks this node owns changed (a node joined or left): gives up the ones another node
   * owns now (what is queued is dropped, not lost: it is pending in the store), and takes on the
   * ones it owns that have pending deliveries.
   */
  async rebalance(): Promise<void> {
    this.disown([...this.endpoints.keys()].filter((id) => !this.options.owns(id)));
    const pending = await this.store.pendingWebhooks();
    await Promise.all(pending.filter((id) => this.options.owns(id) && !this.endpoints.get(id)?.active).map((id) => this.reload(id)));
  }

  private disown(webhookIds: Iterable<string>): void {
    for (const id of webhookIds) {
      const ep = this.endpoints.get(id);
      if (ep) this.retire(ep);
    }
  }

  /** Not this node's to send any more (disabled, deleted, owned elsewhere): queued ones dropped, pending in the store. */
  private retire(ep: Endpoint): void {
    this.queued -= ep.held;
    this.starved.delete(ep);
    ep.drop();
    ep.active = false;
    clearTimeout(ep.timer);
    ep.timer = undefined;
    if (ep.inFlight === 0 && ep.known.size === 0) this.endpoints.delete(ep.id);
  }

  /**
   * Deliveries just committed by intake, handed over in process. A webhook whose backlog spilled
   * to the store, or that this node does not know yet, loads them from the store instead.
   */
  enqueue(deliveries: readonly PendingDelivery[]): void {
    if (!this.running) return;
    const now = this.clock.now();
    const unknown = new Set<string>();
    for (const d of deliveries) {
      const ep = this.endpoints.get(d.webhookId);
      if (!ep) {
        unknown.add(d.webhookId);
        continue;
      }
      if (!ep.active || ep.known.has(d.id)) continue;
      if (d.dueAt > now) {
        // Not yet: loaded from the store when it comes due.
        ep.nextDueAt = Math.min(ep.nextDueAt ?? Infinity, d.dueAt);
        this.turns.wakeAt(ep, d.dueAt);
        continue;
      }
      if (ep.spilled || ep.held >= this.window || this.queued >= this.budget || !ep.mayTake(d)) {
        this.spill(ep);
        continue;
      }
      if (ep.push(d) === 'left') continue;
      this.queued++;
      this.turns.ready(ep);
    }
    // A webhook this node has not seen yet: read once, whatever the batch held for it.
    for (const id of unknown) if (this.options.owns(id)) void this.reload(id);
    this.turns.schedule();
  }

  /**
   * Something changed in the store for these webhooks that memory does not know (a retry by
   * hand, a recovery, deliveries committed by another node): load again.
   */
  refresh(webhookIds: Iterable<string>): void {
    if (!this.running) return;
    for (const id of webhookIds) {
      const ep = this.endpoints.get(id);
      if (ep?.active) this.spill(ep);
      else if (this.options.owns(id)) void this.reload(id);
    }
  }

  /** Anything may have changed (the feed was cut, or too many webhooks to name): look at everything again. */
  refreshAll(): void {
    if (!this.running) return;
    for (const ep of this.endpoints.values()) if (ep.active) this.spill(ep);
    this.rebalance().catch((err: unknown) => this.log.error({ err }, 'reading the webhooks with pending deliveries failed'));
  }

  /** A delivery retried by hand: once its attempt in flight (if any) ends, it goes again. */
  retried(webhookId: string, deliveryId: string): void {
    const ep = this.endpoints.get(webhookId);
    if (ep && ep.known.has(deliveryId)) ep.retryAfterAttempt.add(deliveryId);
    this.refresh([webhookId]);
  }

  /** The webhook's row changed (URL, cap, rate limit, status) or it is gone: read it again. */
  reload(webhookId: string): Promise<void> {
    if (!this.running) return Promise.resolve();
    return this.reading.run(webhookId, () => this.readEndpoint(webhookId));
  }

  private async readEndpoint(webhookId: string): Promise<void> {
    if (!this.options.owns(webhookId)) {
      // Another node's (a change every node hears): nothing to read.
      const ep = this.endpoints.get(webhookId);
      if (ep) this.retire(ep);
      return;
    }
    const wait = (this.options.readyAt?.(webhookId) ?? 0) - this.clock.now();
    if (wait > 0) {
      // Its previous owner may still have attempts in flight: take it once they have ended.
      setTimeout(() => void this.reload(webhookId), wait).unref();
      return;
    }
    let info;
    try {
      info = await this.store.getEndpoint(webhookId);
    } catch (err) {
      this.log.error({ err, webhookId }, 'reading a webhook for the engine failed');
      return;
    }
    const ep = this.endpoints.get(webhookId);
    if (!info || info.status !== 'active' || !this.options.owns(webhookId)) {
      if (ep) this.retire(ep);
      return;
    }
    if (ep) {
      const wasActive = ep.active;
      if (info.ordered !== (ep.order !== null)) {
        // Its ordering changed (and the store re-keyed its pending deliveries): memory starts again from the store.
        this.queued -= ep.held;
        ep.drop();
      }
      ep.update(info, this.bounds);
      if (!wasActive) ep.spilled = true;
      this.spill(ep);
    } else {
      const created = new Endpoint(webhookId, info, this.bounds);
      this.endpoints.set(webhookId, created);
      this.spill(created);
    }
  }

  /**
   * Stops sending, waits up to `graceMs` for attempts in flight, and writes their outcomes.
   * Attempts still running then are abandoned: their deliveries stay pending in the store, and
   * whoever owns the webhook next sends them again.
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    for (const ep of this.endpoints.values()) clearTimeout(ep.timer);
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.idle = resolve;
        setTimeout(resolve, graceMs).unref();
      });
    }
    this.abandoned = true;
    await this.writer.stop();
  }

  /** What /metrics and the tests read of the engine's memory. */
  stats(): { endpoints: number; queued: number; inFlight: number } {
    return { endpoints: this.endpoints.size, queued: this.queued, inFlight: this.inFlight };
  }

  // ------------------------------------------------------------ loading from the store

  /** The store holds due deliveries that memory does not: load them once the lanes run low (or when the load running ends). */
  private spill(ep: Endpoint): void {
    ep.spilled = true;
    if (ep.loading) {
      ep.loadAgain = true;
      return;
    }
    // Loaded once its lanes run low (an attempt ending looks): a load per window, not per delivery.
    if (!this.running || !ep.active || ep.queued >= this.window / 4) return;
    void this.load(ep);
  }

  private async load(ep: Endpoint): Promise<void> {
    const room = Math.min(this.window - ep.held, this.budget - this.queued);
    if (room <= 0) {
      if (ep.queued === 0) this.starved.add(ep);
      return; // loaded again when its lanes run low, or memory frees
    }
    ep.loading = true;
    ep.loadAgain = false;
    const now = this.clock.now();
    try {
      // Skip what memory holds already: loaded earlier, handed over, in flight, outcome unwritten.
      const asked = room + ep.known.size;
      const order = ep.order;
      const { deliveries, nextDueAt, waiting } = order
        ? await this.store.loadDueOrdered(ep.id, now, asked, !order.learned)
        : { ...await this.store.loadDue(ep.id, now, asked), waiting: [] };
      this.backoff.reset();
      if (order && !order.learned) order.learn(waiting);
      let taken = 0;
      // Its ordering changed while reading: the next load reads it as it is now.
      let left = order === ep.order ? 0 : deliveries.length;
      for (const d of left > 0 ? [] : deliveries) {
        if (ep.known.has(d.id) || ep.settledDuringLoad.has(d.id)) continue;
        if (taken >= room) left++;
        else if (ep.push(d) !== 'left') taken++;
      }
      this.queued += taken;
      // Everything due is in memory unless the load was cut at its limit or at the room.
      ep.spilled = deliveries.length >= asked || left > 0;
      ep.nextDueAt = nextDueAt;
      if (nextDueAt !== null) this.turns.wakeAt(ep, nextDueAt);
      this.turns.ready(ep);
    } catch (err) {
      const retryInMs = this.backoff.next();
      // A database that does not answer is /readyz's and the heartbeat's to report: one line a try, quietly.
      if (err instanceof StoreUnavailable) this.log.debug({ webhookId: ep.id, retryInMs, reason: err.message }, 'loading deliveries failed; trying again after a backoff');
      else this.log.error({ err, webhookId: ep.id, retryInMs }, 'loading deliveries failed; trying again after a backoff');
      ep.spilled = true;
      this.turns.wakeAt(ep, this.clock.now() + retryInMs);
    } finally {
      ep.loading = false;
      ep.settledDuringLoad.clear();
    }
    if (ep.loadAgain) this.spill(ep);
    this.turns.schedule();
  }

  /** The endpoint's timer fired: a retry in the store may have come due. */
  private timeUp(ep: Endpoint): void {
    const now = this.clock.now();
    if (ep.nextDueAt !== null && ep.nextDueAt <= now) {
      ep.nextDueAt = null;
      this.spill(ep);
    } else if (ep.nextDueAt !== null && ep.active) {
      this.turns.wakeAt(ep, ep.nextDueAt); // a timer ran ahead of the clock
    }
  }

  /**
   * Looks at every endpoint whose time has come by the clock: timers count real time, so a clock
   * moved by hand (the tests' fake clock) says so here.
   */
  wake(): void {
    if (this.running) this.turns.due(this.endpoints.values());
  }

  /** Its turn came: the endpoint's next delivery goes out. */
  private send(ep: Endpoint): void {
    const d = ep.shift()!;
    this.queued--;
    void this.attempt(ep, d);
    if (this.starved.size > 0 && this.queued < this.budget / 2) {
      const starved = [...this.starved];
      this.starved.clear();
      for (const waiting of starved) this.spill(waiting);
    }
  }

  // ------------------------------------------------------------ one attempt

  private async attempt(ep: Endpoint, d: PendingDelivery): Promise<void> {
    this.inFlight++;
    ep.inFlight++;
    const startedWith = ep.inFlight;
    try {
      const made = await this.attempts.make(ep.url, d);
      if (made === 'gone') ep.known.delete(d.id);
      else if (made === 'later') {
        // Still pending in the store: loaded again once the database answers.
        ep.known.delete(d.id);
        this.turns.wakeAt(ep, this.clock.now() + this.backoff.next());
        ep.nextDueAt = Math.min(ep.nextDueAt ?? Infinity, this.clock.now());
      } else if (!this.abandoned) {
        ep.observe(made.result, startedWith, this.clock.now(), this.options.health, made.outcome.pauseUntil);
        this.unwritten++;
        this.writer.push(made.outcome);
      }
    } finally {
      this.inFlight--;
      ep.inFlight--;
      if (ep.queued < this.window / 4 && ep.spilled) this.spill(ep);
      this.turns.ended(ep);
      if (this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /** Outcomes now in the store: memory forgets the deliveries, and waits for their retries. */
  private written(batch: readonly Outcome[], lost: boolean): void {
    this.unwritten -= batch.length;
    this.turns.schedule();
    for (const o of batch) {
      const ep = this.endpoints.get(o.webhookId);
      if (!ep) continue;
      ep.known.delete(o.deliveryId);
      if (ep.loading) ep.settledDuringLoad.add(o.deliveryId);
      // A per_media webhook's media moves on as the outcome says; one not written keeps its media held.
      if (ep.order && !lost) {
        const { dropped, ready, load } = ep.settled(o);
        this.queued -= dropped;
        if (ready) this.turns.ready(ep);
        if (load) this.spill(ep);
      }
      if (lost || ep.retryAfterAttempt.delete(o.deliveryId)) {
        this.spill(ep); // pending in the store: load it again
        continue;
      }
      if (o.nextAttemptAt !== null && ep.active) {
        ep.nextDueAt = ep.nextDueAt === null ? o.nextAttemptAt : Math.min(ep.nextDueAt, o.nextAttemptAt);
        this.turns.wakeAt(ep, o.nextAttemptAt);
      }
      if (!ep.active && ep.inFlight === 0 && ep.known.size === 0) this.endpoints.delete(o.webhookId);
    }
  }
}
