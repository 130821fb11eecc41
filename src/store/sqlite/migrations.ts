// The embedded store's schema, one numbered migration after another. Applied in order at open;
// `PRAGMA user_version` records how far a database has come.
//
// Times are epoch milliseconds. A delivery is due when status = 'pending' and due_at <= now.
// Before migration 8, claiming it pushed due_at forward by a lease (claimed_at set).

export const MIGRATIONS: string[] = [
  /* 1: the foundation */ `
CREATE TABLE accounts (
  id       TEXT PRIMARY KEY,
  name     TEXT NOT NULL,
  created  INTEGER NOT NULL
);

CREATE TABLE api_keys (
  id          TEXT PRIMARY KEY,
  account_id  TEXT REFERENCES accounts(id) ON DELETE CASCADE,  -- NULL: the operator's key
  name        TEXT NOT NULL,
  key_hash    TEXT NOT NULL UNIQUE,
  created     INTEGER NOT NULL
);

CREATE TABLE sites (
  id          TEXT PRIMARY KEY,
  account_id  TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name        TEXT NOT NULL,
  created     INTEGER NOT NULL
);
CREATE INDEX sites_by_account ON sites(account_id, created);

CREATE TABLE webhooks (
  id             TEXT PRIMARY KEY,
  account_id     TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  description    TEXT NOT NULL,
  webhook_url    TEXT NOT NULL,
  site_ids       TEXT NOT NULL,  -- JSON array, in the order given
  events         TEXT NOT NULL,  -- JSON array, in the order given
  secret         TEXT NOT NULL,
  created        INTEGER NOT NULL,
  last_modified  INTEGER NOT NULL
);
CREATE INDEX webhooks_by_account ON webhooks(account_id, created);

-- What fan-out reads: one row per (site, event) a webhook listens to.
CREATE TABLE subscriptions (
  site_id     TEXT NOT NULL,
  event       TEXT NOT NULL,
  webhook_id  TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  PRIMARY KEY (site_id, event, webhook_id)
) WITHOUT ROWID;
CREATE INDEX subscriptions_by_webhook ON subscriptions(webhook_id);

CREATE TABLE events (
  id            TEXT PRIMARY KEY,
  site_id       TEXT NOT NULL,
  event         TEXT NOT NULL,
  media_id      TEXT,
  channel_id    TEXT,
  thumbnail_id  TEXT,
  track_id      TEXT,
  event_time    INTEGER NOT NULL,
  created       INTEGER NOT NULL
);

CREATE TABLE idempotency_keys (
  site_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  event_id      TEXT NOT NULL,
  deliveries    INTEGER NOT NULL,
  created       INTEGER NOT NULL,
  PRIMARY KEY (site_id, key)
);

CREATE TABLE deliveries (
  id                TEXT PRIMARY KEY,
  event_id          TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  webhook_id        TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  status            TEXT NOT NULL DEFAULT 'pending',  -- pending | succeeded | failed
  attempts          INTEGER NOT NULL DEFAULT 0,
  due_at            INTEGER,                          -- NULL once succeeded or failed
  claimed_at        INTEGER,                          -- set while a dispatcher holds the lease
  last_chance       INTEGER NOT NULL DEFAULT 0,       -- a manual retry: one attempt, then done
  last_status_code  INTEGER,
  created           INTEGER NOT NULL,
  last_modified     INTEGER NOT NULL
);
CREATE INDEX deliveries_due ON deliveries(due_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries(webhook_id, created);
CREATE INDEX deliveries_by_event ON deliveries(event_id);

CREATE TABLE attempts (
  delivery_id    TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  attempted_at   INTEGER NOT NULL,
  status_code    INTEGER,
  duration_ms    INTEGER NOT NULL,
  error          TEXT,
  response_body  TEXT
);
CREATE INDEX attempts_by_delivery ON attempts(delivery_id, attempted_at);
`,
  /* 2: the media and live-channel lifecycle (src/platform/) */ `
-- One row per media, live channel or thumbnail a platform reported; state is JSON whose shape
-- src/platform/ owns. A thumbnail's row only maps its id to its media (its state lives there).
CREATE TABLE platform_objects (
  site_id  TEXT NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
  kind     TEXT NOT NULL,     -- media | channel | thumbnail
  id       TEXT NOT NULL,
  state    TEXT NOT NULL,
  version  INTEGER NOT NULL,  -- bumped by every fact: the optimistic lock
  PRIMARY KEY (site_id, kind, id)
) WITHOUT ROWID;

-- Idempotency-Key of a fact, with the answer it got, so that a repeat yields nothing new.
CREATE TABLE fact_keys (
  site_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  answer        TEXT NOT NULL,
  created       INTEGER NOT NULL,
  PRIMARY KEY (site_id, key)
) WITHOUT ROWID;
`,
  /* 3: the audit log (who changed what, per account) */ `
CREATE TABLE audit_log (
  id           TEXT PRIMARY KEY,
  account_id   TEXT,           -- the account concerned; NULL for operator-wide changes
  actor        TEXT NOT NULL,  -- operator | account
  key_id       TEXT,           -- the API key that made the change (kept after it is revoked)
  action       TEXT NOT NULL,  -- webhook.created, api_key.revoked, …
  target_type  TEXT,
  target_id    TEXT,
  ip           TEXT,
  created      INTEGER NOT NULL
);
CREATE INDEX audit_by_account ON audit_log(account_id, created);
CREATE INDEX audit_by_time ON audit_log(created);
`,
  /* 4: sealed secrets and their rotation */ `
-- webhooks.secret holds the secret sealed (AES-256-GCM, src/security/sealing.ts), never in clear.
-- A rotation keeps the secret it replaced, sealed too, until previous_secret_expires.
ALTER TABLE webhooks ADD COLUMN previous_secret TEXT;
ALTER TABLE webhooks ADD COLUMN previous_secret_expires INTEGER;

-- Small facts about the database itself: 'seal_check' is a known value sealed with the key,
-- so that a wrong key is caught at start.
CREATE TABLE meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);
`,
  /* 5: dashboard sessions */ `
-- A signed-in browser. Only the hash of the cookie's value is kept; deleting the API key a
-- session was opened with ends the session too.
CREATE TABLE sessions (
  id_hash     TEXT PRIMARY KEY,
  api_key_id  TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  csrf_token  TEXT NOT NULL,
  created     INTEGER NOT NULL,
  expires     INTEGER NOT NULL
);
CREATE INDEX sessions_by_expiry ON sessions(expires);
`,
  /* 6: the delivery engine: endpoint health, per-webhook claims, retention */ `
-- A webhook's health. consecutive_failures counts attempts failed since the last success and
-- failing_since is when that streak began; paused_until holds attempts back (Retry-After, or
-- the time between probes while the breaker is open). A disabled webhook keeps its deliveries.
ALTER TABLE webhooks ADD COLUMN status TEXT NOT NULL DEFAULT 'active';  -- active | disabled
ALTER TABLE webhooks ADD COLUMN disabled_reason TEXT;
ALTER TABLE webhooks ADD COLUMN disabled_at INTEGER;
ALTER TABLE webhooks ADD COLUMN max_in_flight INTEGER;                  -- NULL: the node's default
ALTER TABLE webhooks ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN failing_since INTEGER;
ALTER TABLE webhooks ADD COLUMN paused_until INTEGER;
CREATE INDEX webhooks_failing ON webhooks(consecutive_failures) WHERE consecutive_failures > 0;

-- The node holding a lease, so that a node that stops hands back its own.
ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;

-- Claims go webhook by webhook: each one's due deliveries in order, and its leases to count.
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(webhook_id, due_at, created) WHERE status = 'pending';
CREATE INDEX deliveries_leased ON deliveries(webhook_id, due_at) WHERE claimed_at IS NOT NULL;

-- Retention deletes the oldest rows first. Deliveries are found through their events (created
-- in the same transaction), which spares the busiest table one more index to write.
CREATE INDEX events_by_created ON events(created);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created);
CREATE INDEX fact_keys_by_created ON fact_keys(created);
`,
  /* 7: a manual retry of a delivery in flight */ `
-- A retry asked for while an attempt is in flight (the delivery leased) waits for that attempt:
-- its outcome, once written, makes the delivery due again (src/store/types.ts, retryDelivery).
ALTER TABLE deliveries ADD COLUMN retry_requested INTEGER NOT NULL DEFAULT 0;
`,
  /* 8: the engine keeps its queues in memory; rate limits */ `
-- Each webhook's queue lives in memory, with the node that owns the webhook (src/delivery/): the
-- database is the durable log under it, not the scheduler. No leases any more: claimed_at and
-- lease_owner stay, unused and NULL (dropping them would rewrite the whole table), and their
-- index goes. A lease left by the previous version simply comes due when it would have run out.
UPDATE deliveries SET claimed_at = NULL, lease_owner = NULL WHERE claimed_at IS NOT NULL;
DROP INDEX deliveries_leased;

-- retry_requested now holds when a manual retry was asked for (epoch ms; 0: none): an attempt
-- that began before that does not answer it, and its outcome leaves the delivery due again
-- (src/store/sqlite/engine.ts, recordOutcomes). A 1 left by the previous version reads as a
-- request made in 1970, which any attempt answers: the attempt it waited for ended with that
-- version's process, and the delivery is due (its lease runs out), so the next attempt is it.

-- Requests per second at most to the webhook; NULL: no limit.
ALTER TABLE webhooks ADD COLUMN rate_limit REAL;
`,
  /* 9: one Idempotency-Key table for events and facts (src/ingest/) */ `
-- Every request the platform sends with an Idempotency-Key, a reported event or a fact, keeps
-- here the hash of the request and the JSON its route answered, so that a repeat within 24 h gets
-- that answer again and commits nothing. One key space per property: a key used for an event and
-- then for a fact (or the other way) is a conflict, like any reuse of a key with another request.
-- A rowid table, as idempotency_keys was: retention deletes the oldest by rowid.
CREATE TABLE idempotency_keys_one (
  site_id       TEXT NOT NULL,
  key           TEXT NOT NULL,
  request_hash  TEXT NOT NULL,
  answer        TEXT NOT NULL,  -- JSON: the route's answer
  created       INTEGER NOT NULL,
  PRIMARY KEY (site_id, key)
);
INSERT INTO idempotency_keys_one (site_id, key, request_hash, answer, created)
  SELECT site_id, key, request_hash, answer, created FROM fact_keys;
-- An event's key gets the answer its route gave, {id, event, site_id, deliveries}; a key whose
-- event retention has taken (a retention shorter than the 24 h window) has nothing to answer
-- with and goes. A key in both tables (two requests, allowed until now) keeps the later one.
INSERT INTO idempotency_keys_one (site_id, key, request_hash, answer, created)
  SELECT k.site_id, k.key, k.request_hash,
    json_object('id', k.event_id, 'event', e.event, 'site_id', k.site_id, 'deliveries', k.deliveries), k.created
  FROM idempotency_keys k JOIN events e ON e.id = k.event_id WHERE true
  ON CONFLICT (site_id, key) DO UPDATE SET request_hash = excluded.request_hash, answer = excluded.answer, created = excluded.created
  WHERE excluded.created > idempotency_keys_one.created;
DROP TABLE idempotency_keys;
DROP TABLE fact_keys;
ALTER TABLE idempotency_keys_one RENAME TO idempotency_keys;
CREATE INDEX idempotency_keys_by_created ON idempotency_keys(created);
`,
  /* 10: lists of up to 10 000 a page, each one index range (docs/jwp-api.md, "Listing and pagination") */ `
-- The operator's webhook list (every account, newest first) walks this index instead of sorting
-- the table. An index here ends with the rowid, the lists' tie-break, so the other lists'
-- indexes (webhooks_by_account, audit_by_account, audit_by_time, deliveries_by_webhook) already
-- give each page in order.
CREATE INDEX webhooks_by_created ON webhooks(created);
`,
  /* 11: the catch-up feed and replays (docs/jwp-api.md, "Hookline's extensions") */ `
-- Each event's place in its property's feed (GET /v2/sites/{site_id}/events/): feed_seq, taken
-- from event_feed_seq inside the intake transaction, so that with one writer its order is the
-- commit order. Not the rowid: VACUUM may renumber the rowids of a table without an INTEGER
-- PRIMARY KEY (adopting sealing runs one), and a table that retention empties would hand the same
-- rowids out again, behind the cursors clients hold. Events already kept take their rowid's order.
ALTER TABLE events ADD COLUMN feed_seq INTEGER;
UPDATE events SET feed_seq = rowid;
CREATE TABLE event_feed_seq (last INTEGER NOT NULL);
INSERT INTO event_feed_seq (last) SELECT coalesce(max(feed_seq), 0) FROM events;

-- A webhook's test event (made-up ids, sent to that webhook alone) is none of the property's
-- events: neither the feed nor a replay shows it. Test events sent before this migration cannot
-- be told apart and count as the property's.
ALTER TABLE events ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_feed ON events(site_id, feed_seq) WHERE test = 0;

-- A delivery made by a replay (POST /v2/webhooks/{id}/replay/) rather than by intake.
ALTER TABLE deliveries ADD COLUMN replay INTEGER NOT NULL DEFAULT 0;
`,
  /* 12: Hookline's operational events (src/catalog/operational.ts) */ `
-- webhook_failing, webhook_disabled and webhook_recovered are events like JWP's, with their
-- deliveries, committed with the outcomes that raised them. They belong to no property: their
-- site_id is '' (the column stays NOT NULL: dropping that would rewrite the table), so no
-- property's feed or replay shows them; they are numbered like any event. alert holds
-- what they say of the webhook they are about, as JSON
-- {"subject_webhook_id","subject_webhook_url","reason","failures"}; NULL for JWP's events.
ALTER TABLE events ADD COLUMN alert TEXT;
`,
  /* 13: portal sessions (POST /v2/accounts/{account_id}/portal_sessions/) */ `
-- A portal link not opened yet. Only the hash of its one-use token is kept; opening it deletes
-- the row and creates the session in one transaction. Replacing the operator key that made it
-- voids it (and the sessions it opened).
CREATE TABLE portal_tokens (
  token_hash       TEXT PRIMARY KEY,
  api_key_id       TEXT NOT NULL REFERENCES api_keys(id) ON DELETE CASCADE,
  account_id       TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  read_only        INTEGER NOT NULL,
  created          INTEGER NOT NULL,
  expires          INTEGER NOT NULL,  -- the link opens nothing from then on
  session_expires  INTEGER NOT NULL   -- the session it opens ends then at the latest
);
CREATE INDEX portal_tokens_by_expiry ON portal_tokens(expires);

-- A session opened by a portal link sees account_id (its key is the operator's); NULL: the
-- key's own account. read_only: every unsafe request of the session is refused.
ALTER TABLE sessions ADD COLUMN account_id TEXT REFERENCES accounts(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
`,
  /* 14: each webhook's own request headers, and each attempt's request and response headers */ `
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
  /* 15: per-media ordering (src/delivery/ordering.ts) */ `
-- A webhook's ordering: 'none', or 'per_media' (the deliveries of one media, or one live channel,
-- go one at a time, in commit order).
ALTER TABLE webhooks ADD COLUMN ordering TEXT NOT NULL DEFAULT 'none';

