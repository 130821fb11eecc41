// What the platform's fact routes (media, thumbnails, text tracks, channels) share: their
// parameters, the Idempotency-Key, and the list of events a fact yielded, which every answer carries.
import type { FastifyRequest } from 'fastify';
import { ID_PATTERN } from '../ids.js';
import { factRequestHash, type FactRequest } from '../platform/lifecycle.js';
import { requireOperator } from './auth.js';
import { externalId } from './schemas.js';

/** Path parameters: the property, then the platform's own ids. */
export const factParams = (...names: string[]) => ({
  type: 'object',
  required: ['site_id', ...names],
  properties: { site_id: { type: 'string', pattern: ID_PATTERN }, ...Object.fromEntries(names.map((n) => [n, externalId])) },
}) as const;

/** For routes whose body fields are all optional: no body at all means `{}`. */
export async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

export const yieldedEvents = {
  type: 'array',
  description: 'The JWP events this fact yielded, each delivered to every webhook subscribed to it on the property.',
  items: { type: 'object', properties: { id: { type: 'string' }, event: { type: 'string' } } },
} as const;

/** Checks the caller is the operator, and says how to recognise a repeat of this request. */
export function factRequest(request: FastifyRequest): FactRequest {
  requireOperator(request);
  const key = request.headers['idempotency-key'] as string | undefined;
  if (!key) return {};
  const path = request.url.split('?')[0]!.replace(/\/$/, '');
  return { key, requestHash: factRequestHash(request.method, path, request.body) };
}
