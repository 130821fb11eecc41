// Whose turn it is: the endpoints that may send now, served one delivery at a time in turn, those
// with nothing in flight first (a quiet webhook's fresh event takes the next free place, ahead of
// webhooks that already hold many: water-filling, in effect). Each endpoint is held to its
// concurrency (one probe while its breaker is open), its pause, its rate limit, and its
// account's share of the node; one that may not send now is looked at again when that changes:
// an attempt ending, or its timer (a pause ends, a token comes, a retry comes due).
import type { Clock } from '../time.js';
import { AccountShares } from './account-shares.js';
import type { Endpoint } from './endpoint.js';
import { Fifo } from './fifo.js';

export interface TurnsHooks {
  /** Whether the engine is sending at all (not before start, nor after stop). */
  running(): boolean;
  /** Whether the node has a place for one more attempt. */
  hasRoom(): boolean;
  /** Takes `ep`'s next delivery and sends it (its turn came). */
  send(ep: Endpoint): void;
  /** The endpoint's timer fired: the store may hold deliveries come due. */
  timeUp(ep: Endpoint): void;
  /** An endpoint with nothing queued whose backlog spilled to the store: load it. */
  spilled(ep: Endpoint): void;
}

export class Turns {
  private readonly ring = new Fifo<Endpoint>();
  private readonly idleFirst = new Fifo<Endpoint>();
  private readonly shares: AccountShares;
  private scheduled = false;

  constructor(private readonly clock: Clock, accountShare: number, private readonly breakerThreshold: number, private readonly hooks: TurnsHooks) {
    this.shares = new AccountShares(accountShare);
  }

  /** Puts the endpoint in turn if it may send now; otherwise arranges to look again. */
  ready(ep: Endpoint): void {
    if (ep.inRing || !ep.active || !this.hooks.running()) return;
    if (ep.queued === 0) {
      if (ep.spilled && !ep.loading) this.hooks.spilled(ep);
      return;
    }
    if (ep.inFlight >= ep.cap(this.breakerThreshold)) return; // an attempt ending brings it back
    if (ep.pausedUntil > this.clock.now()) {
      this.wakeAt(ep, ep.pausedUntil);
      return;
    }
    ep.inRing = true;
    (ep.inFlight === 0 ? this.idleFirst : this.ring).push(ep);
  }

  /** An attempt of `ep` ended: its account's place frees, and whoever waited for it may go. */
  ended(ep: Endpoint): void {
    for (const waiting of this.shares.release(ep.accountId)) this.ready(waiting);
    this.ready(ep);
    this.schedule();
  }

  /** Looks at the endpoint again at `at`: a pause ends, a retry comes due, a rate limit refills. */
  wakeAt(ep: Endpoint, at: number): void {
    if (ep.timer && ep.timerAt <= at) return;
    clearTimeout(ep.timer);
    ep.timerAt = at;
    ep.timer = setTimeout(() => this.fire(ep), Math.max(0, at - this.clock.now()));
  }

  /** Every endpoint whose time has come by the clock (timers count real time; a clock moved by hand says so here). */
  due(endpoints: Iterable<Endpoint>): void {
    const now = this.clock.now();
    for (const ep of endpoints) if (ep.timer && ep.timerAt <= now) this.fire(ep);
    this.schedule();
  }

  fire(ep: Endpoint): void {
    clearTimeout(ep.timer);
    ep.timer = undefined;
    ep.timerAt = Infinity;
    this.hooks.timeUp(ep);
    this.ready(ep);
    this.schedule();
  }

  schedule(): void {
    if (this.scheduled || !this.hooks.running()) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /** Hands out deliveries, one per endpoint in turn, while the node has places. */
  private pump(): void {
    while (this.hooks.running() && this.hooks.hasRoom() && this.idleFirst.length + this.ring.length > 0) {
      const ep = (this.idleFirst.shift() ?? this.ring.shift())!;
      ep.inRing = false;
      if (!ep.active || ep.queued === 0 || ep.inFlight >= ep.cap(this.breakerThreshold)) {
        this.ready(ep);
        continue;
      }
      const now = this.clock.now();
      if (ep.pausedUntil > now) {
        this.wakeAt(ep, ep.pausedUntil);
        continue;
      }
      if (!this.shares.take(ep)) continue; // its account's attempt ending brings it back
      const wait = ep.rate?.take(now) ?? 0;
      if (wait > 0) {
        for (const waiting of this.shares.release(ep.accountId)) this.ready(waiting);
        this.wakeAt(ep, now + wait);
        continue;
      }
      this.hooks.send(ep);
      this.ready(ep);
    }
  }
}
