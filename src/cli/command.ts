// How a hookline command is declared: its flags in one place (config.ts's Flag), from which
// index.ts reads the command line (an unknown flag is answered with the closest known one) and
// makes the command's --help. A command adds nothing to parse its flags or to describe them.
import type { Flag, Flags, FlagValues } from '../config.js';

export interface Command<F extends Flags = Flags> {
  /** One line, in `hookline --help`'s list of commands. */
  summary: string;
  /** What follows `hookline <name>` on each usage line, e.g. `<event> [options]`. */
  synopsis: readonly string[];
  /** Paragraphs between the usage lines and the options. */
  description?: string;
  flags: F;
  /** Whether it takes arguments besides its flags (an event name, a file). */
  positionals?: boolean;
  /** Paragraphs after the options. */
  notes?: string;
  run(args: { values: FlagValues<F>; positionals: string[] }): Promise<void>;
}

/** Declares a command, keeping its flags' names and types for its `run`. */
export function defineCommand<const F extends Flags>(command: Command<F>): Command<F> {
  return command;
}

const WIDTH = 100;
const COLUMN = 28;

/** Words (those of a text, or as given: kept whole) filled into lines of at most `width` characters. */
export function wrap(text: string | string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of typeof text === 'string' ? text.split(/\s+/).filter(Boolean) : text) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/** `  --name <value>   doc [env: VARIABLE] [default: x]`, wrapped under its own column. */
function optionLines(name: string, flag: Flag): string[] {
  const left = `  --${name}${flag.type === 'string' ? ` <${flag.value ?? 'value'}>` : ''}`;
  const words = [
    ...flag.doc.split(/\s+/),
    ...(flag.env && flag.env.length > 0 ? [`[env: ${flag.env.join(', ')}]`] : []),
    ...(flag.default !== undefined ? [`[default: ${flag.default}]`] : []),
  ];
  const [first = '', ...rest] = wrap(words, WIDTH - COLUMN);
  const head = left.length < COLUMN ? `${left.padEnd(COLUMN)}${first}` : `${left}\n${' '.repeat(COLUMN)}${first}`;
  return [head, ...rest.map((line) => ' '.repeat(COLUMN) + line)];
}

export function usageLines(name: string, command: Command): string {
  return command.synopsis.map((line, i) => `${i === 0 ? 'Usage:' : '      '} hookline ${name} ${line}`).join('\n') + '\n';
}

/** `hookline <name> --help`. */
export function help(name: string, command: Command): string {
  const options = Object.entries(command.flags).flatMap(([name, flag]) => optionLines(name, flag));
  options.push(`${'  -h, --help'.padEnd(COLUMN)}Show this help.`);
  return [
    usageLines(name, command),
    ...(command.description ? [`${command.description.trim()}\n`] : []),
    `Options:\n${options.join('\n')}\n`,
    ...(command.notes ? [`${command.notes.trim()}\n`] : []),
  ].join('\n');
}
