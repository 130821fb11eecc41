// Text that a store cannot hold, refused before any route runs. PostgreSQL's text type cannot
// hold U+0000 (it answered 500 where SQLite stored it), and the other C0 controls (all but tab,
// line feed and carriage return) mean nothing in a name, a URL or an id but can rewrite a
// terminal that shows a log. One hook covers every body, query and path parameter, so that a
// field added later is covered without doing anything; the answer is a 400 in JWP's format
// naming the field, and nothing is written.
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';

const REFUSED = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

/** Where in `value` the first refused string (or key) is, as a field path; undefined when none. */
function refusedAt(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return REFUSED.test(value) ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = refusedAt(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (REFUSED.test(key)) return at;
    const found = refusedAt(inner, at);
    if (found) return found;
  }
  return undefined;
}

const PARTS = [['body', 'invalid_body'], ['query', 'invalid_query'], ['params', 'invalid_params']] as const;

export function refuseControlCharacters(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => {
    for (const [part, code] of PARTS) {
      const at = refusedAt(request[part], '');
      if (at !== undefined) {
        throw new ApiError(400, code, `${at || `the ${part}`} contains a control character (such as U+0000) that cannot be stored; send text without them`);
      }
    }
  });
}
