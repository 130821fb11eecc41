// PostgreSQL's schema, one numbered migration after another, applied at start under a
// transaction-level advisory lock so that nodes starting together migrate once.
// `hookline_migrations` records how far a schema has come.
//
// The same tables as the embedded store's (src/store/sqlite/migrations.ts), in PostgreSQL's
// dialect: times are BIGINT epoch milliseconds, and `seq` columns give the insertion order that
// SQLite's rowid gives (ties between equal creation or due times).
import { PARTITION_MIGRATION } from './partition-migration.js';

export const MIGRATIONS: string[] = [
  /* 1: everything the embedded store's migrations 1 to 5 made */ `
CREATE TABLE accounts (
  id       TEXT PRIMARY KEY,
  name     TEXT NOT NULL,
  created  BIGINT NOT NULL
);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  account_id  TEXT REFERENCES accounts(id) ON DELETE CASCADE,  -- NULL: the operator's key
  name        TEXT NOT NULL,
  key_hash    TEXT NOT NULL UNIQUE,
  created     BIGINT NOT NULL
);

CREATE TABLE sites (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  created     BIGINT NOT NULL
);
CREATE INDEX sites_by_account ON sites(account_id, created);

CREATE TABLE webhooks (
  id                       TEXT PRIMARY KEY,
  seq                      BIGINT GENERATED ALWAYS AS IDENTITY,
  account_id               TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name                     TEXT NOT NULL,
  description              TEXT NOT NULL,
  webhook_url              TEXT NOT NULL,
  site_ids                 TEXT NOT NULL,  -- JSON array, in the order given
  events                   TEXT NOT NULL,  -- JSON array, in the order given
  secret                   TEXT NOT NULL,  -- sealed (src/security/sealing.ts)
  previous_secret          TEXT,           -- sealed; signs too until previous_secret_expires
  previous_secret_expires  BIGINT,
  created                  BIGINT NOT NULL,
  last_modified            BIGINT NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks(account_id, created);

-- What fan-out reads: one row per (site, event) a webhook listens to.
CREATE TABLE subscriptions (
  site_id     TEXT NOT NULL,
  event       TEXT NOT NULL,
  webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  PRIMARY KEY (site_id, event, webhook_id)
);
CREATE INDEX subscriptions_by_webhook ON subscriptions(webhook_id);

CREATE TABLE events (
  id            TEXT PRIMARY KEY,
  site_id       TEXT NOT NULL,
  event         TEXT NOT NULL,
  media_id      TEXT,
  channel_id    TEXT,
  thumbnail_id  TEXT,
  track_id      TEXT,
  event_time    BIGINT NOT NULL,
  created       BIGINT NOT NULL
);

CREATE TABLE idempotency_keys (
  site_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  event_id      TEXT NOT NULL,
  deliveries    INTEGER NOT NULL,
  created       BIGINT NOT NULL,
  PRIMARY KEY (site_id, key)
);

CREATE TABLE deliveries (
  id                TEXT PRIMARY KEY,
  seq               BIGINT GENERATED ALWAYS AS IDENTITY,
  event_id          TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  webhook_id        TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  status            TEXT NOT NULL DEFAULT 'pending',  -- pending | succeeded | failed
  attempts          INTEGER NOT NULL DEFAULT 0,
  due_at            BIGINT,                           -- NULL once succeeded or failed
  claimed_at        BIGINT,                           -- set while a dispatcher holds the lease
  last_chance       BOOLEAN NOT NULL DEFAULT false,   -- a manual retry: one attempt, then done
  last_status_code  INTEGER,
  created           BIGINT NOT NULL,
  last_modified     BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(due_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries(webhook_id, created);
CREATE INDEX deliveries_by_event ON deliveries(event_id);

CREATE TABLE attempts (
  delivery_id    TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  seq            BIGINT GENERATED ALWAYS AS IDENTITY,
  attempted_at   BIGINT NOT NULL,
  status_code    INTEGER,
  duration_ms    INTEGER NOT NULL,
  error          TEXT,
  response_body  TEXT
);
CREATE INDEX attempts_by_delivery ON attempts(delivery_id, attempted_at);

-- One row per media, live channel or thumbnail a platform reported; state is JSON whose shape
-- src/platform/ owns.
CREATE TABLE platform_objects (
  site_id  TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL,     -- media | channel | thumbnail
  id       TEXT NOT NULL,
  state    TEXT NOT NULL,
  version  INTEGER NOT NULL,  -- bumped by every fact: the optimistic lock
  PRIMARY KEY (site_id, kind, id)
);

-- Idempotency-Key of a fact, with the answer it got, so that a repeat yields nothing new.
CREATE TABLE fact_keys (
  site_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  answer        TEXT NOT NULL,
  created       BIGINT NOT NULL,
  PRIMARY KEY (site_id, key)
);

CREATE TABLE audit_log (
  id           TEXT PRIMARY KEY,
  seq          BIGINT GENERATED ALWAYS AS IDENTITY,
  account_id   TEXT,           -- the account concerned; NULL for operator-wide changes
  actor        TEXT NOT NULL,  -- operator | account
  key_id       TEXT,           -- the API key that made the change (kept after it is revoked)
  action       TEXT NOT NULL,
  target_type  TEXT,
  target_id    TEXT,
  ip           TEXT,
  created      BIGINT NOT NULL
);
CREATE INDEX audit_by_account ON audit_log(account_id, created);
CREATE INDEX audit_by_time ON audit_log(created);

-- 'seal_check': a known value sealed with the key, so that a wrong key is caught at start.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);

CREATE TABLE sessions (
  id_hash     TEXT PRIMARY KEY,
  api_key_id  TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  csrf_token  TEXT NOT NULL,
  created     BIGINT NOT NULL,
  expires     BIGINT NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires);
`,
  /* 2: the delivery engine: endpoint health, per-webhook claims, retention (the embedded store's 6) */ `
-- A webhook's health. consecutive_failures counts attempts failed since the last success and
-- failing_since is when that streak began; paused_until holds attempts back (Retry-After, or
-- the time between probes while the breaker is open). A disabled webhook keeps its deliveries.
ALTER TABLE webhooks
  ADD COLUMN status                TEXT NOT NULL DEFAULT 'active',  -- active | disabled
  ADD COLUMN disabled_reason       TEXT,
  ADD COLUMN disabled_at           BIGINT,
  ADD COLUMN max_in_flight         INTEGER,                         -- NULL: the node's default
  ADD COLUMN consecutive_failures  INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN failing_since         BIGINT,
  ADD COLUMN paused_until          BIGINT;
CREATE INDEX webhooks_failing ON webhooks(consecutive_failures) WHERE consecutive_failures > 0;

-- The node holding a lease, so that a node that stops hands back its own.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;

-- Claims go webhook by webhook: each one's due deliveries in order, and its leases to count
-- (across every node: the cap is the cluster's, not one node's).
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(webhook_id, due_at, created) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries(webhook_id, due_at) WHERE claimed_at IS NOT NULL;

-- Retention deletes the oldest rows first. Deliveries are found through their events (created
-- in the same transaction), which spares the busiest table one more index to write.
CREATE INDEX events_by_created ON events(created);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created);
CREATE INDEX fact_keys_by_created ON fact_keys(created);
`,
  /* 3: a manual retry of a delivery in flight (the embedded store's 7) */ `
-- A retry asked for while an attempt is in flight (the delivery leased) waits for that attempt:
-- its outcome, once written, makes the delivery due again (src/store/types.ts, retryDelivery).
ALTER TABLE deliveries ADD COLUMN retry_requested BOOLEAN NOT NULL DEFAULT false;
`,
  /* 4: the delivery engine keeps its queues in memory; endpoints' rate limits; worker nodes (the embedded store's 8) */ `
-- No more leases: each webhook's queue is held in memory by the node that owns the webhook, and
-- these tables are its durable log. claimed_at and lease_owner stay, unused and NULL, and the
-- index that found leases goes. A lease left by the previous version comes due when it would
-- have run out (due_at).
UPDATE deliveries SET claimed_at = NULL, lease_owner = NULL WHERE claimed_at IS NOT NULL;
DROP INDEX deliveries_leased;

-- A webhook's due deliveries, by due time then insertion order (seq): what loadDue reads, and
-- what pendingWebhooks skips through, webhook by webhook.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(webhook_id, due_at, seq) WHERE status = 'pending';

-- retry_requested now holds when a manual retry was asked for (epoch ms; 0: none), so that an
-- attempt's outcome knows whether the request came while it was in flight (recordOutcomes).
-- The flag it replaces is dropped, not converted (no rewrite of the table): a delivery it was
-- set on is still pending, due when its lease ends, and that attempt answers the request.
ALTER TABLE deliveries DROP COLUMN retry_requested, ADD COLUMN retry_requested BIGINT NOT NULL DEFAULT 0;

-- Requests per second at most to the webhook; NULL: no limit.
ALTER TABLE webhooks ADD COLUMN rate_limit DOUBLE PRECISION;

-- The worker nodes, each with its last heartbeat: the live ones share the webhooks between them.
CREATE TABLE nodes (
  node_id       TEXT PRIMARY KEY,
  heartbeat_at  BIGINT NOT NULL,
  started_at    BIGINT NOT NULL
);
`,
  /* 5: one Idempotency-Key table for events and facts (the embedded store's 9) */ `
-- Every request the platform sends with an Idempotency-Key, a reported event or a fact, keeps
-- here the hash of the request and the JSON its route answered, so that a repeat within 24 h gets
-- that answer again and commits nothing. One key space per property: a key used for an event and
-- then for a fact (or the other way) is a conflict, like any reuse of a key with another request.
-- An event's key gets the answer its route gave, {id, event, site_id, deliveries}; a key whose
-- event retention has taken (a retention shorter than the 24 h window) has nothing to answer
-- with and goes.
ALTER TABLE idempotency_keys ADD COLUMN answer TEXT;
UPDATE idempotency_keys k
  SET answer = json_build_object('id', k.event_id, 'event', e.event, 'site_id', k.site_id, 'deliveries', k.deliveries)::text
  FROM events e WHERE e.id = k.event_id;
DELETE FROM idempotency_keys WHERE answer IS NULL;
ALTER TABLE idempotency_keys DROP COLUMN event_id, DROP COLUMN deliveries, ALTER COLUMN answer SET NOT NULL;
-- Facts' keys join them; a key in both tables (two requests, allowed until now) keeps the later one.
INSERT INTO idempotency_keys (site_id, key, request_hash, answer, created)
  SELECT site_id, key, request_hash, answer, created FROM fact_keys
  ON CONFLICT (site_id, key) DO UPDATE SET request_hash = excluded.request_hash, answer = excluded.answer, created = excluded.created
  WHERE excluded.created > idempotency_keys.created;
DROP TABLE fact_keys;
`,
  /* 6: lists of up to 10 000 a page, each one index range (the embedded store's 10) */ `
-- Each list is ordered by created, then seq (insertion order) for ties: its index ends with both,
-- so a page is a walk along it, with no sort of all the matching rows first. The operator's
-- webhook list (every account) gets an index of its own.
DROP INDEX webhooks_by_account;
CREATE INDEX webhooks_by_account ON webhooks(account_id, created, seq);
CREATE INDEX webhooks_by_created ON webhooks(created, seq);
DROP INDEX audit_by_account;
CREATE INDEX audit_by_account ON audit_log(account_id, created, seq);
DROP INDEX audit_by_time;
CREATE INDEX audit_by_time ON audit_log(created, seq);
DROP INDEX deliveries_by_webhook;
CREATE INDEX deliveries_by_webhook ON deliveries(webhook_id, created, seq);
`,
  /* 7: the API's rate-limit counters, shared by the nodes */ `
-- One row per API key and limit (management, intake): when its window started (the database's
-- clock, epoch ms) and how many requests the nodes have counted in it (src/store/postgres/rate-limits.ts).
-- UNLOGGED: a counter needs no WAL and no replica; a crash or a failover only starts the windows afresh.
CREATE UNLOGGED TABLE rate_limits (
  key           TEXT PRIMARY KEY,
  window_start  BIGINT NOT NULL,
  count         BIGINT NOT NULL
);
`,
  /* 8: the catch-up feed and replays (the embedded store's 11; docs/jwp-api.md, "Hookline's extensions") */ `
-- Each event's place in its property's feed (GET /v2/sites/{site_id}/events/). A sequence value
-- is handed out at insert, not at commit: two intake transactions (two nodes) may commit out of
-- their sequence order, and a reader going by feed_seq alone would step past an event committed
-- after it read a later one. So each event also keeps the id of the transaction that wrote it
-- (feed_xid), and the feed lists events in (feed_xid, feed_seq) order, only those whose
-- transaction is older than every transaction still in progress (src/store/postgres/feed.ts).
-- Events already kept are numbered by creation and count as written by this migration.
ALTER TABLE events ADD COLUMN feed_seq BIGINT, ADD COLUMN feed_xid xid8;
UPDATE events e SET feed_seq = o.n, feed_xid = pg_current_xact_id()
  FROM (SELECT id, row_number() OVER (ORDER BY created, id) AS n FROM events) o WHERE o.id = e.id;
ALTER TABLE events
  ALTER COLUMN feed_seq SET NOT NULL,
  ALTER COLUMN feed_seq ADD GENERATED ALWAYS AS IDENTITY,
  ALTER COLUMN feed_xid SET NOT NULL,
  ALTER COLUMN feed_xid SET DEFAULT pg_current_xact_id();
SELECT setval(pg_get_serial_sequence('events', 'feed_seq'), (SELECT coalesce(max(feed_seq), 0) + 1 FROM events), false);

-- A webhook's test event (made-up ids, sent to that webhook alone) is none of the property's
-- events: neither the feed nor a replay shows it. Test events sent before this migration cannot
-- be told apart and count as the property's.
ALTER TABLE events ADD COLUMN test BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX events_feed ON events (site_id, feed_xid, feed_seq) INCLUDE (event) WHERE NOT test;

-- A delivery made by a replay (POST /v2/webhooks/{id}/replay/) rather than by intake.
ALTER TABLE deliveries ADD COLUMN replay BOOLEAN NOT NULL DEFAULT false;
`,
  /* 9: Hookline's operational events (the embedded store's 12) */ `
-- webhook_failing, webhook_disabled and webhook_recovered are events like JWP's, with their
-- deliveries, committed with the outcomes that raised them. They belong to no property: their
-- site_id is '', as on the embedded store, so no property's feed or replay shows them. alert
-- holds what they say of the webhook they are
-- about, as JSON {"subject_webhook_id","subject_webhook_url","reason","failures"}; NULL for JWP's events.
ALTER TABLE events ADD COLUMN alert TEXT;
`,
  /* 10: portal sessions (the embedded store's 13) */ `
-- A portal link not opened yet. Only the hash of its one-use token is kept; opening it deletes
-- the row and creates the session in one statement. Replacing the operator key that made it
-- voids it (and the sessions it opened).
CREATE TABLE portal_tokens (
  token_hash       TEXT PRIMARY KEY,
  api_key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  account_id       TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  read_only        BOOLEAN NOT NULL,
  created          BIGINT NOT NULL,
  expires          BIGINT NOT NULL,  -- the link opens nothing from then on
  session_expires  BIGINT NOT NULL   -- the session it opens ends then at the latest
);
CREATE INDEX portal_tokens_by_expiry ON portal_tokens (expires);

-- A session opened by a portal link sees account_id (its key is the operator's); NULL: the
-- key's own account. read_only: every unsafe request of the session is refused.
ALTER TABLE sessions
  ADD COLUMN account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE,
  ADD COLUMN read_only  BOOLEAN NOT NULL DEFAULT false;
`,
  /* 11: each webhook's own request headers, and each attempt's request and response headers (the embedded store's 14) */ `
-- headers: the webhook's own request headers (src/security/custom-headers.ts), a JSON object
-- sealed like the secret (NULL: none); header_names: their names in clear, JSON, for the answers
-- that show them with their values masked.
ALTER TABLE webhooks ADD COLUMN headers TEXT;
ALTER TABLE webhooks ADD COLUMN header_names TEXT NOT NULL DEFAULT '[]';
-- What each attempt sent and got, JSON objects: the request's headers (the webhook's own values
-- masked) and the response's (capped, src/delivery/sender.ts). NULL for attempts made before.
ALTER TABLE attempts ADD COLUMN request_headers TEXT;
ALTER TABLE attempts ADD COLUMN response_headers TEXT;
`,
  /* 12: per-media ordering (the embedded store's 15; src/delivery/ordering.ts) */ `
-- A webhook's ordering: 'none', or 'per_media' (the deliveries of one media, or one live channel,
-- go one at a time, in commit order).
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none';

-- A delivery to a per_media webhook keeps its key (src/store/order-key.ts), set when it is made:
-- 'media:<id>', 'channel:<id>', or '' (neither: unordered). NULL for every other webhook's, so
-- that the indexes below hold the ordered webhooks' pending deliveries only. The first walks
-- them in insertion order (seq); the second finds the pending ones of a key that are not due yet
-- (a delivery waiting for its retry holds its key).
ALTER TABLE deliveries ADD COLUMN order_key TEXT;
CREATE INDEX deliveries_ordered ON deliveries(webhook_id, seq) WHERE status = 'pending' AND order_key IS NOT NULL;
CREATE INDEX deliveries_order_key ON deliveries(webhook_id, order_key, due_at) WHERE status = 'pending' AND order_key IS NOT NULL;
`,
  /* 13: delivery search and each webhook's health over time (the embedded store's 16) */ `
-- The search lists deliveries newest first and pages with a cursor on (created, id): ids are
-- random (msg_ and 24 hex digits), so they break ties and never order by time themselves. Each
-- way a search is driven walks one of these (src/store/postgres/search-deliveries.ts): the
-- operator's every delivery, one webhook's (an account's search walks each of its webhooks in a
-- LATERAL join), or the deliveries of a media's or a channel's events. deliveries_by_webhook
-- stays, ordered by seq for the paged lists.
CREATE INDEX deliveries_by_time ON deliveries(created, id);
CREATE INDEX deliveries_by_webhook_time ON deliveries(webhook_id, created, id);
CREATE INDEX events_by_media ON events(media_id) WHERE media_id IS NOT NULL;
CREATE INDEX events_by_channel ON events(channel_id) WHERE channel_id IS NOT NULL;

-- Each attempt names its webhook, so that a webhook's attempts per hour and per day, and their
-- durations' percentiles, are one range of an index (src/store/postgres/webhook-history.ts).
-- Attempts of the last 31 days get theirs now (the longest window shown is 30 days); older ones
-- keep NULL and are in no window.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT;
UPDATE attempts a SET webhook_id = d.webhook_id FROM deliveries d
  WHERE d.id = a.delivery_id AND a.attempted_at >= (extract(epoch FROM now()) * 1000)::bigint - 31 * 86400000::bigint;
CREATE INDEX attempts_by_webhook ON attempts(webhook_id, attempted_at) INCLUDE (duration_ms) WHERE webhook_id IS NOT NULL;
`,
  /* 14: traces (src/tracing/; the embedded store's 17): each event's trace context */ `
-- The W3C traceparent of the span that committed the event (00-<trace id>-<span id>-<flags>),
-- when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT): each attempt at one of its deliveries is a
-- span of that trace, whichever node makes it. NULL when tracing was off at intake.
ALTER TABLE events ADD COLUMN traceparent TEXT;
`,
  /* 15: events, deliveries and attempts partitioned by time (src/store/postgres/partition-migration.ts); the last: it rebuilds the three tables from the catalog */ PARTITION_MIGRATION,
];