-- A delivery to a per_media webhook keeps its key (src/store/order-key.ts), set when it is made:
-- 'media:<id>', 'channel:<id>', or '' (neither: unordered). NULL for every other webhook's, so
-- that the indexes below hold the ordered webhooks' pending deliveries only. The first walks
-- them in commit order (created, then the rowid that ends each entry); the second finds the
-- pending ones of a key that are not due yet (a delivery waiting for its retry holds its key).
ALTER TABLE deliveries ADD COLUMN order_key TEXT;
CREATE INDEX deliveries_ordered ON deliveries(webhook_id, created) WHERE status = 'pending' AND order_key IS NOT NULL;
CREATE INDEX deliveries_order_key ON deliveries(webhook_id, order_key, due_at) WHERE status = 'pending' AND order_key IS NOT NULL;
`,
  /* 16: delivery search and each webhook's health over time (GET /v2/deliveries/, GET /v2/webhooks/{id}/stats/) */ `
-- The search lists deliveries newest first and pages with a cursor on (created, id): ids are
-- random (msg_ and 24 hex digits), so they break ties and never order by time themselves. Each
-- way a search is driven walks one of these (src/store/sqlite/search-deliveries.ts): the
-- operator's every delivery, one webhook's (an account's search merges its webhooks' walks), or
-- the deliveries of a media's or a channel's events (an event id has events' primary key and
-- deliveries_by_event already). deliveries_by_webhook stays, ordered by rowid for the paged lists.
CREATE INDEX deliveries_by_time ON deliveries(created, id);
CREATE INDEX deliveries_by_webhook_time ON deliveries(webhook_id, created, id);
CREATE INDEX events_by_media ON events(media_id) WHERE media_id IS NOT NULL;
CREATE INDEX events_by_channel ON events(channel_id) WHERE channel_id IS NOT NULL;

-- Each attempt names its webhook, so that a webhook's attempts per hour and per day, and their
-- durations' percentiles, are one range of an index (src/store/sqlite/webhook-history.ts).
-- Attempts of the last 31 days get theirs now (the longest window shown is 30 days); older ones
-- keep NULL and are in no window.
ALTER TABLE attempts ADD COLUMN webhook_id TEXT;
UPDATE attempts SET webhook_id = (SELECT d.webhook_id FROM deliveries d WHERE d.id = attempts.delivery_id)
  WHERE attempted_at >= (unixepoch() - 31 * 86400) * 1000;
CREATE INDEX attempts_by_webhook ON attempts(webhook_id, attempted_at) WHERE webhook_id IS NOT NULL;
`,
  /* 17: traces (src/tracing/): each event's trace context */ `
-- The W3C traceparent of the span that committed the event (00-<trace id>-<span id>-<flags>),
-- when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT): each attempt at one of its deliveries is a
-- span of that trace, whichever node makes it. NULL when tracing was off at intake.
ALTER TABLE events ADD COLUMN traceparent TEXT;
`,
];
