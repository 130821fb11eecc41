// The delivery body, byte for byte in JWP's shape: the keys of JWP's examples in their order.
// The contract: docs/jwp-events.md ("The payload: exact fields and order"). Hookline's
// operational events (operational.ts) have a body of their own, in the order the README gives.
import { eventType, type IdField } from './events.js';
import type { AlertFacts } from './operational.js';
import { jwpSeconds } from '../time.js';

export interface EventFacts {
  event: string;
  /** '' for an operational event: it is about a webhook of the account, not about a property. */
  siteId: string;
  eventTime: number;
  ids: Partial<Record<IdField, string>>;
  /** Set for an operational event only. */
  alert?: AlertFacts;
  /** The trace its attempts belong to (src/tracing/): set when tracing was on at intake. Not in the body. */
  traceparent?: string;
}

export function payloadBody(facts: EventFacts, webhookId: string): string {
  if (facts.alert) return alertBody(facts, facts.alert, webhookId);
  const type = eventType(facts.event);
  if (!type) throw new Error(`unknown event ${facts.event}`);
  let body = `{"event":${JSON.stringify(facts.event)}`;
  for (const id of type.leadingIds) body += `,"${id}":${JSON.stringify(facts.ids[id])}`;
  body += `,"webhook_id":${JSON.stringify(webhookId)},"site_id":${JSON.stringify(facts.siteId)}`;
  body += `,"event_time":"${jwpSeconds(facts.eventTime)}"`;
  for (const id of type.trailingIds) body += `,"${id}":${JSON.stringify(facts.ids[id])}`;
  return body + '}';
}

/** `webhook_id` is the receiving webhook, as in JWP's bodies; the subject is the webhook the event is about. */
function alertBody(facts: EventFacts, alert: AlertFacts, webhookId: string): string {
  return JSON.stringify({
    event: facts.event,
    webhook_id: webhookId,
    subject_webhook_id: alert.subjectWebhookId,
    subject_webhook_url: alert.subjectWebhookUrl,
    reason: alert.reason,
    failures: alert.failures,
    event_time: jwpSeconds(facts.eventTime),
  });
}
