// The facts API on a real node: a platform reports plain facts, Hookline derives JWP's events by
// JWP's rules (docs/jwp-events.md), and a real receiver on 127.0.0.1 gets them. Each test uses
// its own property (./property.ts), whose delivery log lists exactly the events that test's
// facts yielded, in commit order; the receiver proves they were delivered.
import { rmSync } from 'node:fs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '../../src/catalog/events.js';
import { startHookline } from '../../src/server.js';
import {
  Api, createWebhook, OPERATOR_KEY, startReceiver, startTestNode, tempDir, testConfig, type Receiver, type TestNode,
} from '../helpers.js';
import { newProperty as makeProperty } from './property.js';

let node: TestNode;
let rx: Receiver;
let op: Api;

beforeAll(async () => {
  node = await startTestNode();
  rx = await startReceiver();
  op = node.operator;
});
afterAll(async () => {
  await node.close();
  await rx.close();
});

const newProperty = () => makeProperty(node, rx);

const names = (res: { body: any }) => (res.body.events as { event: string }[]).map((e) => e.event);

describe('a first upload', () => {
  it('thumbnail first: media_created, thumbnail_created, media_available, conversions_complete, each delivered once', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const created = await op.post(`${base}/media/`, { id: 'MNYaMSQl', renditions: ['180p', '720p'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'MNYaMSQl', type: 'media', status: 'processing', media_available: 'pending', conversions_complete: 'pending' });
    expect(names(created)).toEqual(['media_created']);
    const thumb = await op.post(`${base}/thumbnails/`, { id: 'k9x00iro', media_id: 'MNYaMSQl', status: 'ready' });
    expect(thumb.status).toBe(201);
    expect(thumb.body).toMatchObject({ id: 'k9x00iro', type: 'thumbnail', media_id: 'MNYaMSQl', status: 'ready' });
    expect(names(thumb)).toEqual(['thumbnail_created']);
    const first = await op.patch(`${base}/media/MNYaMSQl/media_renditions/180p/`, { status: 'ready' });
    expect(first.status).toBe(200);
    expect(names(first)).toEqual(['media_available']);
    const last = await op.patch(`${base}/media/MNYaMSQl/media_renditions/720p/`, { status: 'ready' });
    expect(names(last)).toEqual(['conversions_complete']);

    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
    const bodies = await p.delivered(4);
    expect(bodies.map((b) => b.event).sort()).toEqual(['conversions_complete', 'media_available', 'media_created', 'thumbnail_created']);
    const thumbnailBody = rx.received.find((r) => r.json?.webhook_id === p.webhookId && r.json.event === 'thumbnail_created')!.body;
    // JWP's shape, key for key: the thumbnail's id first, its media last
    expect(Object.keys(JSON.parse(thumbnailBody))).toEqual(['event', 'thumbnail_id', 'webhook_id', 'site_id', 'event_time', 'media_id']);
    expect(JSON.parse(thumbnailBody)).toMatchObject({ thumbnail_id: 'k9x00iro', media_id: 'MNYaMSQl', site_id: p.site });
    for (const b of bodies.filter((x) => x.event !== 'thumbnail_created')) expect(b).toMatchObject({ media_id: 'MNYaMSQl', site_id: p.site });
    const state = await op.get(`${base}/media/MNYaMSQl/`);
    expect(state.body).toMatchObject({ status: 'publishable', media_available: 'sent', conversions_complete: 'sent', events: [] });
  });

  it('renditions first, thumbnail created then ready: both milestones on the thumbnail, available first', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'media-2', renditions: ['180p', '720p'] });
    expect(names(await op.patch(`${base}/media/media-2/media_renditions/720p/`, { status: 'ready' }))).toEqual([]);
    expect(names(await op.patch(`${base}/media/media-2/media_renditions/180p/`, { status: 'ready' }))).toEqual([]);
    const thumb = await op.post(`${base}/thumbnails/`, { media_id: 'media-2' });
    expect(thumb.body).toMatchObject({ type: 'thumbnail', media_id: 'media-2', status: 'processing' });
    expect(thumb.body.id).toMatch(/^[A-Za-z0-9]{8}$/);
    const ready = await op.patch(`${base}/thumbnails/${thumb.body.id}/`, { status: 'ready' });
    expect(ready.status).toBe(200);
    expect(names(ready)).toEqual(['media_available', 'conversions_complete']);
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
    await p.delivered(4);
  });

  it('sends each milestone once when the renditions are reported all at once, each twice', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const renditions = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
    await op.post(`${base}/media/`, { id: 'busy', renditions });
    await op.post(`${base}/thumbnails/`, { media_id: 'busy', status: 'ready' });
    const answers = await Promise.all([...renditions, ...renditions].map((r) => op.patch(`${base}/media/busy/media_renditions/${r}/`, { status: 'ready' })));
    expect(answers.map((a) => a.status)).toEqual(Array(16).fill(200));
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
  });
});

