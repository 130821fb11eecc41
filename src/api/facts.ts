// What the platform's fact routes (media, thumbnails, text tracks, channels) share: their
// parameters, the Idempotency-Key, and the list of events a fact yielded, which every answer carries.
import type { FastifyRequest } from 'fastify';
import { EVENT_NAMES } from '../catalog/events.js';
import { ID_PATTERN } from '../ids.js';
import { factRequestHash, type FactRequest } from '../platform/lifecycle.js';
import { requestTrace } from '../tracing/index.js';
import { requireOperator } from './auth.js';
import { externalId, idempotencyHeaders } from './schemas.js';

/** Path parameters: the property, then the platform's own ids. */
export const factParams = <N extends string>(...names: N[]) => ({
  type: 'object',
  required: ['site_id', ...names],
  properties: {
    site_id: { type: 'string', pattern: ID_PATTERN },
    // Object.fromEntries forgets the names; the type provider needs them to type request.params.
    ...Object.fromEntries(names.map((n) => [n, externalId])) as Record<N, typeof externalId>,
  },
}) as const;

interface FactSchema<P, R> {
  tags: string[];
  description: string;
  params: P;
  headers: typeof idempotencyHeaders;
  response: R;
}

/** A fact route's schema: every fact takes an Idempotency-Key, and its answer lists the events it yielded. */
export function factSchema<const P, const R>(description: string, params: P, response: R): FactSchema<P, R>;
export function factSchema<const P, const R, const B>(description: string, params: P, response: R, body: B): FactSchema<P, R> & { body: B };
export function factSchema(description: string, params: object, response: object, body?: object) {
  return {
    tags: ['platform facts'],
    description,
    params,
    headers: idempotencyHeaders,
    ...(body ? { body } : {}),
    response,
  };
}

/**
 * The platform's intake (facts, and events reported directly): operator only, it draws on the
 * intake rate limit, and is not audited (it reports what happened, at volume; it changes no configuration).
 */
export const INTAKE_ROUTE = { audit: false, rateLimitClass: 'intake', operatorOnly: true } as const;

/** The optional `id` of a created object: the platform's own, or one Hookline makes. */
export const newId = (what: string) => ({ ...externalId, description: `The platform's ${what} id; Hookline makes one (8 characters, like JWP's) when it is left out.` });

/** For routes whose body fields are all optional: no body at all means `{}`. */
export async function noBodyIsEmpty(request: FastifyRequest): Promise<void> {
  request.body ??= {};
}

export const yieldedEvents = {
  type: 'array',
  description: 'The JWP events this fact yielded, each delivered to every webhook subscribed to it on the property.',
  items: { type: 'object', required: ['id', 'event'], properties: { id: { type: 'string' }, event: { type: 'string', enum: EVENT_NAMES } } },
} as const;

/** Checks the caller is the operator, and says how to recognise a repeat of this request. */
export function factRequest(request: FastifyRequest): FactRequest {
  requireOperator(request);
  const key = request.headers['idempotency-key'] as string | undefined;
  const trace = requestTrace(request);
  if (!key) return trace ? { trace } : {};
  const path = request.url.split('?')[0]!.replace(/\/$/, '');
  return { key, requestHash: factRequestHash(request.method, path, request.body), ...(trace ? { trace } : {}) };
}
