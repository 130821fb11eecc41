// Shared test fixtures: a real Hookline node on a free port with a temp data dir, real HTTP
// receivers on loopback, and a small API client.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterEach } from 'vitest';
import { pino } from 'pino';
import { defaultConfig, type Config } from '../src/config.js';
import { startHookline, type Hookline, type StartOptions } from '../src/server.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/ports.js';
import type { Webhook } from '../src/store/types.js';

export const OPERATOR_KEY = 'hlk_test_operator_key_0123456789abcdefghij';
/** Seals webhook secrets on PostgreSQL, where every node needs the one key. */
export const TEST_SECRET_KEY = Buffer.alloc(32, 7).toString('base64');

export type StoreKind = 'sqlite' | 'postgres';
/** The store this vitest project runs on (vitest.config.ts sets it per project). */
export const TEST_STORE: StoreKind = process.env.HOOKLINE_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';
export const TEST_DATABASE_URL = process.env.HOOKLINE_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

/** A schema of its own on the test database, so that tests and their nodes never meet. */
export async function freshSchema(): Promise<{ url: string; schema: string; drop(): Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const url = new URL(TEST_DATABASE_URL);
  url.searchParams.set('schema', schema);
  return {
    url: url.toString(),
    schema,
    drop: async () => {
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs `sql` on the test database, in `schema`, over a connection of its own (no proxy). */
export async function schemaQuery(schema: string, sql: string, values: unknown[] = []): Promise<pg.QueryResultRow[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    return (await client.query(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/**
 * A webhook as the store's tests write it: acct0001's, made at `now`, active, with no limits, no
 * ordering and no headers of its own; `over` sets any field. One place to add a new field's default.
 */
export function webhookRow(id: string, now: number, over: Partial<Webhook> = {}): Webhook {
  return {
    id, accountId: 'acct0001', name: `hook ${id}`, description: '', webhookUrl: `http://127.0.0.1:9/${id}`,
    siteIds: ['site0001'], events: ['media_available'], created: now, lastModified: now,
    status: 'active', disabledReason: null, disabledAt: null, maxInFlight: null, rateLimit: null, ordering: 'none', headerNames: [],
    ...over,
  };
}

/** A migrated store of the given kind, empty, and how to throw it away. */
export async function openTestStore(kind: StoreKind = TEST_STORE): Promise<{ store: Store; url?: string; dispose(): Promise<void> }> {
  if (kind === 'sqlite') {
    const store = new SqliteStore({ memory: true });
    return { store, dispose: () => store.close() };
  }
  const schema = await freshSchema();
  const store = new PostgresStore({ url: schema.url, poolSize: 4 });
  await store.migrate();
  return {
    store,
    url: schema.url,
    dispose: async () => {
      await store.close();
      await schema.drop();
    },
  };
}

export function tempDir(prefix = 'hookline-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export class Api {
  constructor(readonly baseUrl: string, readonly key?: string) {}

  as(key: string): Api {
    return new Api(this.baseUrl, key);
  }

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(this.key ? { authorization: `Bearer ${this.key}` } : {}),
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: the test sees the text
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = any>(path: string) {
    return this.request<T>('GET', path);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body ?? {}, headers);
  }
  patch<T = any>(path: string, body: unknown) {
    return this.request<T>('PATCH', path, body);
  }
  delete<T = any>(path: string) {
    return this.request<T>('DELETE', path);
  }
}

export interface TestNode {
  hookline: Hookline;
  url: string;
  dataDir: string;
  operator: Api;
  /** The default account made at first start. */
  account: { id: string; siteId: string; api: Api };
  close(): Promise<void>;
}

export function testConfig(dataDir: string, overrides: Partial<Config> = {}): Config {
  return {
    ...defaultConfig(),
    host: '127.0.0.1',
    port: 0,
    dataDir,
    dev: true,
    operatorKey: OPERATOR_KEY,
    retrySchedule: [0, 100, 200],
    retryJitter: 0,
    requestTimeoutMs: 2_000,
    logLevel: 'silent',
    // Tests make many calls with one key; the rate-limit tests set their own limits.
    rateLimit: 100_000,
    intakeRateLimit: 100_000,
    ...overrides,
  };
}

export interface TestNodeOptions extends StartOptions {
  /** Which store the node runs on: this project's (TEST_STORE) unless given. */
  store?: StoreKind;
}

export async function startTestNode(overrides: Partial<Config> = {}, { store = TEST_STORE, ...options }: TestNodeOptions = {}): Promise<TestNode> {
  const dataDir = tempDir();
  const schema = store === 'postgres' && !overrides.databaseUrl ? await freshSchema() : undefined;
  const database = schema ? { databaseUrl: schema.url, secretKey: TEST_SECRET_KEY } : {};
  const config = testConfig(dataDir, { ...database, ...overrides });
  const hookline = await startHookline(config, { logger: pino({ level: config.logLevel }), ...options }).catch(async (err) => {
    await schema?.drop();
    throw err;
  });
  const operator = new Api(hookline.url, OPERATOR_KEY);
  // Production mode makes no default account (its key would have to be printed): make one.
  const first = hookline.firstStart.account;
  const account = first
    ? { id: first.id, siteId: first.siteId, api: new Api(hookline.url, first.apiKey) }
    : await createAccount(operator, 'Default account');
  return {
    hookline,
    url: hookline.url,
    dataDir,
    operator,
    account,
    close: async () => {
      await hookline.close();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A second account with its own property and key, made through the operator API. */
export async function createAccount(operator: Api, name = 'Other account'): Promise<{ id: string; siteId: string; api: Api }> {
  const account = await operator.post('/v2/accounts/', { name });
  const site = await operator.post('/v2/sites/', { name: `${name} property`, account_id: account.body.id });
  const key = await operator.post(`/v2/accounts/${account.body.id}/api_keys/`, { name: 'key' });
  return { id: account.body.id, siteId: site.body.id, api: operator.as(key.body.secret) };
}

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  at: number;
}

export interface Receiver {
  url: string;
  received: Received[];
  /** Resolves once `count` requests have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  close(): Promise<void>;
}

type Reply = number | { status: number; body?: string; headers?: Record<string, string> } | 'hang';
type Answer = (req: Received, index: number) => Reply | Promise<Reply>;

export interface ReceiverOptions {
  /** Serve https with this key and certificate (see selfSignedCert). */
  tls?: { key: string; cert: string };
  /** 127.0.0.1 by default; '::1' for IPv6. */
  host?: string;
}

/** A real HTTP(S) server on loopback that records every request and answers as `answer` says (200 by default). */
export async function startReceiver(answer: Answer = () => 200, options: ReceiverOptions = {}): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const hanging: ServerResponse[] = [];
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      const entry = { headers: req.headers, body, json, at: Date.now() };
      received.push(entry);
      for (const w of waiters.filter((w) => received.length >= w.count)) w.resolve();
      const result = await answer(entry, received.length - 1);
      if (result === 'hang') {
        hanging.push(res);
        return;
      }
      const { status, body: out = 'ok', headers = {} } = typeof result === 'number' ? { status: result } : result;
      res.writeHead(status, headers).end(out);
    });
  };
  const server = options.tls ? createTlsServer(options.tls, handle) : createServer(handle);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/hooks`,
    received,
    waitFor(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver got ${received.length} of ${count} requests`)), timeoutMs);
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve(received); } });
      });
    },
    close: () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Creates a webhook for the account and returns the create response's body (with its secret). */