const FULL_METADATA = {
  title: 'Match of the day', description: 'All the goals.\nAnd the rest.', author: 'Sports desk',
  tags: ['sport', 'football'], custom_params: { league: 'A', round: '3' }, permalink: 'https://tv.example/match',
  category: 'IAB17', language: 'pt-BR', publish_start_date: '2024-08-27T00:20:57+00:00',
  publish_end_date: '2030-01-01T00:00:00+02:00', external_id: 'cms-4711',
};

describe('JWP media metadata', () => {
  it('takes every field of JWP\'s media metadata, at creation and in an update', async () => {
    const p = await newProperty();
    const created = await op.post(`${p.base}/media/`, { id: 'meta', renditions: ['180p'], metadata: FULL_METADATA });
    expect(created.status).toBe(201);
    expect(names(created)).toEqual(['media_created']);
    expect(created.body.metadata).toEqual({ publish_start_date: '2024-08-27T00:20:57+00:00' });
    const renamed = await op.patch(`${p.base}/media/meta/`, { metadata: { title: 'Match of the week' } });
    expect(renamed.status).toBe(200);
    expect(names(renamed)).toEqual(['media_updated']);
    // null clears a field; each field alone is a change
    for (const metadata of [{ tags: null }, { custom_params: { league: 'B' } }, { language: 'en' }, { publish_end_date: null }, { external_id: 'cms-4712' }]) {
      expect(names(await op.patch(`${p.base}/media/meta/`, { metadata })), JSON.stringify(metadata)).toEqual(['media_updated']);
    }
    expect(await p.log()).toEqual(['media_created', ...Array(6).fill('media_updated')]);
    await p.delivered(7);
  });

  it('sends no media_updated for an update that changes nothing', async () => {
    const p = await newProperty();
    await op.post(`${p.base}/media/`, { id: 'same', renditions: ['180p'], metadata: FULL_METADATA });
    const unchanged = [
      op.request('PATCH', `${p.base}/media/same/`), // no body at all
      op.patch(`${p.base}/media/same/`, {}),
      op.patch(`${p.base}/media/same/`, { metadata: {} }),
      op.patch(`${p.base}/media/same/`, { metadata: FULL_METADATA }),
      // the same instants written with other offsets, the same custom_params in another order
      op.patch(`${p.base}/media/same/`, { metadata: { publish_start_date: '2024-08-27T02:20:57+02:00', publish_end_date: '2029-12-31T22:00:00Z' } }),
      op.patch(`${p.base}/media/same/`, { metadata: { custom_params: { round: '3', league: 'A' } } }),
    ];
    for (const res of await Promise.all(unchanged)) {
      expect(res.status).toBe(200);
      expect(names(res)).toEqual([]);
    }
    expect(await p.log()).toEqual(['media_created']);
  });

  it('refuses metadata that is not JWP\'s, naming the field, and changes nothing', async () => {
    const p = await newProperty();
    await op.post(`${p.base}/media/`, { id: 'strict', renditions: ['180p'] });
    const cases: [Record<string, unknown>, string][] = [
      [{ copyright: 'x' }, 'metadata.copyright is not a known field'],
      [{ title: { text: 'x' } }, 'metadata.title must be string,null'],
      [{ title: 'x'.repeat(1_001) }, 'metadata.title must NOT have more than 1000 characters'],
      [{ tags: { sport: true } }, 'metadata.tags must be array,null'],
      [{ tags: [{ name: 'sport' }] }, 'metadata.tags[0] must be string'],
      [{ tags: Array(501).fill('t') }, 'metadata.tags must NOT have more than 500 items'],
      [{ custom_params: { league: { name: 'A' } } }, 'metadata.custom_params.league must be string'],
      [{ custom_params: ['a'] }, 'metadata.custom_params must be object,null'],
      [{ language: 'english please' }, 'metadata.language must match pattern "^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$"'],
      [{ publish_end_date: 'next year' }, 'metadata.publish_end_date must be an ISO 8601 time with an offset, like 2024-08-27T00:20:57+00:00'],
    ];
    for (const [metadata, description] of cases) {
      for (const res of [await op.patch(`${p.base}/media/strict/`, { metadata }), await op.post(`${p.base}/media/`, { renditions: ['180p'], metadata })]) {
        expect({ status: res.status, body: res.body }, JSON.stringify(metadata)).toEqual({ status: 400, body: { errors: [{ code: expect.any(String), description }] } });
      }
    }
    expect(await p.log()).toEqual(['media_created']);
  });
});

