// JSON schemas shared by several routes. They validate input and document the API at once.
import type { Ajv } from 'ajv';
import { ID_PATTERN } from '../ids.js';

/**
 * A 204's response schema: no body. Typed as a plain string so that the type provider leaves
 * the reply untyped and `reply.send()` takes no payload: for `{ type: 'null' }` it would want
 * send(null), which serializes "null" and sets a Content-Type.
 */
export const noContent: { type: string } = { type: 'null' };

/** Path parameters that are all 8-character ids. */
export const idParam = <N extends string>(...names: N[]) => ({
  type: 'object',
  required: names,
  // Object.fromEntries forgets the names; the type provider needs them to type request.params.
  properties: Object.fromEntries(names.map((name) => [name, { type: 'string', pattern: ID_PATTERN }])) as Record<N, { type: 'string'; pattern: string }>,
}) as const;

/**
 * ajv turns the query string "1e400" into Infinity and then skips `maximum` for it (it checks
 * bounds on finite numbers only); `x-finite` refuses what coercion made infinite.
 */
export function finiteNumbers(ajv: Ajv): Ajv {
  ajv.addKeyword({
    keyword: 'x-finite',
    schemaType: 'boolean',
    errors: false,
    // No `type: 'number'` here: ajv would then skip non-finite numbers, the very ones to catch.
    validate: (wanted: boolean, data: unknown) => !wanted || typeof data !== 'number' || Number.isFinite(data),
  });
  return ajv;
}

/** An id the platform chose for its own objects (media, channels, thumbnails, tracks, renditions). */
export const externalId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;

/** `Idempotency-Key`: a repeat of the same request within 24 h gets the first answer and changes nothing. */
export const idempotencyHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

/** JWP's v2 lists take up to this many items a page (its own clients ask for 10 000 media at once). */
export const MAX_PAGE_LENGTH = 10_000;

/**
 * `page` and `page_length` of every list. A page is one index range scan (docs/jwp-api.md,
 * "Listing and pagination"), so a page of 10 000 costs what its rows cost, and no more.
 */
export const pageQuery = {
  page: { type: 'integer', minimum: 1, maximum: 1_000_000, 'x-finite': true, default: 1 },
  page_length: { type: 'integer', minimum: 1, maximum: MAX_PAGE_LENGTH, 'x-finite': true, default: 10 },
} as const;

export const timestamp = { type: 'string', description: 'ISO 8601 in UTC, like 2019-09-25T15:29:11.042095+00:00' } as const;

export const nameBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;
