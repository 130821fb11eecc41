// Secrets at rest: sealed with AES-256-GCM, so the database file alone reveals none; the key is
// HOOKLINE_SECRET_KEY or a 0600 key file; a wrong or lost key stops the start with a clear error;
// deliveries do not decrypt per attempt.
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, loadConfig, type Config } from '../../src/config.js';
import { generateSealingKey, SecretBox, UnsealError } from '../../src/security/sealing.js';
import { startHookline, type Hookline } from '../../src/server.js';
import { MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { Api, createWebhook, OPERATOR_KEY, startReceiver, tempDir, testConfig, until, type Receiver } from '../helpers.js';

const CLI = join(import.meta.dirname, '../../dist/cli/index.js');
const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
  vi.restoreAllMocks();
});

function newDir(): string {
  const dir = tempDir();
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dir: string, overrides: Partial<Config> = {}): Promise<Hookline> {
  const node = await startHookline(testConfig(dir, overrides), { logger: pino({ level: 'silent' }) });
  cleanup.push(() => node.close());
  return node;
}

async function receiver(): Promise<Receiver> {
  const rx = await startReceiver();
  cleanup.push(() => rx.close());
  return rx;
}

/** Every byte of the data dir but the key file: what a copy of the database holds. */
function databaseBytes(dir: string): Buffer {
  return Buffer.concat(readdirSync(dir).filter((f) => f !== 'secret.key').map((f) => readFileSync(join(dir, f))));
}

/** The forms a secret could leak in: as given, its base64 key, and its raw key bytes. */
function leaks(bytes: Buffer, secret: string): string[] {
  const key = secret.slice('whsec_'.length);
  return [secret, key, Buffer.from(key, 'base64')].filter((form) => bytes.includes(form)).map(String);
}

describe('sealed secrets', () => {
  it('leave no secret, current or previous, in the database files', async () => {
    const dir = newDir();
    const rx = await receiver();
    const node = await start(dir);
    const api = new Api(node.url, node.firstStart.account!.apiKey);
    const site = node.firstStart.account!.siteId;
    const secrets: string[] = [];
    for (let i = 0; i < 3; i++) {
      const hook = await createWebhook(api, [site], rx.url);
      secrets.push(hook.secret);
      // A rotation keeps the replaced secret for its grace period: it must be sealed too.
      secrets.push((await api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 3600 })).body.secret);
    }
    await new Api(node.url, OPERATOR_KEY).post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    await rx.waitFor(3);
    await node.close();

    expect(statSync(join(dir, 'secret.key')).mode & 0o777).toBe(0o600);
    const bytes = databaseBytes(dir);
    expect(bytes.length).toBeGreaterThan(10_000);
    for (const secret of secrets) expect(leaks(bytes, secret)).toEqual([]);
    const db = new Database(join(dir, 'hookline.db'), { readonly: true });
    const rows = db.prepare('SELECT secret, previous_secret FROM webhooks').all() as { secret: string; previous_secret: string }[];
    db.close();
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.secret).toMatch(/^sealed\.v1\.[A-Za-z0-9_-]+$/);
      expect(row.previous_secret).toMatch(/^sealed\.v1\.[A-Za-z0-9_-]+$/);
    }
    // The check is not vacuous: the same search finds a secret written in clear.
    expect(leaks(Buffer.concat([bytes, Buffer.from(secrets[0]!)]), secrets[0]!)).not.toEqual([]);
  });

  it('open again after a restart with the key file, and deliveries still verify with the secret from create', async () => {
    const dir = newDir();
    const rx = await receiver();
    let node = await start(dir);
    const apiKey = node.firstStart.account!.apiKey;
    const site = node.firstStart.account!.siteId;
    const hook = await createWebhook(new Api(node.url, apiKey), [site], rx.url);
    await node.close();

    node = await start(dir);
    await new Api(node.url, OPERATOR_KEY).post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const [got] = await rx.waitFor(1);
    expect(new StandardWebhook(hook.secret).verify(got!.body, got!.headers as Record<string, string>)).toMatchObject({ media_id: 'MNYaMSQl' });
  });

  it('use HOOKLINE_SECRET_KEY when it is set, and make no key file', async () => {
    const dir = newDir();
    const key = generateSealingKey();
    const rx = await receiver();
    let node = await start(dir, { secretKey: key });
    const site = node.firstStart.account!.siteId;
    const hook = await createWebhook(new Api(node.url, node.firstStart.account!.apiKey), [site], rx.url);
    await node.close();
    expect(readdirSync(dir)).not.toContain('secret.key');

    // The same key in hex opens them too.
    node = await start(dir, { secretKey: Buffer.from(key, 'base64').toString('hex') });
    await new Api(node.url, OPERATOR_KEY).post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    const [got] = await rx.waitFor(1);
    expect(new StandardWebhook(hook.secret).verify(got!.body, got!.headers as Record<string, string>)).toMatchObject({ media_id: 'MNYaMSQl' });
  });
});

