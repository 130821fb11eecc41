// Event intake: the platform (operator key) reports that something happened on a property.
// The answer comes after the event and its deliveries are committed.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { EVENT_NAMES, ID_FIELDS } from '../../catalog/events.js';
import { EventInputError, requestHash, validateEvent, type EventInput } from '../../ingest/index.js';
import { ID_PATTERN } from '../../ids.js';
import { CommitUnknown } from '../../store/unavailable.js';
import { requireOperator } from '../auth.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { externalId, idempotencyHeaders } from '../schemas.js';
import { INTAKE_ROUTE } from '../facts.js';
import type { ApiContext } from '../context.js';

/** What a platform should do after a commit in doubt: with a key a resend is safe, without one it may deliver twice. */
function commitUnknownAdvice(key: string | undefined): string {
  const doubt = 'the database did not confirm the commit: the event may have been recorded, and delivered; ';
  return key
    ? doubt + 'resend it with the same Idempotency-Key, which answers as the first time and delivers nothing new'
    : doubt + 'resending it may deliver it twice (send every event with an Idempotency-Key to make resends safe)';
}

export default async function events(fastify: FastifyInstance, { store, ingestor, clock }: ApiContext) {
  const app = fastify.withTypeProvider<JsonSchemaToTsProvider>();
  app.post('/v2/sites/:site_id/events/', {
    schema: {
      tags: ['events'],
      description: 'Reports an event; every webhook subscribed to this property and event gets a delivery.',
      params: { type: 'object', required: ['site_id'], properties: { site_id: { type: 'string', pattern: ID_PATTERN } } },
      headers: idempotencyHeaders,
      body: {
        type: 'object',
        required: ['event'],
        additionalProperties: false,
        properties: {
          event: { type: 'string', enum: EVENT_NAMES },
          event_time: { type: 'string', maxLength: 64 },
          ...Object.fromEntries(ID_FIELDS.map((f) => [f, externalId])),
        },
      },
      response: {
        202: {
          type: 'object',
          properties: { id: { type: 'string' }, event: { type: 'string' }, site_id: { type: 'string' }, deliveries: { type: 'integer' } },
        },
      },
    },
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    requireOperator(request);
    const { site_id } = request.params;
    const input: EventInput = request.body;
    if (!(await store.getSite(site_id))) throw notFound(`property ${site_id}`);
    let event;
    try {
      event = validateEvent(input, clock.now());
    } catch (err) {
      if (err instanceof EventInputError) throw badRequest(err.message);
      throw err;
    }
    const key = request.headers['idempotency-key'] as string | undefined;
    let outcome;
    try {
      outcome = await ingestor.submit(site_id, event, key, key ? requestHash(site_id, input) : undefined);
    } catch (err) {
      if (err instanceof CommitUnknown) throw new CommitUnknown(err.cause, commitUnknownAdvice(key));
      throw err;
    }
    if (outcome.kind === 'conflict') {
      throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was already used with a different body');
    }
    return reply.code(202).send({ id: outcome.eventId, event: event.event, site_id, deliveries: outcome.deliveries });
  });
}