describe('updates and deletion', () => {
  it('sends media_updated on a real update and media_deleted on delete; after it, every fact is a 409 that changes nothing', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'gone', renditions: ['180p'] });
    await op.post(`${base}/thumbnails/`, { id: 'gone-th', media_id: 'gone' });
    expect(names(await op.patch(`${base}/media/gone/`, { metadata: { publish_start_date: null } }))).toEqual([]); // it had none
    expect(names(await op.patch(`${base}/media/gone/`, { metadata: { title: 'Gone soon' } }))).toEqual(['media_updated']);
    const deleted = await op.delete(`${base}/media/gone/`);
    expect(deleted.status).toBe(200);
    expect(deleted.body).toMatchObject({ status: 'deleted', events: [{ event: 'media_deleted' }] });
    const logged = ['media_created', 'thumbnail_created', 'media_updated', 'media_deleted'];
    expect(await p.log()).toEqual(logged);

    const later = [
      op.patch(`${base}/media/gone/`, {}),
      op.delete(`${base}/media/gone/`),
      op.request('PUT', `${base}/media/gone/reupload/`, {}),
      op.patch(`${base}/media/gone/media_renditions/180p/`, { status: 'ready' }),
      op.patch(`${base}/thumbnails/gone-th/`, { status: 'ready' }),
      op.delete(`${base}/thumbnails/gone-th/`),
      op.post(`${base}/thumbnails/`, { media_id: 'gone', status: 'ready' }),
      op.post(`${base}/media/gone/text_tracks/`, {}),
    ];
    for (const res of await Promise.all(later)) {
      expect(res.status).toBe(409);
      expect(res.body).toEqual({ errors: [{ code: 'media_deleted', description: 'media gone was deleted; it takes no more facts' }] });
    }
    const again = await op.post(`${base}/media/`, { id: 'gone', renditions: ['180p'] });
    expect(again.status).toBe(409);
    expect(again.body.errors[0].code).toBe('already_exists');
    expect(await p.log()).toEqual(logged);
    await p.delivered(logged.length);
  });
});

