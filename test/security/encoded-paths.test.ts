// Authentication is decided by the route the router matched, not by the raw request line: a path
// spelled another way (`/%762/` for `/v2/`, encoded slashes, doubled slashes, dots, case) either
// reaches no route (404) or reaches its route and is asked for a key (401), like the plain one.
// The sweep covers every route the OpenAPI document lists, in production mode, with no key.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestNode, type TestNode } from '../helpers.js';

let node: TestNode;
beforeAll(async () => {
  // Production mode, and a low management limit: a variant that slipped past the limiter would
  // show as no 429 where the plain path gets one (checked below).
  node = await startTestNode({ dev: false });
});
afterAll(() => node.close());

/** A request with its path sent exactly as written (fetch and URL would normalise it). */
function raw(method: string, path: string): Promise<{ status: number; body: string; allow?: string }> {
  const { hostname, port } = new URL(node.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path, headers: method === 'GET' || method === 'DELETE' ? {} : { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body, allow: res.headers.allow }));
    });
    req.on('error', reject);
    req.end(method === 'GET' || method === 'DELETE' ? undefined : '{}');
  });
}

/** The ways of spelling one path that a router or a proxy might take for the same thing. */
function variants(path: string): string[] {
  const out = new Set<string>([path]);
  out.add(path.replace('/v2/', '/%762/'));
  out.add(path.replace('/v2/', '/%76%32/'));
  out.add(path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`));
  out.add(path.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`));
  out.add(path.replace(/\/(?=[^/]*$)/, '%2F').replace('/v2/', '/v2%2F'));
  out.add(path.replace('/v2/', '/v2%2f'));
  out.add(`/${path}`);
  out.add(path.replace('/v2/', '/v2//'));
  out.add(path.replace(/\/$/, '') + '/.');
  out.add(path.replace(/\/$/, '') + '.');
  out.add(path.replace('/v2/', '/v2/./'));
  out.add(path.replace('/v2/', '/x/../v2/'));
  out.add(path.toUpperCase());
  out.add(path.replace('/v2/', '/V2/'));
  out.add(`${path}?x=1`);
  out.add(`${path}#frag`);
  // A request target must start with a slash; the rest is what a client could send.
  return [...out].filter((p) => p.startsWith('/'));
}

interface Operation {
  method: string;
  path: string;
  public: boolean;
}

