// The receivers' verify library: it accepts what Hookline, standardwebhooks and svix sign, and
// refuses every kind of tampering with a reason.
import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { Webhook as SvixWebhook } from 'svix';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaders, signingKeys } from '../../src/signing/headers.js';
import { signJwt } from '../../src/signing/jwt.js';
import { generateSecret } from '../../src/signing/standard.js';
import { verify, WebhookVerificationError, type VerifyOptions } from '../../src/signing/verify.js';
import { createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);

const secret = generateSecret();
const other = generateSecret();
const body = '{"event":"media_available","media_id":"MNYaMSQl","webhook_id":"2yW4KmiG","site_id":"9KboGBFu","event_time":"2024-08-27T00:15:45+00:00"}';
const msgId = 'msg_0123456789abcdef01234567';

/** What Hookline's dispatcher sends for this body, signed now (or at `at`). */
const hooklineHeaders = (at = Date.now(), keys = signingKeys(secret, null, null)) => signatureHeaders(keys, msgId, at, body);

/** The failure code of a verify call that must throw, with its message. */
function refusal(...args: Parameters<typeof verify>): { code: string; message: string } {
  try {
    verify(...args);
  } catch (err) {
    expect(err).toBeInstanceOf(WebhookVerificationError);
    return { code: (err as WebhookVerificationError).code, message: (err as Error).message };
  }
  throw new Error('verify accepted it');
}

describe('verify accepts', () => {
  it("what Hookline's signer produces, by either scheme or both, with headers of any case or a Headers object", () => {
    const headers = hooklineHeaders();
    expect(verify(body, headers, secret)).toEqual(JSON.parse(body));
    expect(verify(Buffer.from(body), headers, secret, { scheme: 'jwt' })).toEqual(JSON.parse(body));
    expect(verify(body, headers, secret, { scheme: 'both' })).toEqual(JSON.parse(body));
    const shouting = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    expect(verify(body, shouting, secret, { scheme: 'both' }).media_id).toBe('MNYaMSQl');
    expect(verify(body, new Headers(headers), secret, { scheme: 'both' }).media_id).toBe('MNYaMSQl');
  });

  it('what the standardwebhooks package signs', () => {
    const signer = new StandardWebhook(secret);
    const now = new Date();
    const headers = { 'webhook-id': msgId, 'webhook-timestamp': String(Math.floor(+now / 1000)), 'webhook-signature': signer.sign(msgId, now, body) };
    expect(verify(body, headers, secret)).toEqual(JSON.parse(body));
    // And the other way round: standardwebhooks accepts Hookline's headers.
    expect(signer.verify(body, hooklineHeaders())).toEqual(JSON.parse(body));
  });

  it('what the svix package signs, under svix-* or webhook-* header names', () => {
    const signer = new SvixWebhook(secret);
    const now = new Date();
    const signature = signer.sign(msgId, now, body);
    const timestamp = String(Math.floor(+now / 1000));
    expect(verify(body, { 'svix-id': msgId, 'svix-timestamp': timestamp, 'svix-signature': signature }, secret)).toEqual(JSON.parse(body));
    expect(verify(body, { 'webhook-id': msgId, 'webhook-timestamp': timestamp, 'webhook-signature': signature }, secret)).toEqual(JSON.parse(body));
    expect(signer.verify(body, hooklineHeaders())).toEqual(JSON.parse(body));
  });

  it('a list of secrets, and a signature header listing several signatures, when one of each matches', () => {
    expect(verify(body, hooklineHeaders(), [other, secret], { scheme: 'both' }).event).toBe('media_available');
    const rotating = hooklineHeaders(Date.now(), signingKeys(other, secret, Date.now() + 60_000));
    expect(rotating['webhook-signature'].split(' ')).toHaveLength(2);
    expect(verify(body, rotating, secret).event).toBe('media_available');
    expect(verify(body, rotating, other).event).toBe('media_available');
  });

  it('a timestamp within the tolerance, either way', () => {
    const now = Date.now();
    expect(verify(body, hooklineHeaders(now - 299_000), secret, { now }).event).toBe('media_available');
    expect(verify(body, hooklineHeaders(now + 299_000), secret, { now: new Date(now) }).event).toBe('media_available');
    expect(verify(body, hooklineHeaders(now - 3_000_000), secret, { now, toleranceSeconds: 3600 }).event).toBe('media_available');
  });
});

