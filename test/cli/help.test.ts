// The CLI's help and its refusals, run as users run it (the built dist/cli/index.js): every
// command has a --help made from the flags it declares, and an unknown flag is a usage error
// (exit 2) that names the closest flag. Commands are found in `hookline --help`, so that a new
// one is held to the same.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../src/config.js';
import { CLI, runCli } from '../helpers.js';

const VERSION = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version;

/** The commands `hookline --help` lists. */
const COMMANDS = [...execFileSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' }).split('Commands:\n')[1]!.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]!);

/** The flags a command's --help lists, in order. */
const flagsOf = (help: string) => [...help.matchAll(/^ {2}--([\w-]+)/gm)].map((m) => m[1]!).filter((f) => f !== 'help');

describe('hookline --help', () => {
  it('lists the commands, and says how to get each one\'s help and the version', async () => {
    expect(COMMANDS).toEqual(expect.arrayContaining(['start', 'listen', 'trigger']));
    const { code, output } = await runCli([]);
    expect(code).toBe(0);
    expect(output).toMatch(/^Usage: hookline <command> \[options\]\n/);
    expect(output).toContain('`hookline <command> --help` lists a command\'s flags; `hookline --version` prints the version.');
  });

  it('prints the version of the package', async () => {
    for (const flag of ['--version', '-v']) {
      const { code, output } = await runCli([flag]);
      expect(code).toBe(0);
      expect(output).toBe(`${VERSION}\n`);
    }
  });

  it('answers an unknown command with a usage error naming the closest one', async () => {
    const { code, output } = await runCli(['strat', '--dev']);
    expect(code).toBe(2);
    expect(output).toMatch(/^hookline: unknown command "strat"; did you mean start\?\n\nUsage: hookline <command>/);
    expect((await runCli(['frobnicate'])).output).toMatch(/^hookline: unknown command "frobnicate"\n/);
  });
});

describe.each(COMMANDS)('hookline %s', (name) => {
  it('has a --help made from its flags, and refuses an unknown flag naming the closest, with exit 2', async () => {
    const help = await runCli([name, '--help']);
    expect(help.code).toBe(0);
    expect(help.output).toMatch(new RegExp(`^Usage: hookline ${name} `));
    expect(help.output).toMatch(/\nOptions:\n/);
    expect(help.output).toMatch(/^ {2}-h, --help {2,}Show this help\.$/m);
    expect((await runCli(['help', name])).output).toBe(help.output);
    expect((await runCli([name, '-h'])).output).toBe(help.output);

    const flags = flagsOf(help.output);
    expect(flags.length).toBeGreaterThan(0);
    const flag = flags[0]!;
    const typo = flag.slice(0, -2) + flag.at(-1) + flag.at(-2);
    const wrong = await runCli([name, `--${typo}`, 'x']);
    expect(wrong.code).toBe(2);
    expect(wrong.output).toMatch(new RegExp(`^hookline: unknown flag --${typo}; did you mean --${flag}\\?\\n\\nUsage: hookline ${name} `));
    expect(wrong.output).toContain(`\`hookline ${name} --help\` lists its flags.`);

    const unknown = await runCli([name, '--no-such-flag']);
    expect(unknown.code).toBe(2);
    expect(unknown.output).toMatch(/^hookline: unknown flag --no-such-flag\n/);
  });
});

describe('hookline start --help', () => {
  it('is the settings table: each setting\'s flag, its variables and the README\'s default', async () => {
    const { output } = await runCli(['start', '--help']);
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8').split('\n');
    // One entry per flag: its lines joined, from `  --flag` to the next.
    const entries = new Map(output.split(/\n(?= {2}--)/).map((entry) => [/^ {2}(--[\w-]+)/.exec(entry)?.[1], entry.replace(/\s+/g, ' ')]));
    for (const s of SETTINGS) {
      const entry = entries.get(s.flag);
      expect(entry, s.flag).toBeDefined();
      expect(entry, s.flag).toContain(`[env: ${s.env.join(', ')}]`);
      const row = readme.find((line) => line.startsWith(`| \`${s.flag}\` |`))!;
      const readmeDefault = row.split(' | ')[2]!.replace(/`/g, '');
      if (readmeDefault === '—') expect(entry, s.flag).not.toContain('[default:');
      else expect(entry, s.flag).toContain(`[default: ${readmeDefault}]`);
    }
    expect(flagsOf(output)).toEqual(SETTINGS.map((s) => s.flag.slice(2)));
  });
});
