// SIGTERM: the node stops claiming, lets attempts in flight finish within the grace, and hands
// back the leases of those that do not; nothing is lost and nothing stays leased. A real
// `hookline start` child process, with short configured durations.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Api, OPERATOR_KEY, createWebhook, spawnCli, startReceiver, tempDir, type CliProcess, type Receiver } from '../helpers.js';

const children: CliProcess[] = [];
const receivers: Receiver[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) c.child.kill('SIGKILL');
  for (const r of receivers.splice(0)) await r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function startNode(dataDir: string, graceMs: number) {
  const cli = spawnCli(['start', '--dev', '--port', '0', '--data-dir', dataDir], {
    HOOKLINE_OPERATOR_KEY: OPERATOR_KEY, HOOKLINE_SHUTDOWN_GRACE: `${graceMs}ms`, HOOKLINE_REQUEST_TIMEOUT: '30s',
    HOOKLINE_RATE_LIMIT: '0', HOOKLINE_LOG_LEVEL: 'info',
  });
  children.push(cli);
  const url = (await cli.waitFor(/listening on (http:\/\/\S+)/, 15_000))[1]!;
  return { cli, url };
}

function deliveryRows(dataDir: string) {
  const db = new Database(join(dataDir, 'hookline.db'), { readonly: true });
  try {
    return db.prepare('SELECT status, attempts, claimed_at, lease_owner FROM deliveries').all() as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

async function setUp(graceMs: number, answer: Parameters<typeof startReceiver>[0]) {
  const dataDir = tempDir();
  dirs.push(dataDir);
  const rx = await startReceiver(answer);
  receivers.push(rx);
  const { cli, url } = await startNode(dataDir, graceMs);
  await cli.waitFor(/site_id\): (\S+)/);
  const apiKey = (await cli.waitFor(/account API key \(shown once, keep it\): (\S+)/))[1]!;
  const siteId = /site_id\): (\S+)/.exec(cli.output())![1]!;
  await createWebhook(new Api(url, apiKey), [siteId], rx.url);
  const operator = new Api(url, OPERATOR_KEY);
  for (let i = 0; i < 3; i++) {
    expect((await operator.post(`/v2/sites/${siteId}/events/`, { event: 'media_available', media_id: `m${i}` })).status).toBe(202);
  }
  await rx.waitFor(3);
  return { dataDir, rx, cli };
}

it('lets the attempts in flight finish on SIGTERM and records them', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const { dataDir, cli } = await setUp(30_000, async () => {
    await released;
    return 200;
  });
  cli.child.kill('SIGTERM');
  await cli.waitFor(/stopping: finishing deliveries in flight/);
  release();
  expect(await cli.exited).toBe(0);
  const rows = deliveryRows(dataDir);
  expect(rows).toHaveLength(3);
  expect(rows.every((r) => r.status === 'succeeded' && r.attempts === 1 && r.claimed_at === null && r.lease_owner === null)).toBe(true);
});

it('hands back the leases of attempts still in flight past the grace, and the next run delivers them', async () => {
  let answering: 'hang' | 200 = 'hang';
  const { dataDir, rx, cli } = await setUp(200, () => answering);
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
  const rows = deliveryRows(dataDir);
  expect(rows).toHaveLength(3);
  expect(rows.every((r) => r.status === 'pending' && r.attempts === 0 && r.claimed_at === null && r.lease_owner === null)).toBe(true);

  answering = 200;
  await startNode(dataDir, 200);
  const got = await rx.waitFor(6);
  expect(new Set(got.slice(3).map((r) => r.json.media_id))).toEqual(new Set(['m0', 'm1', 'm2']));
});
