#!/usr/bin/env node
// npm run bench: measures Hookline as it runs, against the built dist/. Each measurement starts
// its own server process (`hookline start --dev`, a temp data dir, a fixed operator key) and its
// own receiver process (bench/receiver.mjs), so figures include real HTTP and the real store,
// and no measurement inherits another's rows. Prints a table and writes JSON in bench/results/.
//
//   npm run bench [-- --quick] [--only <name>[,<name>]] [--store sqlite|postgres] [--profile]

import { fork, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, Pool } from 'undici';
import { scale, sqliteRetention } from './scale.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli/index.js');
const RESULTS = join(ROOT, 'bench/results');
const OPERATOR_KEY = 'hlk_bench_operator_key_0123456789abcdefghij';
const now = () => Number(process.hrtime.bigint()) / 1e6; // the receiver's clock too
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- options

const USAGE = `Usage: npm run bench [-- options]
  --quick              smaller counts: the whole run takes under a minute
  --only <names>       comma-separated measurements: ceiling, ingest, delivery, latency, latency_2k, fanout,
                       isolation, fairness, backlog, ordering, tracing, retention_sqlite (with --store postgres: ceiling, delivery_1w, delivery_2w, latency_pg,
                       scale: 10,000,000 deliveries, retention by partition vs batch purge, bench/scale.mjs)
  --store <store>      sqlite (default) or postgres (DATABASE_URL, or postgres://postgres@127.0.0.1:5432/test):
                       deliveries/s with one --role api and 1, then 2, --role worker processes
  --profile            writes a CPU profile of each server a measurement starts (bench/results/profile-*)
`;

function parseOptions(argv) {
  const options = { quick: false, only: undefined, store: 'sqlite', profile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--quick') options.quick = true;
    else if (arg === '--profile') options.profile = true;
    else if (arg === '--only') options.only = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (arg === '--store') options.store = argv[++i];
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else usage(`unknown option ${arg}`);
  }
  if (!['sqlite', 'postgres'].includes(options.store)) usage(`--store takes sqlite or postgres, not ${options.store}`);
  return options;
}

function usage(message) {
  process.stderr.write(`bench: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// Counts per mode. The quick ones keep every measurement meaningful but small.
const SIZES = {
  full: { ceiling: 100_000, ingest: 30_000, delivery: [100, 1_000], tracingPairs: 5, latencySeconds: 10, fanoutRepeats: 3, isolationEvents: 5_000, isolationWindowMs: 60_000, fairness: [100, 1_000], backlog: [1_000, 1_000], backlogTimeoutMs: 900_000, ordering: [10, 10_000, 1_000] },
  quick: { ceiling: 10_000, ingest: 2_000, delivery: [100, 100], tracingPairs: 3, latencySeconds: 2, fanoutRepeats: 1, isolationEvents: 600, isolationWindowMs: 6_000, fairness: [100, 50], backlog: [100, 100], backlogTimeoutMs: 60_000, ordering: [10, 1_000, 100] },
};

const TARGETS = {
  deliveryRatio: 0.5,
  latencyP99Ms: 10,
  latency2kP99Ms: 25,
  isolationRatio: 0.9,
  fairnessP99Ms: 50,
  peakRssMb: 300,
  tracingRatio: 0.9,
};

// HTTP concurrency of the ceiling and of the ingest clients: Hookline's default in-flight cap.
const CEILING_CONCURRENCY = 512;
const INGEST_CONCURRENCY = 64;

// ---------------------------------------------------------------- the receiver process

class Receiver {
  static async start() {
    const r = new Receiver();
    r.child = fork(join(ROOT, 'bench/receiver.mjs'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    r.pending = new Map();
    r.nextId = 0;
    r.child.on('message', ({ id, result }) => {
      r.pending.get(id)?.(result);
      r.pending.delete(id);
    });
    return r;
  }

  call(cmd, args) {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ id, cmd, args });
    });
  }

  /** Opens an endpoint and returns its URL. */
  async endpoint(mode = 'ok') {
    const port = await this.call('listen', { mode });
    return { port, url: `http://127.0.0.1:${port}/hooks` };
  }

  stats() {
    return this.call('stats');
  }

  /** Arrival time of each tagged event, by its number. */
  async tagged() {
    return new Map(Object.entries(await this.call('tagged')).map(([n, t]) => [Number(n), t]));
  }

  /** Waits until `count` requests arrived (at `endpoints` if given); throws at the timeout. */
  async waitFor(count, timeoutMs, endpoints) {
    const ok = await this.call('waitFor', { count, timeoutMs, endpoints: endpoints?.map((e) => e.port) });
    if (!ok) throw new Error(`the receiver got ${(await this.stats()).count} of ${count} requests within ${timeoutMs} ms`);
  }

  async stop() {
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.disconnect();
    await exited;
  }
}

