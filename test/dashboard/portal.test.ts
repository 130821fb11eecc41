// Portal sessions over real HTTP: the operator's key makes a one-use link for an account's
// dashboard; opening it (the /portal page posts the token of its fragment to /ui/portal) sets
// the usual session cookie, scoped to that account, ending at expires_at; a second open of the
// same link, or an open after a few minutes, is refused; read_only sessions change nothing;
// HOOKLINE_PORTAL_FRAME_ANCESTORS decides who may frame the dashboard and how the cookie is set.
// And the dashboard's own 404 for a browser, JSON for the API.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createAccount, startTestNode, type TestNode } from '../helpers.js';

let node: TestNode;
let clockMs = Date.parse('2026-03-02T09:00:00Z');
const clock = { now: () => clockMs };

beforeAll(async () => {
  node = await startTestNode({}, { clock });
});
afterAll(() => node?.close());

interface Opened {
  status: number;
  body: any;
  setCookie: string | undefined;
  cookie: string;
}

const portalPath = (accountId = node.account.id) => `/v2/accounts/${accountId}/portal_sessions/`;

async function makeLink(body: unknown = {}, accountId = node.account.id): Promise<{ url: string; token: string; expires_at: string }> {
  const res = await node.operator.post(portalPath(accountId), body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const token = new URL(res.body.url).hash.slice(1);
  return { ...res.body, token };
}

async function open(token: string, at = node.url): Promise<Opened> {
  const res = await fetch(`${at}/ui/portal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
  const setCookie = res.headers.getSetCookie()[0];
  return { status: res.status, body: await res.json(), setCookie, cookie: setCookie?.split(';')[0] ?? '' };
}

function withCookie(s: Opened, method: string, path: string, body?: unknown, csrf = true) {
  return fetch(node.url + path, {
    method,
    headers: {
      cookie: s.cookie,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(csrf ? { 'x-csrf-token': s.body.csrf_token } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const webhookBody = (name = 'From the portal') => ({
  metadata: { name, webhook_url: 'https://example.test/hook', events: ['media_available'], site_ids: [node.account.siteId] },
});

describe('making a portal link', () => {
  it('gives the operator a one-use link to the account dashboard and when its session ends', async () => {
    const res = await node.operator.post(portalPath(), { ttl: '2h', read_only: false });
    expect(res.status).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(['expires_at', 'url']);
    expect(res.body.url).toMatch(new RegExp(`^${node.url}/portal#[A-Za-z0-9_-]{43}$`));
    expect(Date.parse(res.body.expires_at)).toBe(clockMs + 2 * 3_600_000);
    expect(res.headers.get('cache-control')).toBe('no-store');
    // The default ttl is an hour.
    const byDefault = await node.operator.post(portalPath(), {});
    expect(Date.parse(byDefault.body.expires_at)).toBe(clockMs + 3_600_000);
    expect(byDefault.body.url).not.toBe(res.body.url);
  });

  it('is the operator key\'s alone: an account key gets 403, no key 401, and no link is made', async () => {
    const other = await createAccount(node.operator, 'Portal other');
    for (const api of [node.account.api, other.api]) {
      const res = await api.post(portalPath(), { ttl: '1h' });
      expect(res.status).toBe(403);
      expect(res.body.errors[0]).toEqual({ code: 'forbidden', description: 'this route needs the operator key' });
    }
    const anonymous = await fetch(node.url + portalPath(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(anonymous.status).toBe(401);
    // A portal session is the account's: it cannot make links either.
    const session = await open((await makeLink()).token);
    const fromPortal = await withCookie(session, 'POST', portalPath(), { ttl: '1h' });
    expect(fromPortal.status).toBe(403);
  });

  it('refuses a bad ttl or body with 400 in JWP\'s format, and an unknown account with 404', async () => {
    const before = (await node.operator.get('/v2/audit_log/?page_length=1')).body.total;
    for (const [body, description] of [
      [{ ttl: 'soon' }, 'ttl: "soon" is not a duration (like 500ms, 5s, 30m, 2h, 5d)'],
      [{ ttl: '30s' }, 'ttl must be from 1m to 24h, got "30s"'],
      [{ ttl: '25h' }, 'ttl must be from 1m to 24h, got "25h"'],
      [{ ttl: '2d' }, 'ttl must be from 1m to 24h, got "2d"'],
      [{ ttl: 3600 }, 'ttl: "3600" needs a unit (ms, s, m, h or d)'],
      [{ read_only: 'maybe' }, 'read_only must be boolean'],
      [{ ttl: '1h', role: 'operator' }, 'role is not a known field'],
    ] as const) {
      const res = await node.operator.post(portalPath(), body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual({ errors: [{ code: 'invalid_body', description }] });
    }
    const unknown = await node.operator.post(portalPath('NoSuch01'), { ttl: '1h' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors[0]).toEqual({ code: 'not_found', description: 'account NoSuch01 not found' });
    // Nothing was made, so nothing was audited.
    expect((await node.operator.get('/v2/audit_log/?page_length=1')).body.total).toBe(before);
  });

  it('is in the audit log, naming the account', async () => {
    await makeLink({ ttl: '15m', read_only: true });
    const [entry] = (await node.operator.get('/v2/audit_log/?page_length=1')).body.audit_log;
    expect(entry).toMatchObject({ action: 'portal_session.created', actor: 'operator', account_id: node.account.id, target_type: 'account', target_id: node.account.id });
  });
});

describe('opening a portal link', () => {
  it("signs the browser in to the account's dashboard with the usual HttpOnly cookie, until expires_at", async () => {
    const link = await makeLink({ ttl: '30m' });
    const opened = await open(link.token);
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ role: 'account', account: { id: node.account.id, name: 'Default account' }, portal: true, read_only: false });
    expect(Date.parse(opened.body.expires)).toBe(Date.parse(link.expires_at));
    const attributes = opened.setCookie!.split(';').map((a) => a.trim().toLowerCase());
    expect(opened.cookie).toMatch(/^hookline_session=[A-Za-z0-9_-]{43}$/);
    expect(attributes).toEqual(expect.arrayContaining(['httponly', 'samesite=strict', 'path=/', `max-age=${30 * 60}`]));
    expect(opened.setCookie).not.toContain(link.token);
    const me = await (await withCookie(opened, 'GET', '/ui/session')).json();
    expect(me).toMatchObject({ role: 'account', portal: true, read_only: false });
  });

  it("sees and changes the account's webhooks only, with the CSRF token as every session", async () => {
    const other = await createAccount(node.operator, 'Portal neighbour');
    const theirs = await other.api.post('/v2/webhooks/', { metadata: { name: 'Theirs', webhook_url: 'https://example.test/theirs', events: ['media_available'], site_ids: [other.siteId] } });
    const session = await open((await makeLink()).token);
    const noToken = await withCookie(session, 'POST', '/v2/webhooks/', webhookBody(), false);
    expect(noToken.status).toBe(403);
    expect((await noToken.json()).errors[0].code).toBe('csrf_failed');
    const created = await withCookie(session, 'POST', '/v2/webhooks/', webhookBody('Made in the portal'));
    expect(created.status).toBe(201);
    const id = (await created.json()).id;
    expect((await node.account.api.get(`/v2/webhooks/${id}/`)).body.metadata.name).toBe('Made in the portal');
    expect((await withCookie(session, 'GET', `/v2/webhooks/${theirs.body.id}/`)).status).toBe(404);
    const list = await (await withCookie(session, 'GET', '/v2/webhooks/?page_length=100')).json();
    expect(list.webhooks.map((w: any) => w.id)).toContain(id);
    expect(list.webhooks.map((w: any) => w.id)).not.toContain(theirs.body.id);
    // The change is audited as the portal's.
    const [entry] = (await node.account.api.get('/v2/audit_log/?page_length=1')).body.audit_log;
    expect(entry).toMatchObject({ action: 'webhook.created', actor: 'portal', account_id: node.account.id, target_id: id });
    expect((await node.account.api.delete(`/v2/webhooks/${id}/`)).status).toBe(204);
  });

  it('works once: the second open of the same link is refused, and so is an unknown token', async () => {
    const link = await makeLink();
    expect((await open(link.token)).status).toBe(201);
    const again = await open(link.token);
    expect(again.status).toBe(401);
    expect(again.setCookie).toBeUndefined();
    expect(again.body.errors[0]).toEqual({ code: 'unauthorized', description: 'this portal link is not valid: it was opened already, or it expired. Ask for a new one.' });
    expect((await open('x'.repeat(43))).status).toBe(401);
  });

  it('works once even when two browsers open it at the same moment', async () => {
    for (let round = 0; round < 5; round++) {
      const link = await makeLink();
      const both = await Promise.all([open(link.token), open(link.token), open(link.token)]);
      expect(both.map((o) => o.status).sort()).toEqual([201, 401, 401]);
    }
  });

  it('opens nothing after a few minutes, even within its ttl', async () => {
    const link = await makeLink({ ttl: '1h' });
    clockMs += 5 * 60_000;
    try {
      expect((await open(link.token)).status).toBe(401);
    } finally {
      clockMs -= 5 * 60_000;
    }
    const soon = await makeLink({ ttl: '1h' });
    clockMs += 5 * 60_000 - 1;
    try {
      expect((await open(soon.token)).status).toBe(201);
    } finally {
      clockMs -= 5 * 60_000 - 1;
    }
  });

  it('gives a session that ends at expires_at', async () => {
    const link = await makeLink({ ttl: '1m' });
    clockMs += 30_000;
    const session = await open(link.token);
    expect(session.status).toBe(201);
    // Its cookie lasts what is left of the ttl, not a whole one from the open.
    expect(session.setCookie!.toLowerCase()).toContain('max-age=30');
    expect((await withCookie(session, 'GET', '/v2/webhooks/')).status).toBe(200);
    clockMs += 30_000 - 1;
    expect((await withCookie(session, 'GET', '/v2/webhooks/')).status).toBe(200);
    clockMs += 1;
    expect((await withCookie(session, 'GET', '/v2/webhooks/')).status).toBe(401);
    expect((await withCookie(session, 'GET', '/ui/session')).status).toBe(401);
  });

  it('refuses an open posted from another site', async () => {
    const link = await makeLink();
    const res = await fetch(`${node.url}/ui/portal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
      body: JSON.stringify({ token: link.token }),
    });
    expect(res.status).toBe(403);
    // The refusal consumed nothing: the link still opens from the dashboard.
    expect((await open(link.token)).status).toBe(201);
  });
});

describe('a read-only portal session', () => {
  it('reads, and every change answers 403 in JWP\'s format and changes nothing', async () => {
    const hook = await node.account.api.post('/v2/webhooks/', webhookBody('Watched'));
    const session = await open((await makeLink({ ttl: '1h', read_only: true })).token);
    expect(session.body).toMatchObject({ portal: true, read_only: true });
    expect((await withCookie(session, 'GET', '/v2/webhooks/')).status).toBe(200);
    expect((await withCookie(session, 'GET', `/v2/webhooks/${hook.body.id}/deliveries/`)).status).toBe(200);
    const total = (await node.account.api.get('/v2/webhooks/')).body.total;
    for (const [method, path, body] of [
      ['POST', '/v2/webhooks/', webhookBody('Not made')],
      ['PATCH', `/v2/webhooks/${hook.body.id}/`, { metadata: { name: 'Renamed' } }],
      ['DELETE', `/v2/webhooks/${hook.body.id}/`, undefined],
      ['POST', `/v2/webhooks/${hook.body.id}/test/`, { event: 'media_available' }],
      ['POST', `/v2/webhooks/${hook.body.id}/rotate_secret/`, {}],
    ] as const) {
      const res = await withCookie(session, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(await res.json()).toEqual({ errors: [{ code: 'forbidden', description: 'this dashboard session is read-only: it can look, not change' }] });
    }
    expect((await node.account.api.get('/v2/webhooks/')).body.total).toBe(total);
    const kept = (await node.account.api.get(`/v2/webhooks/${hook.body.id}/`)).body;
    expect(kept.metadata.name).toBe('Watched');
    expect((await node.account.api.get(`/v2/webhooks/${hook.body.id}/deliveries/`)).body.total).toBe(0);
    // Signing out is not a change to the account: it works.
    expect((await withCookie(session, 'DELETE', '/ui/session')).status).toBe(204);
    expect((await withCookie(session, 'GET', '/v2/webhooks/')).status).toBe(401);
    await node.account.api.delete(`/v2/webhooks/${hook.body.id}/`);
  });
});

describe('framing', () => {
  const page = (at: string, path = '/') => fetch(at + path, { headers: { accept: 'text/html' } });

  it('is refused by default: frame-ancestors none, X-Frame-Options DENY, SameSite=Strict', async () => {
    for (const path of ['/', '/portal', '/webhooks/Ab3dEf7h', '/no/such/page']) {
      const res = await page(node.url, path);
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      await res.text();
    }
    const session = await open((await makeLink()).token);
    expect(session.setCookie!.toLowerCase()).toContain('samesite=strict');
  });

  it('is allowed to the listed origins only, with a SameSite=None; Secure; Partitioned cookie', async () => {
    const framed = await startTestNode({ portalFrameAncestors: ['http://localhost:4100', 'https://*.console.example'] });
    try {
      for (const path of ['/', '/portal', '/events', '/no/such/page']) {
        const res = await page(framed.url, path);
        const csp = res.headers.get('content-security-policy')!;
        expect(csp, path).toContain('frame-ancestors http://localhost:4100 https://*.console.example');
        expect(csp).not.toContain("frame-ancestors 'none'");
        expect(res.headers.get('x-frame-options'), path).toBeNull();
        await res.text();
      }
      const made = await framed.operator.post(`/v2/accounts/${framed.account.id}/portal_sessions/`, { ttl: '10m' });
      const opened = await open(new URL(made.body.url).hash.slice(1), framed.url);
      expect(opened.status).toBe(201);
      const attributes = opened.setCookie!.split(';').map((a) => a.trim().toLowerCase());
      expect(attributes).toEqual(expect.arrayContaining(['samesite=none', 'secure', 'partitioned', 'httponly']));
      // Signing in with a key gets the same cookie: it is the one cookie of the framed dashboard.
      const signedIn = await fetch(`${framed.url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: framed.account.api.key }) });
      expect(signedIn.headers.getSetCookie()[0]!.toLowerCase()).toContain('samesite=none');
      // CSRF is kept: a cross-site POST with the cookie is refused, token or not.
      const session = { ...opened };
      const crossSite = await fetch(`${framed.url}/v2/webhooks/`, {
        method: 'POST',
        headers: { cookie: session.cookie, 'content-type': 'application/json', 'x-csrf-token': session.body.csrf_token, origin: 'http://localhost:4100', 'sec-fetch-site': 'cross-site' },
        body: JSON.stringify(webhookBody()),
      });
      expect(crossSite.status).toBe(403);
      expect((await crossSite.json()).errors[0].code).toBe('csrf_failed');
    } finally {
      await framed.close();
    }
  });

  it('takes origins only, refusing anything else at start', () => {
    expect(loadConfig([], { HOOKLINE_PORTAL_FRAME_ANCESTORS: 'https://console.example.com, http://localhost:3000' }).portalFrameAncestors)
      .toEqual(['https://console.example.com', 'http://localhost:3000']);
    expect(loadConfig([]).portalFrameAncestors).toEqual([]);
    for (const bad of ['console.example.com', 'https://console.example.com/embed', "'self'", '*', 'ftp://x.example', "https://a.example 'unsafe-inline'"]) {
      expect(() => loadConfig([], { HOOKLINE_PORTAL_FRAME_ANCESTORS: bad }), bad).toThrow(ConfigError);
    }
  });

  it('builds links on HOOKLINE_PUBLIC_URL when it is set', async () => {
    const behind = await startTestNode({ publicUrl: 'https://hooks.example.com' });
    try {
      const made = await behind.operator.post(`/v2/accounts/${behind.account.id}/portal_sessions/`, {});
      expect(made.body.url).toMatch(/^https:\/\/hooks\.example\.com\/portal#[A-Za-z0-9_-]{43}$/);
    } finally {
      await behind.close();
    }
  });
});

describe('a page that is not there', () => {
  it("is the dashboard's own 404 page for a browser", async () => {
    const res = await fetch(`${node.url}/no/such/page`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await res.text()).toContain('<div id="root"></div>');
  });

  it('stays JSON for API clients, and under /v2/ whoever asks', async () => {
    const json = await fetch(`${node.url}/no/such/page`);
    expect(json.status).toBe(404);
    expect(await json.json()).toEqual({ errors: [{ code: 'not_found', description: 'no route GET /no/such/page' }] });
    for (const path of ['/v2/nothing/here/', '/ui/nothing', '/assets/missing.js']) {
      const res = await fetch(node.url + path, { headers: { accept: 'text/html' } });
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/json/);
      await res.text();
    }
  });
});
