// "simulate": true plays the rest of a lifecycle by itself, through the same fact path, with the
// step delay shortened (HOOKLINE_SIMULATION_STEP) so that the test takes well under a second.
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';
import { newProperty } from './property.js';

const STEP_MS = 20;
let node: TestNode;
let rx: Receiver;

beforeAll(async () => {
  node = await startTestNode({ simulationStepMs: STEP_MS });
  rx = await startReceiver();
});
afterAll(async () => {
  await node.close();
  await rx.close();
});

describe('simulation', () => {
  it('plays an upload: media_created, thumbnail_created, media_available, conversions_complete, in that order', async () => {
    const p = await newProperty(node, rx);
    const res = await node.operator.post(`${p.base}/media/`, { simulate: true });
    expect(res.status).toBe(201);
    expect(res.body.renditions.map((r: any) => r.id)).toEqual(['180p', '406p', '720p', '1080p']);
    expect(res.body.events.map((e: any) => e.event)).toEqual(['media_created']);
    const bodies = await p.delivered(4);
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
    for (const b of bodies) expect(b.media_id).toBe(res.body.id);
    const state = await node.operator.get(`${p.base}/media/${res.body.id}/`);
    expect(state.body.renditions.every((r: any) => r.status === 'ready')).toBe(true);
    expect(state.body.thumbnails).toEqual([{ id: expect.stringMatching(/^[A-Za-z0-9]{8}$/), status: 'ready' }]);
  });

  it('plays a reupload: media_reuploaded, then its renditions finish, the first making the media publishable again', async () => {
    const p = await newProperty(node, rx);
    const id = (await node.operator.post(`${p.base}/media/`, { renditions: ['180p', '720p'] })).body.id;
    await node.operator.post(`${p.base}/thumbnails/`, { media_id: id, status: 'ready' });
    const res = await node.operator.request('PUT', `${p.base}/media/${id}/reupload/`, { simulate: true, renditions: ['360p', '1080p'] });
    expect(res.status).toBe(200);
    await until(async () => {
      const state = await node.operator.get(`${p.base}/media/${id}/`);
      return state.body.renditions.every((r: any) => r.status === 'ready');
    }, 10_000, 'the reupload to finish');
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_reuploaded', 'media_available']);
    await p.delivered(4);
  });

  it('plays a live channel: channel_created, channel_active, channel_idle', async () => {
    const p = await newProperty(node, rx);
    const res = await node.operator.post(`${p.base}/channels/`, { simulate: true });
    expect(res.status).toBe(201);
    await p.delivered(3);
    expect(await p.log()).toEqual(['channel_created', 'channel_active', 'channel_idle']);
    expect((await node.operator.get(`${p.base}/channels/${res.body.id}/`)).body).toMatchObject({ status: 'idle' });
  });

  it('ends a simulated upload when the platform deletes the media meanwhile', async () => {
    const p = await newProperty(node, rx);
    const res = await node.operator.post(`${p.base}/media/`, { simulate: true, renditions: ['a', 'b', 'c', 'd', 'e', 'f'] });
    const id = res.body.id;
    await until(async () => (await node.operator.get(`${p.base}/media/${id}/`)).body.thumbnails.length > 0, 10_000, 'the thumbnail');
    await node.operator.delete(`${p.base}/media/${id}/`);
    // long enough for every remaining step to have run, had the story gone on
    await new Promise((r) => setTimeout(r, STEP_MS * 10));
    const log = await p.log();
    expect(log.at(-1)).toBe('media_deleted');
    expect(log.filter((e) => e === 'media_deleted')).toHaveLength(1);
  });

  it('does not simulate twice on a repeat of the same request', async () => {
    const p = await newProperty(node, rx);
    const key = { 'idempotency-key': 'sim-once' };
    const first = await node.operator.post(`${p.base}/media/`, { id: 'sim-once', simulate: true, renditions: ['180p'] }, key);
    const again = await node.operator.post(`${p.base}/media/`, { id: 'sim-once', simulate: true, renditions: ['180p'] }, key);
    expect(again.body).toEqual(first.body);
    await p.delivered(4);
    // long enough for a second story to have played, had one started
    await new Promise((r) => setTimeout(r, STEP_MS * 6));
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
    expect((await node.operator.get(`${p.base}/media/${first.body.id}/`)).body.thumbnails).toHaveLength(1);
  });
});

it('cancels pending simulation steps when the server closes', async () => {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
  const short = await startTestNode({ simulationStepMs: 50 }, { logger });
  const res = await short.operator.post(`/v2/sites/${short.account.siteId}/media/`, { simulate: true });
  expect(res.status).toBe(201);
  await short.close();
  // had a step outlived the server, it would have failed on the closed database and said so
  await new Promise((r) => setTimeout(r, 50 * 4));
  expect(lines.filter((l) => l.includes('simulation'))).toEqual([]);
});
