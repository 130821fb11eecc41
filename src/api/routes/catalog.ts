// The event catalogue, served from src/catalog so that the dashboard and API clients read the
// same 13 events, descriptions and examples the server delivers, with the platform fact that
// makes Hookline send each (src/platform/rules.ts).
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, requiredIds } from '../../catalog/events.js';
import { EVENT_RULES } from '../../platform/rules.js';
import { ref } from '../components.js';

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
      response: { 200: ref('EventTypeList') },
    },
  }, async () => body);
}
