// `npm run bench` runs and writes its results: the quickest measurement only, checked for its
// shape, never for its figures (they depend on the machine).
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const RUN = join(import.meta.dirname, '../../bench/run.mjs');

function bench(args: string[]): Promise<{ code: number; output: string }> {
  return promisify(execFile)(process.execPath, [RUN, ...args], { timeout: 25_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, output: stdout + stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, output: err.stdout + err.stderr }),
  );
}

describe('npm run bench', () => {
  it('measures the ceiling in quick mode and writes it as JSON', async () => {
    const { code, output } = await bench(['--quick', '--only', 'ceiling']);
    expect(code, output).toBe(0);
    const file = /written: (\S+\.json)/.exec(output)?.[1];
    expect(file, output).toBeDefined();
    try {
      const run = JSON.parse(readFileSync(file!, 'utf8'));
      expect(run.options).toEqual({ quick: true, store: 'sqlite', only: ['ceiling'] });
      expect(Object.keys(run.results)).toEqual(['ceiling']);
      expect(run.results.ceiling.requests).toBe(run.sizes.ceiling);
      expect(run.results.ceiling.perSecond).toBeGreaterThan(0);
      expect(run.targets.deliveryRatio).toBe(0.5);
      expect(output).toMatch(/^ceiling\s+[\d,]+ req\/s/m);
    } finally {
      rmSync(file!, { force: true });
    }
  });

  it('refuses an unknown measurement, naming it', async () => {
    const { code, output } = await bench(['--only', 'ceiling,warp']);
    expect(code).toBe(2);
    expect(output).toContain('unknown measurement warp');
  });
});
