// The delivery body, byte for byte in JWP's shape: the keys of JWP's examples in their order.
// The contract: docs/jwp-events.md ("The payload: exact fields and order").
import { eventType, type IdField } from './events.js';
import { jwpSeconds } from '../time.js';

export interface EventFacts {
  event: string;
  siteId: string;
  eventTime: number;
  ids: Partial<Record<IdField, string>>;
}

export function payloadBody(facts: EventFacts, webhookId: string): string {
  const type = eventType(facts.event);
  if (!type) throw new Error(`unknown event ${facts.event}`);
  let body = `{"event":${JSON.stringify(facts.event)}`;
  for (const id of type.leadingIds) body += `,"${id}":${JSON.stringify(facts.ids[id])}`;
  body += `,"webhook_id":${JSON.stringify(webhookId)},"site_id":${JSON.stringify(facts.siteId)}`;
  body += `,"event_time":"${jwpSeconds(facts.eventTime)}"`;
  for (const id of type.trailingIds) body += `,"${id}":${JSON.stringify(facts.ids[id])}`;
  return body + '}';
}
