// The dashboard in a real browser against a real Hookline and a real receiver: sign in, JWP's
// seven steps to create a webhook, a test event delivered and seen in the delivery log, a
// resend, a recovery, a replay after its count, a secret rotation, deletion, the other pages,
// and sign out. Screenshots of each page
// go to test-results/.
import { jwtVerify } from 'jose';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OPERATOR_KEY, createAccount, createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';
import { describeInBrowser, launchBrowser, screenshot, watchProblems, type Browser } from './browser.js';

describeInBrowser('the dashboard in Chromium', 60_000, dashboardTests);

function dashboardTests() {
  let node: TestNode;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let secondSite: string;
  let webhookId: string;
  let secret: string;
  let deliveryId: string;
  let hasTestRoute = false;
  let hasRotateRoute = false;
  let failing = false;
  const problems: string[] = [];

  /** Whether the server has a route, whatever the webhook: an unknown route says "no route". */
  async function routeExists(path: string): Promise<boolean> {
    const res = await node.account.api.post(path, {});
    return !(res.status === 404 && String(res.body?.errors?.[0]?.description).startsWith('no route'));
  }

  async function verify(body: string, authorization: string | undefined, key: string) {
    const { payload } = await jwtVerify(authorization!.replace(/^Bearer /, ''), new TextEncoder().encode(key), { algorithms: ['HS256'] });
    expect(payload).toEqual(JSON.parse(body));
  }

  beforeAll(async () => {
    node = await startTestNode();
    receiver = await startReceiver(() =>
      failing ? { status: 503, body: 'maintenance' } : { status: 200, body: '{"ok":true}', headers: { 'content-type': 'application/json' } });
    const site = await node.operator.post('/v2/sites/', { name: 'Acme Sports', account_id: node.account.id });
    secondSite = site.body.id;
    await createAccount(node.operator, 'Globex Media');
    hasTestRoute = await routeExists('/v2/webhooks/AAAAAAAA/test/');
    hasRotateRoute = await routeExists('/v2/webhooks/AAAAAAAA/rotate_secret/');
    browser = await launchBrowser();
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: node.url });
    page = await browser.context.newPage();
    watchProblems(page, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await node?.close();
  });

  it('signs in with an API key into an HttpOnly session, keeping the key out of page storage', async () => {
    await page.goto(node.url + '/');
    await page.getByRole('heading', { name: 'Sign in to Hookline' }).waitFor();
    const keyField = page.getByLabel('API key');
    await keyField.fill('hlk_wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('This API key is not valid.').waitFor();
    expect(await keyField.getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, '01-sign-in-error');

    await keyField.fill(node.account.api.key!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('No webhooks yet').waitFor();
    await screenshot(page, '02-webhooks-empty');

    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(stored).not.toContain(node.account.api.key);
    expect(stored).not.toContain('hookline_session'); // HttpOnly: scripts cannot read it
    const cookies = await browser.context.cookies(node.url);
    expect(cookies).toEqual([expect.objectContaining({ name: 'hookline_session', httpOnly: true, sameSite: 'Strict' })]);
  });

  it("walks JWP's seven steps: Create, Name, Description, URL, Select Property, Choose Event, Create", async () => {
    // 1. On the Webhooks page, click Create: the Create Webhook panel appears.
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Create Webhook' });
    await panel.waitFor();
    // Every event is offered with its description from the server's catalogue.
    await panel.getByText('Notification sent when a Live Channel enters an active state.').waitFor();
    expect(await panel.getByRole('checkbox').count()).toBe(2 + 16);
    // 2. Name. 3. (Optional) Description. 4. URL, first a wrong one, to see the API's refusal.
    await panel.getByLabel('Name').fill('CMS sync');
    await panel.getByLabel('Description (optional)').fill('Tells the CMS when media is ready');
    await panel.getByLabel('Webhook URL').fill('ftp://cms.example/hooks');
    // 5. Under Select Property, select one or several properties.
    await panel.getByRole('group', { name: 'Select Property' }).getByLabel(/Default property/).check();
    await panel.getByRole('group', { name: 'Select Property' }).getByLabel(/Acme Sports/).check();
    // 6. Under Choose Event, select one or several events.
    await panel.getByRole('checkbox', { name: /Media Available/ }).check();
    await panel.getByRole('checkbox', { name: /Media Created/ }).check();
    await screenshot(page, '03-create-panel', false);
    // 7. Click Create: here the API refuses the URL, next to the URL field, and nothing typed is lost.
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    await panel.getByText('Must be an http or https URL.').waitFor();
    expect(await panel.getByLabel('Webhook URL').getAttribute('aria-invalid')).toBe('true');
    expect(await panel.getByLabel('Name').inputValue()).toBe('CMS sync');
    expect(await panel.getByLabel('Description (optional)').inputValue()).toBe('Tells the CMS when media is ready');
    expect(await panel.getByRole('checkbox', { name: /Media Available/ }).isChecked()).toBe(true);
    expect(await panel.getByLabel(/Acme Sports/).isChecked()).toBe(true);
    await screenshot(page, '04-create-panel-error', false);
    expect((await node.account.api.get('/v2/webhooks/')).body.total).toBe(0);

    await panel.getByLabel('Webhook URL').fill(receiver.url);
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    // The panel closes; the new webhook is in the list; its secret is shown once.
    await panel.waitFor({ state: 'hidden' });
    const row = page.getByRole('row', { name: /CMS sync/ });
    await row.waitFor();
    expect(await row.textContent()).toContain(receiver.url);
    expect(await row.textContent()).toContain('Acme Sports');
    expect(await row.textContent()).toContain('Active');
    const secretField = page.getByLabel('Signing secret');
    secret = await secretField.inputValue();
    expect(secret).toMatch(/^whsec_/);
    await page.getByText('This secret will not be shown again.').waitFor();
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret);
    await screenshot(page, '05-webhooks-created');

    const listed = (await node.account.api.get('/v2/webhooks/')).body.webhooks;
    expect(listed).toHaveLength(1);
    webhookId = listed[0].id;
    expect(listed[0].metadata).toEqual({
      name: 'CMS sync', description: 'Tells the CMS when media is ready', webhook_url: receiver.url,
      site_ids: [node.account.siteId, secondSite], events: ['media_available', 'media_created'],
    });
    // Shown once: after a reload it is gone from the page.
    await page.reload();
    await page.getByRole('row', { name: /CMS sync/ }).waitFor();
    expect(await page.content()).not.toContain(secret);
  });

  it('opens and closes the panel from the keyboard', async () => {
    await page.getByRole('button', { name: 'Create', exact: true }).focus();
    await page.keyboard.press('Enter');
    const panel = page.getByRole('dialog', { name: 'Create Webhook' });
    await panel.waitFor();
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.field)).toBe('name');
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
  });

  it('sends a test event that reaches the receiver and appears in the delivery log on its own', async () => {
    await page.getByRole('link', { name: 'CMS sync' }).click();
    await page.getByRole('heading', { name: /CMS sync/, level: 1 }).waitFor();
    await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
    await page.getByText('No deliveries yet').waitFor();
    await screenshot(page, '06-webhook-detail-empty');

    if (hasTestRoute) {
      await page.getByRole('button', { name: 'Send test event' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test event' });
      await dialog.getByLabel('Event').selectOption('media_available');
      await dialog.getByRole('button', { name: 'Send test event' }).click();
      await dialog.waitFor({ state: 'hidden' });
    } else {
      // POST /v2/webhooks/{id}/test/ is not on this server yet: the platform reports the event.
      const res = await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
      expect(res.status).toBe(202);
    }
    const [got] = await receiver.waitFor(1);
    expect(got!.json).toMatchObject({ event: 'media_available', webhook_id: webhookId, site_id: node.account.siteId });
    await verify(got!.body, got!.headers.authorization, secret);
    deliveryId = String(got!.headers['webhook-id']);

    // No click: the log refreshes itself.
    const row = page.locator(`tr[data-delivery="${deliveryId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await until(async () => (await row.textContent())?.includes('Succeeded'), 15_000, 'the delivery to show as succeeded');
    expect(await row.textContent()).toContain('200');

    await row.getByRole('button', { name: /Details/ }).click();
    const detail = page.locator(`#detail-${deliveryId}`);
    await detail.getByRole('heading', { name: /Attempts/ }).waitFor();
    expect(await detail.getByLabel('Request body').textContent()).toBe(JSON.stringify(JSON.parse(got!.body), null, 2));
    expect(await detail.getByLabel('Response body of attempt 1').textContent()).toBe('{\n  "ok": true\n}');
    await screenshot(page, '07-delivery-log');
  });

  it('resends a delivery with the same webhook-id, and the log shows the second attempt', async () => {
    const detail = page.locator(`#detail-${deliveryId}`);
    await detail.getByRole('button', { name: 'Resend' }).click();
    const [, again] = await receiver.waitFor(2);
    expect(again!.headers['webhook-id']).toBe(deliveryId);
    await verify(again!.body, again!.headers.authorization, secret);
    await detail.getByLabel('Response body of attempt 2').waitFor({ timeout: 15_000 });
    const row = page.locator(`tr[data-delivery="${deliveryId}"]`);
    await until(async () => (await row.getByRole('cell').nth(3).textContent())?.trim() === '2', 15_000, 'two attempts in the row');
    await screenshot(page, '08-delivery-resent');
  });

  it('filters the log by status and event', async () => {
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await page.getByText('No deliveries match these filters.').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('succeeded');
    await page.getByLabel('Event', { exact: true }).selectOption('media_available');
    await page.locator(`tr[data-delivery="${deliveryId}"]`).waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption('media_created');
    await page.getByText('No deliveries match these filters.').waitFor();
    await page.getByLabel('Event', { exact: true }).selectOption('');
    await page.getByLabel('Status', { exact: true }).selectOption('');
    await page.locator(`tr[data-delivery="${deliveryId}"]`).waitFor();
  });

  it("shows each webhook's last delivery and 24-hour success rate in the list", async () => {
    const broken = await startReceiver(() => ({ status: 500, body: 'internal error' }));
    try {
      const archive = await createWebhook(node.account.api, [secondSite], broken.url, ['media_deleted'], { name: 'Archive', description: 'Old media to cold storage' });
      await node.operator.post(`/v2/sites/${secondSite}/events/`, { event: 'media_deleted', media_id: 'GoneGone' });
      await until(async () => (await node.account.api.get(`/v2/webhooks/${archive.id}/deliveries/?status=failed`)).body.total === 1, 15_000, 'the failure');
      await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
      const archiveRow = page.getByRole('row', { name: /Archive/ });
      await until(async () => /Failed\s*500/.test((await archiveRow.textContent()) ?? ''), 15_000, 'the failed last delivery');
      expect(await archiveRow.getByRole('cell').last().textContent()).toBe('0 %of 1 delivery');
      const cmsRow = page.getByRole('row', { name: /CMS sync/ });
      expect(await cmsRow.textContent()).toMatch(/Succeeded\s*200/);
      expect(await cmsRow.getByRole('cell').last().textContent()).toBe('100 %of 1 delivery');
      await screenshot(page, '09-webhooks-health');
      expect((await node.account.api.delete(`/v2/webhooks/${archive.id}/`)).status).toBe(204);
      await page.getByRole('link', { name: 'CMS sync' }).click();
      await page.getByRole('heading', { name: /CMS sync/, level: 1 }).waitFor();
    } finally {
      await broken.close();
    }
  });

  it('edits the webhook in the same panel', async () => {
    await page.getByRole('button', { name: 'Edit' }).click();
    const panel = page.getByRole('dialog', { name: 'Edit Webhook' });
    expect(await panel.getByLabel('Name').inputValue()).toBe('CMS sync');
    expect(await panel.getByRole('checkbox', { name: /Media Created/ }).isChecked()).toBe(true);
    await panel.getByLabel('Description (optional)').fill('Tells the CMS when media is ready or updated');
    await panel.getByRole('checkbox', { name: /Media Updated/ }).check();
    await panel.getByRole('button', { name: 'Save changes' }).click();
    await panel.waitFor({ state: 'hidden' });
    await page.getByText('Tells the CMS when media is ready or updated').waitFor();
    const saved = (await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body;
    expect(saved.metadata.events).toEqual(['media_available', 'media_created', 'media_updated']);
    expect(saved.metadata.description).toBe('Tells the CMS when media is ready or updated');
  });

  it('sets the delivery limits, shows them, clears the rate limit, and shows the server refusing too many in flight', async () => {
    const limits = page.getByRole('region', { name: 'Delivery limits' });
    await limits.getByText('No rate limit').waitFor();
    await limits.getByText("Adapts, up to the node's default").waitFor();
    await limits.getByRole('button', { name: 'Change limits' }).click();
    const dialog = page.getByRole('dialog', { name: 'Change delivery limits' });
    const rate = dialog.getByLabel('Rate limit');
    const inFlight = dialog.getByLabel('Max in flight');
    expect(await rate.inputValue()).toBe('');
    expect(await inFlight.inputValue()).toBe('');

    // Checked in the page first: a rate must be a number above 0, and nothing is sent.
    await rate.fill('0');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.getByText('Enter a number of requests per second above 0').waitFor();
    expect(await rate.getAttribute('aria-invalid')).toBe('true');
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body.rate_limit).toBeNull();

    await rate.fill('2.5');
    await inFlight.fill('7');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await limits.getByText('2.5 requests/s').waitFor();
    await limits.getByText('At most 7 in flight').waitFor();
    await page.getByText('Delivery limits saved.').waitFor();
    await screenshot(page, '10a-delivery-limits');
    let saved = (await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body;
    expect(saved).toMatchObject({ rate_limit: 2.5, max_in_flight: 7 });

    // An empty field is null: no rate limit; the in-flight cap stays.
    await limits.getByRole('button', { name: 'Change limits' }).click();
    expect(await rate.inputValue()).toBe('2.5');
    expect(await inFlight.inputValue()).toBe('7');
    await rate.fill('');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await limits.getByText('No rate limit').waitFor();
    await limits.getByText('At most 7 in flight').waitFor();
    saved = (await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body;
    expect(saved).toMatchObject({ rate_limit: null, max_in_flight: 7 });

    // Above the operator's limit (100 by default) the API refuses, and says so next to the field.
    await limits.getByRole('button', { name: 'Change limits' }).click();
    await inFlight.fill('150');
    await dialog.getByRole('button', { name: 'Save limits' }).click();
    await dialog.getByText(/Must be at most 100\b/).waitFor();
    expect(await inFlight.getAttribute('aria-invalid')).toBe('true');
    expect(await inFlight.inputValue()).toBe('150');
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.field)).toBe('max_in_flight');
    await screenshot(page, '10b-delivery-limits-refused', false);
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body.max_in_flight).toBe(7);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
  });

  it('disables the webhook after confirmation, and enables it again', async () => {
    await page.getByRole('button', { name: 'Disable', exact: true }).click();
    const confirm = page.getByRole('dialog', { name: 'Disable this webhook?' });
    await confirm.getByRole('button', { name: 'Disable webhook' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByText(/deliveries are kept and not attempted until it is enabled again/).waitFor();
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body.status).toBe('disabled');
    await screenshot(page, '10-webhook-disabled');
    await page.getByRole('button', { name: 'Enable', exact: true }).click();
    await page.getByRole('button', { name: 'Disable', exact: true }).waitFor();
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body.status).toBe('active');
  });

  it('recovers the failed deliveries since a time', async () => {
    failing = true;
    const before = receiver.received.length;
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_updated', media_id: 'FaiLed01' });
    const failed = await until(async () => {
      const list = (await node.account.api.get(`/v2/webhooks/${webhookId}/deliveries/?status=failed`)).body.deliveries;
      return list.length === 1 && list[0];
    }, 15_000, 'the delivery to fail for good');
    failing = false;
    // Nothing was pending when the log last loaded, so it did not poll: the event came from
    // elsewhere (the platform), and a click on Refresh shows it.
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    const row = page.locator(`tr[data-delivery="${failed.id}"]`);
    await until(async () => (await row.textContent())?.includes('Failed'), 15_000, 'the log to show the failure');
    const attemptsSoFar = receiver.received.length;
    await page.getByRole('button', { name: 'Recover' }).click();
    await page.getByText('1 failed delivery queued for one more attempt.').waitFor();
    const got = await receiver.waitFor(attemptsSoFar + 1);
    expect(got.length).toBeGreaterThan(before);
    expect(got[attemptsSoFar]!.headers['webhook-id']).toBe(failed.id);
    await until(async () => (await row.textContent())?.includes('Succeeded'), 15_000, 'the recovered delivery to succeed');
  });

  it('rotates the secret, shows the new one once, and signs with it', async (ctx) => {
    if (!hasRotateRoute) return ctx.skip('POST /v2/webhooks/{id}/rotate_secret/ is not on this server yet');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const dialog = page.getByRole('dialog', { name: 'Rotate the signing secret' });
    await dialog.getByLabel('Keep the old secret valid for').selectOption('0');
    await dialog.getByRole('button', { name: 'Rotate secret' }).click();
    const shown = page.getByRole('dialog', { name: 'New signing secret' });
    const fresh = await shown.getByLabel('New signing secret').inputValue();
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    await shown.getByText('This secret will not be shown again.').waitFor();
    await screenshot(page, '11-secret-rotated', false);
    await shown.getByRole('button', { name: 'Done' }).click();
    await shown.waitFor({ state: 'hidden' });
    secret = fresh;

    const count = receiver.received.length;
    const detail = page.locator(`#detail-${deliveryId}`);
    if (!(await detail.isVisible())) await page.locator(`tr[data-delivery="${deliveryId}"]`).getByRole('button', { name: /Details/ }).click();
    await detail.getByRole('button', { name: 'Resend' }).click();
    const after = await receiver.waitFor(count + 1);
    await verify(after[count]!.body, after[count]!.headers.authorization, secret);
  });

  it('fits a narrow screen', async () => {
    const width = 390;
    const fits = async () => expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
    await page.setViewportSize({ width, height: 844 });
    try {
      await page.goto(`${node.url}/`);
      await page.getByRole('row', { name: /CMS sync/ }).waitFor();
      await fits();
      await screenshot(page, '12-narrow-webhooks');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      await page.getByRole('dialog', { name: 'Create Webhook' }).getByText('Acme Sports').waitFor();
      await screenshot(page, '13-narrow-create-panel', false);
      await page.keyboard.press('Escape');
      await page.goto(`${node.url}/webhooks/${webhookId}`);
      const row = page.locator(`tr[data-delivery="${deliveryId}"]`);
      await row.getByRole('button', { name: /Details/ }).click();
      await page.locator(`#detail-${deliveryId}`).getByLabel('Request body').waitFor();
      await fits();
      await screenshot(page, '14-narrow-webhook-detail');
    } finally {
      await page.setViewportSize({ width: 1366, height: 900 });
    }
  });

  it('deletes the webhook after confirmation', async () => {
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete this webhook?' });
    await screenshot(page, '15-delete-confirm', false);
    await confirm.getByRole('button', { name: 'Delete webhook' }).click();
    await page.getByText('No webhooks yet').waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).status).toBe(404);
  });

  it("shows the catalogue of JWP's 13 events and Hookline's 3 operational events with descriptions, the rule that sends each, and examples", async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Events' }).click();
    await page.getByRole('heading', { name: 'Events', level: 1 }).waitFor();
    for (const toast of await page.getByRole('button', { name: 'Dismiss' }).all()) await toast.click();
    expect(await page.locator('article.event-card').count()).toBe(16);
    expect(await page.getByRole('region', { name: 'Operational (Hookline)' }).locator('article.event-card').count()).toBe(3);
    expect(await page.getByLabel('Example payload of track_deleted').textContent()).toContain('"track_id": "VHsQNYq9"');
    expect(await page.locator('article#media_reuploaded').textContent()).toContain('Sent when a reupload is initiated');
    await screenshot(page, '16-events');
  });

  it('replays into a new webhook the events from before it, after showing how many', async () => {
    const rx = await startReceiver();
    const hook = await createWebhook(node.account.api, [node.account.siteId], rx.url, ['media_created'], { name: 'Backfill' });
    try {
      // Two events the webhook never got: one before it existed, and one it does not subscribe to
      // until after it came (its subscription is widened afterwards).
      await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_created', media_id: 'RePlay01' });
      await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_deleted', media_id: 'RePlay02' });
      await rx.waitFor(1);
      expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { events: ['media_created', 'media_deleted'] } })).status).toBe(200);
      await node.account.api.post(`/v2/webhooks/${hook.id}/test/`, { event: 'media_created' });
      await rx.waitFor(2);
      await page.goto(`${node.url}/webhooks/${hook.id}`);
      await page.getByRole('heading', { name: /Backfill/, level: 1 }).waitFor();
      await page.getByRole('button', { name: 'Replay…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Replay past events?' });
      await dialog.getByText(/^1 event of its properties and events since/).waitFor();
      // The count made nothing.
      expect((await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/`)).body.total).toBe(2);
      await screenshot(page, '16b-replay-count', false);
      await dialog.getByRole('button', { name: 'Replay 1 event' }).click();
      await dialog.waitFor({ state: 'hidden' });
      await page.getByText('1 event replayed: each is on its way as a delivery marked Replay.').waitFor();
      const got = await rx.waitFor(3);
      expect(got[2]!.json).toMatchObject({ event: 'media_deleted', media_id: 'RePlay02', webhook_id: hook.id });
      const replayed = page.locator(`tr[data-delivery="${got[2]!.headers['webhook-id']}"]`);
      await replayed.getByText('Replay', { exact: true }).waitFor();
      expect(await page.locator('tr[data-delivery] .chip-replay').count()).toBe(1);
      await screenshot(page, '16c-replayed');
      // Now it has every event since then: nothing to replay, and nothing to confirm.
      await page.getByRole('button', { name: 'Replay…' }).click();
      await page.getByText('Nothing to replay: this webhook has every event since then already.').waitFor();
      expect(await dialog.isVisible()).toBe(false);
    } finally {
      await node.account.api.delete(`/v2/webhooks/${hook.id}/`);
      await rx.close();
    }
  });

  it('signs out, and the old session opens nothing', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Hookline' }).waitFor();
    await page.getByText('You have signed out.').waitFor();
    expect(await browser.context.cookies(node.url)).toEqual([]);
    await page.goto(`${node.url}/properties`);
    await page.getByRole('heading', { name: 'Sign in to Hookline' }).waitFor();
  });

  it('shows the operator every account and its properties', async () => {
    await page.getByLabel('API key').fill(OPERATOR_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Properties', level: 1 }).waitFor();
    const account = page.getByRole('region', { name: 'Default account' });
    await account.getByText('Acme Sports').waitFor();
    expect(await account.textContent()).toContain(node.account.siteId);
    expect(await account.textContent()).toContain(secondSite);
    await page.getByRole('region', { name: 'Globex Media' }).getByText('Globex Media property').waitFor();
    await screenshot(page, '17-properties-operator');
  });

  it("shows the operator a webhook's delivery limits, without a way to change them", async () => {
    const hook = await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_available'], { name: 'Throttled' });
    try {
      expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { rate_limit: 0.5, max_in_flight: 3 })).status).toBe(200);
      await page.goto(`${node.url}/webhooks/${hook.id}`);
      const limits = page.getByRole('region', { name: 'Delivery limits' });
      await limits.getByText('0.5 requests/s').waitFor();
      await limits.getByText('one every 2 s').waitFor();
      await limits.getByText('At most 3 in flight').waitFor();
      expect(await limits.getByRole('button').count()).toBe(0);
      await screenshot(page, '18-delivery-limits-operator');
    } finally {
      await node.account.api.delete(`/v2/webhooks/${hook.id}/`);
    }
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(problems).toEqual([]);
  });
}
