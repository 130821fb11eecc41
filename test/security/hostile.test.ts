// Hostile receivers, built on raw TCP (node:net) so they can break HTTP as real ones do: a
// gigabyte answer, a slowloris trickle, an answer that never comes or never ends, malformed HTTP,
// a reset. Each attempt must cost at most the timeout and 64 KiB of reading, and a healthy
// receiver must keep getting its deliveries meanwhile.
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KEPT_RESPONSE_BYTES, MAX_READ, readBounded, Sender } from '../../src/delivery/sender.js';
import { createWebhook, startReceiver, startTestNode, until, type Receiver } from '../helpers.js';

const TIMEOUT = 1_000;
/** Generous: the attempt must end near its deadline, not at some later point. */
const SLACK = 3_000;

interface Hostile {
  url: string;
  /** Bytes written to all connections so far. */
  written: number;
  /** Connections open now. */
  open: number;
  /** Connections that the client closed (or that reset). */
  closedByPeer: number;
  close(): Promise<void>;
}

type Behaviour = (socket: Socket, state: Hostile) => void;

/** A TCP server that waits for the end of the request's headers, then behaves as told. */
async function hostile(behaviour: Behaviour): Promise<Hostile> {
  const sockets = new Set<Socket>();
  const state: Hostile = { url: '', written: 0, open: 0, closedByPeer: 0, close: async () => {} };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    state.open++;
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      state.open--;
      state.closedByPeer++;
    });
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk.toString('latin1');
      if (!seen.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      socket.resume();
      behaviour(socket, state);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  state.url = `http://127.0.0.1:${port}/hook`;
  state.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}

/** Writes `chunk` every `everyMs` until the socket closes. */
function trickle(socket: Socket, state: Hostile, chunk: string, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    socket.write(chunk);
    state.written += chunk.length;
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

/** Writes `block` again and again, as fast as the socket takes, until it closes. */
function flood(socket: Socket, state: Hostile, block: Buffer = Buffer.alloc(64 * 1024, 'x')): void {
  const pump = () => {
    while (!socket.destroyed) {
      state.written += block.length;
      if (!socket.write(block)) return void socket.once('drain', pump);
    }
  };
  pump();
}

const BEHAVIOURS: Record<string, { behaviour: Behaviour; error: RegExp | null; status: number | null }> = {
  'a gigabyte answer': {
    behaviour: (socket, state) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1073741824\r\n\r\n');
      flood(socket, state);
    },
    // The status is all a delivery needs; the body is cut at the read limit.
    error: null,
    status: 200,
  },
  'a gigabyte of chunked error page': {
    behaviour: (socket, state) => {
      socket.write('HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n');
      const block = Buffer.alloc(64 * 1024, 'e');
      flood(socket, state, Buffer.concat([Buffer.from(`${block.length.toString(16)}\r\n`), block, Buffer.from('\r\n')]));
    },
    error: /^HTTP 500$/,
    status: 500,
  },
  'slowloris headers (a byte every 20 ms)': {
    behaviour: (socket, state) => {
      socket.write('HTTP/1.1 200 OK\r\nX-Slow: ');
      trickle(socket, state, 'a', 20);
    },
    error: /timeout after 1000 ms/,
    status: null,
  },
  'slowloris body (a chunk every 20 ms, never ending)': {
    behaviour: (socket, state) => {
      socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      trickle(socket, state, '1\r\nz\r\n', 20);
    },
    error: /timeout after 1000 ms/,
    status: null,
  },
  'no answer, connection kept open': {
    behaviour: () => {},
    error: /timeout after 1000 ms/,
    status: null,
  },
  'headers, then a body that never comes': {
    behaviour: (socket) => void socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this'),
    error: /timeout after 1000 ms/,
    status: null,
  },
  'malformed HTTP': {
    behaviour: (socket) => void socket.write('HTTP/1.1 two hundred\r\nthis is not a header\r\n\r\n'),
    error: /does not match the HTTP\/1\.1 protocol/,
    status: null,
  },
  'not HTTP at all': {
    behaviour: (socket) => void socket.write('\x00\x01\x02 SSH-2.0-OpenSSH_9.6\r\n\r\n'),
    error: /does not match the HTTP\/1\.1 protocol/,
    status: null,
  },
  'a connection reset': {
    behaviour: (socket) => void socket.resetAndDestroy(),
    error: /ECONNRESET|UND_ERR_SOCKET|other side closed/,
    status: null,
  },
  'a close without an answer': {
    behaviour: (socket) => void socket.end(),
    error: /UND_ERR_SOCKET|other side closed/,
    status: null,
  },
};

let servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe('the read limit', () => {
  it(`reads no more than ${MAX_READ} bytes of a body, keeping the first ${KEPT_RESPONSE_BYTES}`, async () => {
    let pulled = 0;
    let destroyed = false;
    const body = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          pulled += 1000;
          yield Buffer.alloc(1000, 'b');
        }
      },
      destroy() {
        destroyed = true;
      },
    };
    const kept = await readBounded(body);
    expect(destroyed).toBe(true);
    expect(pulled).toBeGreaterThan(MAX_READ);
    expect(pulled).toBeLessThanOrEqual(MAX_READ + 1000);
    expect(kept).toBe('b'.repeat(KEPT_RESPONSE_BYTES));
  });
});

describe('one attempt against a hostile receiver', () => {
  it.each(Object.entries(BEHAVIOURS))('%s costs at most the timeout', async (_name, { behaviour, error, status }) => {
    const server = await hostile(behaviour);
    servers.push(server);
    const sender = new Sender(TIMEOUT);
    try {
      const result = await sender.send(server.url, { 'content-type': 'application/json' }, '{"event":"media_available"}');
      expect(result.statusCode).toBe(status);
      if (error === null) expect(result.error).toBeNull();
      else expect(result.error).toMatch(error);
      expect(result.durationMs).toBeLessThan(TIMEOUT + SLACK);
      expect(result.responseBody?.length ?? 0).toBeLessThanOrEqual(KEPT_RESPONSE_BYTES);
      // The connection is not kept: whatever the receiver does next costs nothing.
      await until(() => server.open === 0, SLACK, 'the connection to be dropped');
      // A flood is cut off long before its gigabyte (what was written sits in socket buffers).
      expect(server.written).toBeLessThan(64 * 1024 * 1024);
    } finally {
      await sender.close();
    }
  });
});

describe('a node delivering to hostile receivers and a healthy one', () => {
  let healthy: Receiver | undefined;
  afterEach(async () => {
    await healthy?.close();
    healthy = undefined;
  });

  it('keeps delivering to the healthy receiver while the hostile ones hold their connections, and logs each failure', async () => {
    const node = await startTestNode({ requestTimeoutMs: TIMEOUT, retrySchedule: [0] });
    try {
      healthy = await startReceiver();
      const api = node.account.api;
      const site = node.account.siteId;
      const hostiles: Record<string, { server: Hostile; hookId: string }> = {};
      for (const [name, { behaviour }] of Object.entries(BEHAVIOURS)) {
        const server = await hostile(behaviour);
        servers.push(server);
        hostiles[name] = { server, hookId: (await createWebhook(api, [site], server.url)).id };
      }
      const healthyHook = await createWebhook(api, [site], healthy.url);
      const neverAnswers = hostiles['no answer, connection kept open']!.server;

      const EVENTS = 5;
      for (let i = 0; i < EVENTS; i++) {
        const res = await node.operator.post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: `m${i}` });
        expect(res.body.deliveries).toBe(Object.keys(BEHAVIOURS).length + 1);
      }
      await healthy.waitFor(EVENTS);
      // Meanwhile: the hostile receiver that never answers still holds its connections.
      expect(neverAnswers.open).toBeGreaterThan(0);

      const healthyList = await until(async () => {
        const list = await api.get(`/v2/webhooks/${healthyHook.id}/deliveries/?status=succeeded`);
        return list.body.total === EVENTS && list.body;
      }, 10_000, 'the healthy deliveries to be recorded');
      expect(healthyList.deliveries).toHaveLength(EVENTS);

      for (const [name, { hookId }] of Object.entries(hostiles)) {
        const expected = BEHAVIOURS[name]!;
        const wanted = expected.error === null ? 'succeeded' : 'failed';
        const list = await until(async () => {
          const res = await api.get(`/v2/webhooks/${hookId}/deliveries/?status=${wanted}`);
          return res.body.total === EVENTS && res.body;
        }, TIMEOUT * EVENTS + 10_000, `${name}: ${EVENTS} ${wanted} deliveries`);
        const detail = await api.get(`/v2/deliveries/${list.deliveries[0].id}/`);
        const attempt = detail.body.attempts[0];
        if (expected.error) expect(attempt.error, name).toMatch(expected.error);
        expect(attempt.duration_ms, name).toBeLessThan(TIMEOUT + SLACK);
        expect((attempt.response_body ?? '').length, name).toBeLessThanOrEqual(KEPT_RESPONSE_BYTES);
      }
    } finally {
      await node.close();
    }
  });
});