describe('reupload', () => {
  it('sends media_reuploaded when initiated, then media_available once it is publishable again; the old renditions are gone', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'redo', renditions: ['180p', '720p'] });
    await op.post(`${base}/thumbnails/`, { media_id: 'redo', status: 'ready' });
    const reupload = await op.request('PUT', `${base}/media/redo/reupload/`, { renditions: ['1080p', '720p'] });
    expect(reupload.status).toBe(200);
    expect(names(reupload)).toEqual(['media_reuploaded']);
    expect(reupload.body).toMatchObject({ reuploads: 1, status: 'processing', media_available: 'pending', conversions_complete: 'never' });
    expect(names(await op.patch(`${base}/media/redo/media_renditions/1080p/`, { status: 'ready' }))).toEqual(['media_available']);
    expect(names(await op.patch(`${base}/media/redo/media_renditions/720p/`, { status: 'ready' }))).toEqual([]);
    const old = await op.patch(`${base}/media/redo/media_renditions/180p/`, { status: 'ready' });
    expect(old.status).toBe(404);
    expect(old.body.errors[0].description).toBe('media redo has no rendition 180p; its renditions are 1080p, 720p');
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_reuploaded', 'media_available']);
    await p.delivered(4);
  });

  it('before the media was ever publishable, then ready renditions and a thumbnail: media_available delivered exactly once', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'early', renditions: ['180p', '720p'] });
    expect(names(await op.request('PUT', `${base}/media/early/reupload/`, {}))).toEqual(['media_reuploaded']);
    await op.patch(`${base}/media/early/media_renditions/180p/`, { status: 'ready' });
    await op.patch(`${base}/media/early/media_renditions/720p/`, { status: 'ready' });
    const thumb = await op.post(`${base}/thumbnails/`, { media_id: 'early', status: 'ready' });
    expect(names(thumb)).toEqual(['thumbnail_created', 'media_available']);
    // more facts that leave it publishable: nothing more
    await op.post(`${base}/thumbnails/`, { media_id: 'early', status: 'ready' });
    await op.patch(`${base}/media/early/media_renditions/720p/`, { status: 'ready' });
    const logged = ['media_created', 'media_reuploaded', 'thumbnail_created', 'media_available', 'thumbnail_created'];
    expect(await p.log()).toEqual(logged);
    const bodies = await p.delivered(logged.length);
    expect(bodies.filter((b) => b.event === 'media_available')).toEqual([expect.objectContaining({ media_id: 'early', site_id: p.site })]);
    expect((await op.get(`${base}/media/early/`)).body).toMatchObject({ status: 'publishable', media_available: 'sent', conversions_complete: 'never' });
  });

  it('never sends conversions_complete again after a reupload of a media that had it', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'done', renditions: ['180p', '720p'] });
    await op.post(`${base}/thumbnails/`, { media_id: 'done', status: 'ready' });
    await op.patch(`${base}/media/done/media_renditions/180p/`, { status: 'ready' });
    await op.patch(`${base}/media/done/media_renditions/720p/`, { status: 'ready' });
    for (let i = 0; i < 2; i++) {
      await op.request('PUT', `${base}/media/done/reupload/`, {});
      await op.patch(`${base}/media/done/media_renditions/180p/`, { status: 'ready' });
      await op.patch(`${base}/media/done/media_renditions/720p/`, { status: 'ready' });
    }
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete',
      'media_reuploaded', 'media_available', 'media_reuploaded', 'media_available']);
    expect((await op.get(`${base}/media/done/`)).body).toMatchObject({ reuploads: 2, media_available: 'sent', conversions_complete: 'sent' });
  });

  it('sends no media_available for a reupload that becomes publishable while its publish start date is in the future', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await op.post(`${base}/media/`, { id: 'held', renditions: ['180p'] });
    await op.request('PUT', `${base}/media/held/reupload/`, {});
    await op.patch(`${base}/media/held/`, { metadata: { publish_start_date: tomorrow } });
    await op.post(`${base}/thumbnails/`, { media_id: 'held', status: 'ready' });
    await op.patch(`${base}/media/held/media_renditions/180p/`, { status: 'ready' });
    expect(await p.log()).toEqual(['media_created', 'media_reuploaded', 'media_updated', 'thumbnail_created']);
    expect((await op.get(`${base}/media/held/`)).body.media_available).toBe('never');
  });
});

