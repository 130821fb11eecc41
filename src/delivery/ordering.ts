// Per-media ordering, in the memory of a per_media webhook's owner: the deliveries of one key (a
// media, or a live channel: src/store/order-key.ts) go one at a time, in commit order. A key is
// held by one delivery, its head: queued, in flight, its outcome not yet written, or waiting in
// the store for its retry. The key's later deliveries that memory holds are parked behind it, in
// the order they came (commit order: intake's, or a load's, which reads the ordered webhook's
// deliveries in commit order); when the head ends for good (succeeded, or failed with no
// attempt left) the next one goes. While the head waits for its retry, what was parked behind it
// goes back to the store (memory stays for the keys that can move), and the load that brings the
// head back when it comes due brings them with it. Other keys are not held up at all.
//
// The store is the truth: a load never returns a delivery behind a not-yet-due one of its key,
// and an owner that has just taken the webhook (a start, a takeover) learns once which keys are
// held by a delivery waiting for its retry (`learn`). Until then, intake's deliveries with a key
// are loaded from the store rather than taken from intake's hands.
import { Fifo } from './fifo.js';
import type { PendingDelivery } from '../store/types.js';

interface Held {
  /** The delivery holding the key. */
  head: string;
  /** The head waits in the store for its retry. */
  waiting: boolean;
  /** Later deliveries of the key in memory, in commit order. */
  parked: Fifo<PendingDelivery>;
  /** The store may hold later deliveries of the key that memory does not: load once the head ends. */
  stored: boolean;
}

/** Where a delivery goes: out in its turn, parked behind its key's head, or left in the store for now. */
export type Placement = 'queued' | 'parked' | 'left';

export class KeyOrder {
  private readonly held = new Map<string, Held>();
  /** Each head's key. */
  private readonly keyOf = new Map<string, string>();
  /** Deliveries parked, over every key. */
  parked = 0;
  /** Whether the keys held by deliveries waiting in the store are known (loadDueOrdered's `learn`). */
  learned = false;

  /** The keys held by a delivery waiting for its retry in the store, read when memory knows none. */
  learn(waiting: readonly { key: string; deliveryId: string }[]): void {
    for (const { key, deliveryId } of waiting) {
      if (this.held.has(key)) continue;
      this.held.set(key, { head: deliveryId, waiting: true, parked: new Fifo(), stored: true });
      this.keyOf.set(deliveryId, key);
    }
    this.learned = true;
  }

  /** Places a delivery committed after every one of its key that memory holds or has sent. */
  place(d: PendingDelivery): Placement {
    const key = d.orderKey;
    if (key === null) return 'queued';
    const h = this.held.get(key);
    if (!h) {
      this.held.set(key, { head: d.id, waiting: false, parked: new Fifo(), stored: false });
      this.keyOf.set(d.id, key);
      return 'queued';
    }
    if (h.head === d.id) {
      // The head is back from the store: its retry came due, or it is attempted again by hand.
      h.waiting = false;
      return 'queued';
    }
    if (h.waiting) {
      h.stored = true;
      return 'left';
    }
    h.parked.push(d);
    this.parked++;
    return 'parked';
  }

  /**
   * The head `deliveryId` ended for good: the key's next parked delivery, now its head, to queue;
   * `load` when none is parked but the store may hold the key's next one.
   */
  ended(deliveryId: string): { next: PendingDelivery | undefined; load: boolean } {
    const key = this.keyOf.get(deliveryId);
    if (key === undefined) return { next: undefined, load: false };
    this.keyOf.delete(deliveryId);
    const h = this.held.get(key)!;
    const next = h.parked.shift();
    if (next) {
      this.parked--;
      h.head = next.id;
      this.keyOf.set(next.id, key);
      return { next, load: false };
    }
    this.held.delete(key);
    return { next: undefined, load: h.stored };
  }

  /** The head `deliveryId` waits in the store for its retry: it keeps its key; what was parked behind it is dropped from memory. */
  waits(deliveryId: string): PendingDelivery[] {
    const key = this.keyOf.get(deliveryId);
    const h = key === undefined ? undefined : this.held.get(key);
    if (!h) return [];
    h.waiting = true;
    const dropped = h.parked.clear();
    if (dropped.length > 0) h.stored = true;
    this.parked -= dropped.length;
    return dropped;
  }

  /**
   * Memory lets go (the webhook given to another node, disabled, its ordering changed): every key
   * is forgotten but those whose head is still in flight (`inFlight`), and the keys waiting in
   * the store are learned again. Returns the parked deliveries dropped.
   */
  drop(inFlight: (deliveryId: string) => boolean): PendingDelivery[] {
    const dropped: PendingDelivery[] = [];
    for (const [key, h] of this.held) {
      dropped.push(...h.parked.clear());
      h.stored = true;
      if (!inFlight(h.head)) {
        this.held.delete(key);
        this.keyOf.delete(h.head);
      }
    }
    this.parked = 0;
    this.learned = false;
    return dropped;
  }
}
