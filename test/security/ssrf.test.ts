// The SSRF guard. Names really resolve (through the guard's resolver hook) to addresses in every
// blocked range, IPv4 and IPv6, and the guard's `lookup` — the one the sender's sockets use —
// must refuse each before any socket opens. End to end, production-mode nodes refuse blocked
// literals at creation, refuse at connect what DNS turns into loopback (rebinding included),
// and deliver over https to a loopback receiver that HOOKLINE_ALLOWED_TARGETS opens.
//
// Only loopback is ever connected to: the other ranges are refused inside `lookup`, and the
// tests that could connect on a bug use loopback addresses.
import type { LookupAddress } from 'node:dns';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Sender } from '../../src/delivery/sender.js';
import { BLOCKED_RANGES, parseAllowList, TargetGuard, type Resolve } from '../../src/security/ssrf.js';
import {
  createWebhook, selfSignedCert, startReceiver, startTestNode, tempDir, until, type Certificate, type Receiver, type TestNode,
} from '../helpers.js';

const family = (address: string) => (address.includes(':') ? 6 : 4);

/** A resolver hook: each name answers what `answers` holds for it now. */
function fakeDns(answers: Record<string, string[]>): Resolve {
  return async (hostname) => {
    const found = answers[hostname.toLowerCase().replace(/\.$/, '')];
    if (!found) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found.map((address) => ({ address, family: family(address) }));
  };
}

/** Calls the guard's lookup as net.connect does (with and without `all`). */
function lookup(guard: TargetGuard, hostname: string, all: boolean): Promise<LookupAddress[]> {
  return new Promise((resolve, reject) => {
    guard.lookup(hostname, { all }, (err, address, fam) => {
      if (err) reject(err);
      else resolve(Array.isArray(address) ? address : [{ address, family: fam! }]);
    });
  });
}

/** One address inside each blocked range, and the range's name as the refusal states it. */
const BLOCKED_SAMPLES: [string, RegExp][] = [
  ['0.0.0.0', /unspecified/],
  ['0.1.2.3', /unspecified/],
  ['10.0.0.5', /private 10\.0\.0\.0\/8/],
  ['100.64.0.1', /carrier-grade NAT/],
  ['100.127.255.254', /carrier-grade NAT/],
  ['127.0.0.1', /loopback/],
  ['127.255.0.9', /loopback/],
  ['169.254.169.254', /link-local \(cloud metadata\)/],
  ['172.16.0.1', /private 172\.16\.0\.0\/12/],
  ['172.31.255.255', /private/],
  ['192.0.0.8', /IETF/],
  ['192.0.2.10', /documentation/],
  ['192.88.99.1', /6to4 relay/],
  ['192.168.1.1', /private 192\.168\.0\.0\/16/],
  ['198.18.0.1', /benchmarking/],
  ['198.51.100.7', /documentation/],
  ['203.0.113.9', /documentation/],
  ['224.0.0.1', /multicast/],
  ['239.255.255.250', /multicast/],
  ['240.0.0.1', /reserved/],
  ['255.255.255.255', /reserved/],
  ['::', /unspecified/],
  ['::1', /loopback/],
  ['::127.0.0.1', /IPv4-compatible/],
  ['::ffff:127.0.0.1', /loopback 127/],
  ['::ffff:7f00:1', /loopback 127/],
  ['::ffff:169.254.169.254', /cloud metadata/],
  ['::ffff:10.1.2.3', /private/],
  ['::ffff:100.64.0.1', /carrier-grade NAT/],
  ['::ffff:0:10.0.0.1', /IPv4-translated/],
  ['64:ff9b::7f00:1', /loopback/],
  ['64:ff9b::a9fe:a9fe', /cloud metadata/],
  ['64:ff9b:1::1', /local-use NAT64/],
  ['100::1', /discard/],
  ['2001::1', /IETF/],
  ['2001:db8::1', /documentation/],
  ['2002:7f00:1::1', /loopback/],
  ['2002:c0a8:101::1', /private/],
  ['3fff::1', /documentation/],
  ['fc00::1', /unique-local/],
  ['fd12:3456:789a::1', /unique-local/],
  ['fe80::1', /link-local/],
  ['febf:ffff::1', /link-local/],
  ['fec0::1', /site-local/],
  ['ff02::1', /multicast/],
  ['ff0e::101', /multicast/],
];

