// The dashboard's session over real HTTP: an API key buys an HttpOnly, SameSite=Strict cookie;
// the cookie authenticates /v2/ routes, unsafe ones only with the CSRF token and from the same
// origin; signing out revokes it on the server; pages carry a strict Content-Security-Policy.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteStore } from '../../src/store/sqlite/index.js';
import { OPERATOR_KEY, createAccount, startTestNode, type TestNode } from '../helpers.js';

let node: TestNode;
let clockMs = Date.parse('2026-01-05T10:00:00Z');
const clock = { now: () => clockMs };
const TTL = 60 * 60_000;

beforeAll(async () => {
  node = await startTestNode({ sessionTtlMs: TTL }, { clock });
});
afterAll(() => node.close());

interface Signed {
  cookie: string;
  setCookie: string;
  csrf: string;
  body: any;
}

async function signIn(apiKey: string, headers: Record<string, string> = {}): Promise<{ res: Response; body: any; signed?: Signed }> {
  const res = await fetch(`${node.url}/ui/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ api_key: apiKey }),
  });
  const body = await res.json();
  const setCookie = res.headers.getSetCookie()[0];
  if (res.status !== 201 || !setCookie) return { res, body };
  return { res, body, signed: { cookie: setCookie.split(';')[0]!, setCookie, csrf: body.csrf_token, body } };
}

function withCookie(s: Signed, method: string, path: string, options: { csrf?: boolean; headers?: Record<string, string>; body?: unknown } = {}) {
  return fetch(node.url + path, {
    method,
    headers: {
      cookie: s.cookie,
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(options.csrf ? { 'x-csrf-token': s.csrf } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
}

const webhookBody = () => ({
  metadata: { name: 'From the dashboard', webhook_url: 'https://example.test/hook', events: ['media_available'], site_ids: [node.account.siteId] },
});

async function webhookCount(): Promise<number> {
  return (await node.account.api.get('/v2/webhooks/')).body.total;
}

describe('signing in', () => {
  it('sets an HttpOnly, SameSite=Strict session cookie and says who is signed in', async () => {
    const { res, signed } = await signIn(node.account.api.key!);
    expect(res.status).toBe(201);
    const attributes = signed!.setCookie.split(';').map((a) => a.trim().toLowerCase());
    expect(signed!.cookie).toMatch(/^hookline_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toContain('httponly');
    expect(attributes).toContain('samesite=strict');
    expect(attributes).toContain('path=/');
    expect(attributes).toContain(`max-age=${TTL / 1000}`);
    expect(attributes).not.toContain('secure'); // --dev serves plain http; see the Secure test below
    expect(signed!.body).toMatchObject({ role: 'account', account: { id: node.account.id, name: 'Default account' } });
    expect(signed!.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The cookie is not the key, and the key is not echoed back.
    expect(signed!.setCookie).not.toContain(node.account.api.key);
    expect(JSON.stringify(signed!.body)).not.toContain(node.account.api.key);
  });

  it('refuses a wrong key, naming the field, and sets no cookie', async () => {
    const { res, body } = await signIn('hlk_not_a_key');
    expect(res.status).toBe(401);
    expect(body.errors[0]).toEqual({ code: 'unauthorized', description: 'api_key: this API key is not valid' });
    expect(res.headers.getSetCookie()).toEqual([]);
    const empty = await signIn('');
    expect(empty.res.status).toBe(400);
    expect(empty.body.errors[0].description).toMatch(/^api_key /);
  });

  it('refuses a sign-in posted from another site', async () => {
    const fromElsewhere = await signIn(node.account.api.key!, { origin: 'http://evil.example' });
    expect(fromElsewhere.res.status).toBe(403);
    expect(fromElsewhere.body.errors[0].code).toBe('csrf_failed');
    expect(fromElsewhere.res.headers.getSetCookie()).toEqual([]);
    const crossSite = await signIn(node.account.api.key!, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.res.status).toBe(403);
  });

  it('signs the operator in as the operator', async () => {
    const { signed } = await signIn(OPERATOR_KEY);
    expect(signed!.body).toMatchObject({ role: 'operator', account: null });
    const accounts = await withCookie(signed!, 'GET', '/v2/accounts/');
    expect(accounts.status).toBe(200);
  });
});

describe('requests made with the cookie', () => {
  it('authenticate reads as the signed-in account', async () => {
    const { signed } = await signIn(node.account.api.key!);
    const sites = await withCookie(signed!, 'GET', '/v2/sites/');
    expect(sites.status).toBe(200);
    expect((await sites.json()).sites.map((s: any) => s.id)).toEqual([node.account.siteId]);
    const me = await withCookie(signed!, 'GET', '/ui/session');
    expect(me.status).toBe(200);
    expect(me.headers.get('cache-control')).toBe('no-store');
    expect((await me.json()).csrf_token).toBe(signed!.csrf);
  });

  it('refuse unsafe methods without the CSRF token, and change nothing', async () => {
    const { signed } = await signIn(node.account.api.key!);
    const before = await webhookCount();
    const res = await withCookie(signed!, 'POST', '/v2/webhooks/', { body: webhookBody() });
    expect(res.status).toBe(403);
    expect((await res.json()).errors[0]).toMatchObject({ code: 'csrf_failed' });
    const wrong = await withCookie(signed!, 'POST', '/v2/webhooks/', { body: webhookBody(), headers: { 'x-csrf-token': 'x'.repeat(43) } });
    expect(wrong.status).toBe(403);
    expect(await webhookCount()).toBe(before);
  });

  it('refuse unsafe methods from another origin even with the token', async () => {
    const { signed } = await signIn(node.account.api.key!);
    const before = await webhookCount();
    const foreign = await withCookie(signed!, 'POST', '/v2/webhooks/', { body: webhookBody(), csrf: true, headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    const crossSite = await withCookie(signed!, 'POST', '/v2/webhooks/', { body: webhookBody(), csrf: true, headers: { 'sec-fetch-site': 'same-site' } });
    expect(crossSite.status).toBe(403);
    expect(await webhookCount()).toBe(before);
  });

  it('allow unsafe methods with the token from the same origin', async () => {
    const { signed } = await signIn(node.account.api.key!);
    const res = await withCookie(signed!, 'POST', '/v2/webhooks/', {
      body: webhookBody(), csrf: true, headers: { origin: node.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(res.status).toBe(201);
    const created = await res.json();
    const del = await withCookie(signed!, 'DELETE', `/v2/webhooks/${created.id}/`, { csrf: true });
    expect(del.status).toBe(204);
  });

  it('leave header-key clients as they were: the header wins and needs no token', async () => {
    const { signed } = await signIn(OPERATOR_KEY);
    // An account key in the header, an operator cookie beside it: the request is the account's.
    const res = await fetch(`${node.url}/v2/webhooks/`, {
      method: 'POST',
      headers: { cookie: signed!.cookie, authorization: `Bearer ${node.account.api.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody()),
    });
    expect(res.status).toBe(201);
    const bad = await fetch(`${node.url}/v2/webhooks/`, { headers: { cookie: signed!.cookie, authorization: 'Bearer hlk_nope' } });
    expect(bad.status).toBe(401);
  });

  it('end when the session expires', async () => {
    const { signed } = await signIn(node.account.api.key!);
    clockMs += TTL + 1;
    try {
      const res = await withCookie(signed!, 'GET', '/v2/webhooks/');
      expect(res.status).toBe(401);
      expect((await withCookie(signed!, 'GET', '/ui/session')).status).toBe(401);
    } finally {
      clockMs -= TTL + 1;
    }
  });
});

