// Which webhooks this node's engine owns. On the embedded store, every one: one process holds the
// database. On PostgreSQL, worker nodes register in a membership table and beat a heartbeat;
// each webhook belongs to one live worker, chosen by rendezvous hashing (the node with the
// highest hash of node id and webhook id), so that every node computes the same owner from the
// same list with no coordination, and a node joining or leaving moves only the webhooks it wins
// or held. A node whose heartbeat is older than HOOKLINE_NODE_TIMEOUT is dead to the others,
// which take its webhooks at once; a node that cannot beat its own heartbeat for that long stops
// sending (it may be the one cut off). A node that joins or leaves says so (the store's
// 'members' change), so that the others read the table again at once; and a webhook that comes
// from a live node is taken after a short grace, once that node's attempts in flight have ended,
// so that a rebalance sends nothing twice.
import type { Logger } from 'pino';
import type { Membership } from '../store/ports.js';
import type { Clock } from '../time.js';
import { Coalesced } from './coalesce.js';

/** FNV-1a, 32 bits: fast, well spread, the same on every node. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  // A final mix, so that ids that differ in their last characters still spread over the nodes.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  return hash >>> 0;
}

/** The live node that owns `webhookId` among `nodes` (rendezvous hashing); undefined when none is live. */
export function ownerOf(webhookId: string, nodes: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const node of nodes) {
    const score = fnv1a(`${node}:${webhookId}`);
    if (score > bestScore || (score === bestScore && node < best!)) {
      best = node;
      bestScore = score;
    }
  }
  return best;
}

/** How long a webhook handed over by a live node waits: its attempts in flight end, their outcomes are written. */
export const HANDOVER_GRACE_MS = 2_000;

export interface OwnershipOptions {
  /** A node whose heartbeat is older than this is dead. */
  nodeTimeoutMs: number;
  /** Told when the live nodes change (and so which webhooks this node owns). */
  onChange: () => void;
}

export class Ownership {
  private nodes: string[] = [];
  /** The live nodes before the last change, and when it was seen. */
  private previous: string[] = [];
  private changedAt = 0;
  private seen = false;
  /** One heartbeat at a time; one asked for during it runs after it. */
  private readonly beats = new Coalesced<'beat'>();
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = 0;
  private running = false;

  /** `membership` null: the embedded store, where this process owns every webhook. */
  constructor(
    private readonly membership: Membership | null,
    readonly nodeId: string,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: OwnershipOptions,
  ) {}

  owns(webhookId: string): boolean {
    if (!this.membership) return true;
    return ownerOf(webhookId, this.nodes) === this.nodeId;
  }

  /**
   * When this node may start sending to a webhook it owns: at once, unless the webhook was a live
   * node's before the last change, in which case after the handover grace.
   */
  readyAt(webhookId: string): number {
    if (!this.membership) return 0;
    const before = ownerOf(webhookId, this.previous);
    return before !== undefined && before !== this.nodeId && this.nodes.includes(before) ? this.changedAt + HANDOVER_GRACE_MS : 0;
  }

  /** Another node joined or left: read the table now rather than at the next heartbeat. */
  refresh(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    void this.beat();
  }

  /** Registers this node and reads who is live; then beats every third of the timeout. */
  async start(): Promise<void> {
    if (!this.membership) return;
    this.running = true;
    await this.beat();
  }

  /** Leaves the membership at once, so that the others take this node's webhooks without waiting. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    if (!this.membership) return;
    try {
      await this.membership.leave(this.nodeId);
    } catch (err) {
      this.log.warn({ err }, 'leaving the membership failed; the others take over once the heartbeat is old');
    }
  }

  private beat(): Promise<void> {
    return this.beats.run('beat', () => this.beatOnce());
  }

  private async beatOnce(): Promise<void> {
    const membership = this.membership!;
    const now = this.clock.now();
    let nodes: string[] | undefined;
    try {
      nodes = await membership.heartbeat(this.nodeId, now, now - this.options.nodeTimeoutMs);
      this.lastBeat = now;
    } catch (err) {
      this.log.warn({ err }, 'the heartbeat did not reach the database');
      // Cut off for longer than the timeout: the others count this node dead and own its webhooks.
      if (now - this.lastBeat >= this.options.nodeTimeoutMs) nodes = [];
    }
    if (nodes) {
      const sorted = [...nodes].sort();
      if (sorted.join() !== this.nodes.join()) {
        this.log.info({ nodes: sorted }, 'the live worker nodes changed');
        // Before this node first saw the table, the world was the others without it.
        this.previous = this.seen ? this.nodes : sorted.filter((n) => n !== this.nodeId);
        this.seen = true;
        this.nodes = sorted;
        this.changedAt = now;
        this.options.onChange();
      }
    }
    if (this.running) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => void this.beat(), Math.max(100, Math.floor(this.options.nodeTimeoutMs / 3)));
      this.timer.unref();
    }
  }
}
