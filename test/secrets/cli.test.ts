// `hookline trigger` and `hookline listen`, run as child processes against a running server.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { signatureHeaders, signingKeys } from '../../src/signing/headers.js';
import { generateSecret } from '../../src/signing/standard.js';
import { verify } from '../../src/signing/verify.js';
import {
  createWebhook, OPERATOR_KEY, runCli, spawnCli, startReceiver, startTestNode, until, type CliProcess, type Receiver, type TestNode,
} from '../helpers.js';

let node: TestNode;
let receivers: Receiver[] = [];
let listeners: CliProcess[] = [];

beforeEach(async () => {
  node = await startTestNode();
});
afterEach(async () => {
  for (const l of listeners) l.child.kill('SIGKILL');
  listeners = [];
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
  await node.close();
});

async function receiver(answer?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const r = await startReceiver(answer);
  receivers.push(r);
  return r;
}

const serverEnv = () => ({ HOOKLINE_URL: node.url, HOOKLINE_OPERATOR_KEY: OPERATOR_KEY });
const accountKey = () => node.account.api.key!;

/** Starts `hookline listen` on a free port and returns it with its URL. */
async function listen(args: string[], env: Record<string, string> = {}): Promise<{ cli: CliProcess; url: string }> {
  const cli = spawnCli(['listen', '--port', '0', ...args], env);
  listeners.push(cli);
  const url = (await cli.waitFor(/Listening on (http:\/\/\S+\/)/))[1]!;
  return { cli, url };
}

/** A webhook whose secret the listener holds: made first, then pointed at the listener. */
async function webhookToListener(args: string[], events = ['media_available']): Promise<{ cli: CliProcess; url: string; hook: any }> {
  const hook = await createWebhook(node.account.api, [node.account.siteId], 'http://127.0.0.1:1/not-yet', events);
  const { cli, url } = await listen([...args, '--secret', hook.secret]);
  expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { webhook_url: url } })).status).toBe(200);
  return { cli, url, hook };
}

async function deliveries(webhookId: string, status?: string): Promise<any> {
  return (await node.account.api.get(`/v2/webhooks/${webhookId}/deliveries/${status ? `?status=${status}` : ''}`)).body;
}

describe('hookline trigger', () => {
  it('reports a sample event with generated 8-character ids and says how many deliveries it made', async () => {
    const rx = await receiver();
    await createWebhook(node.account.api, [node.account.siteId], rx.url, ['media_available']);
    await createWebhook(node.account.api, [node.account.siteId], rx.url + '?second', ['media_available']);
    const run = await runCli(['trigger', 'media_available', '--site', node.account.siteId, '--url', node.url, '--key', OPERATOR_KEY]);
    expect(run.code, run.output).toBe(0);
    const mediaId = /media_id=(\S+)\)/.exec(run.output)![1]!;
    expect(mediaId).toMatch(/^[A-Za-z0-9]{8}$/);
    expect(run.output).toMatch(new RegExp(`^media_available on property ${node.account.siteId} \\(media_id=${mediaId}\\): event evt_\\w+, 2 deliveries\\n$`));
    await rx.waitFor(2);
    expect(rx.received.map((r) => r.json.media_id)).toEqual([mediaId, mediaId]);
  });

  it('takes the ids given, the server and key from the environment, and the only property when none is named', async () => {
    const rx = await receiver();
    await createWebhook(node.account.api, [node.account.siteId], rx.url, ['thumbnail_created']);
    const run = await runCli(['trigger', 'thumbnail_created', '--media-id', 'MNYaMSQl', '--event-time', '2024-08-27T02:13:25+02:00'], serverEnv());
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/1 delivery\n$/);
    const [got] = await rx.waitFor(1);
    expect(got!.json).toMatchObject({ event: 'thumbnail_created', media_id: 'MNYaMSQl', site_id: node.account.siteId, event_time: '2024-08-27T00:13:25+00:00' });
    expect(got!.json.thumbnail_id).toMatch(/^[A-Za-z0-9]{8}$/);
  });

  it('says so when no webhook listens', async () => {
    const run = await runCli(['trigger', 'channel_idle', '--channel-id', 'YijbmYHJ'], serverEnv());
    expect(run.code).toBe(0);
    expect(run.output).toContain('(channel_id=YijbmYHJ): event evt_');
    expect(run.output).toContain(`0 deliveries\nNo webhook listens to channel_idle on property ${node.account.siteId}.`);
  });

  it('explains what is wrong: an unknown event, a stray id, a wrong key, no server, no key', async () => {
    let run = await runCli(['trigger', 'media_exploded'], serverEnv());
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/^hookline: unknown event "media_exploded"; the events are: conversions_complete, .*track_deleted\n\nUsage: hookline trigger/);
    run = await runCli(['trigger', 'media_updated', '--channel-id', 'abcdEFGH'], serverEnv());
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/answered 400: channel_id is not a field of media_updated \(it takes media_id\)/);
    run = await runCli(['trigger', 'media_updated', '--key', 'hlk_wrong'], { HOOKLINE_URL: node.url });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/answered 401: invalid API key \(check --key or HOOKLINE_OPERATOR_KEY\)/);
    const closed = await receiver();
    await closed.close();
    run = await runCli(['trigger', 'media_updated', '--url', new URL(closed.url).origin], serverEnv());
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/cannot reach Hookline at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\): is `hookline start` running there\?/);
    run = await runCli(['trigger', 'media_updated'], { HOOKLINE_URL: node.url });
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/operator key: pass --key or set HOOKLINE_OPERATOR_KEY/);
  });
});

