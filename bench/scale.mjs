// npm run bench -- --store postgres --only scale: PostgreSQL at platform scale (issue 18). Builds
// a month of finished deliveries (10,000,000 by default, bulk-generated in SQL, not sent) with
// their events and attempts in two schemas: the partitioned layout of today (migration 15) and
// the layout before it (migrations 1 to 12, one table each). Then measures one day's retention
// in each (seconds, WAL bytes), the delivery list's p99 (first page, page 1,000) through the API
// and at the store, the delivery search's p99 through the API (a webhook's, by media, everyone's;
// first page and after 1,000 pages by cursor), get-by-id and attempts, the drain of a live backlog with and without a
// retention pass running (rounds of drains, medians of their ratios), and, last, migration 15 itself on the old layout (the upgrade's cost).
// WAL is the server's (pg_current_wal_lsn before and after): other sessions on the same server
// add theirs, which the figures then include.

import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const DAY = 86_400_000;
/** Days of rows: a 30-day window and the two days past it that retention is measured on. */
const DAYS = 32;
const WINDOW_MS = 30 * DAY;
/** Bulk webhooks the month's deliveries are spread over (each event goes to 3 of them). */
const WEBHOOKS = 100;
const FANOUT = 3;
/** Events about each media on average: many media, a few events each, spread over the month. */
const EVENTS_PER_MEDIA = 4;
/** Live load: webhooks, and events each, queued before the worker starts. */
const LIVE = [10, 3_000];
/** Rounds of the drain (without, with a partition drop, with a batch purge): medians of their ratios. */
const DRAIN_ROUNDS = 5;

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

/** Times `fn` `count` times in a row; p50/p99 in ms. */
async function timed(count, fn) {
  const ms = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { p50: percentile(ms, 50), p99: percentile(ms, 99), count };
}