describe('verify refuses', () => {
  it('a changed byte of the body, by either scheme', () => {
    const changed = body.replace('MNYaMSQl', 'MNYaMSQm');
    const headers = hooklineHeaders();
    expect(refusal(changed, headers, secret)).toMatchObject({ code: 'invalid_signature', message: expect.stringMatching(/webhook-signature matches none of the 1 secret given/) });
    expect(refusal(changed, headers, secret, { scheme: 'jwt' })).toMatchObject({ code: 'invalid_body', message: expect.stringMatching(/differs from the JWT's claims/) });
  });

  it('a changed header: webhook-id or webhook-timestamp', () => {
    const headers = hooklineHeaders();
    expect(refusal(body, { ...headers, 'webhook-id': 'msg_other' }, secret).code).toBe('invalid_signature');
    expect(refusal(body, { ...headers, 'webhook-timestamp': String(Number(headers['webhook-timestamp']) - 1) }, secret).code).toBe('invalid_signature');
  });

  it('a wrong secret, by either scheme', () => {
    const headers = hooklineHeaders();
    expect(refusal(body, headers, other).code).toBe('invalid_signature');
    expect(refusal(body, headers, [other, generateSecret()], { scheme: 'jwt' })).toMatchObject({
      code: 'invalid_signature', message: expect.stringMatching(/JWT's signature matches none of the 2 secrets given/),
    });
  });

  it('an old or future timestamp, even correctly signed, with the default or a chosen tolerance', () => {
    const now = Date.now();
    expect(refusal(body, hooklineHeaders(now - 301_000), secret, { now })).toMatchObject({
      code: 'timestamp_out_of_range', message: expect.stringMatching(/301 s in the past, more than the 300 s allowed/),
    });
    expect(refusal(body, hooklineHeaders(now + 400_000), secret, { now }).message).toMatch(/400 s in the future/);
    const options: VerifyOptions = { now, toleranceSeconds: 60 };
    expect(refusal(body, hooklineHeaders(now - 120_000), secret, options).code).toBe('timestamp_out_of_range');
  });

  it('a missing header, naming it', () => {
    const headers = hooklineHeaders();
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const) {
      const { [name]: _dropped, ...rest } = headers;
      expect(refusal(body, rest, secret)).toEqual({ code: 'missing_header', message: `missing header ${name} (Standard Webhooks)` });
    }
    const { authorization: _a, ...noJwt } = headers;
    expect(refusal(body, noJwt, secret, { scheme: 'jwt' }).message).toBe('missing header Authorization (Bearer JWT)');
    expect(refusal(body, noJwt, secret, { scheme: 'both' }).code).toBe('missing_header');
  });

  it('malformed headers and a JWT that is not HS256', () => {
    const headers = hooklineHeaders();
    expect(refusal(body, { ...headers, 'webhook-timestamp': 'yesterday' }, secret).code).toBe('invalid_header');
    expect(refusal(body, { ...headers, 'webhook-signature': 'v2,abc' }, secret).message).toMatch(/no "v1," signature/);
    expect(refusal(body, { ...headers, authorization: 'Bearer nonsense' }, secret, { scheme: 'jwt' }).code).toBe('invalid_header');
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(body).toString('base64url')}.`;
    expect(refusal(body, { ...headers, authorization: `Bearer ${none}` }, secret, { scheme: 'jwt' }).message).toMatch(/alg is "none"; only HS256/);
  });

  it("a JWT validly signed over other claims than the body", () => {
    const headers = { ...hooklineHeaders(), authorization: `Bearer ${signJwt(body.replace('media_available', 'media_deleted'), secret)}` };
    expect(refusal(body, headers, secret, { scheme: 'jwt' }).code).toBe('invalid_body');
  });

  it('a parsed body or no secret, as a programming error', () => {
    expect(() => verify(JSON.parse(body), hooklineHeaders(), secret)).toThrow(/needs the raw body/);
    expect(() => verify(body, hooklineHeaders(), [])).toThrow(/at least one secret/);
  });
});

describe('a delivery from a running Hookline', () => {
  let node: TestNode;
  let rx: Receiver;
  beforeAll(async () => {
    node = await startTestNode();
    rx = await startReceiver();
  });
  afterAll(async () => {
    await node.close();
    await rx.close();
  });

  it('verifies by both schemes with the secret from create', async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, ['thumbnail_created']);
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'thumbnail_created', thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl' });
    const [got] = await rx.waitFor(1);
    const event = verify(got!.body, got!.headers, hook.secret, { scheme: 'both' });
    expect(event).toMatchObject({ event: 'thumbnail_created', thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl', webhook_id: hook.id });
    expect(refusal(got!.body, got!.headers, other, { scheme: 'both' }).code).toBe('invalid_signature');
  });

  it("reaches the README's Fastify receiver, which verifies it and refuses a forgery", async () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const code = [...readme.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]!).find((c) => c.includes("from 'hookline/verify'"))!;
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(18);
    // The secret comes with the webhook, so the webhook first, pointed at the receiver once it listens.
    const hook = await createWebhook(node.account.api, [node.account.siteId], 'http://127.0.0.1:1/hooks', ['media_available']);
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: ROOT, env: { ...process.env, PORT: '0', WEBHOOK_SECRET: hook.secret }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    try {
      const url = await until(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], 10_000, 'the receiver to listen');
      expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { webhook_url: `${url}/hooks` } })).status).toBe(200);
      await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'READMEok' });
      await until(() => output.includes('media_available READMEok'), 10_000, 'the receiver to print the event');
      const delivered = await until(async () => {
        const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?status=succeeded`);
        return res.body.deliveries[0];
      }, 10_000, 'the delivery to succeed');
      expect(delivered.last_status_code).toBe(204);

      const forged = await fetch(`${url}/hooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signatureHeaders(signingKeys(other, null, null), msgId, Date.now(), body) },
        body,
      });
      expect(forged.status).toBe(401);
      expect(await forged.text()).toMatch(/webhook-signature matches none/);
      expect(output).not.toContain('MNYaMSQl');
    } finally {
      child.kill();
    }
  });
});

describe('the hookline/verify entry point', () => {
  it('loads through the package export, and loads no server code', async () => {
    // Every CommonJS module loaded (fastify, better-sqlite3, pino…) lands in require.cache.
    const probe = (specifier: string) => `
      import { createRequire } from 'node:module';
      const lib = await import('${specifier}');
      console.log(JSON.stringify({ verify: typeof lib.verify, loaded: Object.keys(createRequire(import.meta.url).cache) }));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe('hookline/verify')], { cwd: ROOT });
    expect(JSON.parse(stdout)).toEqual({ verify: 'function', loaded: [] });
    // The same probe sees the server's modules when the whole package is imported.
    const whole = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', probe('hookline')], { cwd: ROOT })).stdout);
    expect(whole.loaded.some((path: string) => path.includes('/node_modules/fastify/'))).toBe(true);
  });

  it('imports only node: built-ins and its neighbours in dist/signing', () => {
    const seen = new Set<string>();
    const builtins = new Set<string>();
    const walk = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(file, 'utf8');
      for (const [, specifier] of source.matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/gm)) {
        if (specifier!.startsWith('node:')) builtins.add(specifier!);
        else if (specifier!.startsWith('.')) walk(join(dirname(file), specifier!));
        else throw new Error(`${relative(ROOT, file)} imports ${specifier}`);
      }
    };
    walk(join(ROOT, 'dist/signing/verify.js'));
    expect([...seen].map((f) => relative(ROOT, f)).sort()).toEqual(['dist/signing/jwt.js', 'dist/signing/standard.js', 'dist/signing/verify.js']);
    expect([...builtins]).toEqual(['node:crypto']);
  });
});
