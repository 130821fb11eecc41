// One delivery attempt over HTTP: an overall deadline, no redirects followed, and a bounded read
// of the answer, so that no receiver can cost more than the timeout and MAX_READ bytes.
import { Agent, request } from 'undici';

/** How much of a response is kept in the attempt log. */
export const KEPT_RESPONSE_BYTES = 4096;
/** Past this, the connection is dropped rather than read to its end. */
const MAX_READ = 64 * 1024;

export interface SendResult {
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  responseBody: string | null;
}

export class Sender {
  private readonly agent: Agent;

  constructor(private readonly timeoutMs: number) {
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connections: 128,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connect: { timeout: timeoutMs },
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
      return { statusCode, durationMs: elapsed(), error, responseBody };
    } catch (err) {
      return { statusCode: null, durationMs: elapsed(), error: describe(err, this.timeoutMs), responseBody: null };
    }
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}

async function readBounded(body: AsyncIterable<Buffer> & { destroy(): void }): Promise<string> {
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

function describe(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `timeout after ${timeoutMs} ms`;
  }
  const code = e.code ?? e.cause?.code;
  const message = e.message ?? e.cause?.message ?? String(err);
  return code ? `${code}: ${message}` : message;
}