/** The server's WAL position, to subtract. */
async function walLsn(client) {
  return (await client.query('SELECT pg_current_wal_lsn() AS lsn')).rows[0].lsn;
}
async function walSince(client, lsn) {
  return Number((await client.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS n', [lsn])).rows[0].n);
}

/**
 * The month's rows, in SQL: events spread evenly over DAYS days ending now, FANOUT deliveries
 * each (finished: 95 % succeeded, 5 % failed after 3 attempts), one attempt per succeeded
 * delivery and three per failed one. Ids ascend with time, as a run's would roughly.
 */
async function generate(client, { deliveries, start, partitioned, log }) {
  const events = Math.ceil(deliveries / FANOUT);
  const span = DAYS * DAY;
  const t = performance.now();
  await client.query(`INSERT INTO events (id, site_id, event, media_id, event_time, created)
    SELECT 'evt_' || lpad(to_hex(n), 16, '0'), 'site_bulk', 'media_available', 'm' || (n % $4::bigint), c, c
    FROM generate_series(0, $1::bigint - 1) n, LATERAL (SELECT $2::bigint + (n * $3::bigint / $1::bigint) AS c) t`, [events, start, span, Math.max(1, Math.floor(events / EVENTS_PER_MEDIA))]);
  log(`events ${events} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  const t2 = performance.now();
  await client.query(`INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, due_at, last_status_code, created, last_modified)
    SELECT 'msg_' || lpad(to_hex(n * ${FANOUT} + k), 24, '0'), 'evt_' || lpad(to_hex(n), 16, '0'), w.ids[1 + ((n * ${FANOUT} + k) % ${WEBHOOKS})],
      CASE WHEN (n + k) % 20 = 0 THEN 'failed' ELSE 'succeeded' END, CASE WHEN (n + k) % 20 = 0 THEN 3 ELSE 1 END, NULL,
      CASE WHEN (n + k) % 20 = 0 THEN 500 ELSE 200 END, c, c + 1000
    FROM (SELECT array_agg(id ORDER BY id) AS ids FROM webhooks WHERE name = 'bulk') w,
      generate_series(0, $1::bigint - 1) n, generate_series(0, ${FANOUT - 1}) k,
      LATERAL (SELECT $2::bigint + (n * $3::bigint / $1::bigint) AS c) t`, [events, start, span]);
  log(`deliveries ${events * FANOUT} in ${((performance.now() - t2) / 1000).toFixed(0)} s`);
  const t3 = performance.now();
  await client.query(`INSERT INTO attempts (delivery_id, ${partitioned ? 'delivery_created, ' : ''}attempted_at, status_code, duration_ms, response_body)
    SELECT d.id, ${partitioned ? 'd.created, ' : ''}d.created + a * 60000, d.last_status_code, 40, CASE WHEN d.last_status_code = 200 THEN 'ok' ELSE 'upstream error' END
    FROM deliveries d, generate_series(1, 3) a WHERE a <= d.attempts`);
  log(`attempts in ${((performance.now() - t3) / 1000).toFixed(0)} s`);
  // As autovacuum would have by then: statistics, and the visibility map that index-only scans use.
  await client.query('VACUUM ANALYZE events, deliveries, attempts');
}

/** Partitions for the month's days, named and bounded as src/store/postgres/partitions.ts makes them. */
async function pastPartitions(client, start) {
  for (let from = Math.floor(start / DAY) * DAY; from < Math.floor(Date.now() / DAY) * DAY; from += DAY) {
    const iso = new Date(from).toISOString();
    const suffix = `_p${iso.slice(0, 10).replaceAll('-', '')}_0000`;
    for (const table of ['events', 'deliveries', 'attempts']) {
      await client.query(`CREATE TABLE IF NOT EXISTS ${table}${suffix} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${from + DAY})`);
    }
  }
}

/** The oldest `n`-th day's end: retention with `before` at it takes days 1 to n. */
const dayEnd = (start, n) => (Math.floor(start / DAY) + n) * DAY;

export async function scale({ quick, Server, Receiver, inParallel, rate, OPERATOR_KEY, ROOT }) {
  const { default: pg } = await import('pg');
  const { default: pino } = await import('pino');
  const { PostgresStore } = await import(join(ROOT, 'dist/store/postgres/index.js'));
  const { MIGRATIONS } = await import(join(ROOT, 'dist/store/postgres/migrations.js'));
  const { Retention } = await import(join(ROOT, 'dist/maintenance/retention.js'));
  const deliveries = Number(process.env.HOOKLINE_BENCH_SCALE_DELIVERIES) || (quick ? 300_000 : 10_000_000);
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const urlOf = (schema) => `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  const tag = Date.now();
  const part = `bench_${tag}_partitioned`;
  const flat = `bench_${tag}_unpartitioned`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  const log = (line) => process.stdout.write(`\n    ${line}`);
  // Midnight (UTC), so that each day of rows is a whole partition.
  const start = Math.floor((Date.now() - DAYS * DAY) / DAY) * DAY;
  const env = { DATABASE_URL: urlOf(part), HOOKLINE_SECRET_KEY: randomBytes(32).toString('base64'), HOOKLINE_RETENTION: '3650d' };
  const receiver = await Receiver.start();
  const nodes = [];
  const stores = [];
  const result = { deliveries, days: DAYS, webhooks: WEBHOOKS, fanout: FANOUT };
  try {
    // ---- the partitioned layout: a node migrates it and makes the bulk webhooks through the API
    const api = await Server.start({ env, args: ['--role', 'api'] });
    nodes.push(api);
    const endpoints = await Promise.all(Array.from({ length: 10 }, () => receiver.endpoint()));
    await inParallel(WEBHOOKS, 16, (i) => api.call('POST', '/v2/webhooks/', {
      metadata: { name: 'bulk', webhook_url: endpoints[i % 10].url, events: ['media_available'], site_ids: [api.account.siteId] },
    }, api.account.key));
    const p = new pg.Client({ connectionString: base, options: `-c search_path=${part}` });
    await p.connect();
    stores.push({ end: () => p.end() });
    await p.query('SET maintenance_work_mem = \'256MB\'');
    await pastPartitions(p, start);
    log(`building ${deliveries.toLocaleString('en-US')} deliveries in ${part}`);
    const built = performance.now();
    await generate(p, { deliveries, start, partitioned: true, log });
    result.buildSeconds = (performance.now() - built) / 1000;

    // ---- the layout before migration 15, with the same rows
    const f = new pg.Client({ connectionString: base, options: `-c search_path=${flat}` });
    await f.connect();
    stores.push({ end: () => f.end() });
    await f.query(`CREATE SCHEMA ${flat}`);
    await f.query('CREATE TABLE hookline_migrations (version INTEGER PRIMARY KEY, applied BIGINT NOT NULL)');
    for (let i = 0; i < MIGRATIONS.length - 1; i++) {
      await f.query(MIGRATIONS[i]);
      await f.query('INSERT INTO hookline_migrations VALUES ($1, 0)', [i + 1]);
    }
    const copied = performance.now();
    for (const table of ['accounts', 'sites', 'webhooks', 'subscriptions', 'events', 'deliveries']) {
      await f.query(`INSERT INTO ${table} OVERRIDING SYSTEM VALUE SELECT * FROM ${part}.${table}`);
    }
    await f.query(`INSERT INTO attempts OVERRIDING SYSTEM VALUE SELECT delivery_id, seq, attempted_at, status_code, duration_ms, error, response_body, request_headers, response_headers FROM ${part}.attempts`);
    await f.query('VACUUM ANALYZE events, deliveries, attempts');
    log(`copied to ${flat} in ${((performance.now() - copied) / 1000).toFixed(0)} s`);
    const count = async (c) => (await c.query(`SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM deliveries) AS d, (SELECT count(*) FROM attempts) AS a,
      pg_size_pretty(pg_database_size(current_database())) AS db`)).rows[0];
    result.rows = await count(p);
    result.sizeBytes = {
      partitioned: Number((await p.query(`SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c WHERE c.relnamespace = '${part}'::regnamespace AND c.relkind = 'r'`)).rows[0].n),
      unpartitioned: Number((await f.query(`SELECT sum(pg_total_relation_size(c.oid)) AS n FROM pg_class c WHERE c.relnamespace = '${flat}'::regnamespace AND c.relkind = 'r'`)).rows[0].n),
    };
    log(`rows ${JSON.stringify(result.rows)}; bytes ${JSON.stringify(result.sizeBytes)}`);

    // ---- one day's retention, each layout: the oldest day goes
    const partStore = new PostgresStore({ url: urlOf(part), poolSize: 4, queryTimeoutMs: 3_600_000 });
    const flatStore = new PostgresStore({ url: urlOf(flat), poolSize: 4, queryTimeoutMs: 3_600_000 });
    stores.push(partStore, flatStore);
    const quiet = pino({ level: 'silent' });
    // The old layout has no partitions to make or drop: its pass is the batch purge alone.
    const batchOnly = Object.assign(Object.create(flatStore), { preparePartitions: async () => 0, dropPartitions: async () => ({ dropped: 0, kept: 0 }) });
    const passAt = (store, before) => new Retention(store === flatStore ? batchOnly : store, { now: () => before + WINDOW_MS }, quiet, { dataMs: WINDOW_MS, idempotencyMs: DAY }).runOnce();
    const day1 = dayEnd(start, 1);
    const dayRows = Number((await p.query('SELECT count(*) AS n FROM deliveries WHERE created < $1', [day1])).rows[0].n);
    let lsn = await walLsn(admin);
    let t = performance.now();
    await passAt(flatStore, day1);
    result.retentionBatch = { seconds: (performance.now() - t) / 1000, walBytes: await walSince(admin, lsn), deliveries: dayRows };
    log(`batch purge of one day (${dayRows} deliveries): ${JSON.stringify(result.retentionBatch)}`);
    lsn = await walLsn(admin);
    t = performance.now();
    await passAt(partStore, day1);
    result.retentionPartition = { seconds: (performance.now() - t) / 1000, walBytes: await walSince(admin, lsn), deliveries: dayRows };
    log(`partition drop of one day: ${JSON.stringify(result.retentionPartition)}`);
    result.retentionLeft = Number((await p.query('SELECT count(*) AS n FROM deliveries WHERE created < $1', [day1])).rows[0].n)
      + Number((await f.query('SELECT count(*) AS n FROM deliveries WHERE created < $1', [day1])).rows[0].n);

    // ---- the delivery list, by webhook: through the API (the partitioned layout) and at the store (both)
    const webhookIds = (await p.query(`SELECT id FROM webhooks WHERE name = 'bulk' ORDER BY id`)).rows.map((r) => r.id);
    const hook = (i) => webhookIds[i % webhookIds.length];
    const perWebhook = Math.floor(Number(result.rows.d) / WEBHOOKS);
    const deep = Math.min(1_000, Math.floor(perWebhook / 10));
    const get = (path) => api.call('GET', path, undefined, OPERATOR_KEY);
    const samples = quick ? 50 : 200;
    result.list = {
      perWebhook,
      deepPage: deep,
      apiFirst: await timed(samples, (i) => get(`/v2/webhooks/${hook(i)}/deliveries/?page=1&page_length=10`)),
      apiDeep: await timed(samples, (i) => get(`/v2/webhooks/${hook(i)}/deliveries/?page=${deep}&page_length=10`)),
      storeFirst: await timed(samples, (i) => partStore.listDeliveries(hook(i), {}, { page: 1, pageLength: 10 })),
      storeDeep: await timed(samples, (i) => partStore.listDeliveries(hook(i), {}, { page: deep, pageLength: 10 })),
      unpartitionedFirst: await timed(samples, (i) => flatStore.listDeliveries(hook(i), {}, { page: 1, pageLength: 10 })),
      unpartitionedDeep: await timed(samples, (i) => flatStore.listDeliveries(hook(i), {}, { page: deep, pageLength: 10 })),
    };
    const someIds = (await p.query(`SELECT id FROM deliveries TABLESAMPLE SYSTEM (1) LIMIT ${samples}`)).rows.map((r) => r.id);
    result.byId = {
      apiDelivery: await timed(someIds.length, (i) => get(`/v2/deliveries/${someIds[i]}/`)),
      storeDelivery: await timed(someIds.length, (i) => partStore.getDelivery(someIds[i])),
      storeAttempts: await timed(someIds.length, (i) => partStore.listAttempts(someIds[i])),
    };
    log(`list ${JSON.stringify(result.list)}`);
    log(`by id ${JSON.stringify(result.byId)}`);

    // ---- the delivery search (GET /v2/deliveries/), through the API as the operator: pages of
    // 100 by cursor, a webhook's and everyone's, first and deep (the cursor walked there through
    // the API), and by media_id, alone and with a webhook.
    const PAGE = 100;
    const search = (query) => get(`/v2/deliveries/?${new URLSearchParams({ page_length: String(PAGE), ...query })}`);
    const walk = async (query, steps) => {
      let cursor;
      for (let i = 0; i < steps; i++) {
        const page = await search(cursor ? { ...query, cursor } : query);
        if (page.deliveries.length !== PAGE || !page.next_cursor) throw new Error(`search ${JSON.stringify(query)} ended at page ${i + 1}`);
        cursor = page.next_cursor;
      }
      return cursor;
    };
    // The cursor after `steps` pages, read at the database: the walk's for the other webhooks.
    const cursorAt = async (where, values, steps) => {
      const { rows } = await p.query(`SELECT created, id FROM deliveries WHERE ${where} ORDER BY created DESC, id DESC OFFSET ${steps * PAGE - 1} LIMIT 1`, values);
      return `${rows[0].created}.${rows[0].id}`;
    };
    const webhookLeft = Number((await p.query('SELECT count(*) AS n FROM deliveries WHERE webhook_id = $1', [hook(0)])).rows[0].n);
    // A webhook holds about 97,000 deliveries once the oldest day is gone: its deepest full page when under 1,000.
    const hookSteps = Math.min(1_000, Math.floor(webhookLeft / PAGE) - 1);
    const allSteps = Math.min(1_000, Math.floor(Number(result.rows.d) / PAGE / 2));
    let t0 = performance.now();
    const walked = await walk({ webhook_id: hook(0) }, hookSteps);
    const hookWalkSeconds = (performance.now() - t0) / 1000;
    const deepHooks = 10;
    const hookCursors = [walked];
    for (let i = 1; i < deepHooks; i++) hookCursors.push(await cursorAt('webhook_id = $1', [hook(i)], hookSteps));
    if (await cursorAt('webhook_id = $1', [hook(0)], hookSteps) !== walked) throw new Error('the walked cursor is not the database\'s');
    t0 = performance.now();
    const allCursor = await walk({}, allSteps);
    const allWalkSeconds = (performance.now() - t0) / 1000;
    // Media whose events (and so deliveries) are in the log, and a webhook each went to.
    const media = (await p.query(`SELECT DISTINCT ON (e.media_id) e.media_id, d.webhook_id FROM events e TABLESAMPLE SYSTEM (1)
      JOIN deliveries d ON d.event_id = e.id WHERE e.created >= $1 ORDER BY e.media_id LIMIT ${samples}`, [day1])).rows;
    const perMedia = Number((await p.query(`SELECT count(*) AS n FROM events e JOIN deliveries d ON d.event_id = e.id WHERE e.media_id = ANY($1)`,
      [media.map((m) => m.media_id)])).rows[0].n) / media.length;
    const found = { media: 0, mediaWebhook: 0 };
    result.search = {
      pageLength: PAGE,
      webhookDeepSteps: hookSteps,
      webhookLeft,
      allDeepSteps: allSteps,
      walkSeconds: { webhook: hookWalkSeconds, all: allWalkSeconds },
      deliveriesPerMedia: perMedia,
      webhookFirst: await timed(samples, (i) => search({ webhook_id: hook(i) })),
      webhookDeep: await timed(samples, (i) => search({ webhook_id: hook(i % deepHooks), cursor: hookCursors[i % deepHooks] })),
      media: await timed(media.length, async (i) => { found.media += (await search({ media_id: media[i].media_id })).deliveries.length; }),
      mediaWebhook: await timed(media.length, async (i) => { found.mediaWebhook += (await search({ media_id: media[i].media_id, webhook_id: media[i].webhook_id })).deliveries.length; }),
      allFirst: await timed(samples, () => search({})),
      allDeep: await timed(samples, () => search({ cursor: allCursor })),
    };
    result.search.found = { media: found.media / media.length, mediaWebhook: found.mediaWebhook / media.length };
    if (found.media === 0 || found.mediaWebhook === 0) throw new Error('the media search found nothing');
    log(`search ${JSON.stringify(result.search)}`);
    // The plans, for the README: what each reads.
    const plan = async (sql, values) => (await p.query(`EXPLAIN ${sql}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
    result.plans = {
      listPage: await plan(`SELECT d.*, e.event, e.test FROM (SELECT d.* FROM deliveries d WHERE d.webhook_id = $1
        ORDER BY d.created DESC, d.seq DESC LIMIT 10 OFFSET $2) d JOIN events e ON e.id = d.event_id ORDER BY d.created DESC, d.seq DESC`, [hook(0), (deep - 1) * 10]),
      listTotal: await plan('SELECT count(*) AS total FROM deliveries d WHERE d.webhook_id = $1', [hook(0)]),
      loadDue: await plan(`SELECT id FROM deliveries WHERE webhook_id = $1 AND status = 'pending' AND due_at <= $2 ORDER BY due_at, seq LIMIT 100`, [hook(0), Date.now()]),
      dropCheck: await plan(`SELECT EXISTS (SELECT 1 FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.replay AND d.created >= $1) AS replayed`, [Date.now()]),
      getDelivery: await plan('SELECT d.*, e.event, e.test FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.id = $1', [someIds[0]]),
      attempts: await plan('SELECT * FROM attempts WHERE delivery_id = $1 ORDER BY attempted_at, seq', [someIds[0]]),
      // The delivery search's three shapes, as src/store/postgres/search-deliveries.ts builds them (the operator's: no account).
      searchWebhookDeep: await plan(`SELECT l.* FROM (SELECT id FROM webhooks WHERE id = $1) w CROSS JOIN LATERAL (
          SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id
          WHERE d.webhook_id = w.id AND d.created <= $2::bigint AND (d.created, d.id) < ($2::bigint, $3::text) ORDER BY d.created DESC, d.id DESC LIMIT 101) l
        ORDER BY l.created DESC, l.id DESC LIMIT 101`, [hook(0), ...walked.split('.')]),
      searchMedia: await plan(`SELECT d.*, e.event FROM events e JOIN deliveries d ON d.event_id = e.id
        WHERE e.media_id = $1 ORDER BY d.created DESC, d.id DESC LIMIT 101`, [media[0].media_id]),
      searchMediaWebhook: await plan(`SELECT d.*, e.event FROM events e JOIN deliveries d ON d.event_id = e.id
        WHERE e.media_id = $1 AND d.webhook_id = $2 ORDER BY d.created DESC, d.id DESC LIMIT 101`, [media[0].media_id, media[0].webhook_id]),
      searchAllDeep: await plan(`SELECT d.*, e.event FROM deliveries d JOIN events e ON e.id = d.event_id
        WHERE d.created <= $1::bigint AND (d.created, d.id) < ($1::bigint, $2::text) ORDER BY d.created DESC, d.id DESC LIMIT 101`, allCursor.split('.')),
    };

    // ---- drain of a live backlog, without and with a retention pass running, in rounds: each
    // round drains the same backlog three times (without; while a pass drops the next old day's
    // partitions; while the batch purge runs on the old layout, for contrast), the order reversed
    // every other round, and the per-round ratios' medians are the figures. The pass starts once a
    // fifth of the backlog has arrived (the drain under way); the batch purge is stopped when the
    // drain ends (it would run for a minute) and goes on from there in the next round.
    const live = await Promise.all(Array.from({ length: LIVE[0] }, () => receiver.endpoint()));
    await inParallel(LIVE[0], 4, (i) => api.call('POST', '/v2/webhooks/', {
      metadata: { name: 'live', webhook_url: live[i].url, events: ['media_updated'], site_ids: [api.account.siteId] },
    }, api.account.key));
    const total = LIVE[0] * LIVE[1];
    const drain = async (during) => {
      const before = (await receiver.stats()).count;
      await inParallel(LIVE[1], 8, (i) => api.report(`live${i}`, 'media_updated'));
      const started = performance.now();
      const worker = await Server.start({ env, args: ['--role', 'worker'], waitFor: /listening on http/ });
      nodes.push(worker);
      let drained;
      const done = new Promise((resolve) => (drained = resolve));
      const extra = during
        ? receiver.waitFor(before + total / 5, 600_000).then(async () => {
          const at = performance.now();
          const figures = await during(done);
          return { ...figures, startedAt: (at - started) / 1000, endedAt: (performance.now() - started) / 1000 };
        })
        : Promise.resolve(null);
      await receiver.waitFor(before + total, 600_000);
      const ms = performance.now() - started;
      drained();
      const pass = await extra;
      await worker.stop();
      nodes.splice(nodes.indexOf(worker), 1);
      return { seconds: ms / 1000, perSecond: rate(total, ms), pass };
    };
    // Day n's three partitions (events, deliveries, attempts), as pastPartitions names them: how many exist.
    const dayTables = async (n) => {
      const suffix = `_p${new Date(dayEnd(start, n - 1)).toISOString().slice(0, 10).replaceAll('-', '')}_0000`;
      const { rows } = await p.query(`SELECT count(to_regclass(t || $1)) AS n FROM unnest(ARRAY['events', 'deliveries', 'attempts']) t`, [suffix]);
      return Number(rows[0].n);
    };
    // The batch purge's reach: days 2 to 7 of the old layout, more than the rounds' drains leave it time for.
    const purgeBefore = dayEnd(start, 2 + DRAIN_ROUNDS);
    const flatLeft = async () => Number((await f.query('SELECT count(*) AS n FROM deliveries WHERE created < $1', [purgeBefore])).rows[0].n);
    const rounds = quick ? 3 : DRAIN_ROUNDS;
    const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
    const pairs = [];
    for (let i = 0; i < rounds; i++) {
      // Day 1 went in the retention line above: round i drops day i + 2.
      const day = i + 2;
      const dayRows = Number((await p.query('SELECT count(*) AS n FROM deliveries WHERE created >= $1 AND created < $2', [dayEnd(start, day - 1), dayEnd(start, day)])).rows[0].n);
      const tablesBefore = await dayTables(day);
      const withRetention = async () => drain(async () => {
        const t0 = performance.now();
        await passAt(partStore, dayEnd(start, day));
        return { seconds: (performance.now() - t0) / 1000 };
      });
      const flatBefore = await flatLeft();
      const withBatchPurge = async () => drain(async (drained) => {
        const t0 = performance.now();
        const pass = new Retention(batchOnly, { now: () => purgeBefore + WINDOW_MS }, quiet, { dataMs: WINDOW_MS, idempotencyMs: DAY });
        const running = pass.runOnce();
        await Promise.race([running, drained]);
        await pass.stop();
        await running;
        return { seconds: (performance.now() - t0) / 1000 };
      });
      const order = [['baseline', () => drain()], ['withRetention', withRetention], ['withBatchPurge', withBatchPurge]];
      const round = {};
      for (const [name, run] of i % 2 === 0 ? order : order.reverse()) round[name] = await run();
      round.withRetention.pass = { ...round.withRetention.pass, day, dayDeliveries: dayRows, partitionsDropped: tablesBefore - await dayTables(day) };
      round.withBatchPurge.pass = { ...round.withBatchPurge.pass, deliveriesPurged: flatBefore - await flatLeft() };
      round.first = i % 2 === 0 ? 'baseline' : 'withBatchPurge';
      round.ratio = round.withRetention.perSecond / round.baseline.perSecond;
      round.batchRatio = round.withBatchPurge.perSecond / round.baseline.perSecond;
      if (round.withRetention.pass.partitionsDropped !== 3) throw new Error(`the pass during round ${i + 1}'s drain dropped ${round.withRetention.pass.partitionsDropped} of day ${day}'s 3 partitions`);
      pairs.push(round);
      log(`drain round ${i + 1}: ${JSON.stringify(round)}`);
    }
    result.drain = {
      deliveries: total,
      pairs,
      ratio: median(pairs.map((r) => r.ratio)),
      batchRatio: median(pairs.map((r) => r.batchRatio)),
      baselinePerSecond: median(pairs.map((r) => r.baseline.perSecond)),
      withRetentionPerSecond: median(pairs.map((r) => r.withRetention.perSecond)),
    };
    log(`drain ratio ${result.drain.ratio}, during a batch purge ${result.drain.batchRatio}`);

    // ---- the upgrade: migration 15 on the old layout (day 1 purged, and what the drain rounds' batch purges reached of days 2 to 7)
    const upgradeRows = await count(f);
    t = performance.now();
    await flatStore.migrate();
    const seconds = (performance.now() - t) / 1000;
    const million = (Number(upgradeRows.e) + Number(upgradeRows.d) + Number(upgradeRows.a)) / 1e6;
    result.upgrade = { seconds, rows: upgradeRows, secondsPerMillionRows: seconds / million };
    log(`upgrade ${JSON.stringify(result.upgrade)}\n  `);
    return result;
  } finally {
    await receiver.stop();
    for (const node of nodes.reverse()) await node.stop();
    for (const s of stores) await (s.close ?? s.end).call(s).catch(() => {});
    if (!process.env.HOOKLINE_BENCH_SCALE_KEEP) {
      await admin.query(`DROP SCHEMA IF EXISTS ${part} CASCADE`);
      await admin.query(`DROP SCHEMA IF EXISTS ${flat} CASCADE`);
    }
    await admin.end();
  }
}

/**
 * The embedded store's retention (npm run bench -- --only retention_sqlite): `deliveries` finished
 * deliveries over DAYS days (events, attempts as above) in a SQLite file, then one day's batch
 * purge, as the Retention pass runs it (batches of 500, each its own transaction).
 */
export async function sqliteRetention({ quick, ROOT }) {
  const { default: pino } = await import('pino');
  const { mkdtempSync, rmSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { SqliteStore } = await import(join(ROOT, 'dist/store/sqlite/index.js'));
  const { Retention } = await import(join(ROOT, 'dist/maintenance/retention.js'));
  const deliveries = Number(process.env.HOOKLINE_BENCH_SCALE_DELIVERIES) || (quick ? 300_000 : 3_000_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-sqlite-'));
  const store = new SqliteStore({ dataDir, synchronous: 'FULL' });
  try {
    const db = store.db;
    const start = Math.floor((Date.now() - DAYS * DAY) / DAY) * DAY;
    const events = Math.ceil(deliveries / FANOUT);
    const t = performance.now();
    db.exec(`INSERT INTO accounts (id, name, created) VALUES ('acct_bulk', 'bulk', 0)`);
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${WEBHOOKS - 1})
      INSERT INTO webhooks (id, account_id, name, description, webhook_url, site_ids, events, secret, created, last_modified)
      SELECT 'hook_' || i, 'acct_bulk', 'bulk', '', 'http://127.0.0.1:9/', '[]', '[]', 's', 0, 0 FROM n`);
    const insert = db.transaction(() => {
      db.exec(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${events - 1})
        INSERT INTO events (id, site_id, event, media_id, event_time, created)
        SELECT printf('evt_%016x', i), 'site_bulk', 'media_available', 'm' || (i % 200000), c, c FROM (SELECT i, ${start} + (i * ${DAYS * DAY} / ${events}) AS c FROM n)`);
      db.exec(`INSERT INTO deliveries (id, event_id, webhook_id, status, attempts, due_at, last_status_code, created, last_modified)
        SELECT printf('msg_%024x', e.rowid * ${FANOUT} + k.k), e.id, 'hook_' || ((e.rowid * ${FANOUT} + k.k) % ${WEBHOOKS}),
          CASE WHEN (e.rowid + k.k) % 20 = 0 THEN 'failed' ELSE 'succeeded' END, CASE WHEN (e.rowid + k.k) % 20 = 0 THEN 3 ELSE 1 END, NULL,
          CASE WHEN (e.rowid + k.k) % 20 = 0 THEN 500 ELSE 200 END, e.created, e.created + 1000
        FROM events e, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k`);
      db.exec(`INSERT INTO attempts (delivery_id, attempted_at, status_code, duration_ms, response_body)
        SELECT d.id, d.created + a.a * 60000, d.last_status_code, 40, 'ok'
        FROM deliveries d, (SELECT 1 AS a UNION ALL SELECT 2 UNION ALL SELECT 3) a WHERE a.a <= d.attempts`);
    });
    insert();
    db.exec('ANALYZE');
    const buildSeconds = (performance.now() - t) / 1000;
    const file = join(dataDir, 'hookline.db');
    const bytes = statSync(file).size;
    const before = (Math.floor(start / DAY) + 1) * DAY;
    const dayRows = db.prepare('SELECT count(*) AS n FROM deliveries WHERE created < ?').get(before).n;
    const t2 = performance.now();
    await new Retention(store, { now: () => before + 30 * DAY }, pino({ level: 'silent' }), { dataMs: 30 * DAY, idempotencyMs: DAY }).runOnce();
    const seconds = (performance.now() - t2) / 1000;
    const left = db.prepare('SELECT count(*) AS n FROM deliveries WHERE created < ?').get(before).n;
    return { deliveries, buildSeconds, bytes, bytesPerDelivery: bytes / deliveries, day: { deliveries: dayRows, seconds, perSecond: dayRows / seconds, left } };
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
