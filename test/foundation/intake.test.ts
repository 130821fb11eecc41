// Event intake: exact id fields per event, times, idempotency, and who may report.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhook, startReceiver, startTestNode, type Receiver, type TestNode } from '../helpers.js';

let node: TestNode;
let rx: Receiver;
let path: string;

beforeAll(async () => {
  node = await startTestNode();
  rx = await startReceiver();
  path = `/v2/sites/${node.account.siteId}/events/`;
  await createWebhook(node.account.api, [node.account.siteId], rx.url, ['media_available', 'track_created']);
});
afterAll(async () => {
  await node.close();
  await rx.close();
});

async function deliveriesCount(): Promise<number> {
  const hooks = await node.account.api.get('/v2/webhooks/');
  let total = 0;
  for (const h of hooks.body.webhooks) total += (await node.account.api.get(`/v2/webhooks/${h.id}/deliveries/`)).body.total;
  return total;
}

describe('event intake', () => {
  it('stores any ISO 8601 time with an offset and sends it in UTC', async () => {
    const before = rx.received.length;
    const res = await node.operator.post(path, { event: 'media_available', media_id: 'Time_Zone-1', event_time: '2024-08-27T02:20:57.123+02:00' });
    expect(res.status).toBe(202);
    const [got] = (await rx.waitFor(before + 1)).slice(before);
    expect(got!.json.event_time).toBe('2024-08-27T00:20:57+00:00');
  });

  it('uses the time of intake when event_time is left out', async () => {
    const before = rx.received.length;
    const t0 = Math.floor(Date.now() / 1000) * 1000;
    await node.operator.post(path, { event: 'media_available', media_id: 'NowNowNo' });
    const [got] = (await rx.waitFor(before + 1)).slice(before);
    const sent = Date.parse(got!.json.event_time);
    expect(sent).toBeGreaterThanOrEqual(t0);
    expect(sent).toBeLessThanOrEqual(Date.now());
  });

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['an unknown event', { event: 'media_exploded', media_id: 'abcdefgh' }, /event must be one of/],
    ['a missing id field', { event: 'media_available' }, /media_id is required for media_available/],
    ['a missing media_id on a track event', { event: 'track_created', track_id: 'VHsQNYq9' }, /media_id is required for track_created/],
    ['an id field of another event', { event: 'media_available', media_id: 'abcdefgh', channel_id: 'abcdefgh' }, /channel_id is not a field of media_available/],
    ['an unknown field', { event: 'media_available', media_id: 'abcdefgh', colour: 'red' }, /colour is not a known field/],
    ['a malformed id', { event: 'media_available', media_id: 'no spaces allowed' }, /media_id must match/],
    ['a too long id', { event: 'media_available', media_id: 'x'.repeat(65) }, /media_id must match/],
    ['a time without an offset', { event: 'media_available', media_id: 'abcdefgh', event_time: '2024-08-27T00:20:57' }, /event_time must be an ISO 8601 time with an offset/],
    ['a time that is not one', { event: 'media_available', media_id: 'abcdefgh', event_time: '2024-13-45T99:00:00Z' }, /event_time/],
  ];
  it.each(refused)('refuses %s with a 400 naming the field, and delivers nothing', async (_what, body, description) => {
    const before = await deliveriesCount();
    const res = await node.operator.post(path, body);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].description).toMatch(description);
    expect(await deliveriesCount()).toBe(before);
  });

  it('refuses an unknown property with 404 and an account key with 403', async () => {
    const unknown = await node.operator.post('/v2/sites/ZZZZZZZZ/events/', { event: 'media_available', media_id: 'abcdefgh' });
    expect(unknown.status).toBe(404);
    expect(unknown.body.errors[0].description).toMatch(/property ZZZZZZZZ not found/);
    const byAccount = await node.account.api.post(path, { event: 'media_available', media_id: 'abcdefgh' });
    expect(byAccount.status).toBe(403);
  });

  it('answers a repeated Idempotency-Key with the first answer and fans out nothing new', async () => {
    const body = { event: 'media_available', media_id: 'Idem0001' };
    const first = await node.operator.post(path, body, { 'idempotency-key': 'upload-1' });
    expect(first.status).toBe(202);
    const count = await deliveriesCount();
    const again = await node.operator.post(path, body, { 'idempotency-key': 'upload-1' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await deliveriesCount()).toBe(count);

    const changed = await node.operator.post(path, { ...body, media_id: 'Idem0002' }, { 'idempotency-key': 'upload-1' });
    expect(changed.status).toBe(409);
    expect(changed.body.errors[0].code).toBe('idempotency_conflict');
    expect(await deliveriesCount()).toBe(count);

    // Keys are scoped to the property, and concurrent repeats still commit once.
    const burst = await Promise.all(Array.from({ length: 10 }, () => node.operator.post(path, { event: 'media_available', media_id: 'Idem0003' }, { 'idempotency-key': 'burst' })));
    expect(new Set(burst.map((r) => r.body.id)).size).toBe(1);
    expect(await deliveriesCount()).toBe(count + 1);
  });

  it('answers with the event and the number of deliveries it made', async () => {
    const res = await node.operator.post(path, { event: 'channel_created', channel_id: 'YijbmYHJ' });
    expect(res.status).toBe(202);
    expect(Object.keys(res.body)).toEqual(['id', 'event', 'site_id', 'deliveries']);
    expect(res.body).toMatchObject({ event: 'channel_created', site_id: node.account.siteId, deliveries: 0 });
  });
});
