// The benchmark's receiver: a minimal node:http server in its own process, so that it never
// shares a CPU queue with the driver or the server under test. The driver forks it and talks to
// it over IPC. Each `listen` opens one endpoint (its own port): 'ok' answers 200 at once,
// 'hole' accepts the connection and never answers; 'collector' is a null OpenTelemetry collector
// (OTLP/HTTP protobuf: it counts the spans it is sent, and keeps nothing). Times come from the monotonic clock, which
// all processes on the machine share, so the driver can subtract its own send times from them.

import { createServer } from 'node:http';

const now = () => Number(process.hrtime.bigint()) / 1e6;

// Events tagged `"media_id":"t<n>"` have the arrival of their first delivery kept by n, for
// latencies; every arrival's time is kept for throughput.
const TAG = /"media_id":"t(\d+)"/;

let count = 0;
let arrivals = new Float64Array(1 << 16);
let tagged = new Map();
const perEndpoint = new Map(); // port → arrivals
const waiters = [];
const servers = [];
const collected = { requests: 0, bytes: 0, spans: 0 };

/** Reads a protobuf varint at `at`: [value, next offset]. */
function varint(buf, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = buf[at++];
    value += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return [value, at];
    shift += 7;
  }
}

/** The length-delimited fields `field` of a protobuf message: [start, end] of each. */
function fields(buf, start, end, field) {
  const found = [];
  for (let at = start; at < end; ) {
    const [tag, next] = varint(buf, at);
    const wire = tag & 7;
    at = next;
    if (wire === 0) at = varint(buf, at)[1];
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const [length, from] = varint(buf, at);
      if (tag >>> 3 === field) found.push([from, from + length]);
      at = from + length;
    } else throw new Error(`protobuf wire type ${wire}`);
  }
  return found;
}

/** Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2). */
function countSpans(buf) {
  let n = 0;
  for (const [rs, re] of fields(buf, 0, buf.length, 1)) {
    for (const [ss, se] of fields(buf, rs, re, 2)) n += fields(buf, ss, se, 2).length;
  }
  return n;
}

function arrived(port, body) {
  const at = now();
  if (count === arrivals.length) {
    const grown = new Float64Array(arrivals.length * 2);
    grown.set(arrivals);
    arrivals = grown;
  }
  arrivals[count++] = at;
  perEndpoint.set(port, (perEndpoint.get(port) ?? 0) + 1);
  const m = TAG.exec(body);
  if (m && !tagged.has(m[1])) tagged.set(m[1], at);
  for (let i = waiters.length - 1; i >= 0; i--) {
    if (waiters[i].test()) waiters.splice(i, 1)[0].done(true);
  }
}

function listen(mode) {
  return new Promise((resolve) => {
    const server = createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
      if (mode === 'hole') return; // never answers: the sender's deadline ends the attempt
      if (mode === 'collector') {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
          const buf = Buffer.concat(chunks);
          collected.requests++;
          collected.bytes += buf.length;
          collected.spans += countSpans(buf);
          res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
        });
        return;
      }
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        arrived(server.address().port, body);
        res.end('ok');
      });
    });
    server.listen(0, '127.0.0.1', () => {
      servers.push(server);
      resolve(server.address().port);
    });
  });
}

/** Arrival time below which `fraction` of the arrivals so far came. */
function quantileTime(fraction) {
  if (count === 0) return null;
  return arrivals[Math.min(count - 1, Math.floor(fraction * (count - 1)))];
}

const handlers = {
  listen: ({ mode }) => listen(mode),
  reset: () => {
    count = 0;
    tagged = new Map();
    perEndpoint.clear();
    return null;
  },
  stats: () => ({
    count,
    first: quantileTime(0),
    last: quantileTime(1),
    p10: quantileTime(0.1),
    p90: quantileTime(0.9),
    perEndpoint: Object.fromEntries(perEndpoint),
  }),
  tagged: () => Object.fromEntries(tagged),
  collected: () => ({ ...collected }),
  /** Answers true once `endpoints` (all if omitted) have together received `count` requests, false at the timeout. */
  waitFor: ({ count: wanted, endpoints, timeoutMs }) =>
    new Promise((resolve) => {
      const received = () => (endpoints ? endpoints.reduce((n, p) => n + (perEndpoint.get(p) ?? 0), 0) : count);
      const waiter = { test: () => received() >= wanted, done: resolve };
      if (waiter.test()) return resolve(true);
      waiters.push(waiter);
      setTimeout(() => {
        const i = waiters.indexOf(waiter);
        if (i >= 0) waiters.splice(i, 1)[0].done(false);
      }, timeoutMs).unref();
    }),
};

process.on('message', async ({ id, cmd, args }) => {
  const result = await handlers[cmd](args ?? {});
  process.send({ id, result });
});
process.on('disconnect', () => process.exit(0));