async function operations(): Promise<Operation[]> {
  const doc = (await (await fetch(`${node.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { security?: unknown[] }>>;
  };
  const ops: Operation[] = [];
  for (const [template, methods] of Object.entries(doc.paths)) {
    // Path parameters get plausible ids: the route is matched whatever they are.
    const path = template.replace(/\{[^}]+\}/g, 'AbCd1234');
    for (const [method, op] of Object.entries(methods)) {
      ops.push({ method: method.toUpperCase(), path, public: Array.isArray(op.security) && op.security.length === 0 });
    }
  }
  return ops;
}

describe('every route, spelled every way, with no key', () => {
  it('answers 401 or 404, never reaches a handler', async () => {
    const ops = await operations();
    // The document lists the API: this is a real sweep, not an empty loop.
    expect(ops.filter((o) => !o.public).length).toBeGreaterThan(30);
    const auditBefore = await node.operator.get('/v2/audit_log/');
    const reached: string[] = [];
    for (const op of ops.filter((o) => !o.public)) {
      for (const path of variants(op.path)) {
        const res = await raw(op.method, path);
        if (res.status !== 401 && res.status !== 404 && res.status !== 405) reached.push(`${op.method} ${path} -> ${res.status} ${res.body.slice(0, 120)}`);
        if (res.status >= 400) expect(JSON.parse(res.body)).toHaveProperty('errors');
      }
    }
    expect(reached).toEqual([]);
    // Nothing was written on the way: the audit log has the entries it had.
    const auditAfter = await node.operator.get('/v2/audit_log/');
    expect(auditAfter.body.total ?? auditAfter.body.entries?.length).toBe(auditBefore.body.total ?? auditBefore.body.entries?.length);
  }, 120_000);

  it('answers a method the route does not take with 405 and its Allow, and nothing else; spelled another way, never a handler', async () => {
    const ops = await operations();
    const methodsOf = new Map<string, Set<string>>();
    for (const op of ops) methodsOf.set(op.path, (methodsOf.get(op.path) ?? new Set()).add(op.method));
    const auditBefore = await node.operator.get('/v2/audit_log/');
    const wrong: string[] = [];
    for (const [path, methods] of methodsOf) {
      // HEAD comes with every GET; the document lists GET only.
      const allowed = [...methods, ...(methods.has('GET') ? ['HEAD'] : [])].sort();
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !methods.has(m))) {
        for (const spelled of variants(path)) {
          const res = await raw(method, spelled);
          const what = `${method} ${spelled} -> ${res.status} ${res.allow ?? ''} ${res.body.slice(0, 120)}`;
          if (spelled === path) {
            // The plain spelling: the route's own methods, whatever the key (none here).
            if (res.status !== 405 || res.allow?.split(', ').sort().join() !== allowed.join()) wrong.push(what);
          } else if (![400, 401, 404, 405].includes(res.status)) {
            // Another spelling may be another route (a trailing "/." is a parameter): it asks for a key (401) or has no such method.
            wrong.push(what);
          }
          if (res.status === 405) {
            // The methods, and nothing else: the same body for any id, with or without a key.
            if (res.allow!.split(', ').includes(method)) wrong.push(what);
            expect(JSON.parse(res.body)).toEqual({ errors: [{ code: 'method_not_allowed', description: `${method} is not allowed here; this route takes ${res.allow}` }] });
          }
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(methodsOf.size).toBeGreaterThan(20);
    // Nothing was written on the way.
    const auditAfter = await node.operator.get('/v2/audit_log/');
    expect(auditAfter.body.total).toBe(auditBefore.body.total);
  }, 120_000);

  it('asks the encoded spelling of a route for a key, as it asks the plain one', async () => {
    for (const path of ['/%762/event_types/', '/%762/webhooks/', '/%762/sites/', '/%762/audit_log/', '/v2/%77ebhooks/']) {
      const res = await raw('GET', path);
      expect(res.status, path).toBe(401);
      expect(JSON.parse(res.body).errors[0].code).toBe('unauthorized');
    }
  });

  it('serves the public routes without a key', async () => {
    expect((await raw('GET', '/healthz')).status).toBe(200);
    expect((await raw('GET', '/readyz')).status).toBe(200);
    expect((await raw('GET', '/openapi.json')).status).toBe(200);
    expect((await raw('GET', '/%68ealthz')).status).toBe(200);
  });
});

describe('an encoded spelling, with a key', () => {
  it('counts against the rate limit and is written to the audit log, like the plain one', async () => {
    const limited = await startTestNode({ dev: false, rateLimit: 3 });
    try {
      const key = limited.account.api.key!;
      const send = (method: string, path: string, body?: unknown) =>
        fetch(`${limited.url}${path}`, {
          method,
          headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
          body: body ? JSON.stringify(body) : undefined,
        });
      const created = await send('POST', '/%762/webhooks/', {
        metadata: { name: 'encoded', webhook_url: 'https://hooks.example.test/in', events: ['media_available'], site_ids: [limited.account.siteId] },
      });
      expect(created.status).toBe(201);
      const id = ((await created.json()) as { id: string }).id;
      // The account reads its own audit log, through an encoded path too.
      const audit = (await (await send('GET', '/%762/audit_log/')).json()) as { audit_log: { action: string; target_id: string }[] };
      expect(audit.audit_log.map((e) => [e.action, e.target_id])).toContainEqual(['webhook.created', id]);
      // The create and the audit read were two of the 3 a minute: one more read fits, then 429.
      const statuses = [(await send('GET', '/%762/webhooks/')).status, (await send('GET', '/v2/webhooks/')).status];
      expect(statuses).toEqual([200, 429]);
    } finally {
      await limited.close();
    }
  });
});
