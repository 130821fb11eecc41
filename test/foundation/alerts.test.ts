// Hookline's operational events end to end, on both stores: a webhook of the account that
// subscribes to webhook_failing, webhook_disabled and webhook_recovered is told, with a signed
// delivery like any other, when another of the account's webhooks fails, is disabled or
// recovers; the operator's notice still goes out; a webhook is never told about itself, and an
// alert webhook that fails starts no cascade.
import { verify } from 'hookline/verify';
import { describe, expect, it } from 'vitest';
import { generateSecret } from '../../src/signing/standard.js';
import { createWebhook, nodePerTest, until, type Api } from '../helpers.js';

const perTest = nodePerTest();
const OPERATIONAL = ['webhook_failing', 'webhook_disabled', 'webhook_recovered'];

const report = (media: string) =>
  perTest.node!.operator.post(`/v2/sites/${perTest.node!.account.siteId}/events/`, { event: 'media_available', media_id: media });

/** The webhook's deliveries as the API lists them, newest first. */
const deliveries = async (api: Api, webhookId: string, query = '') =>
  (await api.get(`/v2/webhooks/${webhookId}/deliveries/?page_length=100${query}`)).body.deliveries as { id: string; event: string; status: string }[];

describe('operational events', () => {
  it("tells the account's alert webhook, signed, that an endpoint answering 410 was disabled, and still tells the operator", async () => {
    const operatorRx = await perTest.receiver();
    const operatorSecret = generateSecret();
    const node = await perTest.start({ operatorWebhookUrl: operatorRx.url, operatorWebhookSecret: operatorSecret });
    const api = node.account.api;
    const alertsRx = await perTest.receiver();
    const gone = await perTest.receiver(() => 410);
    // Operational events alone: no property needed.
    const alerts = await createWebhook(api, [], alertsRx.url, OPERATIONAL, { name: 'Alerts' });
    const hook = await createWebhook(api, [node.account.siteId], gone.url);
    expect((await report('MNYaMSQl')).body.deliveries).toBe(1);

    const [got] = await alertsRx.waitFor(1);
    const event = verify<Record<string, unknown>>(got!.body, got!.headers, alerts.secret, { scheme: 'both' });
    expect(Object.keys(event)).toEqual(['event', 'webhook_id', 'subject_webhook_id', 'subject_webhook_url', 'reason', 'failures', 'event_time']);
    expect(event).toEqual({
      event: 'webhook_disabled', webhook_id: alerts.id, subject_webhook_id: hook.id, subject_webhook_url: gone.url,
      reason: 'the endpoint answered 410 Gone', failures: 1, event_time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/),
    });
    expect((await api.get(`/v2/webhooks/${hook.id}/`)).body).toMatchObject({ status: 'disabled', disabled_reason: 'the endpoint answered 410 Gone' });

    // In the alert webhook's log like any delivery, with the exact bytes it sent.
    const [logged] = await deliveries(api, alerts.id);
    expect(logged).toMatchObject({ id: got!.headers['webhook-id'], event: 'webhook_disabled' });
    expect((await api.get(`/v2/deliveries/${logged!.id}/`)).body.request_body).toBe(got!.body);
    expect((await deliveries(api, alerts.id, '&event=webhook_disabled'))).toHaveLength(1);

    const [notice] = await operatorRx.waitFor(1);
    expect(verify(notice!.body, notice!.headers, operatorSecret)).toMatchObject({ event: 'webhook.disabled', webhook_id: hook.id });
  });

  it('tells when a webhook starts failing (the breaker threshold) and when it recovers, once each', async () => {
    const node = await perTest.start({ breakerThreshold: 2, probeIntervalMs: 50, retrySchedule: [0, 20, 20, 20, 20] });
    const api = node.account.api;
    const alertsRx = await perTest.receiver();
    // Three failures, then it answers.
    const flaky = await perTest.receiver((_req, i) => (i < 3 ? { status: 503, body: 'busy' } : 200));
    const alerts = await createWebhook(api, [], alertsRx.url, ['webhook_failing', 'webhook_recovered']);
    const hook = await createWebhook(api, [node.account.siteId], flaky.url);
    await report('MNYaMSQl');
    await flaky.waitFor(4);
    const got = await alertsRx.waitFor(2);
    const events = got.map((r) => verify<Record<string, unknown>>(r.body, r.headers, alerts.secret));
    const subject = { webhook_id: alerts.id, subject_webhook_id: hook.id, subject_webhook_url: flaky.url };
    expect(events.find((e) => e.event === 'webhook_failing')).toMatchObject({ ...subject, reason: 'HTTP 503', failures: 2 });
    expect(events.find((e) => e.event === 'webhook_recovered')).toMatchObject({ ...subject, reason: 'delivered again (HTTP 200)', failures: 3 });
    // Raised in the commits of the outcomes: once the delivery has succeeded, nothing more is to come.
    await until(async () => (await deliveries(api, hook.id))[0]?.status === 'succeeded', 5_000, 'the delivery to succeed');
    expect((await deliveries(api, alerts.id)).map((d) => d.event).sort()).toEqual(['webhook_failing', 'webhook_recovered']);
  });

  it('never tells a webhook about itself, and raises nothing about an alert webhook failing its alerts', async () => {
    const node = await perTest.start({ breakerThreshold: 2, probeIntervalMs: 50, retrySchedule: [0, 20, 20, 20] });
    const api = node.account.api;
    const down = await perTest.receiver(() => 500);
    const witnessRx = await perTest.receiver();
    // Fails and listens to webhook_failing itself.
    const hook = await createWebhook(api, [node.account.siteId], down.url, ['media_available', 'webhook_failing']);
    // An alert webhook that fails every alert it is sent, and one that receives them.
    const broken = await createWebhook(api, [], down.url, ['webhook_failing', 'webhook_recovered'], { name: 'Broken alerts' });
    const witness = await createWebhook(api, [], witnessRx.url, ['webhook_failing', 'webhook_recovered'], { name: 'Witness' });
    await report('MNYaMSQl');

    const [told] = await witnessRx.waitFor(1);
    expect(verify(told!.body, told!.headers, witness.secret)).toMatchObject({ event: 'webhook_failing', subject_webhook_id: hook.id });
    // The broken alert webhook fails its alert four times (past the threshold) until it gives up.
    await until(async () => (await deliveries(api, broken.id))[0]?.status === 'failed', 10_000, 'the alert to fail for good');
    expect((await api.get(`/v2/webhooks/${broken.id}/deliveries/?status=failed`)).body.total).toBe(1);
    // Every outcome is committed with what it raises: so nothing about `broken` was, and the
    // failing webhook got none of its own alerts.
    await until(async () => (await deliveries(api, hook.id))[0]?.status === 'failed', 10_000, 'the event to fail for good');
    expect((await deliveries(api, witness.id)).map((d) => d.event)).toEqual(['webhook_failing']);
    expect((await deliveries(api, hook.id)).map((d) => d.event)).toEqual(['media_available']);
  });

  it('subscribes like any event: site_ids may be empty for operational events alone, and a test event is about the webhook itself', async () => {
    const node = await perTest.start();
    const api = node.account.api;
    const rx = await perTest.receiver();
    const body = (events: string[], siteIds: string[]) => ({ metadata: { name: 'x', webhook_url: rx.url, events, site_ids: siteIds } });
    const refused = await api.post('/v2/webhooks/', body(['media_available', 'webhook_failing'], []));
    expect(refused.status).toBe(400);
    expect(refused.body.errors).toEqual([{ code: 'invalid_body', description: expect.stringMatching(/^metadata\.site_ids must name at least one property for JWP's events/) }]);
    const alerts = await createWebhook(api, [], rx.url, ['webhook_disabled']);
    // JWP's events still need a property, whichever part of the webhook the update changes.
    const patched = await api.patch(`/v2/webhooks/${alerts.id}/`, { metadata: { events: ['webhook_disabled', 'media_created'] } });
    expect(patched.status).toBe(400);
    expect(patched.body.errors[0].description).toMatch(/^metadata\.site_ids /);
    expect((await api.patch(`/v2/webhooks/${alerts.id}/`, { metadata: { events: ['webhook_disabled', 'media_created'], site_ids: [node.account.siteId] } })).status).toBe(200);
    expect((await api.patch(`/v2/webhooks/${alerts.id}/`, { metadata: { events: ['webhook_recovered'], site_ids: [] } })).status).toBe(200);
    // Operational events cannot be reported by the platform: Hookline raises them.
    expect((await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'webhook_disabled' })).status).toBe(400);

    // A test event: by default the webhook's first event, as it has no property; about itself.
    const sent = await api.post(`/v2/webhooks/${alerts.id}/test/`, {});
    expect(sent.status).toBe(202);
    expect(sent.body).toMatchObject({ event: 'webhook_recovered', site_id: null, webhook_id: alerts.id, deliveries: 1 });
    const [got] = await rx.waitFor(1);
    expect(verify(got!.body, got!.headers, alerts.secret)).toMatchObject({
      event: 'webhook_recovered', webhook_id: alerts.id, subject_webhook_id: alerts.id, subject_webhook_url: rx.url, reason: 'a test event', failures: 0,
    });
    expect((await api.post(`/v2/webhooks/${alerts.id}/test/`, { event: 'media_available' })).body.errors[0].description).toMatch(/^site_id: this webhook has no property/);
  });
});
