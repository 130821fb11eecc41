// Flags of the commands other than `start` (whose flags are the settings table) are read with
// node's own parseArgs; these helpers turn what it and the values refuse into usage errors.
import { ConfigError } from '../config.js';

/** Runs node's parseArgs, turning its refusals into usage errors. */
export function parsingFlags<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new ConfigError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}

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
