// Hookline's own operational events, beside JWP's 13 (events.ts): what a webhook of an account
// can subscribe to in order to be told that another of the account's webhooks is failing, was
// disabled, or recovered. They are Hookline extensions, not JWP's: the platform cannot report
// them, the delivery engine raises them from outcomes (src/store/health.ts). The contract: the
// README's "Operational events" and docs/jwp-events.md ("Hookline's readings").
import { EVENT_NAMES } from './events.js';

export type OperationalEventName = 'webhook_failing' | 'webhook_disabled' | 'webhook_recovered';

export interface OperationalEventType {
  name: OperationalEventName;
  title: string;
  description: string;
  /** When Hookline sends it, in one sentence (the catalogue's `rule`). */
  rule: string;
  example: Record<string, string | number>;
}

/** What an operational event says about the webhook it is about (its subject). */
export interface AlertFacts {
  subjectWebhookId: string;
  subjectWebhookUrl: string;
  reason: string;
  /** Failed attempts in a row at that moment (for webhook_recovered: the streak that just ended). */
  failures: number;
}

const example = (event: OperationalEventName, reason: string, failures: number, eventTime: string) => ({
  event, webhook_id: 'Al3rtsHk', subject_webhook_id: '2yW4KmiG', subject_webhook_url: 'https://cms.example/hooks',
  reason, failures, event_time: eventTime,
});

export const OPERATIONAL_EVENT_TYPES: readonly OperationalEventType[] = [
  {
    name: 'webhook_failing',
    title: 'Webhook Failing',
    description: "Notification sent when one of the account's webhooks has failed as many attempts in a row as the breaker allows: its deliveries now wait for one probe at a time.",
    rule: 'Sent once per failure streak, when it reaches HOOKLINE_BREAKER_THRESHOLD failed attempts in a row (5 by default).',
    example: example('webhook_failing', 'HTTP 503', 5, '2024-08-27T00:20:57+00:00'),
  },
  {
    name: 'webhook_disabled',
    title: 'Webhook Disabled',
    description: "Notification sent when one of the account's webhooks was disabled by its outcomes: its endpoint answered 410 Gone, or every attempt failed for HOOKLINE_AUTO_DISABLE_AFTER.",
    rule: 'Sent when Hookline disables a webhook (410 Gone, or failing too long); not when it is disabled through the API or the dashboard.',
    example: example('webhook_disabled', 'the endpoint answered 410 Gone', 1, '2024-08-27T00:21:03+00:00'),
  },
  {
    name: 'webhook_recovered',
    title: 'Webhook Recovered',
    description: "Notification sent when one of the account's webhooks delivered again after failing: the first success after a streak that reached the breaker threshold.",
    rule: 'Sent at the first successful attempt after a failure streak that reached HOOKLINE_BREAKER_THRESHOLD; `failures` is that streak.',
    example: example('webhook_recovered', 'delivered again (HTTP 200)', 7, '2024-08-27T00:25:11+00:00'),
  },
];

export const OPERATIONAL_EVENT_NAMES: readonly OperationalEventName[] = OPERATIONAL_EVENT_TYPES.map((e) => e.name);

export function isOperational(name: string): name is OperationalEventName {
  return (OPERATIONAL_EVENT_NAMES as readonly string[]).includes(name);
}

/** What a webhook may subscribe to: JWP's 13, then Hookline's operational events. */
export const SUBSCRIBABLE_EVENT_NAMES: readonly string[] = [...EVENT_NAMES, ...OPERATIONAL_EVENT_NAMES];
