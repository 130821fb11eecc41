// One delivery attempt over HTTP: an overall deadline, no redirects followed, and a bounded read
// of the answer, so that no receiver can cost more than the timeout and MAX_READ bytes.
import type { Socket } from 'node:net';
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, request } from 'undici';
import { TargetGuard, TargetRefused } from '../security/ssrf.js';

/** How much of a response is kept in the attempt log. */
export const KEPT_RESPONSE_BYTES = 4096;
/** How much of a response's headers is kept (names and values); past it, the rest are dropped. */
export const KEPT_RESPONSE_HEADER_BYTES = 4096;
/** Past this, the connection is dropped rather than read to its end. */
export const MAX_READ = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
  /** The response's headers, names in lower case, capped (keptHeaders); null when none came. */
  responseHeaders: Record<string, string> | null;
  /** How long a 429 or 503 asked us to wait (Retry-After); null when it did not. */
  retryAfterMs: number | null;
}

export interface SenderOptions {
  /** Which addresses may be connected to; without one, any (development mode). */
  guard?: TargetGuard;
  /** Extra trusted certificate authorities (PEM), on top of Node's and NODE_EXTRA_CA_CERTS. */
  ca?: string | Buffer;
}

export class Sender {
  private readonly agent: Agent;

  constructor(private readonly timeoutMs: number, options: SenderOptions = {}) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 128,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: guardedConnector(timeoutMs, options),
    });
  }

  async send(url: string, headers: Record<string, string>, body: string): Promise<SendResult> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const responseBody = await readBounded(res.body);
      const statusCode = res.statusCode;
      let error: string | null = null;
      if (statusCode >= 300 && statusCode < 400) error = `redirect to ${res.headers.location ?? '(no location)'} not followed`;
      else if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
      const retryAfterMs = statusCode === 429 || statusCode === 503 ? parseRetryAfter(res.headers['retry-after'], Date.now()) : null;
      return { statusCode, durationMs: elapsed(), error, responseBody, responseHeaders: keptHeaders(res.headers), retryAfterMs };
    } catch (err) {
      return { statusCode: null, durationMs: elapsed(), error: describe(err, this.timeoutMs), responseBody: null, responseHeaders: null, retryAfterMs: null };
    }
  }

  /** Aborts what is still in flight: by then the dispatcher has given up on it. */
  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/**
 * Connects only where the guard allows: names go through its `lookup` (so the address checked is
 * the address connected to, whatever DNS says next time), literal addresses are checked here
 * because net.connect skips `lookup` for them, and the peer address is checked once more before
 * a byte of the request is written.
 */
function guardedConnector(timeoutMs: number, { guard, ca }: SenderOptions): buildConnector.connector {
  // `ca` replaces Node's list, so the public roots go with it.
  const tls = ca === undefined ? {} : { ca: [...rootCertificates, ca.toString()] };
  const connect = buildConnector({ timeout: timeoutMs, ...tls, ...(guard ? { lookup: guard.lookup } : {}) } as buildConnector.BuildOptions);
  if (!guard) return connect;
  return (options, callback) => {
    const hostname = options.hostname.replace(/^\[(.*)\]$/, '$1');
    const refusal = guard.connectRefusal(hostname);
    if (refusal) return void callback(new TargetRefused(refusal), null);
    return connect(options, (err, socket) => {
      if (err || !socket) return callback(err, null);
      const peer = (socket as Socket).remoteAddress;
      const late = peer === undefined || guard.hostAllowed(hostname) ? undefined : guard.connectRefusal(peer);
      if (late) {
        socket.destroy();
        return callback(new TargetRefused(late), null);
      }
      callback(null, socket);
    });
  };
}

/** Reads at most MAX_READ bytes of a body, keeping the first KEPT_RESPONSE_BYTES. Exported for tests. */
export async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let read = 0;
  for await (const chunk of body) {
    if (read < KEPT_RESPONSE_BYTES) chunks.push(chunk);
    read += chunk.length;
    if (read > MAX_READ) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks).subarray(0, KEPT_RESPONSE_BYTES).toString('utf8');
}

/**
 * A response's headers as the attempt log keeps them: in the order received, a repeated one's
 * values joined with ", ", until names and values reach KEPT_RESPONSE_HEADER_BYTES; the one that
 * crosses it is cut there and the rest are dropped. Exported for tests.
 */
export function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const kept: Record<string, string> = {};
  let left = KEPT_RESPONSE_HEADER_BYTES;
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    left -= Buffer.byteLength(name);
    if (left <= 0) break;
    const size = Buffer.byteLength(value);
    kept[name] = size <= left ? value : Buffer.from(value).subarray(0, left).toString('utf8');
    left -= size;
    if (left <= 0) break;
  }
  return kept;
}

/** Retry-After is seconds or an HTTP date (RFC 9110 §10.2.3); anything else is ignored. Exported for tests. */
export function parseRetryAfter(raw: string | string[] | undefined, now: number): number | null {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1_000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(at - now, 0);
}

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `timeout after ${timeoutMs} ms`;
  }
  const code = e.code ?? e.cause?.code;
  const message = e.message ?? e.cause?.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