describe('a wrong or missing key', () => {
  it('stops the start with an error that says which key and what to do, and leaves the database as it was', async () => {
    const dir = newDir();
    const node = await start(dir);
    await createWebhook(new Api(node.url, node.firstStart.account!.apiKey), [node.firstStart.account!.siteId], 'http://127.0.0.1:1/x');
    await node.close();
    const keyFile = readFileSync(join(dir, 'secret.key'), 'utf8');

    await expect(start(dir, { secretKey: generateSealingKey() })).rejects.toThrow(
      /^HOOKLINE_SECRET_KEY is not the key that sealed the webhook secrets in this database\. Start with the key they were sealed with/,
    );
    writeFileSync(join(dir, 'secret.key'), generateSealingKey());
    await expect(start(dir)).rejects.toThrow(/the key file .*secret\.key is not the key that sealed/);
    writeFileSync(join(dir, 'secret.key'), 'not a key');
    await expect(start(dir)).rejects.toThrow(/the key file .*secret\.key holds no key: expected 32 random bytes/);
    rmSync(join(dir, 'secret.key'));
    await expect(start(dir)).rejects.toThrow(/sealed, but the key is missing: restore .*secret\.key or set HOOKLINE_SECRET_KEY/);
    // No new key was made in its place, and the right key still opens everything.
    expect(readdirSync(dir)).not.toContain('secret.key');
    await expect(start(dir, { secretKey: keyFile.trim() })).resolves.toBeDefined();
  });

  it('is a one-line error of `hookline start`, exit code 1', async () => {
    const dir = newDir();
    const node = await start(dir);
    await node.close();
    const run = promisify(execFile);
    const failed = await run(process.execPath, [CLI, 'start', '--dev', '--port', '0', '--data-dir', dir], {
      env: { ...process.env, HOOKLINE_OPERATOR_KEY: OPERATOR_KEY, HOOKLINE_SECRET_KEY: generateSealingKey(), HOOKLINE_LOG_LEVEL: 'silent' },
    }).then(() => undefined, (err: { code: number; stderr: string }) => err);
    expect(failed?.code).toBe(1);
    expect(failed?.stderr).toMatch(/^hookline: HOOKLINE_SECRET_KEY is not the key that sealed the webhook secrets in this database\./);
    expect(failed?.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('in the wrong shape is a settings error that does not echo it', () => {
    const bad = 'c2hvcnQ=';
    expect(() => loadConfig([], { HOOKLINE_SECRET_KEY: bad })).toThrow(ConfigError);
    expect(() => loadConfig([], { HOOKLINE_SECRET_KEY: bad })).toThrow(/^HOOKLINE_SECRET_KEY: expected 32 random bytes in base64 or hex/);
    try {
      loadConfig(['--secret-key', bad], {});
    } catch (err) {
      expect((err as Error).message).not.toContain(bad);
    }
    expect(loadConfig([], { HOOKLINE_SECRET_KEY: ` ${randomBytes(32).toString('base64url')}\n` }).secretKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

it('seals, at its first start, the secrets that a database from before sealing holds in clear', async () => {
  const dir = newDir();
  const rx = await receiver();
  const plain = 'whsec_' + randomBytes(32).toString('base64');
  const db = new Database(join(dir, 'hookline.db'));
  db.exec(MIGRATIONS[0]!);
  db.pragma('user_version = 1');
  db.prepare("INSERT INTO accounts VALUES ('acc00001', 'Old', 0)").run();
  db.prepare("INSERT INTO sites VALUES ('site0001', 'acc00001', 'Old site', 0)").run();
  db.prepare("INSERT INTO webhooks VALUES ('hook0001', 'acc00001', 'Old hook', '', ?, '[\"site0001\"]', '[\"media_available\"]', ?, 0, 0)").run(rx.url, plain);
  db.prepare("INSERT INTO subscriptions VALUES ('site0001', 'media_available', 'hook0001')").run();
  // Enough of them that rewriting in place would leave some old bytes in freed space.
  const others = Array.from({ length: 200 }, () => 'whsec_' + randomBytes(32).toString('base64'));
  const insertOther = db.prepare("INSERT INTO webhooks VALUES (?, 'acc00001', 'Other', '', 'https://example.test/', '[]', '[]', ?, 0, 0)");
  db.transaction(() => others.forEach((secret, i) => insertOther.run(`other${String(i).padStart(3, '0')}`, secret)))();
  db.close();
  expect(leaks(databaseBytes(dir), plain)).not.toEqual([]);

  const node = await start(dir);
  await new Api(node.url, OPERATOR_KEY).post('/v2/sites/site0001/events/', { event: 'media_available', media_id: 'MNYaMSQl' });
  const [got] = await rx.waitFor(1);
  expect(new StandardWebhook(plain).verify(got!.body, got!.headers as Record<string, string>)).toMatchObject({ webhook_id: 'hook0001' });
  await node.close();
  const bytes = databaseBytes(dir);
  expect(leaks(bytes, plain)).toEqual([]);
  expect(others.filter((secret) => leaks(bytes, secret).length > 0)).toEqual([]);
});

it('opens each secret once, not per delivery, and again only after the webhook changes', async () => {
  const dir = newDir();
  const rx = await receiver();
  const node = await start(dir);
  const api = new Api(node.url, node.firstStart.account!.apiKey);
  const operator = new Api(node.url, OPERATOR_KEY);
  const site = node.firstStart.account!.siteId;
  const hook = await createWebhook(api, [site], rx.url);
  const unseal = vi.spyOn(SecretBox.prototype, 'unseal');
  const opened = () => unseal.mock.calls.filter(([, context]) => context === hook.id).length;

  for (let i = 0; i < 20; i++) await operator.post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: `media${i}` });
  await rx.waitFor(20);
  expect(opened()).toBe(1);

  await api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { name: 'Renamed' } });
  await operator.post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'after_patch' });
  await rx.waitFor(21);
  expect(opened()).toBe(2);

  const rotated = await api.post(`/v2/webhooks/${hook.id}/rotate_secret/`, { grace_period_seconds: 60 });
  for (let i = 0; i < 5; i++) await operator.post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: `rotated${i}` });
  await rx.waitFor(26);
  expect(opened()).toBe(4); // the new secret and the previous one, once each
  const last = rx.received[25]!;
  expect(new StandardWebhook(rotated.body.secret).verify(last.body, last.headers as Record<string, string>)).toBeDefined();
  await until(async () => (await api.get(`/v2/webhooks/${hook.id}/deliveries/?status=pending`)).body.total === 0, 5_000, 'deliveries to settle');
});

