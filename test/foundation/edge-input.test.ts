// Input at the edges: times JWP's format cannot write or days that do not exist, and text with
// control characters that a store cannot hold. Each is refused with a 400 naming the field, on
// both stores, and nothing is written.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseIsoTime, jwpSeconds } from '../../src/time.js';
import { createWebhook, startReceiver, startTestNode, type Receiver, type TestNode } from '../helpers.js';

describe('parseIsoTime', () => {
  it('refuses days and hours that do not exist, and offsets past 23:59', () => {
    for (const raw of ['2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '1900-02-29T00:00:00Z', '2024-04-31T00:00:00Z',
      '2024-13-01T00:00:00Z', '2024-00-10T00:00:00Z', '2024-01-00T00:00:00Z', '2024-12-31T24:00:00Z',
      '2024-01-01T00:60:00Z', '2024-01-01T00:00:60Z', '2024-01-01T00:00:00+24:00', '2024-01-01T00:00:00+01:60']) {
      expect(parseIsoTime(raw), raw).toBeUndefined();
    }
  });

  it('refuses times that fall outside four-digit years once in UTC', () => {
    expect(parseIsoTime('9999-12-31T23:59:59-23:59')).toBeUndefined();
    expect(parseIsoTime('0000-01-01T00:00:00+00:01')).toBeUndefined();
  });

  it('takes leap days and the last writable second, and writes them back as sent', () => {
    for (const [raw, written] of [['2024-02-29T12:00:00Z', '2024-02-29T12:00:00+00:00'], ['2000-02-29T00:00:00+00:00', '2000-02-29T00:00:00+00:00'],
      ['9999-12-31T23:59:59+00:00', '9999-12-31T23:59:59+00:00'], ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59+00:00'],
      ['0000-01-01T00:00:00+00:00', '0000-01-01T00:00:00+00:00'], ['2024-08-27T02:20:57+02:00', '2024-08-27T00:20:57+00:00']] as const) {
      const ms = parseIsoTime(raw);
      expect(ms, raw).toBeDefined();
      expect(jwpSeconds(ms!)).toBe(written);
    }
  });
});

let node: TestNode;
let rx: Receiver;
let webhookId: string;
beforeAll(async () => {
  node = await startTestNode();
  rx = await startReceiver();
  webhookId = (await createWebhook(node.account.api, [node.account.siteId], rx.url, ['media_available'])).id;
});
afterAll(async () => {
  await node.close();
  await rx.close();
});

describe('the API at the edges', () => {
  it('refuses an event_time it cannot deliver as written, and stores nothing', async () => {
    const path = `/v2/sites/${node.account.siteId}/events/`;
    for (const event_time of ['9999-12-31T23:59:59-23:59', '2024-02-30T00:00:00Z']) {
      const res = await node.operator.post(path, { event: 'media_available', media_id: 'EdgeTime1', event_time });
      expect(res.status, event_time).toBe(400);
      expect(res.body.errors[0].description).toMatch(/event_time/);
    }
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/deliveries/`)).body.total).toBe(0);
    const ok = await node.operator.post(path, { event: 'media_available', media_id: 'EdgeTime2', event_time: '9999-12-31T23:59:59+00:00' });
    expect(ok.status).toBe(202);
    const [got] = await rx.waitFor(1);
    expect(got!.json.event_time).toBe('9999-12-31T23:59:59+00:00');
  });

  it('refuses NUL and other control characters in names, descriptions, URLs and account names, changing nothing', async () => {
    const api = node.account.api;
    const before = (await api.get('/v2/webhooks/')).body.total;
    const metadata = { name: 'ok', description: 'fine', webhook_url: rx.url, events: ['media_available'], site_ids: [node.account.siteId] };
    for (const [field, bad] of [['name', 'a\u0000b'], ['description', 'x\u0000'], ['webhook_url', `${rx.url}\u0000`], ['name', 'esc\u001b[2J']] as const) {
      const res = await api.post('/v2/webhooks/', { metadata: { ...metadata, [field]: bad } });
      expect(res.status, `${field} ${JSON.stringify(bad)}`).toBe(400);
      expect(res.body.errors[0]).toMatchObject({ code: 'invalid_body' });
      expect(res.body.errors[0].description).toContain(`metadata.${field}`);
    }
    expect((await api.get('/v2/webhooks/')).body.total).toBe(before);

    const update = await api.patch(`/v2/webhooks/${webhookId}/`, { metadata: { name: 'n\u0000' } });
    expect(update.status).toBe(400);
    expect((await api.get(`/v2/webhooks/${webhookId}/`)).body.metadata.name).not.toContain('\u0000');

    const accounts = (await node.operator.get('/v2/accounts/')).body;
    const account = await node.operator.post('/v2/accounts/', { name: 'Evil\u0000Corp' });
    expect(account.status).toBe(400);
    expect(account.body.errors[0].description).toMatch(/^name contains a control character/);
    expect((await node.operator.get('/v2/accounts/')).body).toEqual(accounts);

    // Tab, line feed and carriage return are text: a description may have lines.
    const lines = await api.patch(`/v2/webhooks/${webhookId}/`, { metadata: { description: 'one\ntwo\tthree\r\n' } });
    expect(lines.status).toBe(200);
  });

  it('refuses a NUL in the query string and the path too', async () => {
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/deliveries/?media_id=%00`)).status).toBe(400);
    const res = await node.account.api.get(`/v2/webhooks/${webhookId}%00/`);
    expect(res.status).toBe(400);
  });
});
