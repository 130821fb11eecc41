// JSON schemas shared by several routes. They validate input and document the API at once.
import { ID_PATTERN } from '../ids.js';

export const idParam = (name: string) => ({
  type: 'object',
  required: [name],
  properties: { [name]: { type: 'string', pattern: ID_PATTERN } },
}) as const;

/** An id the platform chose for its own objects (media, channels, thumbnails, tracks, renditions). */
export const externalId = { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } as const;

/** `Idempotency-Key`: a repeat of the same request within 24 h gets the first answer and changes nothing. */
export const idempotencyHeaders = {
  type: 'object',
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

export const pageQuery = {
  page: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 1 },
  page_length: { type: 'integer', minimum: 1, maximum: 100, default: 10 },
} as const;

export const timestamp = { type: 'string', description: 'ISO 8601 in UTC, like 2019-09-25T15:29:11.042095+00:00' } as const;

export const nameBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;
