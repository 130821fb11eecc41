// The commands' flag values, checked (a bad one is a usage error naming the flag), and their
// output. Reading the flags themselves is config.ts's parseFlags (see command.ts).
import { ConfigError } from '../config.js';

/** A whole number from min to max, or a usage error naming the flag. */
export function intFlag(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`--${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
}

export function urlFlag(name: string, raw: string): URL {
  try {
    const url = new URL(raw);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below
  }
  throw new ConfigError(`--${name}: expected an http:// or https:// URL, got "${raw}"`);
}

/** Lines on stdout, as they happen. */
export const out = (line = '') => process.stdout.write(line + '\n');
