// What the delivery engine (engine.ts) is given: the node's settings that bound it, what it asks
// of ownership, and the sizes of its memory. Apart from engine.ts so that it stays one screen of
// scheduling.
import type { HealthPolicy, Webhook } from '../store/types.js';
import type { AttemptOptions } from './attempt.js';

/** The schedule, the metrics and the traces are the attempts' (attempt.ts). */
export interface EngineOptions extends AttemptOptions {
  /** Attempts in flight at once on this node. */
  maxInFlight: number;
  /** Of those, at most this many for one account, so that no account holds every place. */
  accountMaxInFlight: number;
  /** In-flight cap of a webhook that sets none, and the most any webhook may set. */
  endpointMaxInFlight: number;
  maxInFlightLimit: number;
  health: HealthPolicy;
  /** Whether this node owns a webhook (ownership.ts): every one on the embedded store. */
  owns: (webhookId: string) => boolean;
  /** When this node may start sending to a webhook it owns (a handover from a live node waits). */
  readyAt?: (webhookId: string) => number;
  /** Told of the webhooks that outcomes disabled (410 Gone, failing too long). */
  onDisabled?: (webhooks: Webhook[]) => void;
  /** Deliveries of one webhook loaded from the store at once, and in memory for all at most. */
  window?: number;
  memoryBudget?: number;
}

/** What a load brings per webhook; a backlog past it stays in the store and is paged in. */
export const WINDOW = 500;
/**
 * Deliveries queued in memory on this node at most: about 1.5 KB each in V8 with their facts, so
 * 50,000 hold about 75 MB (the 1,000,000-delivery backlog of the bench peaked at 738 MB with 200,000).
 */
export const MEMORY_BUDGET = 50_000;
