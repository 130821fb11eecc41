// Hostile input at every route: fast-check throws random and malformed bodies, headers, query
// strings and paths at each route of the OpenAPI document (and at routes that do not exist).
// Never a 500; every refusal is JWP's error format; a refused request writes nothing (every
// table of the database is compared before and after).
import fc from 'fast-check';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { createAccount, createWebhook, OPERATOR_KEY, startTestNode, type TestNode } from '../helpers.js';

let node: TestNode;
let routes: { method: string; path: string }[];
let keys: string[];
let ids: string[];
let snapshot: () => string;

beforeAll(async () => {
  // Simulated uploads and deliveries would change tables behind the test's back: neither runs.
  node = await startTestNode({ simulationStepMs: 3_600_000 });
  await node.hookline.engine.stop(0);
  const other = await createAccount(node.operator, 'Fuzz B');
  const hook = await createWebhook(node.account.api, [node.account.siteId], 'https://example.test/h');
  await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'fz' });
  const delivery = (await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.deliveries[0].id;
  const keyId = (await node.operator.get(`/v2/accounts/${other.id}/api_keys/`)).body.api_keys[0].id;
  keys = [OPERATOR_KEY, node.account.api.key!, other.api.key!];
  ids = [node.account.id, other.id, node.account.siteId, other.siteId, hook.id, delivery, keyId];

  const doc = (await node.operator.get('/openapi.json')).body;
  routes = Object.entries(doc.paths as Record<string, object>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })));

  const db = (node.hookline.store as SqliteStore).db;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
  snapshot = () => JSON.stringify(tables.map((t) => [t, (db.prepare(`SELECT * FROM ${t}`).all() as object[]).map((r) => JSON.stringify(r)).sort()]));
});
afterAll(() => node.close());

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

function send(req: Sent): Promise<{ status: number; contentType: string; text: string }> {
  const url = new URL(node.url);
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: url.hostname, port: url.port, method: req.method, path: req.path, headers: req.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, contentType: String(res.headers['content-type'] ?? ''), text }));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const printable = fc.string({ unit: fc.constantFrom(...' !"#$%&\'()*+,-./0123456789:;<=>?@ABCXYZ[\\]^_`abcxyz{|}~'.split('')), maxLength: 40 });
const anyText = fc.string({ unit: 'binary', maxLength: 60 });
const weirdNumber = fc.constantFrom('0', '-1', '1e400', '1.5', 'NaN', '99999999999999999999', '', '[]', '101', '1,2');

const segment = fc.oneof(
  fc.constantFrom(...['Zz9Zz9Zz', 'msg_000000000000000000000000']),
  fc.integer({ min: 0, max: 6 }).map((i) => ids[i]!),
  anyText.map(encodeURIComponent),
  fc.constantFrom('..', '%2e%2e', '%00', 'a'.repeat(300), '%E0%A4%A', '{webhook_id}', '%20', '%2F'),
);

const pathOf = (template: string) => fc.tuple(...(template.match(/\{[^}]+\}/g) ?? []).map(() => segment), fc.boolean())
  .map(([...parts]) => {
    const slash = parts.pop() as boolean;
    let i = 0;
    const filled = template.replace(/\{[^}]+\}/g, () => String(parts[i++]));
    return slash ? filled : filled.replace(/\/$/, '');
  });

const query = fc.dictionary(
  fc.oneof(fc.constantFrom('page', 'page_length', 'sort', 'status', 'event', 'account_id', '__proto__', 'constructor'), printable),
  fc.oneof(weirdNumber, printable, fc.constantFrom('created:asc', 'failed', 'media_available', 'Zz9Zz9Zz')),
  { maxKeys: 4 },
).map((q) => {
  const s = new URLSearchParams(q).toString();
  return s ? `?${s}` : '';
});

const validBodies: unknown[] = [
  { name: 'acct' },
  { name: 'p', account_id: 'Zz9Zz9Zz' },
  { event: 'media_available', media_id: 'abc' },
  { metadata: { name: 'n', webhook_url: 'https://example.test/x', events: ['media_available'], site_ids: ['Zz9Zz9Zz'] } },
  { metadata: { name: 'n' } },
];

/** A valid-looking body with one part swapped for something random. */
const mutated = fc.tuple(fc.constantFrom(...validBodies), fc.jsonValue(), fc.constantFrom('name', 'metadata', 'event', 'account_id', 'webhook_url', 'events', 'site_ids', 'media_id', '__proto__', 'event_time'))
  .map(([body, value, key]) => {
    const copy = JSON.parse(JSON.stringify(body));
    if (copy.metadata && typeof copy.metadata === 'object' && key !== 'metadata') copy.metadata[key] = value;
    else copy[key] = value;
    return JSON.stringify(copy);
  });

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  mutated,
  anyText,
  fc.constantFrom('{"metadata":', '{"__proto__":{"admin":true},"name":"x"}', '{"constructor":{"prototype":{"x":1}}}', 'null', '[]', '""', '{'.repeat(5000), `{"name":"${'x'.repeat(70_000)}"}`),
);

