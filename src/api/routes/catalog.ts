// The event catalogue, served from src/catalog so that the dashboard and API clients read the
// same events, descriptions and examples the server delivers: JWP's 13, with the platform fact
// that makes Hookline send each (src/platform/rules.ts), then Hookline's operational events
// (src/catalog/operational.ts), a group of their own.
import type { FastifyInstance } from 'fastify';
import { EVENT_TYPES, requiredIds } from '../../catalog/events.js';
import { OPERATIONAL_EVENT_TYPES } from '../../catalog/operational.js';
import { EVENT_RULES } from '../../platform/rules.js';
import { ref } from '../components.js';

export default async function catalog(app: FastifyInstance) {
  const eventTypes = [
    ...EVENT_TYPES.map((t) => ({
      name: t.name, title: t.title, description: t.description, group: t.group, id_fields: requiredIds(t), example: t.example,
      rule: EVENT_RULES[t.name],
    })),
    ...OPERATIONAL_EVENT_TYPES.map((t) => ({
      name: t.name, title: t.title, description: t.description, group: 'operational' as const, id_fields: [], example: t.example, rule: t.rule,
    })),
  ];
  const body = { event_types: eventTypes, total: eventTypes.length };
  app.get('/v2/event_types/', {
    schema: {
      tags: ['events'],
      description: 'The events a webhook can subscribe to, with their descriptions, example payloads and what makes Hookline send each.',
      response: { 200: ref('EventTypeList') },
    },
  }, async () => body);
}
