// The event catalogue, served from src/catalog so that the dashboard and API clients read the
// same 13 events, descriptions and examples the server delivers, with the platform fact that
// makes Hookline send each (src/platform/rules.ts).
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, requiredIds } from '../../catalog/events.js';
import { EVENT_RULES } from '../../platform/rules.js';

const eventTypeSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    title: { type: 'string' },
    description: { type: 'string' },
    group: { type: 'string', enum: ['media', 'live_channel'] },
    id_fields: { type: 'array', items: { type: 'string' }, description: 'The ids an event of this type carries, in body order.' },
    example: { type: 'object', additionalProperties: { type: 'string' }, description: "JWP's example payload." },
    rule: { type: 'string', description: "Hookline's: which reported platform fact makes Hookline send this event (POST /v2/sites/{site_id}/media/ and the other fact routes)." },
  },
} as const;

export default async function catalog(app: FastifyInstance) {
  const body = {
    event_types: EVENT_TYPES.map((t) => ({
      name: t.name, title: t.title, description: t.description, group: t.group, id_fields: requiredIds(t), example: t.example,
      rule: EVENT_RULES[t.name],
    })),
    total: EVENT_TYPES.length,
  };
  app.get('/v2/event_types/', {
    schema: {
      tags: ['events'],
      description: 'The events a webhook can subscribe to, with their descriptions, example payloads and the fact that makes Hookline send each.',
      response: { 200: { type: 'object', properties: { event_types: { type: 'array', items: eventTypeSchema }, total: { type: 'integer' } } } },
    },
  }, async () => body);
}