// ---------------------------------------------------------------- the server process

/** A `hookline start` child process, with the account its first start made (or the given one). */
class Server {
  static async start({ env = {}, args = [], nodeArgs = [], waitFor = /account API key \(shown once, keep it\): (hlk_\S+)/ } = {}) {
    const s = new Server();
    s.dataDir = mkdtempSync(join(tmpdir(), 'hookline-bench-'));
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HOOKLINE_') && name !== 'DATABASE_URL'));
    s.child = spawn(process.execPath, [...nodeArgs, CLI, 'start', '--dev', ...args], {
      cwd: s.dataDir,
      env: {
        ...inherited,
        HOOKLINE_PORT: '0',
        HOOKLINE_DATA_DIR: s.dataDir,
        HOOKLINE_OPERATOR_KEY: OPERATOR_KEY,
        // The benchmark is one client with one key: the per-key limits would measure themselves.
        HOOKLINE_RATE_LIMIT: '0',
        HOOKLINE_INTAKE_RATE_LIMIT: '0',
        // One account: its share of the dispatcher's places is all of them, as in a single-tenant setup.
        HOOKLINE_ACCOUNT_MAX_IN_FLIGHT: '512',
        HOOKLINE_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    s.output = '';
    s.child.stdout.on('data', (d) => (s.output += d));
    s.child.stderr.on('data', (d) => (s.output += d));
    s.exited = new Promise((r) => s.child.once('exit', (code, signal) => r(code ?? signal)));
    const deadline = Date.now() + 30_000;
    while (!waitFor.test(s.output)) {
      if (s.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`hookline start did not come up; its output:\n${s.output}`);
      }
      await sleep(20);
    }
    const url = /listening on (http:\/\/\S+)/.exec(s.output)?.[1];
    if (url) s.url = url;
    const site = /property \(site_id\): (\S+)/.exec(s.output)?.[1];
    const key = /account API key \(shown once, keep it\): (hlk_\S+)/.exec(s.output)?.[1];
    if (site) s.account = { siteId: site, key };
    return s;
  }

  /** CPU time (user + system) the process has used so far, in ms (/proc/<pid>/stat, in clock ticks of 10 ms). */
  cpuMs() {
    const fields = readFileSync(`/proc/${this.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  /** Peak resident memory of the process so far (VmHWM), in MB. */
  peakRssMb() {
    const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
  }

  /** SIGTERM (which finishes what is in flight), SIGKILL if it takes longer than `graceMs`. */
  async stop(graceMs = 15_000) {
    this.client?.close();
    if (this.child.exitCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  http() {
    this.client ??= new Pool(this.url, { connections: INGEST_CONCURRENCY });
    return this.client;
  }

  async call(method, path, body, key) {
    const res = await this.http().request({
      method,
      path,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text);
  }

  createWebhook(url, events) {
    return this.call('POST', '/v2/webhooks/', {
      metadata: { name: 'bench', webhook_url: url, events, site_ids: [this.account.siteId] },
    }, this.account.key);
  }

  /** Creates `count` webhooks, spread round-robin over `endpoints`. */
  async createWebhooks(count, endpoints, events = ['media_available']) {
    await inParallel(count, 16, (i) => this.createWebhook(endpoints[i % endpoints.length].url, events));
  }

  /** Reports one event; resolves with the number of deliveries it made. */
  async report(mediaId, event = 'media_available') {
    const body = await this.call('POST', `/v2/sites/${this.account.siteId}/events/`, { event, media_id: mediaId }, OPERATOR_KEY);
    return body.deliveries;
  }
}

/** Runs fn(0…count-1) with at most `concurrency` at once; resolves with the results. */
async function inParallel(count, concurrency, fn) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Sends `count` events at `perSecond`, tagged t<offset+i>; returns each one's send time. */
async function paced(server, count, perSecond, offset = 0, event = 'media_available') {
  const sentAt = new Float64Array(count);
  const inFlight = [];
  const start = now();
  for (let i = 0; i < count; ) {
    const due = start + (i * 1000) / perSecond;
    if (now() < due) {
      await sleep(Math.max(0, due - now() - 0.5));
      continue;
    }
    sentAt[i] = now();
    inFlight.push(server.report(`t${offset + i}`, event));
    i++;
  }
  await Promise.all(inFlight);
  return sentAt;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function latencies(sentAt, arrivals, offset = 0) {
  const values = [];
  sentAt.forEach((sent, i) => {
    const at = arrivals.get(offset + i);
    if (at !== undefined) values.push(at - sent);
  });
  values.sort((a, b) => a - b);
  return { count: values.length, p50: percentile(values, 50), p95: percentile(values, 95), p99: percentile(values, 99), max: values.at(-1) ?? null };
}

const rate = (count, ms) => (ms > 0 ? (count * 1000) / ms : null);

/**
 * Deliveries per second while draining: `webhooks` over 10 endpoints, each of `events` fanned out
 * to all of them, so intake costs a hundredth of the deliveries.
 */
async function drain(server, receiver, [webhooks, events]) {
  const endpoints = await Promise.all(Array.from({ length: 10 }, () => receiver.endpoint()));
  await server.createWebhooks(webhooks, endpoints);
  const total = webhooks * events;
  const cpuBefore = server.cpuMs();
  await inParallel(events, 8, (i) => server.report(`m${i}`));
  await receiver.waitFor(total, 600_000);
  const cpuMs = server.cpuMs() - cpuBefore;
  const s = await receiver.stats();
  return {
    deliveries: total,
    webhooks,
    perSecond: rate(s.count - 1, s.last - s.first),
    // The middle 80 % leaves out the start and the tail.
    steadyPerSecond: rate(0.8 * s.count, s.p90 - s.p10),
    // The server's CPU for the events' intake and their deliveries: what it costs whatever else runs on the machine.
    serverCpuUsPerDelivery: (cpuMs * 1000) / total,
  };
}

/**
 * Runs `fn(server, receiver)` with a fresh server and receiver, and stops both after. `options`
 * may be a function of the receiver (a server that needs one of its endpoints from the start).
 */
async function withServer(options, fn) {
  const receiver = await Receiver.start();
  let server;
  try {
    server = await Server.start(typeof options === 'function' ? await options(receiver) : options);
    return await fn(server, receiver);
  } finally {
    // The receiver goes first: what hangs on it fails at once, so the server stops promptly.
    await receiver.stop();
    await server?.stop();
  }
}

// ---------------------------------------------------------------- the measurements

// The body and headers a delivery carries, for the ceiling to send the same bytes.
function sampleDelivery() {
  const body = JSON.stringify({ event: 'media_available', media_id: 'm0000001', webhook_id: 'Ab3dE6gH', site_id: 'Xy9kP0aQ', event_time: '2026-11-27T03:00:00+00:00' });
  const b64 = (n) => randomBytes(n).toString('base64url');
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Hookline/0.1',
      authorization: `Bearer ${b64(27)}.${Buffer.from(body).toString('base64url')}.${b64(32)}`,
      'webhook-id': `msg_${b64(15)}`,
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': `v1,${randomBytes(32).toString('base64')}`,
    },
  };
}

/** Intake → receiver at `perSecond` events/s to 1 webhook, after a warm-up. */
function pacedLatency(perSecond, { sizes, serverOptions }) {
  return withServer(serverOptions, async (server, receiver) => {
    await server.createWebhook((await receiver.endpoint()).url, ['media_available']);
    const warmup = perSecond / 2;
    await paced(server, warmup, perSecond, 1_000_000);
    const count = sizes.latencySeconds * perSecond;
    const sentAt = await paced(server, count, perSecond);
    await receiver.waitFor(warmup + count, 30_000);
    return { perSecond, ...latencies(sentAt, await receiver.tagged()) };
  });
}

const measurements = {
  retention_sqlite: ({ sizes }) => sqliteRetention({ quick: sizes === SIZES.quick, ROOT }),
  /** Raw undici POSTs of a delivery's bytes to the receiver: what the machine's HTTP allows. */
  async ceiling({ sizes }) {
    const receiver = await Receiver.start();
    try {
      const endpoints = await Promise.all(Array.from({ length: 10 }, () => receiver.endpoint()));
      // Hookline's sender: one agent, up to 128 connections per origin, kept alive.
      const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
      const { body, headers } = sampleDelivery();
      const post = (i) =>
        agent.request({ origin: `http://127.0.0.1:${endpoints[i % endpoints.length].port}`, path: '/hooks', method: 'POST', headers, body })
          .then((res) => res.body.text());
      await inParallel(Math.min(5_000, sizes.ceiling / 10), CEILING_CONCURRENCY, post); // warm the connections
      const started = now();
      await inParallel(sizes.ceiling, CEILING_CONCURRENCY, post);
      const ms = now() - started;
      await agent.close();
      return { requests: sizes.ceiling, concurrency: CEILING_CONCURRENCY, endpoints: endpoints.length, perSecond: rate(sizes.ceiling, ms) };
    } finally {
      await receiver.stop();
    }
  },

  /** Events accepted per second (each 202 comes after its commit), 1 subscribed webhook. */
  async ingest({ sizes, serverOptions }) {
    return withServer(serverOptions, async (server, receiver) => {
      await server.createWebhook((await receiver.endpoint()).url, ['media_available']);
      await inParallel(500, INGEST_CONCURRENCY, (i) => server.report(`w${i}`));
      const started = now();
      await inParallel(sizes.ingest, INGEST_CONCURRENCY, (i) => server.report(`m${i}`));
      const ms = now() - started;
      return { events: sizes.ingest, concurrency: INGEST_CONCURRENCY, perSecond: rate(sizes.ingest, ms) };
    });
  },

  /**
   * Deliveries per second while draining: 100 webhooks over the 10 endpoints the ceiling used,
   * each event fanned out to all of them, so intake costs a hundredth of the deliveries.
   */
  async delivery({ sizes, serverOptions }) {
    return withServer(serverOptions, (server, receiver) => drain(server, receiver, sizes.delivery));
  },

  /**
   * The delivery line's drain with tracing off and on (OTLP/HTTP protobuf, the SDK's defaults, to
   * a null collector in the receiver process), in pairs one right after the other (which goes
   * first alternates): per pair, the ratio of the drain rates, and the ratio of the server's CPU
   * per delivery (untraced / traced), which a machine shared with other work disturbs less; the
   * medians of both.
   */
  async tracing({ sizes, serverOptions }) {
    const off = () => withServer(serverOptions, (server, receiver) => drain(server, receiver, sizes.delivery));
    const traced = async (receiver) => {
      const collector = await receiver.endpoint('collector');
      return { ...serverOptions, env: { ...serverOptions.env, OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${collector.port}` } };
    };
    const on = () => withServer(traced, async (server, receiver) => ({
      ...(await drain(server, receiver, sizes.delivery)),
      // What reached the collector by the end of the drain (a batch of up to 512 waits for the SDK's 5 s timer).
      collected: await receiver.call('collected'),
    }));
    const pairs = [];
    for (let i = 0; i < sizes.tracingPairs; i++) {
      const [a, b] = i % 2 === 0 ? [await off(), await on()] : [await on(), await off()].reverse();
      pairs.push({ off: a, on: b, ratio: b.perSecond / a.perSecond, cpuRatio: a.serverCpuUsPerDelivery / b.serverCpuUsPerDelivery });
    }
    const median = (values) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)];
    return { pairs, ratio: median(pairs.map((p) => p.ratio)), cpuRatio: median(pairs.map((p) => p.cpuRatio)) };
  },

  /** Intake → receiver at a fixed 1,000 events/s, 1 webhook: the intake's commit included. */
  latency: (context) => pacedLatency(1_000, context),

  /** The same at 2,000 events/s. */
  latency_2k: (context) => pacedLatency(2_000, context),

  /** One event to 1,000 webhooks: time from the intake request to the last delivery's arrival. */
  async fanout({ sizes, serverOptions }) {
    return withServer(serverOptions, async (server, receiver) => {
      await server.createWebhooks(1_000, [await receiver.endpoint()]);
      const runs = [];
      for (let i = 0; i < sizes.fanoutRepeats; i++) {
        const before = (await receiver.stats()).count;
        const sent = now();
        await server.report(`m${i}`);
        await receiver.waitFor(before + 1_000, 60_000);
        runs.push((await receiver.stats()).last - sent);
      }
      runs.sort((a, b) => a - b);
      return { webhooks: 1_000, runs: runs.length, medianMs: runs[Math.floor(runs.length / 2)], allMs: runs };
    });
  },

  /** Healthy deliveries/s with 1 black-hole endpoint among 10, and with all 10 healthy. */
  async isolation({ sizes, serverOptions }) {
    const healthyRate = (holes) =>
      withServer(serverOptions, async (server, receiver) => {
        const endpoints = [];
        for (let i = 0; i < 10; i++) endpoints.push(await receiver.endpoint(i < holes ? 'hole' : 'ok'));
        await server.createWebhooks(10, endpoints);
        const healthy = endpoints.slice(holes);
        const expected = sizes.isolationEvents * healthy.length;
        const started = now();
        await inParallel(sizes.isolationEvents, 16, (i) => server.report(`m${i}`));
        const all = await receiver.waitFor(expected, sizes.isolationWindowMs, healthy).then(() => true, () => false);
        const s = await receiver.stats();
        const arrived = healthy.reduce((n, e) => n + (s.perEndpoint[e.port] ?? 0), 0);
        const ms = (all ? s.last : now()) - started;
        return { healthyDeliveries: arrived, expected, perSecond: rate(arrived, ms) };
      });
    const allHealthy = await healthyRate(0);
    const oneHole = await healthyRate(1);
    return { allHealthy, oneBlackHole: oneHole, ratio: oneHole.perSecond / allHealthy.perSecond };
  },

  /**
   * A quiet webhook's latency while a backlog drains: 100 busy webhooks on one endpoint get
   * 100,000 deliveries (quick: 10,000) at once, then the quiet one, on its own endpoint and
   * event type, gets 50 events/s until the backlog is gone.
   */
  async fairness({ sizes, serverOptions }) {
    const [webhooks, events] = sizes.fairness;
    // The quiet endpoint is another customer's server: a receiver process of its own, so that
    // what is measured is Hookline's queueing, not the busy receiver's.
    const quietReceiver = await Receiver.start();
    try {
      return await withServer(serverOptions, async (server, receiver) => {
      const busy = await receiver.endpoint();
      const quiet = await quietReceiver.endpoint();
      await server.createWebhooks(webhooks, [busy], ['media_available']);
      await server.createWebhook(quiet.url, ['media_created']);
      const backlog = webhooks * events;
      await inParallel(events, 8, (i) => server.report(`m${i}`));
      const sends = [];
      let drained = false;
      const done = receiver.waitFor(backlog, 600_000, [busy]).finally(() => (drained = true));
      let sent = 0;
      while (!drained) {
        sends.push(paced(server, 25, 50, sent, 'media_created'));
        sent += 25;
        await sends.at(-1);
      }
      await done;
      await quietReceiver.waitFor(sent, 30_000, [quiet]);
      const arrivals = await quietReceiver.tagged();
      const sentAt = (await Promise.all(sends)).flatMap((a) => [...a]);
      return { backlog, quietEvents: sent, ...latencies(sentAt, arrivals) };
    });
    } finally {
      await quietReceiver.stop();
    }
  },

  /**
   * What per-media ordering costs: the same drain twice, each on a fresh server, 10 webhooks on
   * 10 endpoints and 10,000 events (quick: 1,000) over 1,000 media (quick: 100), each media's
   * events spread through the stream: once with ordering none, once with per_media (one delivery
   * of a media at a time per webhook, in commit order). The ratio is per_media's rate over none's.
   */
  async ordering({ sizes, serverOptions }) {
    const [webhooks, events, media] = sizes.ordering;
    const drain = (ordering) => withServer(serverOptions, async (server, receiver) => {
      const endpoints = await Promise.all(Array.from({ length: 10 }, () => receiver.endpoint()));
      await inParallel(webhooks, 16, (i) => server.call('POST', '/v2/webhooks/', {
        metadata: { name: 'bench', webhook_url: endpoints[i % endpoints.length].url, events: ['media_available'], site_ids: [server.account.siteId] },
        ordering,
      }, server.account.key));
      const total = webhooks * events;
      await inParallel(events, 8, (i) => server.report(`m${i % media}`));
      await receiver.waitFor(total, 600_000);
      const s = await receiver.stats();
      return { deliveries: total, perSecond: rate(s.count - 1, s.last - s.first) };
    });
    const none = await drain('none');
    const perMedia = await drain('per_media');
    return { webhooks, events, media, none, perMedia, ratio: perMedia.perSecond / none.perSecond };
  },

  /** 1,000,000 deliveries (1,000 webhooks × 1,000 events) drained, with the server's peak RSS. */
  async backlog({ sizes, serverOptions }) {
    const [webhooks, events] = sizes.backlog;
    return withServer(serverOptions, async (server, receiver) => {
      await server.createWebhooks(webhooks, [await receiver.endpoint()]);
      const total = webhooks * events;
      const started = now();
      let accepted = 0;
      await inParallel(events, 4, async (i) => {
        const deliveries = await server.report(`m${i}`);
        accepted += deliveries;
      });
      const ingestMs = now() - started;
      const arrivedByIngestEnd = (await receiver.stats()).count;
      await receiver.waitFor(total, sizes.backlogTimeoutMs);
      const s = await receiver.stats();
      return {
        deliveries: total,
        accepted,
        ingestSeconds: ingestMs / 1000,
        // Pending when intake ended: the backlog really reached this size.
        pendingAtIngestEnd: accepted - arrivedByIngestEnd,
        drainSeconds: (s.last - started) / 1000,
        perSecond: rate(total, s.last - started),
        peakRssMb: server.peakRssMb(),
      };
    });
  },
};

// ---------------------------------------------------------------- PostgreSQL: api + workers

/** Deliveries/s on PostgreSQL with `workers` dispatcher processes and one API process. */
async function postgresDelivery(workers, { sizes }) {
  const [webhooks, events] = sizes.delivery;
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${Date.now()}_${workers}w`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  const env = { DATABASE_URL: url, HOOKLINE_SECRET_KEY: randomBytes(32).toString('base64') };
  const receiver = await Receiver.start();
  const nodes = [];
  try {
    const api = await Server.start({ env, args: ['--role', 'api'] });
    nodes.push(api);
    const endpoints = await Promise.all(Array.from({ length: 10 }, () => receiver.endpoint()));
    await api.createWebhooks(webhooks, endpoints);
    const total = webhooks * events;
    // No worker yet: the whole backlog is pending when the workers start.
    await inParallel(events, 8, (i) => api.report(`m${i}`));
    const started = now();
    for (let i = 0; i < workers; i++) {
      nodes.push(await Server.start({ env, args: ['--role', 'worker'], waitFor: /listening on http/ }));
    }
    await receiver.waitFor(total, 600_000);
    const s = await receiver.stats();
    return { workers, deliveries: total, perSecond: rate(s.count - 1, s.last - s.first), fromStartPerSecond: rate(total, s.last - started), schema };
  } finally {
    await receiver.stop();
    for (const node of nodes.reverse()) await node.stop();
    await dropSchema(base, schema);
  }
}

/** Intake → receiver at 1,000 events/s on one PostgreSQL node (api and worker in one process). */
async function postgresLatency({ sizes }) {
  const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${Date.now()}_latency`;
  const url = `${base}${base.includes('?') ? '&' : '?'}schema=${schema}`;
  try {
    return await pacedLatency(1_000, { sizes, serverOptions: { env: { DATABASE_URL: url, HOOKLINE_SECRET_KEY: randomBytes(32).toString('base64') } } });
  } finally {
    await dropSchema(base, schema);
  }
}

/** The run's rows go with its schema. */
async function dropSchema(url, schema) {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

function supportsRoles() {
  const help = spawnSync(process.execPath, [CLI, 'start', '--help'], { encoding: 'utf8' });
  return /--role\b/.test(help.stdout);
}

// ---------------------------------------------------------------- report

const fmt = (n, digits = 0) => (n === null || n === undefined || Number.isNaN(n) ? '—' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));

function rows(results) {
  const r = results;
  const out = [];
  const met = (ok) => (ok === undefined ? '' : ok ? 'met' : 'MISSED');
  if (r.ceiling) out.push(['ceiling', `${fmt(r.ceiling.perSecond)} req/s`, 'raw undici, no storage', '']);
  if (r.ingest) out.push(['ingest', `${fmt(r.ingest.perSecond)} events/s`, '202 after commit, 1 webhook', '']);
  if (r.delivery) {
    const ratio = r.ceiling ? r.delivery.perSecond / r.ceiling.perSecond : undefined;
    r.delivery.ratioToCeiling = ratio ?? null;
    out.push(['delivery', `${fmt(r.delivery.perSecond)} deliveries/s${ratio === undefined ? '' : ` = ${fmt(ratio * 100)} % of ceiling`}`, `≥ ${TARGETS.deliveryRatio * 100} % of ceiling`, met(ratio === undefined ? undefined : ratio >= TARGETS.deliveryRatio)]);
  }
  for (const [name, target] of [['latency', TARGETS.latencyP99Ms], ['latency_2k', TARGETS.latency2kP99Ms], ['latency_pg', TARGETS.latencyP99Ms]]) {
    const l = r[name];
    if (l) out.push([name, `p50 ${fmt(l.p50, 1)} / p95 ${fmt(l.p95, 1)} / p99 ${fmt(l.p99, 1)} ms at ${fmt(l.perSecond)} ev/s`, `p99 ≤ ${target} ms`, met(l.p99 <= target)]);
  }
  if (r.fanout) out.push(['fanout', `${fmt(r.fanout.medianMs)} ms to the last of 1,000`, '', '']);
  if (r.isolation) out.push(['isolation', `ratio ${fmt(r.isolation.ratio, 2)} (${fmt(r.isolation.oneBlackHole.perSecond)} vs ${fmt(r.isolation.allHealthy.perSecond)} healthy/s)`, `≥ ${TARGETS.isolationRatio}`, met(r.isolation.ratio >= TARGETS.isolationRatio)]);
  if (r.fairness) out.push(['fairness', `quiet p99 ${fmt(r.fairness.p99, 1)} ms while ${fmt(r.fairness.backlog)} drain`, `p99 ≤ ${TARGETS.fairnessP99Ms} ms`, met(r.fairness.p99 <= TARGETS.fairnessP99Ms)]);
  if (r.ordering) {
    const o = r.ordering;
    out.push(['ordering', `ratio ${fmt(o.ratio, 2)} (per_media ${fmt(o.perMedia.perSecond)} vs none ${fmt(o.none.perSecond)} deliveries/s)`, `${fmt(o.webhooks * o.events)} deliveries, ${fmt(o.media)} media`, '']);
  }
  if (r.tracing) {
    const t = r.tracing;
    const all = (key) => t.pairs.map((p) => fmt(p[key], 2)).join(', ');
    const spans = t.pairs.map((p) => fmt(p.on.collected.spans)).join(', ');
    out.push(['tracing', `drain traced / untraced: ${fmt(t.ratio, 2)} (pairs ${all('ratio')}); server CPU per delivery untraced / traced: ${fmt(t.cpuRatio, 2)} (pairs ${all('cpuRatio')}); spans collected ${spans}`, `≥ ${TARGETS.tracingRatio}`, met(t.ratio >= TARGETS.tracingRatio)]);
  }
  if (r.backlog) out.push(['backlog', `${fmt(r.backlog.deliveries)} in ${fmt(r.backlog.drainSeconds, 1)} s (${fmt(r.backlog.perSecond)}/s), peak RSS ${fmt(r.backlog.peakRssMb)} MB`, `peak RSS ≤ ${TARGETS.peakRssMb} MB`, met(r.backlog.peakRssMb <= TARGETS.peakRssMb)]);
  if (r.retention_sqlite) {
    const s = r.retention_sqlite;
    out.push(['retention sqlite', `one day's batch purge: ${fmt(s.day.deliveries)} deliveries in ${fmt(s.day.seconds, 1)} s (${fmt(s.day.perSecond)}/s); ${fmt(s.bytesPerDelivery)} bytes a delivery`, `${fmt(s.deliveries)} deliveries`, '']);
  }
  if (r.scale) {
    const s = r.scale;
    const wal = s.retentionPartition.walBytes / s.retentionBatch.walBytes;
    out.push(['scale retention', `partition drop ${fmt(s.retentionPartition.seconds, 2)} s, ${fmt(s.retentionPartition.walBytes / 1024)} KiB WAL; batch purge ${fmt(s.retentionBatch.seconds, 1)} s, ${fmt(s.retentionBatch.walBytes / 2 ** 20)} MiB WAL (${fmt(wal * 100, 3)} %)`,
      `one day of ${fmt(s.retentionBatch.deliveries)}: < 1 s, < 1 % WAL`, met(s.retentionPartition.seconds < 1 && wal < 0.01)]);
    const l = s.list;
    const worst = Math.max(l.apiFirst.p99, l.apiDeep.p99);
    out.push(['scale list', `p99 page 1 ${fmt(l.apiFirst.p99, 1)} ms, page ${fmt(l.deepPage)} ${fmt(l.apiDeep.p99, 1)} ms (API); store ${fmt(l.storeFirst.p99, 1)} / ${fmt(l.storeDeep.p99, 1)} ms, unpartitioned ${fmt(l.unpartitionedFirst.p99, 1)} / ${fmt(l.unpartitionedDeep.p99, 1)} ms`, 'p99 < 50 ms', met(worst < 50)]);
    const q = s.search;
    const worstSearch = Math.max(q.webhookFirst.p99, q.webhookDeep.p99, q.media.p99, q.mediaWebhook.p99, q.allFirst.p99, q.allDeep.p99);
    out.push(['scale search', `p99 (API, pages of ${fmt(q.pageLength)}) webhook page 1 ${fmt(q.webhookFirst.p99, 1)} ms, page ${fmt(q.webhookDeepSteps + 1)} by cursor ${fmt(q.webhookDeep.p99, 1)} ms; `
      + `media_id ${fmt(q.media.p99, 1)} ms, media_id + webhook_id ${fmt(q.mediaWebhook.p99, 1)} ms (${fmt(q.deliveriesPerMedia, 1)} deliveries a media); `
      + `no filter page 1 ${fmt(q.allFirst.p99, 1)} ms, page ${fmt(q.allDeepSteps + 1)} ${fmt(q.allDeep.p99, 1)} ms`, 'p99 < 50 ms', met(worstSearch < 50)]);
    out.push(['scale by id', `p99 GET delivery ${fmt(s.byId.apiDelivery.p99, 1)} ms; store ${fmt(s.byId.storeDelivery.p99, 1)} ms, attempts ${fmt(s.byId.storeAttempts.p99, 1)} ms`, '', '']);
    const d = s.drain;
    const each = (f) => d.pairs.map(f).join(', ');
    out.push(['scale drain', `${fmt(d.deliveries)} live deliveries, ${d.pairs.length} rounds: while a retention pass dropped a day's partitions / without, median ${fmt(d.ratio, 2)} `
      + `(pairs ${each((r) => fmt(r.ratio, 2))}; ${fmt(d.withRetentionPerSecond)} vs ${fmt(d.baselinePerSecond)}/s median; drains ${each((r) => `${fmt(r.withRetention.seconds, 1)}/${fmt(r.baseline.seconds, 1)}`)} s; `
      + `passes ${each((r) => `${fmt(r.withRetention.pass.seconds, 2)} s at ${fmt(r.withRetention.pass.startedAt, 1)} s`)}, ${each((r) => fmt(r.withRetention.pass.partitionsDropped))} partitions dropped); `
      + `while the batch purge ran, median ${fmt(d.batchRatio, 2)} (pairs ${each((r) => fmt(r.batchRatio, 2))})`, '≥ 0.9', met(d.ratio >= 0.9)]);
    out.push(['scale upgrade', `migration 15: ${fmt(s.upgrade.seconds, 0)} s, ${fmt(s.upgrade.secondsPerMillionRows, 1)} s per million rows`, '', '']);
  }
  for (const k of [1, 2]) {
    const p = r[`delivery_${k}w`];
    if (!p) continue;
    const ratio = r.ceiling ? p.perSecond / r.ceiling.perSecond : undefined;
    p.ratioToCeiling = ratio ?? null;
    out.push([`delivery ${k}w`, `${fmt(p.perSecond)} deliveries/s${ratio === undefined ? '' : ` = ${fmt(ratio * 100)} % of ceiling`}`, `${k} worker process${k > 1 ? 'es' : ''}`, '']);
  }
  return out;
}

function printTable(table) {
  const head = ['measure', 'figure', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  console.log(`\n${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of table) console.log(line(row));
}

function stamp() {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** The newest file under `dir`: dist/ is older than src/ when src/ holds a newer file than any in dist/ (the build generates src/client/openapi.ts before it compiles it into dist/). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

// ---------------------------------------------------------------- main

/** Server options that write a CPU profile of each server the measurement starts. */
function profiled(name) {
  const dir = join(RESULTS, `profile-${stamp()}-${name}`);
  console.log(`(CPU profiles of ${name} in ${dir})`);
  return { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] };
}

async function main() {
  const options = parseOptions(process.argv.slice(2));
  if (!existsSync(CLI) || newest(join(ROOT, 'src')) > newest(join(ROOT, 'dist'))) {
    usage('dist/ is missing or older than src/: run `npm run build` first');
  }
  const sizes = SIZES[options.quick ? 'quick' : 'full'];
  // PostgreSQL runs the ceiling and the delivery line with 1 and 2 workers; the rest is SQLite's.
  const known = options.store === 'postgres' ? ['ceiling', 'delivery_1w', 'delivery_2w', 'latency_pg', 'scale'] : Object.keys(measurements);
  const unknown = (options.only ?? []).filter((n) => !known.includes(n));
  if (unknown.length) usage(`unknown measurement ${unknown.join(', ')} on ${options.store} (it has ${known.join(', ')})`);
  const names = options.only ?? known;
  if (options.store === 'postgres' && !supportsRoles()) {
    process.stderr.write('bench: --store postgres needs `hookline start --role api|worker` (issue 7), which this build does not have.\n');
    process.exit(1);
  }
  const run = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model ?? null, node: process.version, platform: process.platform },
    options: { quick: options.quick, store: options.store, only: options.only ?? null },
    sizes,
    targets: TARGETS,
    results: {},
  };
  console.log(`Hookline bench: ${options.quick ? 'quick' : 'full'} run on ${options.store}, ${run.machine.cpus} cores, Node ${process.version}`);
  for (const name of names) {
    const started = Date.now();
    process.stdout.write(`  ${name} … `);
    const pg = /^delivery_(\d)w$/.exec(name);
    run.results[name] = pg
      ? await postgresDelivery(Number(pg[1]), { sizes })
      : name === 'latency_pg'
        ? await postgresLatency({ sizes })
        : name === 'scale'
          ? await scale({ quick: options.quick, Server, Receiver, inParallel, rate, OPERATOR_KEY, ROOT })
        : await measurements[name]({ sizes, serverOptions: options.profile ? profiled(name) : {} });
    console.log(`${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  printTable(rows(run.results));
  mkdirSync(RESULTS, { recursive: true });
  const file = join(RESULTS, `${stamp()}-${options.store}${options.quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(run, null, 2) + '\n');
  console.log(`\nwritten: ${file}`);
}

main().catch((err) => {
  console.error(`bench: ${err.stack ?? err}`);
  process.exit(1);
});