const PUBLIC_SAMPLES = ['93.184.216.34', '8.8.8.8', '1.1.1.1', '100.128.0.1', '172.32.0.1', '::ffff:8.8.8.8', '2606:4700::1111', '64:ff9b::808:808', '2002:808:808::1'];

describe('the guard, on what DNS answers', () => {
  it('has a sample of every blocked range', () => {
    const refusals = BLOCKED_SAMPLES.map(([address]) => new TargetGuard().addressRefusal(address) ?? '');
    for (const { cidr } of BLOCKED_RANGES) expect(refusals.some((r) => r.endsWith(` ${cidr}`)), cidr).toBe(true);
  });

  it.each(BLOCKED_SAMPLES)('refuses a name that resolves to %s', async (address, why) => {
    const guard = new TargetGuard({ resolve: fakeDns({ 'evil.example': [address] }) });
    for (const all of [false, true]) {
      const err = await lookup(guard, 'evil.example', all).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err, `${address} let through`).toBeInstanceOf(Error);
      expect(err!.code).toBe('ETARGETREFUSED');
      expect(err!.message).toContain('evil.example');
      expect(err!.message).toMatch(why);
      expect(err!.message).toContain('HOOKLINE_ALLOWED_TARGETS');
    }
  });

  it('lets public addresses through, and only those when a name has both kinds', async () => {
    const guard = new TargetGuard({ resolve: fakeDns({ pub: PUBLIC_SAMPLES, mixed: ['127.0.0.1', '93.184.216.34', '::1', '2606:4700::1111'] }) });
    expect((await lookup(guard, 'pub', true)).map((a) => a.address)).toEqual(PUBLIC_SAMPLES);
    expect(await lookup(guard, 'mixed', true)).toEqual([{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1111', family: 6 }]);
    expect(await lookup(guard, 'mixed', false)).toEqual([{ address: '93.184.216.34', family: 4 }]);
    await new Promise<void>((resolve) => guard.lookup('mixed', { family: 6 }, (err, address) => {
      expect(err).toBeNull();
      expect(address).toBe('2606:4700::1111');
      resolve();
    }));
  });

  it('passes DNS failures on as they are', async () => {
    const guard = new TargetGuard({ resolve: fakeDns({}) });
    await expect(lookup(guard, 'nowhere.example', false)).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('opens CIDRs, addresses and host names from the allow-list, and nothing else', async () => {
    const allowed = parseAllowList(['10.1.0.0/16', '::1', 'hooks.corp.example', '*.lab.example']);
    const guard = new TargetGuard({
      allowed,
      resolve: fakeDns({ a: ['10.1.2.3'], b: ['10.2.0.1'], c: ['::1'], 'hooks.corp.example': ['192.168.0.9'], 'x.lab.example': ['127.0.0.1'], 'lab.example': ['127.0.0.1'] }),
    });
    expect(await lookup(guard, 'a', false)).toEqual([{ address: '10.1.2.3', family: 4 }]);
    await expect(lookup(guard, 'b', false)).rejects.toMatchObject({ code: 'ETARGETREFUSED' });
    expect(await lookup(guard, 'c', false)).toEqual([{ address: '::1', family: 6 }]);
    expect(await lookup(guard, 'HOOKS.corp.example.', false)).toEqual([{ address: '192.168.0.9', family: 4 }]);
    expect(await lookup(guard, 'x.lab.example', false)).toEqual([{ address: '127.0.0.1', family: 4 }]);
    await expect(lookup(guard, 'lab.example', false)).rejects.toMatchObject({ code: 'ETARGETREFUSED' });
    // An allowed IPv4 range opens its IPv4-mapped IPv6 spelling too.
    expect(guard.addressRefusal('::ffff:10.1.0.1')).toBeUndefined();
    expect(() => parseAllowList(['10.0.0.0/33'])).toThrow(/not a CIDR/);
    expect(() => parseAllowList(['not a host!'])).toThrow(/neither/);
  });

  it('lets everything through in development mode', async () => {
    const guard = new TargetGuard({ allowAll: true, resolve: fakeDns({ local: ['127.0.0.1'] }) });
    expect(await lookup(guard, 'local', false)).toEqual([{ address: '127.0.0.1', family: 4 }]);
    expect(guard.urlRefusal(new URL('http://169.254.169.254/'))).toBeUndefined();
  });
});

describe('webhook URLs in production mode', () => {
  let node: TestNode;
  beforeAll(async () => {
    node = await startTestNode({ dev: false });
  });
  afterAll(() => node.close());

  const create = (url: string) => node.account.api.post('/v2/webhooks/', {
    metadata: { name: 'x', webhook_url: url, events: ['media_available'], site_ids: [node.account.siteId] },
  });

  it.each(BLOCKED_SAMPLES.map(([address]) => [address]))('refuses the literal address %s at creation', async (address) => {
    const host = address.includes(':') ? `[${address}]` : address;
    const res = await create(`https://${host}:8443/hook`);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe('invalid_body');
    expect(res.body.errors[0].description).toMatch(/^metadata\.webhook_url: .* is in a blocked range/);
  });

  it.each([
    'https://localhost/hook', 'https://LOCALHOST./hook', 'https://api.localhost/hook', 'https://localhost.localdomain/x',
    'https://ip6-localhost/x', 'https://2130706433/', 'https://0x7f.1/', 'https://017700000001/', 'https://[::ffff:127.0.0.1]/',
    'https://[fe80::1%25eth0]/', 'https://[::127.0.0.1]/', 'https://169.254.169.254/latest/meta-data/',
  ])('refuses %s at creation', async (url) => {
    const res = await create(url);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body.errors[0].description).toMatch(/^metadata\.webhook_url/);
  });

  it('refuses http:// and accepts public names and addresses, whose addresses are judged at connect', async () => {
    expect((await create('http://hooks.example.com/x')).body.errors[0].description).toMatch(/must be an https URL/);
    for (const url of ['https://hooks.example.com/x', 'https://93.184.216.34/x', 'https://[2606:4700::1111]/x']) {
      expect((await create(url)).status, url).toBe(201);
    }
  });

  it('refuses a blocked URL in a PATCH too, changing nothing', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], 'https://hooks.example.com/y');
    const res = await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { webhook_url: 'https://10.0.0.1/' } });
    expect(res.status).toBe(400);
    expect((await node.account.api.get(`/v2/webhooks/${hook.id}/`)).body.metadata.webhook_url).toBe('https://hooks.example.com/y');
  });
});