describe('deleting the API key', () => {
  it('ends the sessions opened with it', async () => {
    const other = await createAccount(node.operator, 'Short-lived');
    const { signed } = await signIn(other.api.key!);
    expect((await withCookie(signed!, 'GET', '/v2/webhooks/')).status).toBe(200);
    const store = node.hookline.store as SqliteStore;
    const sessions = () => (store.db.prepare('SELECT count(*) AS n FROM sessions').get() as { n: number }).n;
    const before = sessions();
    store.db.prepare('DELETE FROM api_keys WHERE account_id = ?').run(other.id);
    expect(sessions()).toBe(before - 1);
    expect((await withCookie(signed!, 'GET', '/v2/webhooks/')).status).toBe(401);
  });
});

describe('signing out', () => {
  it('needs the token, clears the cookie and revokes the session on the server', async () => {
    const { signed } = await signIn(node.account.api.key!);
    const forged = await withCookie(signed!, 'DELETE', '/ui/session');
    expect(forged.status).toBe(403);
    expect((await withCookie(signed!, 'GET', '/v2/webhooks/')).status).toBe(200);

    const out = await withCookie(signed!, 'DELETE', '/ui/session', { csrf: true });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie()[0]!;
    expect(cleared).toMatch(/^hookline_session=;/);
    expect(cleared.toLowerCase()).toMatch(/expires=thu, 01 jan 1970/);
    // A copy of the old cookie is worth nothing now.
    expect((await withCookie(signed!, 'GET', '/v2/webhooks/')).status).toBe(401);
    expect((await withCookie(signed!, 'GET', '/ui/session')).status).toBe(401);
  });
});