describe('hookline trigger --simulate', () => {
  it('starts a story the server plays by itself: an upload, a reupload, a live channel', async () => {
    await node.close();
    node = await startTestNode({ simulationStepMs: 20 });
    const rx = await receiver();
    await createWebhook(node.account.api, [node.account.siteId], rx.url, ['media_created', 'thumbnail_created', 'media_available', 'conversions_complete', 'media_reuploaded', 'channel_created', 'channel_active', 'channel_idle']);

    const upload = await runCli(['trigger', '--simulate', 'upload', '--media-id', 'SimMedia'], serverEnv());
    expect(upload.code, upload.output).toBe(0);
    expect(upload.output).toBe(`Simulating: media SimMedia on property ${node.account.siteId}: media_created now; thumbnail_created, media_available and conversions_complete follow, one step every HOOKLINE_SIMULATION_STEP (1 s by default).\n`);
    await rx.waitFor(4);
    expect(rx.received.map((r) => r.json.event).sort()).toEqual(['conversions_complete', 'media_available', 'media_created', 'thumbnail_created']);
    expect(rx.received.every((r) => r.json.media_id === 'SimMedia')).toBe(true);

    const reupload = await runCli(['trigger', '--simulate', 'reupload', '--media-id', 'SimMedia'], serverEnv());
    expect(reupload.output).toContain('media SimMedia on property');
    expect(reupload.output).toContain(': media_reuploaded now;');
    const channel = await runCli(['trigger', '--simulate', 'channel'], serverEnv());
    const channelId = /channel (\w{8}) on property/.exec(channel.output)![1]!;
    // The reuploaded media keeps its ready thumbnail: its first new rendition makes it publishable again.
    await rx.waitFor(9);
    expect(rx.received.slice(4).map((r) => r.json.event).sort()).toEqual(['channel_active', 'channel_created', 'channel_idle', 'media_available', 'media_reuploaded']);
    expect(rx.received.filter((r) => r.json.channel_id === channelId)).toHaveLength(3);
  });

  it('refuses an unknown story, a reupload without its media, and an event besides', async () => {
    let run = await runCli(['trigger', '--simulate', 'premiere'], serverEnv());
    expect([run.code, run.output]).toEqual([2, expect.stringMatching(/^hookline: --simulate: expected upload, reupload, channel, got "premiere"/)]);
    run = await runCli(['trigger', '--simulate', 'reupload'], serverEnv());
    expect([run.code, run.output]).toEqual([2, expect.stringMatching(/^hookline: --simulate reupload needs --media-id/)]);
    run = await runCli(['trigger', 'media_created', '--simulate', 'upload'], serverEnv());
    expect([run.code, run.output]).toEqual([2, expect.stringMatching(/^hookline: --simulate plays its own events: name no event/)]);
    run = await runCli(['trigger', '--simulate', 'reupload', '--media-id', 'NeverSeen'], serverEnv());
    expect([run.code, run.output]).toEqual([1, expect.stringMatching(/answered 404: media NeverSeen not found/)]);
  });
});

