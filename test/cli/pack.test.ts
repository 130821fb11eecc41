// Installable without cloning: `npm pack` makes a package that, installed into an empty folder
// (its dependencies from the registry, through npm's cache: --prefer-offline), runs as users
// run it: `npx hookline --help`, `--version`, and `start --dev` with its dashboard, and that
// brings the typed client (hookline/client). Slow: npm installs, and better-sqlite3 may build.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { tempDir, until } from '../helpers.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
const run = promisify(execFile);

/** The environment of a user's shell: none of an npm script's own variables (the project they name is this one), no HOOKLINE_*. */
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) =>
  !/^(HOOKLINE_|npm_package_|npm_lifecycle_|npm_command$|npm_config_local_prefix$|npm_config_call$|INIT_CWD$)/.test(name)));

const dir = tempDir('hookline-pack-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('packs into a package that, installed into an empty folder, runs hookline and its dashboard, and brings the client', async () => {
  // `npm test` built dist/ (pretest); packing again would build again (prepare).
  const packed = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
  const [{ filename, files }] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }];
  const paths = files.map((f) => f.path);
  expect(paths).toEqual(expect.arrayContaining(['package.json', 'README.md', 'dist/cli/index.js', 'dist/web/index.html', 'dist/client/index.js', 'dist/client/index.d.ts', 'dist/openapi.json']));
  expect(paths.filter((p) => !p.startsWith('dist/') && !['package.json', 'README.md'].includes(p))).toEqual([]);

  const app = join(dir, 'app');
  mkdirSync(app);
  await run('npm', ['install', join(dir, filename), '--prefer-offline', '--no-audit', '--no-fund'], { cwd: app, env, maxBuffer: 16 * 1024 * 1024 });

  const npx = (...args: string[]) => run('npx', ['--no-install', 'hookline', ...args], { cwd: app, env });
  expect((await npx('--version')).stdout).toBe(`${VERSION}\n`);
  expect((await npx('--help')).stdout).toMatch(/^Usage: hookline <command> \[options\]\n\nCommands:\n {2}start /);

  // Its own process group, so that the stop below reaches npx and the node it runs.
  const server = spawn('npx', ['--no-install', 'hookline', 'start', '--dev', '--port', '0', '--data-dir', join(dir, 'data')], { cwd: app, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  server.stdout!.on('data', (d) => (output += d));
  server.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => server.once('exit', () => resolve()));
  try {
    const url = await until(() => /Hookline listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 60_000, 'the server to listen').catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${output}`);
    });
    const apiKey = await until(() => /account API key \(shown once, keep it\): (hlk_\S+)/.exec(output)?.[1], 10_000, 'the account key');

    const health = await fetch(`${url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const script = /<script[^>]+src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script, html).toBeDefined();
    const asset = await fetch(url + script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);

    // The client, imported by its package name from the folder it was installed into.
    const client = await run(process.execPath, ['--input-type=module', '-e', `
      import { createClient } from 'hookline/client';
      const hookline = createClient({ baseUrl: ${JSON.stringify(url)}, apiKey: ${JSON.stringify(apiKey)} });
      const { data, response } = await hookline.GET('/v2/webhooks/');
      console.log(JSON.stringify({ status: response.status, total: data.total }));
    `], { cwd: app, env });
    expect(JSON.parse(client.stdout)).toEqual({ status: 200, total: 0 });

    // Ctrl-C or a service manager's stop: the group gets the signal, and hookline stops cleanly.
    process.kill(-server.pid!, 'SIGTERM');
    await exited;
    await until(() => !groupAlive(server.pid!), 15_000, 'hookline to stop');
    expect(output).toContain('stopping: finishing deliveries in flight');
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  } finally {
    if (groupAlive(server.pid!)) process.kill(-server.pid!, 'SIGKILL');
  }
}, 20 * 60_000);

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}