describe('publish start date', () => {
  it('sends no media_available for a media whose date is in the future; conversions_complete still comes', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    const created = await op.post(`${base}/media/`, { id: 'later', renditions: ['180p'], metadata: { publish_start_date: tomorrow } });
    expect(created.body.metadata.publish_start_date).toBe(tomorrow.slice(0, 19) + '+00:00');
    await op.post(`${base}/thumbnails/`, { media_id: 'later', status: 'ready' });
    await op.patch(`${base}/media/later/media_renditions/180p/`, { status: 'ready' });
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'conversions_complete']);
    expect((await op.get(`${base}/media/later/`)).body.media_available).toBe('never');
  });

  it('sends none even once the date has passed', async () => {
    let offset = 0;
    const timed = await startTestNode({}, { clock: { now: () => Date.now() + offset } });
    try {
      const hook = await createWebhook(timed.account.api, [timed.account.siteId], rx.url, [...EVENT_NAMES]);
      const base = `/v2/sites/${timed.account.siteId}`;
      const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
      await timed.operator.post(`${base}/media/`, { id: 'embargo', renditions: ['180p', '720p'], metadata: { publish_start_date: inAnHour } });
      await timed.operator.post(`${base}/thumbnails/`, { media_id: 'embargo', status: 'ready' });
      await timed.operator.patch(`${base}/media/embargo/media_renditions/180p/`, { status: 'ready' });
      offset = 2 * 3_600_000;
      await timed.operator.patch(`${base}/media/embargo/`, { metadata: { title: 'Out now' } });
      await timed.operator.patch(`${base}/media/embargo/media_renditions/720p/`, { status: 'ready' });
      const log = await timed.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?page_length=100`);
      expect(log.body.deliveries.map((d: any) => d.event).reverse())
        .toEqual(['media_created', 'thumbnail_created', 'media_updated', 'conversions_complete']);
    } finally {
      await timed.close();
    }
  });
});

describe('thumbnails and text tracks', () => {
  it('send created and deleted, carrying media_id, in JWP’s body shape', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'MNYaMSQl', renditions: ['180p'] });
    const track = await op.post(`${base}/media/MNYaMSQl/text_tracks/`, { id: 'VHsQNYq9' });
    expect(track.status).toBe(201);
    expect(track.body).toMatchObject({ id: 'VHsQNYq9', type: 'text_track', media_id: 'MNYaMSQl', status: 'created', events: [{ event: 'track_created' }] });
    const trackGone = await op.delete(`${base}/media/MNYaMSQl/text_tracks/VHsQNYq9/`);
    expect(trackGone.body).toMatchObject({ status: 'deleted', events: [{ event: 'track_deleted' }] });
    await op.post(`${base}/thumbnails/`, { id: 'sl5swh3z', media_id: 'MNYaMSQl' });
    const thumbGone = await op.delete(`${base}/thumbnails/sl5swh3z/`);
    expect(thumbGone.body).toMatchObject({ id: 'sl5swh3z', status: 'deleted', events: [{ event: 'thumbnail_deleted' }] });

    expect(await p.log()).toEqual(['media_created', 'track_created', 'track_deleted', 'thumbnail_created', 'thumbnail_deleted']);
    const bodies = (await p.delivered(5)).filter((b) => b.event !== 'media_created');
    for (const b of bodies) {
      const own = b.event.startsWith('track') ? 'track_id' : 'thumbnail_id';
      expect(Object.keys(b)).toEqual(['event', own, 'webhook_id', 'site_id', 'event_time', 'media_id']);
      expect(b.media_id).toBe('MNYaMSQl');
      expect(b[own]).toBe(own === 'track_id' ? 'VHsQNYq9' : 'sl5swh3z');
    }
  });

  it('refuses out-of-order facts with JWP errors and changes nothing', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'one', renditions: ['180p'] });
    await op.post(`${base}/media/`, { id: 'two', renditions: ['180p'] });
    await op.post(`${base}/thumbnails/`, { id: 'shared', media_id: 'one' });
    const refused: [Promise<any>, number, RegExp][] = [
      [op.patch(`${base}/thumbnails/nothere/`, { status: 'ready' }), 404, /thumbnail nothere not found/],
      [op.post(`${base}/thumbnails/`, { id: 'shared', media_id: 'two' }), 409, /thumbnail shared already exists/],
      [op.post(`${base}/thumbnails/`, { media_id: 'three' }), 404, /media three not found/],
      [op.delete(`${base}/media/one/text_tracks/nothere/`), 404, /text track nothere not found on media one/],
    ];
    for (const [pending, status, description] of refused) {
      const res = await pending;
      expect(res.status).toBe(status);
      expect(res.body.errors[0].description).toMatch(description);
    }
    await op.delete(`${base}/thumbnails/shared/`);
    const twice = await op.delete(`${base}/thumbnails/shared/`);
    expect(twice.status).toBe(409);
    expect(twice.body.errors[0]).toEqual({ code: 'thumbnail_deleted', description: 'thumbnail shared was deleted' });
    expect(await p.log()).toEqual(['media_created', 'media_created', 'thumbnail_created', 'thumbnail_deleted']);
  });
});

describe('live channels', () => {
  it('sends channel_created, then channel_active and channel_idle only on real changes', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    expect((await op.request('POST', `${base}/channels/`)).status).toBe(201); // no body: an id is made
    const created = await op.post(`${base}/channels/`, { id: 'YijbmYHJ' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: 'YijbmYHJ', type: 'channel', status: 'idle', events: [{ id: expect.stringMatching(/^evt_/), event: 'channel_created' }] });
    const steps = [];
    for (const status of ['idle', 'active', 'active', 'idle', 'idle']) steps.push(names(await op.patch(`${base}/channels/YijbmYHJ/`, { status })));
    expect(steps).toEqual([[], ['channel_active'], [], ['channel_idle'], []]);
    expect((await op.post(`${base}/channels/`, { id: 'YijbmYHJ' })).status).toBe(409);
    const unknown = await op.patch(`${base}/channels/nothere/`, { status: 'active' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors[0].description).toBe('channel nothere not found');
    expect(await p.log()).toEqual(['channel_created', 'channel_created', 'channel_active', 'channel_idle']);
    const bodies = await p.delivered(4);
    for (const b of bodies) expect(Object.keys(b)).toEqual(['event', 'channel_id', 'webhook_id', 'site_id', 'event_time']);
  });
});

describe('repeats', () => {
  it('recognises a fact repeated with its Idempotency-Key: the first answer again, no second event', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const key = { 'idempotency-key': 'upload-77' };
    const first = await op.post(`${base}/media/`, { renditions: ['180p'] }, key);
    const again = await op.post(`${base}/media/`, { renditions: ['180p'] }, key);
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const id = first.body.id;
    const thumbKey = { 'idempotency-key': 'thumb-77' };
    const thumb = await op.post(`${base}/thumbnails/`, { media_id: id, status: 'ready' }, thumbKey);
    expect((await op.post(`${base}/thumbnails/`, { media_id: id, status: 'ready' }, thumbKey)).body).toEqual(thumb.body);
    const readyKey = { 'idempotency-key': 'r-180p' };
    const ready = await op.request('PATCH', `${base}/media/${id}/media_renditions/180p/`, { status: 'ready' }, readyKey);
    const readyAgain = await op.request('PATCH', `${base}/media/${id}/media_renditions/180p/`, { status: 'ready' }, readyKey);
    expect(readyAgain.body).toEqual(ready.body);
    const delKey = { 'idempotency-key': 'del-77' };
    const del = await op.request('DELETE', `${base}/media/${id}/`, undefined, delKey);
    const delAgain = await op.request('DELETE', `${base}/media/${id}/`, undefined, delKey);
    expect(delAgain.status).toBe(200);
    expect(delAgain.body).toEqual(del.body);
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete', 'media_deleted']);

    const conflict = await op.post(`${base}/media/`, { renditions: ['720p'] }, key);
    expect(conflict.status).toBe(409);
    expect(conflict.body.errors[0].code).toBe('idempotency_conflict');
    await p.delivered(5);
  });

  it('shares the property\'s keys with reported events: a key used for one is a conflict for the other', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    const reported = await op.post(`${base}/events/`, { event: 'media_available', media_id: 'Shared01' }, { 'idempotency-key': 'shared-1' });
    expect(reported.status).toBe(202);
    const fact = await op.post(`${base}/media/`, { id: 'Shared01', renditions: ['180p'] }, { 'idempotency-key': 'shared-1' });
    expect(fact.status).toBe(409);
    expect(fact.body.errors).toEqual([{ code: 'idempotency_conflict', description: 'this Idempotency-Key was already used with a different request' }]);

    const created = await op.post(`${base}/media/`, { id: 'Shared02', renditions: ['180p'] }, { 'idempotency-key': 'shared-2' });
    expect(created.status).toBe(201);
    const event = await op.post(`${base}/events/`, { event: 'media_available', media_id: 'Shared02' }, { 'idempotency-key': 'shared-2' });
    expect(event.status).toBe(409);
    expect(event.body.errors).toEqual([{ code: 'idempotency_conflict', description: 'this Idempotency-Key was already used with a different body' }]);
    // The first requests stand: one reported event, one fact's event, and nothing of the refused ones.
    expect(await p.log()).toEqual(['media_available', 'media_created']);
  });

  it('yields nothing new for a repeated fact without a key where the rules make it harmless', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'twice', renditions: ['180p', '720p'] });
    const th = await op.post(`${base}/thumbnails/`, { media_id: 'twice' });
    for (let i = 0; i < 2; i++) {
      await op.patch(`${base}/thumbnails/${th.body.id}/`, { status: 'ready' });
      await op.patch(`${base}/media/twice/media_renditions/180p/`, { status: 'ready' });
    }
    expect(await p.log()).toEqual(['media_created', 'thumbnail_created', 'media_available']);
  });
});

describe('refusals', () => {
  it('answers unknown properties and media with 404, account keys with 403, bad input with 400 naming the field', async () => {
    const p = await newProperty();
    const base = `/v2/sites/${p.site}`;
    await op.post(`${base}/media/`, { id: 'known', renditions: ['180p'] });
    const cases: [Promise<any>, number, string][] = [
      [op.post('/v2/sites/ZZZZZZZZ/media/', { renditions: ['180p'] }), 404, 'property ZZZZZZZZ not found'],
      [op.post('/v2/sites/ZZZZZZZZ/channels/', {}), 404, 'property ZZZZZZZZ not found'],
      [op.patch(`${base}/media/unknown/`, {}), 404, 'media unknown not found'],
      [op.patch(`${base}/media/unknown/media_renditions/180p/`, { status: 'ready' }), 404, 'media unknown not found'],
      [node.account.api.post(`${base}/media/`, { renditions: ['180p'] }), 403, 'this route needs the operator key'],
      [op.post(`${base}/media/`, {}), 400, 'renditions is required: the renditions this upload will produce (or send "simulate": true)'],
      [op.post(`${base}/media/`, { renditions: [] }), 400, 'renditions must NOT have fewer than 1 items'],
      [op.post(`${base}/media/`, { renditions: ['180p'], title: 'x' }), 400, 'title is not a known field'],
      [op.post(`${base}/media/`, { renditions: ['180p'], metadata: { publish_start_date: 'tomorrow' } }), 400,
        'metadata.publish_start_date must be an ISO 8601 time with an offset, like 2024-08-27T00:20:57+00:00'],
      [op.post(`${base}/media/`, { id: 'has space', renditions: ['180p'] }), 400, 'id must match pattern "^[A-Za-z0-9_-]{1,64}$"'],
      [op.patch(`${base}/media/known/media_renditions/180p/`, { status: 'failed' }), 400, 'status must be one of: ready'],
      [op.patch(`${base}/media/known/media_renditions/180p/`, {}), 400, 'status is required'],
      [op.post(`${base}/thumbnails/`, { status: 'ready' }), 400, 'media_id is required'],
      [op.post(`${base}/channels/`, { id: 'c1', status: 'active' }), 400, 'status is not a known field'],
    ];
    for (const [pending, status, description] of cases) {
      const res = await pending;
      expect({ status: res.status, body: res.body }).toEqual({ status, body: { errors: [{ code: expect.any(String), description }] } });
    }
    expect(await p.log()).toEqual(['media_created']);
  });
});

it('documents the fact routes in the OpenAPI description', async () => {
  const { paths } = (await op.get('/openapi.json')).body;
  for (const path of ['/v2/sites/{site_id}/media/', '/v2/sites/{site_id}/media/{media_id}/reupload/',
    '/v2/sites/{site_id}/media/{media_id}/media_renditions/{rendition_id}/', '/v2/sites/{site_id}/media/{media_id}/text_tracks/',
    '/v2/sites/{site_id}/thumbnails/{thumbnail_id}/', '/v2/sites/{site_id}/channels/{channel_id}/']) {
    expect(paths[path], path).toBeDefined();
  }
});

describe('what survives', () => {
  it('keeps the lifecycle across a restart: the rules pick up where they were', async () => {
    const dataDir = tempDir();
    const start = () => startHookline(testConfig(dataDir), { logger: pino({ level: 'silent' }) });
    let hookline = await start();
    try {
      const site = hookline.firstStart.account!.siteId;
      const base = `/v2/sites/${site}`;
      let api = new Api(hookline.url, OPERATOR_KEY);
      await api.post(`${base}/media/`, { id: 'durable', renditions: ['180p', '720p'] });
      await api.post(`${base}/thumbnails/`, { media_id: 'durable', status: 'ready' });
      expect(names(await api.patch(`${base}/media/durable/media_renditions/180p/`, { status: 'ready' }))).toEqual(['media_available']);
      await hookline.close();

      hookline = await start();
      api = new Api(hookline.url, OPERATOR_KEY);
      expect((await api.get(`${base}/media/durable/`)).body).toMatchObject({ media_available: 'sent', conversions_complete: 'pending' });
      expect(names(await api.patch(`${base}/media/durable/media_renditions/180p/`, { status: 'ready' }))).toEqual([]);
      expect(names(await api.patch(`${base}/media/durable/media_renditions/720p/`, { status: 'ready' }))).toEqual(['conversions_complete']);
    } finally {
      await hookline.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