it('does not send with a sealed secret moved to another webhook, and logs why', async () => {
  const dir = newDir();
  const rx = await receiver();
  const node = await start(dir);
  const api = new Api(node.url, node.firstStart.account!.apiKey);
  const site = node.firstStart.account!.siteId;
  const a = await createWebhook(api, [site], rx.url + '?a');
  const b = await createWebhook(api, [site], rx.url + '?b', ['media_created']);
  // Someone with write access to the database copies b's sealed secret over a's.
  const db = (node.store as unknown as { db: Database.Database }).db;
  db.prepare('UPDATE webhooks SET secret = (SELECT secret FROM webhooks WHERE id = ?) WHERE id = ?').run(b.id, a.id);
  await new Api(node.url, OPERATOR_KEY).post(`/v2/sites/${site}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
  const failed = await until(async () => (await api.get(`/v2/webhooks/${a.id}/deliveries/?status=failed`)).body.deliveries[0], 5_000, 'the delivery to fail');
  const detail = (await api.get(`/v2/deliveries/${failed.id}/`)).body;
  expect(detail.attempts.map((x: any) => x.error)).toEqual(Array(3).fill('not sent: the webhook secret does not open with this key'));
  expect(rx.received).toHaveLength(0);
});

describe('SecretBox', () => {
  const box = new SecretBox(randomBytes(32));

  it('opens what it sealed, and seals the same secret differently each time', () => {
    const sealed = box.seal('whsec_abc', 'hook0001');
    expect(box.unseal(sealed, 'hook0001')).toBe('whsec_abc');
    expect(box.seal('whsec_abc', 'hook0001')).not.toBe(sealed);
  });

  it('refuses a changed byte, another context (a value moved to another webhook) and another key', () => {
    const sealed = box.seal('whsec_abc', 'hook0001');
    const raw = Buffer.from(sealed.slice('sealed.v1.'.length), 'base64url');
    raw[raw.length - 1]! ^= 1;
    expect(() => box.unseal('sealed.v1.' + raw.toString('base64url'), 'hook0001')).toThrow(UnsealError);
    expect(() => box.unseal(sealed, 'hook0002')).toThrow(UnsealError);
    expect(() => new SecretBox(randomBytes(32)).unseal(sealed, 'hook0001')).toThrow(UnsealError);
    expect(() => box.unseal('whsec_abc', 'hook0001')).toThrow(/not a sealed value/);
  });
});