const headers = fc.record({
  authorization: fc.oneof(
    fc.constantFrom(...[0, 1, 2]).map((i) => `Bearer ${keys[i]}`),
    fc.constantFrom(0, 1, 2).map((i) => keys[i]!),
    printable,
    fc.constant(undefined),
  ),
  'content-type': fc.oneof(
    fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1'),
    printable,
    fc.constant(undefined),
  ),
  'idempotency-key': fc.oneof(fc.constant(undefined), printable, fc.constant('k'.repeat(300))),
  'x-anything': fc.oneof(fc.constant(undefined), printable),
}, { requiredKeys: [] });

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE', 'OPTIONS'];

function expectJwpError(res: { status: number; contentType: string; text: string }, what: string) {
  expect(res.contentType, what).toMatch(/^application\/json/);
  const parsed = JSON.parse(res.text);
  expect(Object.keys(parsed), what).toEqual(['errors']);
  // One entry per refused field: a request with several bad fields (a webhook, a search) gets several.
  expect(parsed.errors.length, what).toBeGreaterThanOrEqual(1);
  for (const error of parsed.errors) {
    expect(Object.keys(error), what).toEqual(['code', 'description']);
    expect(error.code, what).toMatch(/^[a-z_]+$/);
    expect(typeof error.description, what).toBe('string');
    expect(error.description.length, what).toBeGreaterThan(0);
  }
}

async function check(req: Sent): Promise<void> {
  const what = `${req.method} ${req.path} ${JSON.stringify(req.headers)} ${req.body?.slice(0, 200)}`;
  const before = snapshot();
  const res = await send(req);
  expect(res.status, what).toBeLessThan(500);
  if (res.status >= 400) {
    expectJwpError(res, what);
    expect(snapshot() === before, `${what} changed the database`).toBe(true);
  }
}

const clean = (h: Record<string, string | undefined>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<string, string>;

describe('random and malformed requests', () => {
  it('at every route of the API: never a 500, always JWP errors, nothing written when refused', async () => {
    expect(routes.length).toBeGreaterThan(10);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes).chain((route) => fc.record({
          method: fc.oneof({ weight: 4, arbitrary: fc.constant(route.method) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
          path: fc.tuple(pathOf(route.path), query).map(([p, q]) => p + q),
          headers,
          body,
        })),
        async (req) => check({ ...req, headers: clean(req.headers) }),
      ),
      // A fixed seed keeps CI repeatable; FUZZ_SEED=<n> explores other inputs.
      { numRuns: 400, seed: Number(process.env.FUZZ_SEED ?? 20260426) },
    );
  });

  it('at paths that are no route: JWP 404s', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 0, maxLength: 5 }).map((parts) => `/${['v2', ...parts].join('/')}/`),
        fc.constantFrom(...METHODS),
        headers,
        async (path, method, h) => check({ method, path, headers: clean(h) }),
      ),
      { numRuns: 100, seed: Number(process.env.FUZZ_SEED ?? 20260426) },
    );
  });

  it.each(['page=1e400', 'page_length=1e400', 'page=-Infinity'])('refuses %s (which ajv coerces to an infinite number) with a 400', async (q) => {
    for (const path of ['/v2/webhooks/', `/v2/audit_log/`]) {
      const res = await send({ method: 'GET', path: `${path}?${q}`, headers: { authorization: `Bearer ${OPERATOR_KEY}` } });
      expect(res.status).toBe(400);
      expect(JSON.parse(res.text).errors[0].description).toBe(`${q.split('=')[0]} must be a finite number`);
    }
  });

  it('a body over 64 KiB: 413 in JWP format', async () => {
    const res = await send({ method: 'POST', path: '/v2/accounts/', headers: { authorization: `Bearer ${OPERATOR_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x'.repeat(70_000) }) });
    expect(res.status).toBe(413);
    expectJwpError(res, '413');
  });

  it.each([
    ['a request line that is not HTTP', 'GET / HTTP/1.1 extra\r\n\r\n', 400],
    ['binary garbage', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400],
    ['headers over 16 KiB', `GET /v2/webhooks/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a bad Content-Length', 'POST /v2/accounts/ HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n', 400],
  ])('%s: a JWP error from the HTTP parser', async (_name, raw, status) => {
    const url = new URL(node.url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => socket.end(raw, 'latin1'));
      let text = '';
      socket.on('data', (c) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, payload] = answer.split('\r\n\r\n', 2) as [string, string];
    expect(head).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expectJwpError({ status, contentType: /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '', text: payload }, raw.slice(0, 40));
  });
});
