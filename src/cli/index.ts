#!/usr/bin/env node
// The hookline command: picks the command, reads its flags as it declares them (command.ts) and
// runs it; --help and --version are answered here. Each command lives in its own file.
import { closest, ConfigError, parseFlags } from '../config.js';
import { VERSION } from '../version.js';
import { help, usageLines, type Command } from './command.js';
import { backup } from './backup.js';
import { listen } from './listen.js';
import { migrate } from './migrate.js';
import { restore } from './restore.js';
import { start } from './start.js';
import { trigger } from './trigger.js';

const COMMANDS: Record<string, Command> = { start, listen, trigger, migrate, backup, restore };

const USAGE = `Usage: hookline <command> [options]

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`).join('\n')}

\`hookline <command> --help\` lists a command's flags; \`hookline --version\` prints the version.
`;

/**
 * A usage error (a ConfigError: an unknown flag, a bad value) exits 2 and shows how to call the
 * command; any other error exits 1 with its message only.
 */
function fail(err: unknown, usage: string): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`hookline: ${err.message}\n\n${usage}`);
    process.exit(2);
  }
  process.stderr.write(`hookline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

async function main([name, ...rest]: string[]): Promise<void> {
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const about = rest[0];
    if (about === undefined) return void process.stdout.write(USAGE);
    const command = COMMANDS[about];
    if (!command) fail(unknownCommand(about), USAGE);
    return void process.stdout.write(help(about, command));
  }
  const command = COMMANDS[name];
  if (!command) fail(unknownCommand(name), USAGE);
  if (rest.includes('--help') || rest.includes('-h')) return void process.stdout.write(help(name, command));
  const usage = `${usageLines(name, command)}\`hookline ${name} --help\` lists its flags.\n`;
  try {
    const { values, positionals } = parseFlags(command.flags, rest, { positionals: command.positionals });
    await command.run({ values, positionals });
  } catch (err) {
    fail(err, usage);
  }
}

function unknownCommand(name: string): ConfigError {
  const meant = closest(name, Object.keys(COMMANDS));
  return new ConfigError(`unknown command "${name}"${meant ? `; did you mean ${meant}?` : ''}`);
}

void main(process.argv.slice(2));
