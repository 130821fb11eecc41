// The API's resources as the dashboard reads them (see GET /openapi.json).

/** What the server shows instead of a webhook's own header values (in `headers` and the attempt log). */
export const MASK = '********';

export type Role = 'operator' | 'account';

export interface Me {
  role: Role;
  account: { id: string; name: string } | null;
  csrf_token: string;
  expires: string;
  /** Opened by a portal link (left out by servers without portal sessions). */
  portal?: boolean;
  /** The session can look, not change: the dashboard hides what would change anything. */
  read_only?: boolean;
}

export interface WebhookMetadata {
  name: string;
  description: string;
  webhook_url: string;
  site_ids: string[];
  events: string[];
}

export interface Webhook {
  id: string;
  created: string;
  last_modified: string;
  metadata: WebhookMetadata;
  /** Servers without pausing leave these out; the dashboard reads that as active. */
  status?: 'active' | 'disabled';
  disabled_reason?: string | null;
  disabled_at?: string | null;
  /** Requests per second to the webhook at most (fractions allowed); null: no limit. Left out by servers without it. */
  rate_limit?: number | null;
  /** Attempts in flight at once at most; null: the node's default, below which the engine adapts. */
  max_in_flight?: number | null;
  /** Only in the answers to create and rotate. */
  secret?: string;
  /** Hookline's: the account it belongs to. */
  account_id?: string;
  /** Hookline's: its own request headers, each value shown as "********" (sealed, never shown). */
  headers?: Record<string, string>;
  /** In the list when it is asked for (include=health). */
  health?: WebhookStats;
}

export interface WebhookList {
  webhooks: Webhook[];
  page: number;
  page_length: number;
  total: number;
}

export interface Site {
  id: string;
  name: string;
  account_id: string;
  created: string;
}

export interface Account {
  id: string;
  name: string;
  created: string;
}

export interface EventType {
  name: string;
  title: string;
  description: string;
  /** media and live_channel: JWP's events; operational: Hookline's own, about the account's webhooks. */
  group: 'media' | 'live_channel' | 'operational';
  id_fields: string[];
  example: Record<string, string | number>;
  /** What makes Hookline send it (for JWP's events, the reported platform fact). */
  rule: string;
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed';

export interface Delivery {
  id: string;
  event_id: string;
  event: string;
  webhook_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  created: string;
  last_modified: string;
  /** Sent by a replay (POST /v2/webhooks/{id}/replay/); left out by servers without replays. */
  replay?: boolean;
  /** Carries a test event (POST /v2/webhooks/{id}/test/). */
  test?: boolean;
}

/** What a replay made, or (GET) would make now. */
export interface ReplayCount {
  webhook_id: string;
  since: string;
  deliveries: number;
}

export interface Attempt {
  attempted_at: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  response_body: string | null;
  /** As sent, the webhook's own values masked; null when nothing was sent (or before the server kept them). */
  request_headers?: Record<string, string> | null;
  /** The response's, capped; null when no response came. */
  response_headers?: Record<string, string> | null;
}

export interface ApiKey {
  id: string;
  name: string;
  created: string;
}

export interface AuditEntry {
  id: string;
  created: string;
  account_id: string | null;
  actor: 'operator' | 'account';
  key_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  ip: string | null;
}

export interface DeliveryDetail extends Omit<Delivery, 'attempts'> {
  attempts: Attempt[];
  request_body: string | null;
}

export interface DeliveryList {
  deliveries: Delivery[];
  page: number;
  page_length: number;
  total: number;
}

export interface WebhookStats {
  since: string;
  deliveries: { pending: number; succeeded: number; failed: number };
  success_rate: number | null;
  last_delivery: Delivery | null;
  /** GET /v2/webhooks/{id}/stats/?window= only: attempts over that window. */
  window?: HistoryWindow;
  buckets?: HistoryBucket[];
  latency_ms?: { p50: number; p95: number; p99: number } | null;
}

export type HistoryWindow = '24h' | '30d';

/** One hour (24h) or one UTC day (30d) of attempts to a webhook. */
export interface HistoryBucket {
  start: string;
  attempts: number;
  succeeded: number;
  success_rate: number | null;
}

/** A page of GET /v2/deliveries/. */
export interface DeliverySearchPage {
  deliveries: Delivery[];
  page_length: number;
  next_cursor: string | null;
}