export async function createWebhook(
  api: Api,
  siteIds: string[],
  url: string,
  events: string[] = ['media_available'],
  extra: Record<string, unknown> = {},
): Promise<any> {
  const res = await api.post('/v2/webhooks/', {
    metadata: { name: 'Test hook', description: 'made by a test', webhook_url: url, events, site_ids: siteIds, ...extra },
  });
  if (res.status !== 201) throw new Error(`create webhook: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function until<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Certificate {
  key: string;
  cert: string;
  /** The certificate's file, for NODE_EXTRA_CA_CERTS. */
  certPath: string;
}

/** A self-signed certificate (its own CA) for loopback names and addresses, made by openssl. */
export function selfSignedCert(dir: string, names: string[] = []): Certificate {
  const san = ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost', ...names.map((n) => `DNS:${n}`)].join(',');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=hookline-test', '-addext', `subjectAltName=${san}`,
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
  return { key: readFileSync(join(dir, 'key.pem'), 'utf8'), cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), certPath: join(dir, 'cert.pem') };
}

/** The built CLI (npm test builds first). */
export const CLI = join(import.meta.dirname, '../dist/cli/index.js');

export interface CliProcess {
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  /** Resolves with the first match of `pattern` in the output. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Runs `hookline <args>` as a child process; HOOKLINE_* variables come only from `env`. */
export function spawnCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('HOOKLINE_')));
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    waitFor: (pattern, timeoutMs = 10_000) =>
      until(() => pattern.exec(output) ?? undefined, timeoutMs, `${pattern} from hookline ${args.join(' ')}`).catch((err: Error) => {
        throw new Error(`${err.message}; its output:\n${output}`);
      }),
    exited,
  };
}

/** Runs `hookline <args>` to its end. */
export async function runCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const cli = spawnCli(args, env);
  const code = await cli.exited;
  return { code, output: cli.output() };
}

/**
 * One node per test and the receivers it sends to, all closed after each test (the node first,
 * so that nothing it still sends fails against a closed receiver). Call once per file.
 */
export function nodePerTest() {
  let node: TestNode | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await node?.close();
    node = undefined;
    for (const r of receivers.splice(0)) await r.close();
  });
  return {
    get node(): TestNode | undefined {
      return node;
    },
    async start(overrides: Partial<Config> = {}, options: TestNodeOptions = {}): Promise<TestNode> {
      node = await startTestNode(overrides, options);
      return node;
    },
    async receiver(answer?: Answer, options?: ReceiverOptions): Promise<Receiver> {
      const r = await startReceiver(answer, options);
      receivers.push(r);
      return r;
    },
  };
}
