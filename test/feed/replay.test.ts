// Replay into a webhook, POST /v2/webhooks/{id}/replay/ and its count, GET, through real HTTP to
// a real receiver: a new webhook gets the events of its properties and events from before it
// existed, marked as replays in its log, and not those it already got; bad input gets JWP's
// errors and changes nothing (docs/jwp-api.md, "Hookline's extensions").
import { describe, expect, it } from 'vitest';
import { createAccount, createWebhook, nodePerTest, until } from '../helpers.js';

const nodes = nodePerTest();
const HOUR = 3_600_000;
/** A time for a query string: `+` has to travel as %2B. */
const q = (iso: string) => encodeURIComponent(iso);

describe('replaying past events into a webhook', () => {
  it('sends a new webhook the events from before it, marked as replays, and not the ones it already got', async () => {
    const node = await nodes.start();
    const { api, siteId } = node.account;
    const other = (await node.operator.post('/v2/sites/', { name: 'Second', account_id: node.account.id })).body.id as string;
    const report = async (site: string, event: string, media: string) =>
      (await node.operator.post(`/v2/sites/${site}/events/`, { event, media_id: media })).body.id as string;

    const older = await createWebhook(api, [siteId], (await nodes.receiver()).url, ['media_available']);
    const before = [
      await report(siteId, 'media_created', 'mA'),
      await report(siteId, 'media_available', 'mA'),
      await report(siteId, 'media_updated', 'mA'), // not one of the new webhook's events
      await report(other, 'media_available', 'mB'),
    ];
    expect((await api.post(`/v2/webhooks/${older.id}/test/`, { event: 'media_available' })).status).toBe(202);

    const receiver = await nodes.receiver();
    const hook = await createWebhook(api, [siteId, other], receiver.url, ['media_available', 'media_created']);
    const after = await report(siteId, 'media_available', 'mC');
    await receiver.waitFor(1);
    const since = new Date(Date.now() - HOUR).toISOString().replace('Z', '+00:00');

    // The count first: three events it never got; nothing made.
    const preview = await api.get(`/v2/webhooks/${hook.id}/replay/?since=${q(since)}`);
    expect(preview.status).toBe(200);
    expect(preview.body).toEqual({ webhook_id: hook.id, since: expect.stringMatching(/^\d{4}-.*\+00:00$/), deliveries: 3 });
    expect((await node.operator.get(`/v2/webhooks/${hook.id}/replay/?since=${q(since)}`)).body.deliveries).toBe(3);
    expect((await api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.total).toBe(1);

    const replayed = await api.post(`/v2/webhooks/${hook.id}/replay/`, { since });
    expect(replayed.status).toBe(202);
    expect(replayed.body).toEqual({ webhook_id: hook.id, since: preview.body.since, deliveries: 3 });
    const got = await receiver.waitFor(4);
    expect(got.map((r) => `${r.json.event} ${r.json.media_id} ${r.json.site_id}`).sort()).toEqual([
      `media_available mA ${siteId}`, `media_available mB ${other}`, `media_available mC ${siteId}`, `media_created mA ${siteId}`,
    ]);
    expect(got.every((r) => r.json.webhook_id === hook.id)).toBe(true);

    // The log marks them, each with the webhook-id its request carried.
    const log = (await api.get(`/v2/webhooks/${hook.id}/deliveries/?page_length=100`)).body.deliveries as any[];
    expect(log.map((d) => [d.event_id, d.replay]).sort()).toEqual(
      [[before[0], true], [before[1], true], [before[3], true], [after, false]].sort(),
    );
    const headerIds = new Set(got.map((r) => r.headers['webhook-id']));
    expect(log.every((d) => headerIds.has(d.id))).toBe(true);
    const one = log.find((d) => d.event_id === before[0]);
    expect((await api.get(`/v2/deliveries/${one.id}/`)).body).toMatchObject({ id: one.id, replay: true });
    await until(async () => (await api.get(`/v2/webhooks/${hook.id}/deliveries/?status=succeeded`)).body.total === 4, 10_000, 'four deliveries done');

    // Again: it has them all now.
    expect((await api.post(`/v2/webhooks/${hook.id}/replay/`, { since })).body.deliveries).toBe(0);
    expect((await api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.total).toBe(4);
    // The webhook that existed already was given nothing more, and the replay is in the audit log.
    expect((await api.get(`/v2/webhooks/${older.id}/deliveries/`)).body.deliveries.every((d: any) => d.replay === false)).toBe(true);
    const audit = (await api.get('/v2/audit_log/?page_length=100')).body;
    expect(audit.audit_log.filter((e: any) => e.action === 'webhook.replayed').map((e: any) => e.target_id)).toEqual([hook.id, hook.id]);
  });

  it("refuses bad input and other callers with JWP's errors, and changes nothing", async () => {
    const node = await nodes.start({ retentionMs: 2 * 86_400_000 });
    const { api, siteId } = node.account;
    await node.operator.post(`/v2/sites/${siteId}/events/`, { event: 'media_available', media_id: 'mA' });
    const hook = await createWebhook(api, [siteId], (await nodes.receiver()).url, ['media_available']);
    const stranger = await createAccount(node.operator);
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: [string, unknown, number, string, RegExp][] = [
      [hook.id, { since: 'yesterday' }, 400, 'invalid_body', /^since: "yesterday" is not an ISO 8601 time with its offset/],
      [hook.id, { since: '2026-01-01T00:00:00' }, 400, 'invalid_body', /is not an ISO 8601 time with its offset/],
      [hook.id, { since: iso(Date.now() + HOUR) }, 400, 'invalid_body', /^since: .* is in the future/],
      [hook.id, { since: iso(Date.now() - 3 * 86_400_000) }, 400, 'invalid_body', /^since: .* is before the retention window \(HOOKLINE_RETENTION\): events are kept from \d{4}-/],
      [hook.id, {}, 400, 'invalid_body', /^since is required/],
      [hook.id, { since: iso(Date.now() - HOUR), dry_run: true }, 400, 'invalid_body', /^dry_run is not a known field/],
      ['Zz9Zz9Zz', { since: iso(Date.now() - HOUR) }, 404, 'not_found', /^webhook Zz9Zz9Zz not found/],
    ];
    for (const [id, body, status, code, description] of cases) {
      const res = await api.post(`/v2/webhooks/${id}/replay/`, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.errors).toEqual([{ code, description: expect.stringMatching(description) }]);
    }
    const since = iso(Date.now() - HOUR);
    const refused = async (res: { status: number; body: any }, status: number, code: string) => {
      expect(res.status).toBe(status);
      expect(res.body.errors[0].code).toBe(code);
    };
    await refused(await stranger.api.post(`/v2/webhooks/${hook.id}/replay/`, { since }), 404, 'not_found');
    await refused(await stranger.api.get(`/v2/webhooks/${hook.id}/replay/?since=${q(since)}`), 404, 'not_found');
    await refused(await node.operator.post(`/v2/webhooks/${hook.id}/replay/`, { since }), 403, 'forbidden');
    await refused(await api.get(`/v2/webhooks/${hook.id}/replay/`), 400, 'invalid_query');
    await refused(await api.get(`/v2/webhooks/${hook.id}/replay/?since=${q(iso(Date.now() + HOUR))}`), 400, 'invalid_query');
    // A + left unencoded in a query string reads as a space: refused, not misread.
    await refused(await api.get(`/v2/webhooks/${hook.id}/replay/?since=2026-01-01T00:00:00+00:00`), 400, 'invalid_query');

    expect((await api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.total).toBe(0);
    expect((await api.get('/v2/audit_log/?page_length=100')).body.audit_log.some((e: any) => e.action === 'webhook.replayed')).toBe(false);
    // The event is still there to replay.
    expect((await api.get(`/v2/webhooks/${hook.id}/replay/?since=${q(since)}`)).body.deliveries).toBe(1);
  });
});
