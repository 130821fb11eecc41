// One delivery attempt: the body from the event's facts, the signatures, the POST, and what
// comes next (the schedule's next try, a receiver's Retry-After). The engine decides when to
// attempt and writes the outcome; this file only makes the attempt and says how it went.
import type { Logger } from 'pino';
import { payloadBody } from '../catalog/payload.js';
import type { Metrics } from '../metrics.js';
import { loggedRequestHeaders } from '../security/custom-headers.js';
import type { WebhookSecrets } from '../security/webhook-secrets.js';
import { signatureHeaders } from '../signing/headers.js';
import type { Outcome, PendingDelivery } from '../store/types.js';
import { StoreUnavailable } from '../store/unavailable.js';
import type { Clock } from '../time.js';
import type { Tracing } from '../tracing/index.js';
import { nextAttemptAt } from './schedule.js';
import type { SendResult, Sender } from './sender.js';

export interface AttemptOptions {
  retrySchedule: readonly number[];
  retryJitter: number;
  metrics?: Metrics;
  random?: () => number;
  /** When tracing is on: a span per attempt, in its event's trace (src/tracing/). */
  tracing?: Tracing;
  /** Send the attempt's span as the W3C traceparent header (HOOKLINE_PROPAGATE_TRACE). */
  propagateTrace?: boolean;
}

export class Attempts {
  /** The schedule's longest delay: the most a receiver's Retry-After may hold its webhook back. */
  private readonly longestRetryMs: number;

  constructor(
    private readonly sender: Sender,
    private readonly secrets: WebhookSecrets,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: AttemptOptions,
  ) {
    this.longestRetryMs = Math.max(...options.retrySchedule);
  }

  /**
   * Sends `d` to `url`. 'gone': its webhook was deleted meanwhile (and its deliveries with it);
   * 'later': its secret could not be read (the database does not answer), so nothing was sent
   * and no attempt is counted against it.
   */
  async make(url: string, d: PendingDelivery): Promise<{ outcome: Outcome; result: SendResult } | 'gone' | 'later'> {
    const credentials = await this.secrets.credentials(d.webhookId).catch((err: unknown) => {
      if (err instanceof StoreUnavailable) return 'later' as const;
      this.log.error({ err, webhookId: d.webhookId }, 'cannot open the webhook secret');
      return null;
    });
    if (credentials === undefined) return 'gone';
    if (credentials === 'later') return 'later';
    const span = this.options.tracing?.startAttempt(d);
    const attemptedAt = this.clock.now();
    const body = payloadBody(d.facts, d.webhookId);
    // The webhook's own headers first: none of them may bear a name set after them (custom-headers.ts).
    const headers: Record<string, string> | null = credentials && {
      ...credentials.headers,
      'content-type': 'application/json',
      'user-agent': 'Hookline/0.1',
      ...signatureHeaders(credentials.keys, d.id, attemptedAt, body),
    };
    if (headers !== null && span !== undefined && this.options.propagateTrace) headers.traceparent = span.traceparent;
    const result: SendResult = headers === null
      ? { statusCode: null, durationMs: 0, error: 'not sent: the webhook secret does not open with this key', responseBody: null, responseHeaders: null, retryAfterMs: null }
      : await this.sender.send(url, headers, body);
    const succeeded = result.error === null;
    const now = this.clock.now();
    const attemptsMade = d.attempts + 1;
    const pauseUntil = result.retryAfterMs !== null ? now + Math.min(result.retryAfterMs, this.longestRetryMs) : undefined;
    const scheduled = succeeded || d.lastChance
      ? null
      : nextAttemptAt(this.options.retrySchedule, this.options.retryJitter, attemptsMade, now, this.options.random);
    const next = scheduled === null ? null : Math.max(scheduled, pauseUntil ?? 0);
    const state = succeeded ? 'succeeded' : next === null ? 'failed' : 'retrying';
    this.options.metrics?.attempted(state, result.durationMs);
    span?.end(result, state);
    if (succeeded) {
      this.log.debug({ deliveryId: d.id, eventId: d.eventId, webhookId: d.webhookId, attempt: attemptsMade, statusCode: result.statusCode, durationMs: result.durationMs }, 'delivered');
    } else {
      this.log.info({ deliveryId: d.id, eventId: d.eventId, webhookId: d.webhookId, attempt: attemptsMade, error: result.error, nextAttemptAt: next }, 'delivery attempt failed');
    }
    const outcome: Outcome = {
      deliveryId: d.id,
      webhookId: d.webhookId,
      succeeded,
      nextAttemptAt: next,
      ...(pauseUntil === undefined ? {} : { pauseUntil }),
      ...(d.facts.alert ? { operational: true } : {}),
      attempt: {
        attemptedAt, statusCode: result.statusCode, durationMs: result.durationMs, error: result.error, responseBody: result.responseBody,
        // The signature as sent (it signs this attempt only); the webhook's own values masked.
        requestHeaders: headers && loggedRequestHeaders(headers, credentials!.headers),
        responseHeaders: result.responseHeaders,
      },
    };
    return { outcome, result };
  }
}