describe('hookline listen', () => {
  it('verifies each delivery, prints it on one line and answers 200', async () => {
    const { cli, hook } = await webhookToListener([]);
    expect(cli.output()).toContain('(verifying with 1 secret, answering 200)');
    await runCli(['trigger', 'media_available', '--media-id', 'MNYaMSQl'], serverEnv());
    const line = (await cli.waitFor(/^.*media_available.*$/m))[0];
    expect(line).toMatch(new RegExp(
      `^\\d\\d:\\d\\d:\\d\\d ✔ media_available media_id=MNYaMSQl site_id=${node.account.siteId} webhook_id=${hook.id} msg_[0-9a-f]{24} verified \\(Standard Webhooks \\+ JWT\\) latency \\d+\\.\\ds → 200$`,
    ));
    await until(async () => (await deliveries(hook.id, 'succeeded')).total === 1, 5_000, 'the delivery to succeed');
  });

  it('answers 401 with the reason to what does not verify, and shows it', async () => {
    const { cli, url } = await listen(['--secret', generateSecret()]);
    const hook = await createWebhook(node.account.api, [node.account.siteId], url);
    await runCli(['trigger', 'media_available'], serverEnv());
    await cli.waitFor(/NOT VERIFIED/);
    expect(cli.output()).toMatch(/✘ media_available media_id=\w{8} .* NOT VERIFIED: webhook-signature matches none of the 1 secret given: a wrong secret, or the body or its headers changed → 401/);
    const failed = await until(async () => (await deliveries(hook.id, 'failed')).deliveries[0], 5_000, 'the delivery to fail');
    const detail = (await node.account.api.get(`/v2/deliveries/${failed.id}/`)).body;
    expect(detail.attempts[0]).toMatchObject({ status_code: 401, response_body: expect.stringMatching(/^not verified: webhook-signature matches none/) });
  });

  it('with --status 500 answers failures, so the retries show', async () => {
    const { cli, hook } = await webhookToListener(['--status', '500']);
    expect(cli.output()).toContain('answering 500)');
    await runCli(['trigger', 'media_available'], serverEnv());
    // The test node's schedule is 3 attempts: all three arrive, verified, and fail as asked.
    await cli.waitFor(/(✔ media_available .* verified .*→ 500 \(as asked\)\n[\s\S]*){3}/);
    const failed = await until(async () => (await deliveries(hook.id, 'failed')).deliveries[0], 5_000, 'the delivery to fail');
    expect(failed).toMatchObject({ attempts: 3, last_status_code: 500 });
  });

  it('with --fail-rate answers that share of deliveries with failures', async () => {
    const secret = generateSecret();
    const body = '{"event":"media_created","media_id":"MNYaMSQl","webhook_id":"2yW4KmiG","site_id":"9KboGBFu","event_time":"2024-08-27T00:15:45+00:00"}';
    const send = async (url: string) => (await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json', ...signatureHeaders(signingKeys(secret, null, null), 'msg_2', Date.now(), body) }, body,
    })).status;
    const always = await listen(['--fail-rate', '1', '--status', '503', '--secret', secret]);
    expect(always.cli.output()).toContain('answering 503 to 100 % of deliveries');
    expect([await send(always.url), await send(always.url)]).toEqual([503, 503]);
    const never = await listen(['--fail-rate', '0', '--secret', secret]);
    expect([await send(never.url), await send(never.url)]).toEqual([200, 200]);
    // Half: over 40 deliveries, both answers come (the chance of not is 2^-39).
    const half = await listen(['--fail-rate', '0.5', '--secret', secret]);
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) statuses.add(await send(half.url));
    expect([...statuses].sort()).toEqual([200, 500]);
  });

  it('with --forward-to relays verified deliveries as received and answers what the app answers', async () => {
    const app = await receiver(() => ({ status: 202, body: 'queued' }));
    const { cli, url, hook } = await webhookToListener(['--forward-to', app.url]);
    expect(cli.output()).toContain(`forwarding to ${app.url}`);
    await runCli(['trigger', 'media_available'], serverEnv());
    const [got] = await app.waitFor(1);
    expect(verify(got!.body, got!.headers, hook.secret, { scheme: 'both' })).toEqual(got!.json);
    await cli.waitFor(/→ forwarded: 202 in \d+ ms/);
    const done = await until(async () => (await deliveries(hook.id, 'succeeded')).deliveries[0], 5_000, 'the delivery to succeed');
    expect(done.last_status_code).toBe(202);

    // A forgery is not forwarded.
    const forged = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: got!.body });
    expect(forged.status).toBe(401);
    await cli.waitFor(/NOT VERIFIED: missing header webhook-id, webhook-timestamp, webhook-signature/);
    expect(app.received).toHaveLength(1);
  });

  it('with --register creates a webhook pointing at itself, verifies with its secret, and deletes it on exit', async () => {
    const { cli, url } = await listen(['--register', '--site', node.account.siteId, '--events', 'media_available,channel_created', '--key', accountKey(), '--url', node.url]);
    const webhookId = (await cli.waitFor(/Registered webhook (\w{8}) for media_available, channel_created on property/))[1]!;
    const hook = (await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body;
    expect(hook.metadata).toMatchObject({ webhook_url: url, events: ['media_available', 'channel_created'], site_ids: [node.account.siteId] });

    await runCli(['trigger', 'channel_created'], serverEnv());
    await cli.waitFor(new RegExp(`✔ channel_created channel_id=\\w{8} site_id=${node.account.siteId} webhook_id=${webhookId} .* verified \\(Standard Webhooks \\+ JWT\\)`));

    cli.child.kill('SIGINT');
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toContain(`Deleted webhook ${webhookId}.`);
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).status).toBe(404);
  });

  it('explains how to get a secret when it has none, and refuses bad flags', async () => {
    let run = await runCli(['listen', '--port', '0']);
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/^hookline: hookline listen needs the webhook's secret to verify deliveries/);
    expect(run.output).toContain('pass --secret whsec_… (or set HOOKLINE_WEBHOOK_SECRET)');
    expect(run.output).toContain('POST /v2/webhooks/{id}/rotate_secret/');
    expect(run.output).toContain('--register --site <site_id>');
    run = await runCli(['listen', '--fail-rate', '2', '--secret', 'whsec_x']);
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/^hookline: --fail-rate: expected a number from 0 to 1, got "2"\n\nUsage: hookline listen/);
    run = await runCli(['listen', '--register', '--key', 'k']);
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/--register needs --site/);
    run = await runCli(['listen', '--register', '--site', node.account.siteId, '--key', accountKey(), '--url', node.url, '--events', 'media_availabel']);
    expect(run.code).toBe(2);
    expect(run.output).toMatch(/--events: unknown media_availabel/);
  });
});
