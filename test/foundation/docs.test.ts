// docs/ is the JWP contract the code points to: every docs/… file a comment names must exist, the
// index must list every page, and the pages must stay free of internet addresses.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../..', import.meta.url).pathname;

function files(dir: string): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    return statSync(join(ROOT, path)).isDirectory() ? files(path) : [path];
  });
}

describe('docs/', () => {
  const pages = readdirSync(join(ROOT, 'docs')).filter((name) => name.endsWith('.md'));

  it('holds every page the code and the README point to', () => {
    const sources = [...files('src'), ...files('web/src'), ...files('test'), 'README.md'];
    const named = new Set(sources.flatMap((path) => [...readFileSync(join(ROOT, path), 'utf8').matchAll(/\bdocs\/([\w-]+\.md)/g)].map((m) => m[1]!)));
    expect(named.size).toBeGreaterThan(0);
    for (const page of named) expect(pages, `docs/${page}`).toContain(page);
  });

  it('lists every page in its index', () => {
    const index = readFileSync(join(ROOT, 'docs/README.md'), 'utf8');
    for (const page of pages.filter((p) => p !== 'README.md')) expect(index, page).toContain(`](${page})`);
  });

  it('names no internet address', () => {
    for (const page of pages) expect(readFileSync(join(ROOT, 'docs', page), 'utf8'), page).not.toMatch(/https?:\/\/[a-z0-9]/i);
  });
});
