// One rate limit for the cluster: two api nodes on one PostgreSQL database let a key make its
// limit in all, not twice it, whichever node each request reaches; intake's large limit, taken
// in blocks, never passes the limit either; and when the shared counters fail, each node counts
// on its own rather than refusing.
import { afterEach, describe, expect, it } from 'vitest';
import { TEST_SECRET_KEY, freshSchema, schemaQuery, startTestNode, type Api, type TestNode } from '../helpers.js';

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two api nodes on one fresh schema, with these limits. */
async function twoApiNodes(rateLimit: number, intakeRateLimit: number, sessionRateLimit = 600): Promise<{ a: TestNode; b: TestNode; schema: string }> {
  const schema = await freshSchema();
  cleanups.push(() => schema.drop());
  const settings = { databaseUrl: schema.url, secretKey: TEST_SECRET_KEY, role: 'api' as const, rateLimit, intakeRateLimit, sessionRateLimit };
  const a = await startTestNode(settings, { store: 'postgres' });
  cleanups.push(() => a.close());
  const b = await startTestNode(settings, { store: 'postgres' });
  cleanups.push(() => b.close());
  return { a, b, schema: schema.schema };
}

/** The same key's requests, alternating between the nodes, `concurrency` at a time; the statuses by node. */
async function alternate(keyed: (node: TestNode) => Api, nodes: TestNode[], count: number, concurrency: number, send: (api: Api, i: number) => Promise<{ status: number; headers: Headers }>) {
  const results: { node: number; status: number; retryAfter: string | null }[] = [];
  for (let start = 0; start < count; start += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, count - start) }, async (_, j) => {
      const i = start + j;
      const res = await send(keyed(nodes[i % nodes.length]!), i);
      results.push({ node: i % nodes.length, status: res.status, retryAfter: res.headers.get('retry-after') });
    });
    await Promise.all(batch);
  }
  return results;
}

describe('the API rate limit on a cluster', () => {
  it('lets one key make 60 management requests a minute across two api nodes in all, not 120', async () => {
    const { a, b } = await twoApiNodes(60, 100_000);
    const key = a.account.api.key!;
    const results = await alternate((node) => node.account.api.as(key), [a, b], 150, 6, (api) => api.get('/v2/webhooks/'));
    const ok = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(ok).toHaveLength(60);
    expect(limited).toHaveLength(90);
    // Both nodes served part of the 60, and refused past them: one count, not one per node.
    expect(ok.filter((r) => r.node === 0).length).toBeGreaterThan(0);
    expect(ok.filter((r) => r.node === 1).length).toBeGreaterThan(0);
    expect(limited.filter((r) => r.node === 0).length).toBeGreaterThan(0);
    expect(limited.filter((r) => r.node === 1).length).toBeGreaterThan(0);
    for (const r of limited) expect(Number(r.retryAfter)).toBeGreaterThan(0);

    // Another key of the same account has its own 60.
    const other = await a.operator.post(`/v2/accounts/${a.account.id}/api_keys/`, { name: 'second' });
    expect((await b.account.api.as(other.body.secret).get('/v2/webhooks/')).status).toBe(200);
  });

  it('never lets intake past its limit across the nodes, though each node takes it in blocks', async () => {
    // 300 a minute: blocks of 3 requests per upsert (a hundredth of the limit).
    const { a, b } = await twoApiNodes(100_000, 300);
    const site = a.account.siteId;
    const results = await alternate((node) => node.operator, [a, b], 340, 4,
      (api, i) => api.post(`/v2/sites/${site}/events/`, { event: 'media_created', media_id: `m${String(i).padStart(7, '0')}` }));
    const accepted = results.filter((r) => r.status === 202).length;
    expect(results.filter((r) => r.status !== 202 && r.status !== 429)).toEqual([]);
    // At most the limit; at least the limit less what each node may hold unused of its last block.
    expect(accepted).toBeLessThanOrEqual(300);
    expect(accepted).toBeGreaterThanOrEqual(300 - 2 * (3 - 1));
  });

  it("counts a dashboard session's requests on the session's own budget across the nodes, never on its key's", async () => {
    const { a, b } = await twoApiNodes(3, 100_000, 6);
    const signedIn = await fetch(`${a.url}/ui/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ api_key: a.account.api.key }),
    });
    const cookie = signedIn.headers.getSetCookie()[0]!.split(';')[0]!;
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await fetch(`${[a, b][i % 2]!.url}/v2/sites/`, { headers: { cookie } })).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(6);
    expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    const byKey = await b.account.api.as(a.account.api.key!).get('/v2/sites/');
    expect(byKey.status).toBe(200);
    expect(byKey.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  it('counts on each node alone when the shared counters fail, rather than refusing', async () => {
    const { a, b, schema } = await twoApiNodes(5, 100_000);
    await schemaQuery(schema, 'DROP TABLE rate_limits');
    // Each node now counts the key in its own memory: 5 on each.
    const results = await alternate((node) => node.account.api.as(a.account.api.key!), [a, b], 14, 1, (api) => api.get('/v2/sites/'));
    expect(results.filter((r) => r.status === 200)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(4);
  });
});
