// Nothing acknowledged is lost: kill -9 the server while deliveries are in flight, start it
// again on the same data, and every acknowledged event still arrives (at least once).
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { Api, OPERATOR_KEY, createWebhook, startReceiver, tempDir, until, type Receiver } from '../helpers.js';

const CLI = join(import.meta.dirname, '../../dist/cli/index.js');
const children: ChildProcess[] = [];
let receiver: Receiver | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  for (const c of children) c.kill('SIGKILL');
  await receiver?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Starts `hookline start` as a child process and reads what it prints until it listens. */
async function startChild(dir: string): Promise<{ child: ChildProcess; url: string; output: string }> {
  const child = spawn(process.execPath, [CLI, 'start', '--dev', '--port', '0', '--data-dir', dir], {
    env: { ...process.env, HOOKLINE_OPERATOR_KEY: OPERATOR_KEY, HOOKLINE_RETRY_SCHEDULE: '0,200ms,200ms,200ms', HOOKLINE_MAX_IN_FLIGHT: '20', HOOKLINE_RATE_LIMIT: '0', HOOKLINE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = await until(() => /listening on (http:\/\/\S+)/.exec(output)?.[1], 15_000, 'the server to listen');
  await until(() => output.includes('account API key') || output.includes('(data in'), 1_000, 'startup banner');
  return { child, url, output };
}

it('delivers every acknowledged event after a kill -9 mid-stream', async () => {
  dataDir = tempDir();
  // A slow receiver keeps many deliveries in flight when the kill comes.
  receiver = await startReceiver(() => new Promise((r) => setTimeout(() => r(200), 150)));
  const slow = receiver;
  const first = await startChild(dataDir);
  const apiKey = /account API key \(shown once, keep it\): (\S+)/.exec(first.output)![1]!;
  const siteId = /site_id\): (\S+)/.exec(first.output)![1]!;
  const account = new Api(first.url, apiKey);
  const operator = new Api(first.url, OPERATOR_KEY);
  await createWebhook(account, [siteId], slow.url, ['media_updated']);

  const acknowledged: string[] = []; // media ids of the events answered 202
  for (let i = 0; i < 300; i += 50) {
    const ids = Array.from({ length: 50 }, (_, j) => `media_${i + j}`);
    const batch = await Promise.all(ids.map((media_id) => operator.post(`/v2/sites/${siteId}/events/`, { event: 'media_updated', media_id })));
    batch.forEach((r, j) => r.status === 202 && acknowledged.push(ids[j]!));
  }
  expect(acknowledged).toHaveLength(300);
  await slow.waitFor(40, 15_000);
  first.child.kill('SIGKILL');
  await new Promise((r) => first.child.once('exit', r));
  expect(slow.received.length).toBeLessThan(300);

  const second = await startChild(dataDir);
  const operator2 = new Api(second.url, OPERATOR_KEY);
  const hooks = await new Api(second.url, apiKey).get('/v2/webhooks/');
  const hookId = hooks.body.webhooks[0].id;
  const arrivedMedia = () => new Set(slow.received.map((r) => r.json?.media_id));
  await until(async () => {
    const res = await operator2.get(`/v2/webhooks/${hookId}/deliveries/?status=pending`);
    return res.body.total === 0;
  }, 20_000, 'nothing pending');
  const arrived = arrivedMedia();
  expect(acknowledged.filter((id) => !arrived.has(id))).toEqual([]);
  const all = await operator2.get(`/v2/webhooks/${hookId}/deliveries/`);
  const succeeded = await operator2.get(`/v2/webhooks/${hookId}/deliveries/?status=succeeded`);
  expect(succeeded.body.total).toBe(all.body.total);
  expect(all.body.total).toBeGreaterThanOrEqual(acknowledged.length);
});