describe('the pages', () => {
  it('are served with a strict Content-Security-Policy at each dashboard path', async () => {
    for (const path of ['/', '/sign-in', '/webhooks', '/webhooks/Ab3dEf7h', '/events', '/properties']) {
      const res = await fetch(node.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      const html = await res.text();
      expect(html).toContain('<div id="root"></div>');
      // Nothing inline for the policy to forbid.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/<style|style=/);
    }
  });

  it('serve their hashed assets for long caching, and leave API answers unchanged', async () => {
    const html = await (await fetch(node.url + '/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(node.url + script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await asset.text()).length).toBeGreaterThan(1000); // read to the end, or the connection stays busy
    const api = await node.account.api.get('/v2/webhooks/');
    expect(api.headers.get('content-security-policy')).toBeNull();
    const missing = await fetch(`${node.url}/nowhere`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ errors: [{ code: 'not_found', description: 'no route GET /nowhere' }] });
  });
});

describe('outside development mode', () => {
  it('marks the cookie Secure', async () => {
    const prod = await startTestNode({ dev: false });
    try {
      const res = await fetch(`${prod.url}/ui/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ api_key: prod.account.api.key }),
      });
      expect(res.status).toBe(201);
      expect(res.headers.getSetCookie()[0]!.split(';').map((a) => a.trim())).toContain('Secure');
    } finally {
      await prod.close();
    }
  });
});

describe('rate limits', () => {
  it("count the dashboard's requests against its session's budget, never against its key's", async () => {
    const limited = await startTestNode({ rateLimit: 3, sessionRateLimit: 5 });
    try {
      const key = limited.account.api.key!;
      const signedIn = await fetch(`${limited.url}/ui/session`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key }),
      });
      const cookie = signedIn.headers.getSetCookie()[0]!.split(';')[0]!;
      const byCookie = () => fetch(`${limited.url}/v2/webhooks/`, { headers: { cookie } });
      for (let i = 0; i < 5; i++) {
        const res = await byCookie();
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBe('5');
        expect(res.headers.get('x-ratelimit-remaining')).toBe(String(4 - i));
      }
      const refused = await byCookie();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await refused.json()).errors[0].description).toMatch(/^too many requests for this dashboard session: at most 5 a minute/);

      // The key's own budget is untouched: its first request leaves 2 of 3.
      const byKey = await limited.account.api.get('/v2/webhooks/');
      expect(byKey.status).toBe(200);
      expect(byKey.headers.get('x-ratelimit-limit')).toBe('3');
      expect(byKey.headers.get('x-ratelimit-remaining')).toBe('2');
      // And a second session of the same key has a budget of its own.
      const other = await fetch(`${limited.url}/ui/session`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: key }),
      });
      const second = await fetch(`${limited.url}/v2/webhooks/`, { headers: { cookie: other.headers.getSetCookie()[0]!.split(';')[0]! } });
      expect(second.headers.get('x-ratelimit-remaining')).toBe('4');
    } finally {
      await limited.close();
    }
  });
});
