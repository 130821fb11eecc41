// Debian's Chromium driven by playwright-core: never a downloaded browser. Without it the browser
// tests are skipped with the reason; under CI=true a missing browser fails the run instead.
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { describe, it } from 'vitest';

export const CHROMIUM = process.env.HOOKLINE_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(process.cwd(), 'test-results');

/** Why the browser tests cannot run here, or undefined when they can. */
export function browserMissing(): string | undefined {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `${CHROMIUM} not found: install Debian's browser with \`apt-get install -y chromium\``;
  }
}

export const mustRunBrowser = process.env.CI === 'true';

/**
 * Describes browser tests: run when Chromium is here, skipped with the reason when it is not,
 * and a failure instead under CI=true, where a missing browser must not pass unseen.
 */
export function describeInBrowser(name: string, timeout: number, tests: () => void): void {
  const missing = browserMissing();
  if (missing && mustRunBrowser) {
    describe('browser tests', () => {
      it('need Chromium under CI=true', () => {
        throw new Error(`CI=true and the browser tests cannot run: ${missing}`);
      });
    });
  } else if (missing) {
    process.stderr.write(`\n[hookline] browser tests skipped: ${missing}\n`);
    describe('browser tests', () => {
      it.skip(`skipped: ${missing}`, () => {});
    });
  } else {
    describe(name, { timeout }, tests);
  }
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'hookline-chromium-'));
  // Playwright owns --user-data-dir: a persistent context on a fresh folder is the same thing.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1366, height: 900 },
    deviceScaleFactor: 1,
    locale: 'en-US',
    timezoneId: 'UTC',
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // A full-page shot is taken from the top, where the sticky header belongs.
  if (fullPage) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SCREENSHOTS, `dashboard-${name}.png`), fullPage, animations: 'disabled' });
}

/**
 * Collects a page's script errors and console errors into `problems`, for a test to find empty at
 * the end. The API's refusals that tests provoke (401, 400, 429) log "Failed to load resource":
 * those are expected and left out.
 */
export function watchProblems(page: Page, problems: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
}
