// The Deliveries page and the webhook page's charts in a real browser, against a real Hookline
// and a real receiver: a media id typed in the search box finds its delivery among others, the
// cursor pages older and back, the delivery opens on its own page, a webhook id and an event id
// are told apart by the box, and the webhook page draws its attempts per hour and per day and
// its latency, with the same numbers in a table. Screenshots go to test-results/.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';
import { describeInBrowser, launchBrowser, screenshot, watchProblems, type Browser } from './browser.js';

describeInBrowser('the Deliveries page and the health charts in Chromium', 60_000, () => {
  let node: TestNode;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let webhookId: string;
  let needleEvent: string;
  const problems: string[] = [];

  beforeAll(async () => {
    node = await startTestNode();
    // Media "Broken01" is refused each time: its delivery fails, in red on the chart.
    receiver = await startReceiver((r) => (r.json && (r.json as { media_id?: string }).media_id === 'Broken01' ? 500 : 200));
    webhookId = (await createWebhook(node.account.api, [node.account.siteId], receiver.url, ['media_available'])).id;
    for (let i = 0; i < 30; i++) {
      const media = i === 12 ? 'FindMe01' : i === 20 ? 'Broken01' : `Media${String(i).padStart(3, '0')}`;
      const res = await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: media });
      if (media === 'FindMe01') needleEvent = res.body.id;
    }
    // Every delivery has ended: 29 succeeded, the broken one failed after its retries.
    await until(async () => {
      const done = await node.account.api.get(`/v2/webhooks/${webhookId}/stats/`);
      return done.body.deliveries.succeeded === 29 && done.body.deliveries.failed === 1;
    }, 20_000, 'every delivery to end');
    browser = await launchBrowser();
    page = await browser.context.newPage();
    watchProblems(page, problems);
    await page.goto(node.url + '/');
    await page.getByLabel('API key').fill(node.account.api.key!);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await node?.close();
  });

  it('searches by a media id and finds its delivery, then opens it', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Deliveries' }).click();
    await page.getByRole('heading', { name: 'Deliveries', level: 1 }).waitFor();
    const rows = page.locator('tbody tr[data-delivery]');
    await until(async () => (await rows.count()) === 25, 10_000, 'the first page');
    // 30 deliveries, 25 a page: the cursor takes the next five, and back.
    await page.getByRole('button', { name: 'Older' }).click();
    await until(async () => (await rows.count()) === 5, 10_000, 'the older page');
    await page.getByText('Page 2').waitFor();
    await page.getByRole('button', { name: 'Newer' }).click();
    await until(async () => (await rows.count()) === 25, 10_000, 'the newest page again');

    await page.getByLabel('Search by id').fill('FindMe01');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('found as a media id').waitFor();
    await until(async () => (await rows.count()) === 1, 10_000, 'the one delivery');
    const [delivery] = (await node.account.api.get('/v2/deliveries/?media_id=FindMe01')).body.deliveries;
    expect(await rows.first().getAttribute('data-delivery')).toBe(delivery.id);
    expect(delivery.event_id).toBe(needleEvent);
    await screenshot(page, 'deliveries-search');

    await rows.first().getByRole('link', { name: delivery.id }).click();
    await page.getByRole('heading', { name: `Delivery ${delivery.id}`, level: 1 }).waitFor();
    await page.getByLabel('Request body').getByText('"media_id": "FindMe01"').waitFor();
    expect(page.url()).toBe(`${node.url}/deliveries/${delivery.id}`);
    await screenshot(page, 'delivery-view');
  });

  it('tells a webhook id and an event id apart in the same box, and says when nothing is found', async () => {
    await page.goto(`${node.url}/deliveries`);
    const rows = page.locator('tbody tr[data-delivery]');
    await page.getByLabel('Search by id').fill(needleEvent);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('found as an event id').waitFor();
    await until(async () => (await rows.count()) === 1, 10_000, 'the event\'s delivery');
    await page.getByLabel('Search by id').fill(webhookId);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('found as a webhook id').waitFor();
    await page.getByLabel('Status', { exact: true }).selectOption('failed');
    await until(async () => (await rows.count()) === 1, 10_000, 'the failed delivery');
    await page.getByLabel('Search by id').fill('Nothing1');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Nothing found for Nothing1').waitFor();
    expect(problems).toEqual([]);
  });

  it('draws the webhook\'s attempts per hour and per day, and their latency, with a table of the same numbers', async () => {
    await page.goto(`${node.url}/webhooks/${webhookId}`);
    const charts = page.getByRole('region', { name: 'Health over time' });
    // 29 successes, and 3 failed attempts of the broken media (the first and two retries).
    const attempts = charts.getByRole('img', { name: /^Attempts per hour: 32 attempts, 90\.6 % successful/ });
    await attempts.waitFor();
    expect(await charts.locator('.chart-bar').count()).toBe(24);
    expect(await charts.locator('.chart-bar .chart-failed').count()).toBe(1);
    await charts.getByRole('img', { name: /^Attempt duration: p50 \d+ ms, p95 \d+ ms, p99 \d+ ms$/ }).waitFor();
    await charts.getByText('Show as a table').click();
    const lastHour = charts.locator('tbody tr').last();
    expect((await lastHour.locator('td').allTextContents())).toEqual(['32', '29', '90.6 %']);
    await screenshot(page, 'webhook-charts');

    await charts.getByRole('button', { name: '30 days' }).click();
    await charts.getByRole('img', { name: /^Attempts per day: 32 attempts/ }).waitFor();
    expect(await charts.getByRole('button', { name: '30 days' }).getAttribute('aria-pressed')).toBe('true');
    expect(await charts.locator('.chart-bar').count()).toBe(30);
    await screenshot(page, 'webhook-charts-30d');
    expect(problems).toEqual([]);
  });
});
