// Event intake: the platform (operator key) reports that something happened on a property.
// The route maps HTTP to src/ingest/events.ts and back; the answer comes after the event and its
// deliveries are committed.
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { FastifyInstance } from 'fastify';
import { EVENT_NAMES, ID_FIELDS } from '../../catalog/events.js';
import type { EventInput } from '../../ingest/events.js';
import { ID_PATTERN } from '../../ids.js';
import { requireOperator } from '../auth.js';
import { externalId, idempotencyHeaders } from '../schemas.js';
import { INTAKE_ROUTE } from '../facts.js';
import type { ApiContext } from '../context.js';

export default async function events(fastify: FastifyInstance, { ingestor }: ApiContext) {
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
    const input: EventInput = request.body;
    const key = request.headers['idempotency-key'] as string | undefined;
    return reply.code(202).send(await ingestor.report(request.params.site_id, input, key));
  });
}
