// The dashboard as a customer leaves it open and fills it in, in Debian's Chromium against a real
// Hookline: a webhook page left open with a delivery pending polls on its session's own budget,
// never the API key's, and waits out a 429's Retry-After; the Create Webhook panel shows every
// refused field at once, does not submit on Enter in a checkbox, offers the operational events
// as a group of their own, and puts the focus on the created webhook. Screenshots go to test-results/.
import type { Page, Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWebhook, startReceiver, startTestNode, until, type Api, type Receiver, type TestNode } from '../helpers.js';
import { describeInBrowser, launchBrowser, screenshot, watchProblems, type Browser } from './browser.js';

describeInBrowser('a customer in Chromium', 90_000, customerTests);

/** The key's limit, and the session's: the page makes more requests than the key could. */
const KEY_LIMIT = 5;
const SESSION_LIMIT = 14;
/** The delivery log's refresh while something is pending (web/src/components/DeliveryLog.tsx). */
const POLL_MS = 3_000;

function customerTests() {
  let node: TestNode;
  let down: Receiver;
  let up: Receiver;
  let browser: Browser;
  let page: Page;
  /** Another key of the account, for the set-up: the dashboard's key is used by the browser and the checks alone. */
  let setup: Api;
  /** Every /v2/ request the page made, and the answers it got. */
  const calls: string[] = [];
  const answers: Response[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    // A failed attempt is retried in an hour: its delivery stays pending, held, while the page is open.
    node = await startTestNode({ rateLimit: KEY_LIMIT, sessionRateLimit: SESSION_LIMIT, retrySchedule: [0, 3_600_000] });
    down = await startReceiver(() => ({ status: 500, body: 'down' }));
    up = await startReceiver();
    const key = await node.operator.post(`/v2/accounts/${node.account.id}/api_keys/`, { name: 'set-up' });
    setup = node.operator.as(key.body.secret);
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v2/')) calls.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    page.on('response', (r) => {
      if (new URL(r.url()).pathname.startsWith('/v2/')) answers.push(r);
    });
    watchProblems(page, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await down?.close();
    await up?.close();
    await node?.close();
  });

  /** The webhook's deliveries, newest first, read from the store: every key here has a budget of 5 a minute. */
  const deliveries = async (webhookId: string) =>
    (await node.hookline.store.listDeliveries(webhookId, {}, { page: 1, pageLength: 10 })).deliveries;

  /** Signs in at `path` afresh: a session, and a budget, of its own. */
  async function signIn(path: string): Promise<void> {
    await browser.context.clearCookies();
    await page.goto(node.url + path);
    await page.getByLabel('API key').fill(node.account.api.key!);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  /** The key's budget as its next request shows it (a script's request with the same key). */
  async function keyRemaining(): Promise<string | null> {
    const res = await node.account.api.get('/v2/webhooks/');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-ratelimit-limit')).toBe(String(KEY_LIMIT));
    return res.headers.get('x-ratelimit-remaining');
  }

  it("polls a webhook page with a pending delivery on the session's budget, leaving the key's untouched, and waits out a 429", async () => {
    const hook = await createWebhook(setup, [node.account.siteId], down.url, ['media_available'], { name: 'Archive' });
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
    await down.waitFor(1);
    const pendingAfterOneAttempt = async () => {
      const [d] = await deliveries(hook.id);
      return d?.attempts === 1 && d.status === 'pending';
    };
    await until(pendingAfterOneAttempt, 10_000, 'the failed attempt to be written');

    await signIn(`/webhooks/${hook.id}`);
    await page.getByRole('heading', { name: /Archive/, level: 1 }).waitFor();
    const logCalls = () => calls.filter((c) => c === `GET /v2/webhooks/${hook.id}/deliveries/`).length;
    // Left open: it refreshes the log on its own, past what the key would allow in a minute.
    await until(() => logCalls() >= 3 && calls.length > KEY_LIMIT, 20_000, 'the page to poll');
    await screenshot(page, 'customer-01-page-left-open');
    expect(await keyRemaining()).toBe(String(KEY_LIMIT - 1));

    // On the session's own budget, it meets a 429 in the end, and then waits as long as it is told.
    const refused = await until(() => answers.find((r) => r.status() === 429), 30_000, 'the session budget to run out');
    const retryAfter = Number(await refused.headerValue('retry-after'));
    expect(retryAfter).toBeGreaterThan((3 * POLL_MS) / 1000);
    expect((await refused.json()).errors[0].description).toMatch(/^too many requests for this dashboard session/);
    const made = calls.length;
    await page.waitForTimeout(2 * POLL_MS + 500);
    expect(calls.length).toBe(made);
    await screenshot(page, 'customer-02-backing-off');
    // A script with the same key was never held back by any of it.
    expect(await keyRemaining()).toBe(String(KEY_LIMIT - 2));
    expect(await pendingAfterOneAttempt()).toBe(true);
  });

  it('stops polling a page with nothing pending', async () => {
    const hook = await createWebhook(setup, [node.account.siteId], up.url, ['media_created'], { name: 'Quiet' });
    await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_created', media_id: 'MNYaMSQl' });
    await up.waitFor(1);
    await until(async () => (await deliveries(hook.id))[0]?.status === 'succeeded', 10_000, 'the delivery');
    // A new session: the first one ran out of budget.
    await signIn(`/webhooks/${hook.id}`);
    await page.getByText('nothing pending', { exact: false }).waitFor();
    expect(await page.locator('.live .pulse').count()).toBe(0);
  });

  it('shows every refused field at once, the first in view and focused, and the events error under its heading', async () => {
    await signIn('/');
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Create Webhook' });
    await panel.getByRole('group', { name: 'Select Property' }).getByLabel(/Default property/).check();
    // Name left empty, a URL that is not http(s), no event: three fields at fault.
    await panel.getByLabel('Webhook URL').fill('ftp://cms.example/hooks');
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    await panel.getByText('Select at least one.').waitFor();
    await panel.getByText('This field is required.').waitFor();
    await panel.getByText('Must be an http or https URL.').waitFor();
    expect(await panel.locator('.field-error').count()).toBe(3);
    for (const label of ['Name', 'Webhook URL']) expect(await panel.getByLabel(label).getAttribute('aria-invalid')).toBe('true');
    // The first, Name, has the focus, in view.
    expect(await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.field)).toBe('name');
    expect(await panel.getByLabel('Name').isVisible()).toBe(true);
    expect(await inViewport(panel.getByLabel('Name'))).toBe(true);
    // Choose Event's message sits under its heading, above the first checkbox, not below the 16th.
    const events = panel.getByRole('group', { name: 'Choose Event' });
    const error = (await events.getByText('Select at least one.').boundingBox())!;
    const first = (await events.getByRole('checkbox').first().boundingBox())!;
    expect(error.y).toBeLessThan(first.y);
    await screenshot(page, 'customer-03-every-error-at-once', false);
  });

  it('does not submit the half-filled form on Enter in a checkbox, and offers the operational events as a group', async () => {
    const panel = page.getByRole('dialog', { name: 'Create Webhook' });
    const posts = () => calls.filter((c) => c === 'POST /v2/webhooks/').length;
    const before = posts();
    await panel.getByLabel('Name').fill('Alerts');
    await panel.getByLabel('Webhook URL').fill(up.url);
    const operational = panel.getByRole('group', { name: 'Choose Event' }).locator('.choice-section').filter({ has: page.getByRole('heading', { name: 'Operational (Hookline)' }) });
    expect(await operational.getByRole('checkbox').count()).toBe(3);
    expect(await panel.getByRole('checkbox').count()).toBe(1 + 16);
    const disabled = operational.getByRole('checkbox', { name: /Webhook Disabled/ });
    await disabled.focus();
    await page.keyboard.press('Space');
    expect(await disabled.isChecked()).toBe(true);
    await page.keyboard.press('Enter');
    await operational.getByRole('checkbox', { name: /Webhook Failing/ }).check();
    // Operational events alone need no property.
    await panel.getByRole('group', { name: 'Select Property' }).getByLabel(/Default property/).uncheck();
    await screenshot(page, 'customer-04-operational-events', false);
    // Had Enter submitted, this click would be the second POST.
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    await panel.waitFor({ state: 'hidden' });
    expect(posts()).toBe(before + 1);
    const created = (await node.account.api.get('/v2/webhooks/')).body.webhooks.find((w: any) => w.metadata.name === 'Alerts');
    expect(created.metadata).toMatchObject({ site_ids: [], events: ['webhook_disabled', 'webhook_failing'] });
  });

  it('puts the focus on the created webhook, with its secret', async () => {
    const heading = page.getByRole('heading', { name: 'Webhook “Alerts” created' });
    await heading.waitFor();
    await until(async () => (await page.evaluate(() => document.activeElement?.textContent)) === 'Webhook “Alerts” created', 5_000, 'the focus on the heading');
    await screenshot(page, 'customer-05-created-focus');
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(problems).toEqual([]);
  });
}

async function inViewport(locator: ReturnType<Page['locator']>): Promise<boolean> {
  return locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= window.innerHeight;
  });
}
