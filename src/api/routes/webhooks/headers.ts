// The webhook resource's `headers` (its own request headers, src/security/custom-headers.ts) in a
// create or an update: the schema, and the checks it cannot make, each bad header refused as a
// field of its own (`headers.<name>`) beside the resource's other fields. Not a route plugin.
import {
  MASK, MAX_HEADERS, MAX_TOTAL_BYTES, nameRefusal, valueRefusal,
} from '../../../security/custom-headers.js';
import type { FieldProblems } from '../../field-errors.js';

export const headersProperty = {
  type: ['object', 'null'],
  maxProperties: MAX_HEADERS,
  additionalProperties: { type: 'string' },
  description: `Hookline's: request headers sent with every delivery attempt to this webhook (e.g. a token for an access proxy), `
    + `name to value, at most ${MAX_HEADERS}. Sealed at rest; every answer shows the names with each value as "${MASK}". `
    + `In an update the object replaces them all (null or {}: none); a value of "${MASK}" keeps the one stored under that name.`,
} as const;

/**
 * The headers to store, from the body's `headers` (`stored`: the webhook's current ones, in clear,
 * for the masks an update sends back); undefined when refused (each problem added) or not given.
 */
export function checkHeaders(
  problems: FieldProblems, given: Readonly<Record<string, string>> | null | undefined, stored: Readonly<Record<string, string>> = {},
): Record<string, string> | undefined {
  if (given === undefined || problems.about('headers')) return undefined;
  const entries: [string, string][] = [];
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, raw] of Object.entries(given ?? {})) {
    const field = `headers.${name}`;
    const nameProblem = nameRefusal(name);
    if (nameProblem) {
      problems.add(field, `${field}: ${nameProblem}`);
      continue;
    }
    const lower = name.toLowerCase();
    if (seen.has(lower)) {
      problems.add(field, `${field}: given twice (header names do not depend on case)`);
      continue;
    }
    seen.add(lower);
    let value = raw;
    if (raw === MASK) {
      const kept = Object.entries(stored).find(([n]) => n.toLowerCase() === lower);
      if (!kept) {
        problems.add(field, `${field}: "${MASK}" keeps a stored value, and this webhook has none under that name; give the value`);
        continue;
      }
      value = kept[1];
    } else {
      const valueProblem = valueRefusal(raw);
      if (valueProblem) {
        problems.add(field, `${field}: ${valueProblem}`);
        continue;
      }
    }
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
    entries.push([name, value]);
  }
  if (bytes > MAX_TOTAL_BYTES) problems.add('headers', `headers: names and values are ${bytes} bytes together, at most ${MAX_TOTAL_BYTES}`);
  // fromEntries: a name such as __proto__ is a property like any other, not the object's prototype.
  return Object.fromEntries(entries);
}
