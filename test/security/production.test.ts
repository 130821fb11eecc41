// Production mode, as an operator runs it: a bare `hookline start` in a child process. It
// refuses to start without a strong operator key, reads the key from a file, prints and logs no
// secret, takes only https webhook URLs, and delivers to an https receiver on loopback that
// HOOKLINE_ALLOWED_TARGETS opens, trusting its certificate through NODE_EXTRA_CA_CERTS.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Api, selfSignedCert, startReceiver, tempDir, until, type Receiver } from '../helpers.js';

const CLI = join(import.meta.dirname, '../../dist/cli/index.js');
const STRONG_KEY = 'hlk_production_key_9f8e7d6c5b4a39281706f5e4d3c2b1a0';

let dirs: string[] = [];
let children: ChildProcess[] = [];
let receivers: Receiver[] = [];
afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.all(receivers.map((r) => r.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
  children = [];
  receivers = [];
});

/** The environment without any HOOKLINE_* setting of the machine running the tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HOOKLINE_') && k !== 'PORT' && k !== 'NODE_EXTRA_CA_CERTS'));
  return { ...env, ...extra };
}

function run(args: string[], env: Record<string, string>): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const dir = tempDir();
  dirs.push(dir);
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--data-dir', dir, ...args], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('hookline start without --dev', () => {
  it('refuses to start without the operator key, saying how to give it', async () => {
    const { output, exited } = run([], {});
    expect(await exited).toBe(2);
    expect(output()).toMatch(/production mode needs the operator key: set HOOKLINE_OPERATOR_KEY or HOOKLINE_OPERATOR_KEY_FILE/);
    expect(output()).not.toMatch(/hlk_/);
  });

  it('refuses a short operator key, and a key file that cannot be read', async () => {
    const short = run([], { HOOKLINE_OPERATOR_KEY: 'secret' });
    expect(await short.exited).toBe(2);
    expect(short.output()).toMatch(/at least 32 characters/);
    const missing = run([], { HOOKLINE_OPERATOR_KEY_FILE: '/nonexistent/operator-key' });
    expect(await missing.exited).toBe(2);
    expect(missing.output()).toMatch(/HOOKLINE_OPERATOR_KEY_FILE: cannot read \/nonexistent\/operator-key/);
  });

  it('runs with the key from a file, prints no secret, takes https only, and delivers over https to an allowed loopback receiver', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const cert = selfSignedCert(dir);
    const keyFile = join(dir, 'operator-key');
    writeFileSync(keyFile, `${STRONG_KEY}\n`, { mode: 0o600 });
    const rx = await startReceiver(() => 200, { tls: cert });
    const failing = await startReceiver(() => 500, { tls: cert });
    receivers.push(rx, failing);

    const node = run([], {
      HOOKLINE_OPERATOR_KEY_FILE: keyFile,
      HOOKLINE_ALLOWED_TARGETS: '127.0.0.1/32',
      NODE_EXTRA_CA_CERTS: cert.certPath,
      HOOKLINE_RETRY_SCHEDULE: '0',
      HOOKLINE_LOG_LEVEL: 'debug',
    });
    const url = await until(() => /listening on (http:\/\/\S+)/.exec(node.output())?.[1], 15_000, 'the server to listen');
    expect(node.output()).toMatch(/Production mode: https webhook URLs only, private and local addresses refused; opened by HOOKLINE_ALLOWED_TARGETS: 127\.0\.0\.1\/32/);
    expect(node.output()).not.toMatch(/DEVELOPMENT MODE|API key|Default account/);

    const operator = new Api(url, STRONG_KEY);
    const account = await operator.post('/v2/accounts/', { name: 'Prod' });
    expect(account.status).toBe(201);
    const site = await operator.post('/v2/sites/', { name: 'Prod TV', account_id: account.body.id });
    const key = await operator.post(`/v2/accounts/${account.body.id}/api_keys/`, { name: 'cms' });
    const api = operator.as(key.body.secret);
    const create = (webhook_url: string) => api.post('/v2/webhooks/', { metadata: { name: 'h', webhook_url, events: ['media_available'], site_ids: [site.body.id] } });

    expect((await create(rx.url.replace('https:', 'http:'))).body.errors[0].description).toMatch(/must be an https URL/);
    expect((await create('https://10.0.0.1/hook')).body.errors[0].description).toMatch(/private 10\.0\.0\.0\/8/);
    const hook = await create(rx.url);
    expect(hook.status).toBe(201);
    const bad = await create(failing.url);
    expect(bad.status).toBe(201);
    expect((await operator.post(`/v2/sites/${site.body.id}/events/`, { event: 'media_available', media_id: 'prod1' })).status).toBe(202);
    // A wrong key, to see that refusals are not logged with what was sent.
    expect((await operator.as(`${STRONG_KEY}x`).get('/v2/accounts/')).status).toBe(401);

    const [got] = await rx.waitFor(1);
    expect(got!.json).toMatchObject({ event: 'media_available', media_id: 'prod1', webhook_id: hook.body.id });
    await failing.waitFor(1);
    await until(async () => (await api.get(`/v2/webhooks/${bad.body.id}/deliveries/?status=failed`)).body.total === 1, 10_000, 'the failed delivery');

    node.child.kill('SIGTERM');
    expect(await node.exited).toBe(0);
    const printed = node.output();
    for (const secret of [STRONG_KEY, key.body.secret, hook.body.secret, bad.body.secret, String(got!.headers.authorization).slice(7)]) {
      expect(printed).not.toContain(secret);
    }
    // The log did say something (debug level), so the check above looked at a real log.
    expect(printed).toMatch(/delivery attempt failed/);
  });
});
