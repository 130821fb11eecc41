// The named response shapes of the delivery search (GET /v2/deliveries/) and of a webhook's
// history (GET /v2/webhooks/{id}/stats/), registered with the others in components.ts (kept apart
// so that no file grows past its size).
import { timestamp } from './schemas.js';

const integer = { type: 'integer' } as const;

export const DeliverySearchPage = {
  $id: 'DeliverySearchPage',
  description: 'A page of GET /v2/deliveries/: the deliveries that match, newest first.',
  type: 'object',
  required: ['deliveries', 'page_length', 'next_cursor'],
  properties: {
    deliveries: { type: 'array', items: { $ref: 'Delivery' } },
    page_length: integer,
    next_cursor: {
      type: ['string', 'null'],
      description: 'Pass it as `cursor`, with the same filters, for the next page (older deliveries); null on the last page.',
    },
  },
} as const;

export const HistoryBucket = {
  $id: 'HistoryBucket',
  description: 'The attempts to a webhook in one hour (window 24h) or one UTC day (window 30d).',
  type: 'object',
  required: ['start', 'attempts', 'succeeded', 'success_rate'],
  properties: {
    start: timestamp,
    attempts: integer,
    succeeded: { type: 'integer', description: 'Attempts answered with a 2xx.' },
    success_rate: { type: ['number', 'null'], description: 'succeeded / attempts, from 0 to 1; null without attempts.' },
  },
} as const;
