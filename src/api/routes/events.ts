// Event intake: the platform (operator key) reports that something happened on a property.
// The answer comes after the event and its deliveries are committed.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { EVENT_NAMES, ID_FIELDS } from '../../catalog/events.js';
import { EventInputError, requestHash, validateEvent, type EventInput } from '../../ingest/index.js';
import { ID_PATTERN } from '../../ids.js';
import { requireOperator } from '../auth.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { externalId, idempotencyHeaders } from '../schemas.js';
import { INTAKE_ROUTE } from '../facts.js';
import type { ApiContext } from '../context.js';

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
    const outcome = await ingestor.submit(site_id, event, key, key ? requestHash(site_id, input) : undefined);
    if (outcome.kind === 'conflict') {
      throw new ApiError(409, 'idempotency_conflict', 'this Idempotency-Key was already used with a different body');
    }
    return reply.code(202).send({ id: outcome.eventId, event: event.event, site_id, deliveries: outcome.deliveries });
  });
}
