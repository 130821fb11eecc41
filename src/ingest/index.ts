// Event intake with group commit: the events that arrive in the same tick are committed, with
// their deliveries, in one transaction, and each caller is answered only after that commit.
import { createHash } from 'node:crypto';
import { eventType, ID_FIELDS, requiredIds, type IdField } from '../catalog/events.js';
import { randomId } from '../ids.js';
import type { EventRecord, IngestItem, IngestOutcome } from '../store/types.js';
import type { Store } from '../store/ports.js';
import { parseIsoTime, type Clock } from '../time.js';

export const IDEMPOTENCY_WINDOW_MS = 24 * 3_600_000;

export interface EventInput {
  event: string;
  event_time?: string;
  media_id?: string;
  channel_id?: string;
  thumbnail_id?: string;
  track_id?: string;
}

/** A reason an event is refused, naming the field at fault. */
export class EventInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
  }
}

export interface ValidEvent {
  event: string;
  eventTime: number;
  ids: Partial<Record<IdField, string>>;
}

/** Each event type takes exactly its own id fields (the JSON schema has checked their shape). */
export function validateEvent(input: EventInput, now: number): ValidEvent {
  const type = eventType(input.event);
  if (!type) throw new EventInputError('event', `unknown event "${input.event}"`);
  const wanted = requiredIds(type);
  const ids: Partial<Record<IdField, string>> = {};
  for (const field of ID_FIELDS) {
    const value = input[field];
    if (wanted.includes(field)) {
      if (value === undefined) throw new EventInputError(field, `${field} is required for ${type.name}`);
      ids[field] = value;
    } else if (value !== undefined) {
      throw new EventInputError(field, `${field} is not a field of ${type.name} (it takes ${wanted.join(' and ')})`);
    }
  }
  let eventTime = now;
  if (input.event_time !== undefined) {
    const parsed = parseIsoTime(input.event_time);
    if (parsed === undefined) throw new EventInputError('event_time', 'event_time must be an ISO 8601 time with an offset, like 2024-08-27T00:20:57+00:00');
    eventTime = parsed;
  }
  return { event: type.name, eventTime, ids };
}

export const newEventId = () => 'evt_' + randomId(20);

export function requestHash(siteId: string, input: EventInput): string {
  const canonical = JSON.stringify([siteId, input.event, input.event_time ?? null, ...ID_FIELDS.map((f) => input[f] ?? null)]);
  return createHash('sha256').update(canonical).digest('hex');
}

interface Waiting {
  item: IngestItem;
  resolve: (outcome: IngestOutcome) => void;
  reject: (err: unknown) => void;
}

export class Ingestor {
  private queue: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly firstAttemptDelayMs: number,
    /** Called after each commit that created deliveries. */
    private readonly onCommitted: () => void,
  ) {}

  /** An event for every webhook subscribed to its property and type. */
  submit(siteId: string, event: ValidEvent, idempotencyKey?: string, hash?: string): Promise<IngestOutcome> {
    return this.enqueue({
      event: this.record(siteId, event),
      idempotency: idempotencyKey && hash ? { key: idempotencyKey, requestHash: hash } : undefined,
    });
  }

  /** A test event: one delivery, to this webhook only. */
  submitTo(webhookId: string, siteId: string, event: ValidEvent): Promise<IngestOutcome> {
    return this.enqueue({ event: this.record(siteId, event), onlyWebhookId: webhookId });
  }

  private record(siteId: string, event: ValidEvent): EventRecord {
    return { id: newEventId(), siteId, created: this.clock.now(), ...event };
  }

  private enqueue(item: IngestItem): Promise<IngestOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.commit());
      }
    });
  }

  private async commit(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    const now = this.clock.now();
    try {
      const outcomes = await this.store.ingest(batch.map((w) => w.item), now, {
        idempotencyWindowMs: IDEMPOTENCY_WINDOW_MS,
        firstAttemptAt: now + this.firstAttemptDelayMs,
      });
      batch.forEach((w, i) => w.resolve(outcomes[i]!));
      if (outcomes.some((o) => o.kind === 'accepted' && o.deliveries > 0)) this.onCommitted();
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
