#!/usr/bin/env node
// The hookline command: picks the command and runs it. Each command lives in its own file.
import { ConfigError } from '../config.js';
import * as backup from './backup.js';
import * as listen from './listen.js';
import * as migrate from './migrate.js';
import * as restore from './restore.js';
import * as start from './start.js';
import * as trigger from './trigger.js';

interface Command {
  summary: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

const COMMANDS: Record<string, Command> = { start, listen, trigger, migrate, backup, restore };

const USAGE = `Usage: hookline <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

\`hookline <command> --help\` tells more.
`;

/** A usage error (exit 2) shows how to call the command; any other error only its message (exit 1). */
function fail(err: unknown, usage: string): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`hookline: ${err.message}\n\n${usage}`);
    process.exit(2);
  }
  process.stderr.write(`hookline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

async function main([name, ...rest]: string[]): Promise<void> {
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(COMMANDS[rest[0] ?? '']?.usage ?? USAGE);
    return;
  }
  const command = COMMANDS[name];
  if (!command) fail(new ConfigError(`unknown command "${name}"`), USAGE);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage);
    return;
  }
  await command.run(rest).catch((err) => fail(err, command.usage));
}

void main(process.argv.slice(2));
