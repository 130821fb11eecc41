// Reported events: what POST /v2/sites/{site_id}/events/ does once HTTP is taken off it (the
// property checked, the event validated, its request hash for the Idempotency-Key, what to say
// after a commit in doubt), and a webhook's test event. Committed through the one intake path
// shared with platform facts (commit.ts).
import { createHash } from 'node:crypto';
import { eventType, ID_FIELDS, requiredIds, type IdField } from '../catalog/events.js';
import type { AlertFacts } from '../catalog/operational.js';
import { Conflict, Invalid } from '../errors.js';
import { CommitUnknown } from '../store/unavailable.js';
import { parseIsoTime } from '../time.js';
import { newEventId } from '../ids.js';
import type { TraceParent } from '../tracing/index.js';
import type { IntakeCommit } from './commit.js';

export interface EventInput {
  event: string;
  event_time?: string;
  media_id?: string;
  channel_id?: string;
  thumbnail_id?: string;
  track_id?: string;
}

export interface ValidEvent {
  event: string;
  eventTime: number;
  ids: Partial<Record<IdField, string>>;
  /** A test of an operational event: what it says of its subject (the webhook itself). */
  alert?: AlertFacts;
}

/** Each event type takes exactly its own id fields (the JSON schema has checked their shape). */
function validateEvent(input: EventInput, now: number): ValidEvent {
  const type = eventType(input.event);
  if (!type) throw new Invalid('invalid_body', `unknown event "${input.event}"`);
  const wanted = requiredIds(type);
  const ids: Partial<Record<IdField, string>> = {};
  for (const field of ID_FIELDS) {
    const value = input[field];
    if (wanted.includes(field)) {
      if (value === undefined) throw new Invalid('invalid_body', `${field} is required for ${type.name}`);
      ids[field] = value;
    } else if (value !== undefined) {
      throw new Invalid('invalid_body', `${field} is not a field of ${type.name} (it takes ${wanted.join(' and ')})`);
    }
  }
  let eventTime = now;
  if (input.event_time !== undefined) {
    const parsed = parseIsoTime(input.event_time);
    if (parsed === undefined) throw new Invalid('invalid_body', 'event_time must be an ISO 8601 time with an offset, like 2024-08-27T00:20:57+00:00');
    eventTime = parsed;
  }
  return { event: type.name, eventTime, ids };
}

function requestHash(siteId: string, input: EventInput): string {
  const canonical = JSON.stringify([siteId, input.event, input.event_time ?? null, ...ID_FIELDS.map((f) => input[f] ?? null)]);
  return createHash('sha256').update(canonical).digest('hex');
}

/** What a platform should do after a commit in doubt: with a key a resend is safe, without one it may deliver twice. */
function commitUnknownAdvice(key: string | undefined): string {
  const doubt = 'the database did not confirm the commit: the event may have been recorded, and delivered; ';
  return key
    ? doubt + 'resend it with the same Idempotency-Key, which answers as the first time and delivers nothing new'
    : doubt + 'resending it may deliver it twice (send every event with an Idempotency-Key to make resends safe)';
}

/** The answer to a reported event, kept with its Idempotency-Key and given again to a repeat. */
export type EventAnswer = {
  id: string;
  event: string;
  site_id: string;
  deliveries: number;
};

export class EventIntake {
  constructor(private readonly intake: IntakeCommit) {}

  /**
   * An event for every webhook subscribed to its property and type, answered once committed.
   * The same request again with `key` gets the first answer and delivers nothing new. `trace`:
   * the request's span, when traced.
   */
  async report(siteId: string, input: EventInput, key?: string, trace?: TraceParent): Promise<EventAnswer> {
    await this.intake.requireSite(siteId);
    const now = this.intake.clock.now();
    const event = validateEvent(input, now);
    const id = newEventId();
    let done;
    try {
      done = await this.intake.commit(
        { siteId, events: [{ id, siteId, created: now, ...event }] },
        key ? { key, requestHash: requestHash(siteId, input) } : undefined,
        (deliveries): EventAnswer => ({ id, event: event.event, site_id: siteId, deliveries }),
        trace,
      );
    } catch (err) {
      if (err instanceof CommitUnknown) throw new CommitUnknown(err.cause, commitUnknownAdvice(key));
      throw err;
    }
    if (done === 'conflict') throw new Conflict('idempotency_conflict', 'this Idempotency-Key was already used with a different body');
    if (done === 'stale') throw new Error('an event writes no object, so it cannot be stale');
    return done.answer;
  }

  /** A test event: one delivery, to this webhook only (`siteId` '' for an operational event). */
  async test(webhookId: string, siteId: string, event: ValidEvent, trace?: TraceParent): Promise<{ id: string; deliveries: number }> {
    const id = newEventId();
    const done = await this.intake.commit(
      { siteId, events: [{ id, siteId, created: this.intake.clock.now(), ...event }], onlyWebhookId: webhookId },
      undefined,
      (deliveries) => ({ id, deliveries }),
      trace,
    );
    if (typeof done === 'string') throw new Error(`a test event cannot be ${done}`);
    return done.answer;
  }
}
