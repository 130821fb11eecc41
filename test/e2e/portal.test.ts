// The portal in Chromium: a platform's console (a host page served from another loopback origin,
// http://localhost:<port>, another site than Hookline's http://127.0.0.1:<port>) embeds a portal
// link in an iframe, and the customer manages a webhook there; a console whose origin is not
// listed cannot frame it. Then the dashboard's polish: a read-only portal, the 404 page, live
// relative times, focus after navigation, and the toasts of a test event to a disabled webhook.
// Screenshots go to test-results/.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startReceiver, startTestNode, until, type Receiver, type TestNode } from '../helpers.js';
import { describeInBrowser, launchBrowser, screenshot, type Browser } from './browser.js';

describeInBrowser('the portal and the dashboard polish in Chromium', 90_000, portalTests);

/** A platform's console: /embed?src=… is a page that shows that URL in an iframe. */
async function startConsole(): Promise<{ origin: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://localhost').searchParams.get('src') ?? '';
    const escaped = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><title>Acme console</title></head>
      <body style="margin:0;font-family:sans-serif;background:#eef1f5">
      <header style="padding:12px 20px;background:#222;color:#fff">Acme console · Webhooks</header>
      <iframe id="portal" title="Hookline webhooks" src="${escaped}" style="border:0;width:100%;height:820px;background:#fff"></iframe>
      </body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

function portalTests() {
  let allowed: Awaited<ReturnType<typeof startConsole>>;
  let other: Awaited<ReturnType<typeof startConsole>>;
  let node: TestNode;
  let receiver: Receiver;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  async function link(body: Record<string, unknown> = {}): Promise<string> {
    const res = await node.operator.post(`/v2/accounts/${node.account.id}/portal_sessions/`, { ttl: '30m', ...body });
    expect(res.status).toBe(201);
    return res.body.url;
  }

  beforeAll(async () => {
    allowed = await startConsole();
    other = await startConsole();
    node = await startTestNode({ portalFrameAncestors: [allowed.origin] });
    receiver = await startReceiver();
    browser = await launchBrowser();
    page = await browser.context.newPage();
    page.on('pageerror', (e) => problems.push(e.message));
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.close();
    await node?.close();
    await allowed?.close();
    await other?.close();
  });

  it("opens the account's dashboard in an iframe of an allowed console, and manages a webhook there", async () => {
    const url = await link();
    await page.goto(`${allowed.origin}/embed?src=${encodeURIComponent(url)}`);
    const frame = page.frameLocator('#portal');
    await frame.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await frame.getByText('No webhooks yet').waitFor();
    // The token left the address bar of the frame, and the cookie is the one a frame needs.
    const inner = page.frames().find((f) => f.url().startsWith(node.url))!;
    expect(new URL(inner.url()).hash).toBe('');
    expect(await browser.context.cookies(node.url)).toEqual([
      expect.objectContaining({ name: 'hookline_session', httpOnly: true, secure: true, sameSite: 'None' }),
    ]);

    await frame.getByRole('button', { name: 'Create', exact: true }).click();
    const panel = frame.getByRole('dialog', { name: 'Create Webhook' });
    await panel.getByLabel('Name').fill('Console hook');
    await panel.getByLabel('Webhook URL').fill(receiver.url);
    await panel.getByRole('group', { name: 'Select Property' }).getByLabel(/Default property/).check();
    await panel.getByRole('checkbox', { name: /Media Available/ }).check();
    await panel.getByRole('button', { name: 'Create', exact: true }).click();
    await panel.waitFor({ state: 'hidden' });
    await frame.getByRole('row', { name: /Console hook/ }).waitFor();
    // Keyboard focus is on the new webhook's notice, not lost on the closed panel.
    expect(await inner.evaluate(() => document.activeElement?.textContent)).toBe('Webhook “Console hook” created');
    await screenshot(page, 'portal-01-iframe-created');

    const listed = (await node.account.api.get('/v2/webhooks/')).body.webhooks;
    expect(listed.map((w: any) => w.metadata.name)).toEqual(['Console hook']);
    // Made through the portal's session, and audited as such.
    const [entry] = (await node.account.api.get('/v2/audit_log/?page_length=1')).body.audit_log;
    expect(entry).toMatchObject({ action: 'webhook.created', actor: 'portal', target_id: listed[0].id });

    // Inside the frame, following a link moves the focus to the new page's heading.
    await frame.getByRole('link', { name: 'Console hook' }).click();
    await frame.getByRole('heading', { name: /Console hook/, level: 1 }).waitFor();
    await until(async () => (await inner.evaluate(() => document.activeElement?.tagName)) === 'H1', 5_000, 'the focus on the heading');
    await screenshot(page, 'portal-02-iframe-webhook');
  });

  it('cannot be framed by a console whose origin is not listed, and its link stays unopened', async () => {
    const url = await link();
    const refused = page.waitForEvent('console', (m) => /frame-ancestors/.test(m.text()));
    await page.goto(`${other.origin}/embed?src=${encodeURIComponent(url)}`);
    expect((await refused).text()).toContain(`Framing '${node.url}/' violates`);
    expect(await page.frameLocator('#portal').getByRole('heading', { name: 'Webhooks' }).count()).toBe(0);
    await screenshot(page, 'portal-03-iframe-refused');
    // The dashboard never ran in that frame: the token was not used, and still opens once.
    const opened = await fetch(`${node.url}/ui/portal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: new URL(url).hash.slice(1) }) });
    expect(opened.status).toBe(201);
  });

  it('says so when a link was opened already', async () => {
    const url = await link();
    const token = new URL(url).hash.slice(1);
    expect((await fetch(`${node.url}/ui/portal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) })).status).toBe(201);
    await browser.context.clearCookies();
    await page.goto(url);
    await page.getByRole('heading', { name: 'This link cannot be opened' }).waitFor();
    await page.getByText(/it was opened already, or it expired/).waitFor();
    expect(new URL(page.url()).hash).toBe('');
    await screenshot(page, 'portal-04-link-used');
  });

  it('shows a read-only portal no way to change anything', async () => {
    await page.goto(await link({ read_only: true }));
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    await page.getByText('Read-only', { exact: true }).waitFor();
    await page.getByRole('row', { name: /Console hook/ }).waitFor();
    expect(await page.getByRole('button', { name: 'Create', exact: true }).count()).toBe(0);
    await screenshot(page, 'portal-05-read-only-list');
    await page.getByRole('link', { name: 'Console hook' }).click();
    await page.getByRole('heading', { name: /Console hook/, level: 1 }).waitFor();
    await page.getByText('Read-only: this session can look at the webhook and its deliveries, not change them.').waitFor();
    for (const name of ['Edit', 'Send test event', 'Rotate secret', 'Disable', 'Delete', 'Recover', 'Replay…', 'Change limits']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    await screenshot(page, 'portal-06-read-only-webhook');
  });

  it("answers a path it has no page for with the dashboard's own 404 page", async () => {
    await page.goto(await link());
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    const res = await page.goto(`${node.url}/no/such/page`);
    expect(res!.status()).toBe(404);
    await page.getByRole('heading', { name: 'Page not found', level: 1 }).waitFor();
    await page.getByText('/no/such/page').waitFor();
    expect(await page.title()).toBe('Page not found · Hookline');
    await screenshot(page, 'polish-01-not-found');
    await page.getByRole('link', { name: 'Go to webhooks' }).click();
    await page.getByRole('heading', { name: 'Webhooks', level: 1 }).waitFor();
    // After the navigation, the focus is on the heading of the page it led to.
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Webhooks');
  });

  it('keeps relative times live while the page is open, without asking the server', async () => {
    const hook = (await node.account.api.get('/v2/webhooks/')).body.webhooks[0];
    expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { metadata: { description: 'Changed just now' } })).status).toBe(200);
    await page.goto(`${node.url}/webhooks/${hook.id}`);
    const changed = page.locator('dd', { hasText: 'changed' }).locator('time').last();
    await changed.waitFor();
    const first = await changed.textContent();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const later = await until(async () => {
      const now = await changed.textContent();
      return now !== first && now;
    }, 20_000, 'the relative time to move on');
    expect(later).toMatch(/seconds? ago/);
    expect(requests).toEqual([]);
    await screenshot(page, 'polish-02-live-times');
  });

  it('says a test event to a disabled webhook waits, in a toast that leaves the delivery log clear', async () => {
    const hook = (await node.account.api.get('/v2/webhooks/')).body.webhooks[0];
    expect((await node.account.api.patch(`/v2/webhooks/${hook.id}/`, { status: 'disabled' })).status).toBe(200);
    await page.setViewportSize({ width: 1366, height: 560 });
    try {
      await page.goto(`${node.url}/webhooks/${hook.id}`);
      await page.getByRole('button', { name: 'Send test event' }).click();
      const dialog = page.getByRole('dialog', { name: 'Send a test event' });
      await dialog.getByText('This webhook is disabled: the test event waits in its delivery log').waitFor();
      await dialog.getByRole('button', { name: 'Send test event' }).click();
      await dialog.waitFor({ state: 'hidden' });
      const toast = page.getByRole('status').filter({ hasText: 'Test event queued. This webhook is disabled' });
      await toast.waitFor();
      expect(await page.getByText('Watch it arrive').count()).toBe(0);
      const row = page.locator('tr[data-delivery]').first();
      await row.waitFor();
      // Not "next in …": a disabled webhook's deliveries wait.
      expect(await row.textContent()).toContain('waits: webhook disabled');
      // Scrolled to the end, the log's last row is clear of the toasts.
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const rowBox = (await page.locator('tr[data-delivery]').last().boundingBox())!;
      const toastBox = (await page.locator('.toast').last().boundingBox())!;
      expect(rowBox.y + rowBox.height).toBeLessThanOrEqual(toastBox.y);
      await screenshot(page, 'polish-03-disabled-test-toast', false);
      // Dismissed by its button.
      await page.locator('.toast').last().getByRole('button', { name: 'Dismiss' }).click();
      await toast.waitFor({ state: 'hidden' });
      expect(receiver.received).toHaveLength(0);
    } finally {
      await page.setViewportSize({ width: 1366, height: 900 });
    }
  });

  it('raised no script errors', () => {
    expect(problems).toEqual([]);
  });
}
