// The dashboard in Chromium for a webhook's own request headers, the delivery view's request and
// response headers, and the operator's console: an account adds a header in the Create panel (its
// value masked once saved, a bad name refused under its row), a test event carries it to a real
// receiver and the delivery view shows what was sent and answered, marked Test, with copy buttons
// and highlighted JSON; the operator creates an account, a property and a key, revokes the key
// (which then gets 401), reads the audit log, and filters the webhooks by account.
// Screenshots go to test-results/.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Api, OPERATOR_KEY, createAccount, createWebhook, startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';
import { describeInBrowser, launchBrowser, screenshot, watchProblems, type Browser } from './browser.js';

describeInBrowser('request headers and the operator console in Chromium', 60_000, consoleTests);

const TOKEN = 'tok-4e1f0a9c2d7b';

function consoleTests() {
  let node: TestNode;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  let webhookId: string;
  const problems: string[] = [];

  beforeAll(async () => {
    node = await startTestNode();
    receiver = await startReceiver(() => ({ status: 200, body: '{"ok":true,"n":1}', headers: { 'content-type': 'application/json', 'x-receiver': 'edge-7' } }));
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

  async function signIn(key: string) {
    await page.goto(node.url + '/');
    await page.getByLabel('API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
  }

  it('adds request headers in the Create panel, refuses a bad name under its row, and shows the saved ones masked', async () => {
    await signIn(node.account.api.key!);
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const panel = page.getByRole('dialog', { name: 'Create Webhook' });
    await panel.getByLabel('Name').fill('Behind the proxy');
    await panel.getByLabel('Webhook URL').fill(receiver.url);
    await panel.locator('label.choice').first().click();
    await panel.getByRole('checkbox', { name: /media_available/ }).check();
    await panel.getByRole('button', { name: 'Add header' }).click();
    await panel.getByLabel('Header 1 name').fill('X-Proxy-Token');
    await panel.getByLabel('Header 1 value').fill(TOKEN);
    await panel.getByRole('button', { name: 'Add header' }).click();
    await panel.getByLabel('Header 2 name').fill('Host');
    await panel.getByLabel('Header 2 value').fill('evil.test');
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    const refusal = panel.locator('[data-header="Host"] .field-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/set by Hookline or by HTTP itself/);
    expect(await panel.getByLabel('Header 2 name').evaluate((el) => el === document.activeElement)).toBe(true);
    await screenshot(page, 'headers-01-refused');

    await panel.getByRole('button', { name: 'Remove header Host' }).click();
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    await panel.waitFor({ state: 'hidden' });
    await page.getByText('Webhook “Behind the proxy” created').waitFor();
    const listed = await node.account.api.get('/v2/webhooks/');
    webhookId = listed.body.webhooks[0].id;
    expect(listed.body.webhooks[0].headers).toEqual({ 'X-Proxy-Token': '********' });

    await page.getByRole('link', { name: 'Behind the proxy' }).click();
    const shown = page.getByRole('list', { name: 'Request headers' });
    await shown.waitFor();
    expect(await shown.textContent()).toBe('X-Proxy-Token: ********');
    expect(await page.content()).not.toContain(TOKEN);

    // Editing keeps the saved value unless it is typed over; a new header joins it.
    await page.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Webhook' });
    expect(await edit.getByLabel('Header 1 name').inputValue()).toBe('X-Proxy-Token');
    expect(await edit.getByLabel('Header 1 value').inputValue()).toBe('');
    expect(await edit.getByLabel('Header 1 value').getAttribute('placeholder')).toMatch(/^\*{8} \(saved/);
    await edit.getByRole('button', { name: 'Add header' }).click();
    await edit.getByLabel('Header 2 name').fill('X-Team');
    await edit.getByLabel('Header 2 value').fill('video');
    await screenshot(page, 'headers-02-edit');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await edit.waitFor({ state: 'hidden' });
    await until(async () => (await shown.textContent())?.includes('X-Team'), 10_000, 'the new header on the page');
    expect((await node.account.api.get(`/v2/webhooks/${webhookId}/`)).body.headers).toEqual({ 'X-Proxy-Token': '********', 'X-Team': '********' });
  });

  it('shows a test delivery marked Test, with the headers sent and the response received, copy buttons and highlighted JSON', async () => {
    await page.getByRole('button', { name: 'Send test event' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send a test event' });
    await dialog.getByRole('button', { name: 'Send test event' }).click();
    const [got] = await receiver.waitFor(1);
    // The saved value, kept through the edit, reached the receiver.
    expect(got!.headers['x-proxy-token']).toBe(TOKEN);
    expect(got!.headers['x-team']).toBe('video');
    const deliveryId = String(got!.headers['webhook-id']);

    const row = page.locator(`tr[data-delivery="${deliveryId}"]`);
    await row.waitFor({ timeout: 15_000 });
    await until(async () => (await row.textContent())?.includes('Succeeded'), 15_000, 'the delivery to succeed');
    expect(await row.locator('.chip-test').textContent()).toBe('Test');
    await row.getByRole('button', { name: /Details/ }).click();
    const detail = page.locator(`#detail-${deliveryId}`);
    const sent = detail.getByRole('table', { name: 'Request headers' });
    await sent.waitFor();
    const sentText = await sent.textContent();
    expect(sentText).toContain('X-Proxy-Token********');
    expect(sentText).toContain(`webhook-id${deliveryId}`);
    expect(sentText).toContain(`webhook-signature${got!.headers['webhook-signature']}`);
    expect(sentText).not.toContain(TOKEN);
    const answered = detail.getByRole('table', { name: 'Response headers of attempt 1' });
    expect(await answered.textContent()).toContain('x-receiveredge-7');
    expect(await detail.getByLabel('Response body of attempt 1').textContent()).toBe('{\n  "ok": true,\n  "n": 1\n}');
    // Highlighted: keys, strings, numbers and literals in spans of their own, the text unchanged.
    const body = detail.getByLabel('Request body');
    expect(await body.textContent()).toBe(JSON.stringify(JSON.parse(got!.body), null, 2));
    expect(await body.locator('.json-key').first().textContent()).toBe('"event"');
    expect(await detail.getByLabel('Response body of attempt 1').locator('.json-literal').textContent()).toBe('true');
    expect(await detail.getByLabel('Response body of attempt 1').locator('.json-number').textContent()).toBe('1');

    await detail.getByRole('button', { name: 'Copy the body of the request' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(JSON.stringify(JSON.parse(got!.body), null, 2));
    await detail.getByRole('button', { name: 'Copy the headers of the request' }).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toContain('X-Proxy-Token: ********');
    expect(copied).toContain(`webhook-id: ${deliveryId}`);
    await detail.getByRole('button', { name: "Copy the headers of attempt 1's response" }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('x-receiver: edge-7');
    await detail.scrollIntoViewIfNeeded();
    await screenshot(page, 'headers-03-delivery-view');
  });

  it('gives the operator a console: an account, a property and a key made, the key revoked (then refused), the audit log', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(OPERATOR_KEY);
    await page.getByRole('link', { name: 'Console' }).click();
    await page.getByRole('heading', { name: 'Operator console', level: 1 }).waitFor();

    await page.getByLabel('New account name').fill('Initech');
    await page.getByRole('button', { name: 'Create account' }).click();
    const accountRow = page.locator('tr[data-account]', { hasText: 'Initech' });
    await accountRow.waitFor();
    const accountId = (await accountRow.getAttribute('data-account'))!;

    const properties = page.getByRole('form', { name: 'Create a property' });
    await properties.getByLabel('Account').selectOption(accountId);
    await properties.getByLabel('New property name').fill('Initech TV');
    await page.getByRole('button', { name: 'Create property' }).click();
    const siteRow = page.locator('tr[data-site]', { hasText: 'Initech TV' });
    await siteRow.waitFor();
    expect(await siteRow.textContent()).toContain('Initech');
    const siteId = (await siteRow.getAttribute('data-site'))!;

    const keys = page.getByRole('region', { name: 'API keys' });
    await keys.getByLabel('Account').selectOption(accountId);
    await keys.getByText('This account has no live keys.').waitFor();
    await keys.getByLabel('New key name').fill('deploy script');
    await keys.getByRole('button', { name: 'Create key' }).click();
    const secretField = keys.getByLabel('API key “deploy script”');
    await secretField.waitFor();
    const secret = await secretField.inputValue();
    expect(secret).toMatch(/^hlk_/);
    const script = new Api(node.url, secret);
    // The new key works: it makes a webhook on the new property.
    const made = await createWebhook(script, [siteId], receiver.url);
    await screenshot(page, 'console-01-key-created');

    const keyRow = keys.locator('tr[data-key]', { hasText: 'deploy script' });
    await keyRow.getByRole('button', { name: /Revoke/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke this API key?' });
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await keys.getByText('This account has no live keys.').waitFor();
    expect((await script.get('/v2/webhooks/')).status).toBe(401);

    const audit = page.getByRole('region', { name: 'Audit log' });
    await audit.getByLabel('Account').selectOption(accountId);
    await until(async () => (await audit.locator('tr[data-audit]').count()) > 0 && (await audit.locator('tr[data-audit]').first().getAttribute('data-audit')) === 'api_key.revoked', 10_000, 'the revocation in the audit log');
    const actions = await audit.locator('tr[data-audit]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-audit')));
    expect(actions).toEqual(['api_key.revoked', 'webhook.created', 'api_key.created', 'site.created', 'account.created']);
    await screenshot(page, 'console-02-audit-log');

    // The webhook list: an Account column, and a filter by account.
    await createAccount(node.operator, 'Globex Media');
    await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
    const table = page.locator('table.webhooks-table');
    await table.getByRole('columnheader', { name: 'Account' }).waitFor();
    await until(async () => (await table.locator('tbody tr').count()) === 2, 10_000, 'both accounts\' webhooks');
    expect(await table.locator('tbody tr', { hasText: 'Behind the proxy' }).textContent()).toContain('Default account');
    await page.getByLabel('Account').selectOption(accountId);
    await until(async () => (await table.locator('tbody tr').count()) === 1, 10_000, 'one account\'s webhooks');
    expect(await table.locator('tbody tr').textContent()).toContain('Initech');
    expect(await table.locator('tbody tr a').getAttribute('href')).toBe(`/webhooks/${made.id}`);
    await screenshot(page, 'console-03-webhooks-by-account');
  });

  it('raised no script errors and no Content-Security-Policy violations', () => {
    expect(problems).toEqual([]);
  });
}