describe('the sender, connecting', () => {
  let dir: string;
  let cert: Certificate;
  const receivers: Receiver[] = [];
  beforeAll(() => {
    dir = tempDir();
    cert = selfSignedCert(dir, ['rebind.test', 'allowed.test']);
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  async function httpsReceiver(host = '127.0.0.1') {
    // Connection: close, so that every delivery opens a new connection and looks the name up again.
    const r = await startReceiver(() => ({ status: 200, headers: { connection: 'close' } }), { tls: cert, host });
    receivers.push(r);
    return r;
  }

  it('refuses loopback reached by literal, by name and by mapped address, before sending a byte', async () => {
    const rx = await httpsReceiver();
    const port = new URL(rx.url).port;
    const guard = new TargetGuard({ resolve: fakeDns({ 'evil.test': ['127.0.0.1'], 'evil6.test': ['::1'], 'mapped.test': ['::ffff:127.0.0.1'] }) });
    const sender = new Sender(2_000, { guard, ca: cert.cert });
    try {
      for (const host of ['127.0.0.1', '[::1]', '[::ffff:127.0.0.1]', '127.1', 'evil.test', 'evil6.test', 'mapped.test']) {
        const result = await sender.send(`https://${host}:${port}/hooks`, {}, '{}');
        expect(result.statusCode, host).toBeNull();
        expect(result.error, host).toMatch(/^ETARGETREFUSED: refused to connect to .*loopback/);
      }
      expect(rx.received).toHaveLength(0);
    } finally {
      await sender.close();
    }
  });

  it('catches DNS rebinding: a name that turns from an allowed address to a blocked one is refused at the next connect', async () => {
    const rx = await httpsReceiver();
    const port = new URL(rx.url).port;
    const answers: Record<string, string[]> = { 'rebind.test': ['127.0.0.1'] };
    // 127.0.0.1 stands for "a public address" here: the allow-list opens it, and only it.
    const guard = new TargetGuard({ allowed: parseAllowList(['127.0.0.1/32']), resolve: fakeDns(answers) });
    const sender = new Sender(2_000, { guard, ca: cert.cert });
    try {
      expect(await sender.send(`https://rebind.test:${port}/hooks`, {}, '{}')).toMatchObject({ statusCode: 200, error: null });
      answers['rebind.test'] = ['127.0.0.2'];
      const refused = await sender.send(`https://rebind.test:${port}/hooks`, {}, '{}');
      expect(refused.error).toMatch(/^ETARGETREFUSED: refused to connect to rebind\.test: 127\.0\.0\.2 is in a blocked range: loopback/);
      expect(rx.received).toHaveLength(1);
    } finally {
      await sender.close();
    }
  });

  it('delivers over https to receivers that the allow-list opens, by address and by name, IPv4 and IPv6', async () => {
    const v4 = await httpsReceiver('127.0.0.1');
    const v6 = await httpsReceiver('::1');
    const guard = new TargetGuard({ allowed: parseAllowList(['127.0.0.1', '::1/128', 'allowed.test']), resolve: fakeDns({ 'allowed.test': ['127.0.0.1'] }) });
    const sender = new Sender(2_000, { guard, ca: cert.cert });
    try {
      expect(await sender.send(v4.url, {}, '{"a":1}')).toMatchObject({ statusCode: 200, error: null });
      expect(await sender.send(v6.url, {}, '{"a":2}')).toMatchObject({ statusCode: 200, error: null });
      expect(await sender.send(v4.url.replace('127.0.0.1', 'allowed.test'), {}, '{"a":3}')).toMatchObject({ statusCode: 200, error: null });
      expect(v4.received.map((r) => r.body)).toEqual(['{"a":1}', '{"a":3}']);
      expect(v6.received.map((r) => r.body)).toEqual(['{"a":2}']);
    } finally {
      await sender.close();
    }
  });

  it('records a refused target as a failed attempt with the reason, through the whole node', async () => {
    const rx = await httpsReceiver();
    const port = new URL(rx.url).port;
    const node = await startTestNode({ dev: false, retrySchedule: [0] }, { resolve: fakeDns({ 'sneaky.test': ['::ffff:127.0.0.1'] }), ca: cert.cert });
    try {
      const hook = await createWebhook(node.account.api, [node.account.siteId], `https://sneaky.test:${port}/hooks`);
      await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'abc' });
      const delivery = await until(async () => {
        const list = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=failed`);
        return list.body.deliveries[0];
      }, 10_000, 'the failed delivery');
      const detail = await node.account.api.get(`/v2/deliveries/${delivery.id}/`);
      expect(detail.body.attempts).toHaveLength(1);
      expect(detail.body.attempts[0]).toMatchObject({ status_code: null, response_body: null });
      expect(detail.body.attempts[0].error).toMatch(/^ETARGETREFUSED: refused to connect to sneaky\.test: ::ffff:127\.0\.0\.1 \(127\.0\.0\.1\) is in a blocked range: loopback 127\.0\.0\.0\/8/);
      expect(rx.received).toHaveLength(0);
    } finally {
      await node.close();
    }
  });
});
