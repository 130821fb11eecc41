// The delivery search, GET /v2/deliveries/: the deliveries of the caller's webhooks (an account
// key's, or every account's for the operator) that match every filter given, newest first, a page
// at a time with a cursor. The cursor is the last delivery's place, "<created ms>.<id>": a page
// starts right after it whatever arrived since, so pages neither repeat nor skip while new
// deliveries come in, and each is a walk along an index from there (src/store/*/search-deliveries.ts).
import type { FastifyInstance } from 'fastify';
import { SUBSCRIBABLE_EVENT_NAMES } from '../../catalog/operational.js';
import { DELIVERY_ID, ID_PATTERN } from '../../ids.js';
import type { Delivery, DeliveryPosition } from '../../store/types.js';
import { parseIsoTime } from '../../time.js';
import { visibleAccount } from '../auth.js';
import { ref, type ApiTypeProvider } from '../components.js';
import type { ApiContext } from '../context.js';
import { FieldProblems } from '../field-errors.js';
import { externalId, timestamp } from '../schemas.js';
import { deliveryJson } from './webhooks/shared.js';

/** A search page holds at most this many deliveries (an account's page reads this many from each of its webhooks). */
export const MAX_SEARCH_PAGE_LENGTH = 1_000;

const searchQuery = {
  type: 'object',
  properties: {
    media_id: { ...externalId, description: 'Deliveries of the events about this media.' },
    channel_id: { ...externalId, description: 'Deliveries of the events about this live channel.' },
    event_id: { type: 'string', pattern: '^evt_[A-Za-z0-9]{1,64}$', description: 'Deliveries of this event (one per webhook it went to).' },
    event: { type: 'string', enum: SUBSCRIBABLE_EVENT_NAMES },
    status: { type: 'string', enum: ['pending', 'succeeded', 'failed'] },
    status_code: { type: 'integer', minimum: 100, maximum: 599, 'x-finite': true, description: 'The HTTP status of the last attempt.' },
    webhook_id: { type: 'string', pattern: ID_PATTERN },
    since: { ...timestamp, maxLength: 64, description: 'Created at or after this time (ISO 8601 with its offset; write + as %2B, or use Z).' },
    until: { ...timestamp, maxLength: 64, description: 'Created before this time.' },
    cursor: { type: 'string', maxLength: 64, description: 'next_cursor of the previous page; left out, the search starts at the newest delivery.' },
    page_length: { type: 'integer', minimum: 1, maximum: MAX_SEARCH_PAGE_LENGTH, 'x-finite': true, default: 20 },
  },
} as const;

/** The query's fields in their order: a refusal lists the bad ones in it. */
const SEARCH_FIELDS = ['', 'media_id', 'channel_id', 'event_id', 'event', 'status', 'status_code', 'webhook_id', 'since', 'until', 'cursor', 'page_length'];

const CURSOR = new RegExp(`^(\\d{1,15})\\.(${DELIVERY_ID})$`);
const cursorOf = (d: Delivery) => `${d.created}.${d.id}`;

export default async function deliverySearch(fastify: FastifyInstance, { store }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();

  app.get('/v2/deliveries/', {
    schema: {
      tags: ['deliveries'],
      description: "Searches the deliveries of the caller's webhooks (the operator's: every account's), newest first. "
        + 'Every filter given must match; a bad value refuses the request, every bad field named at once. '
        + 'Page with next_cursor, keeping the same filters.',
      querystring: searchQuery,
      response: { 200: ref('DeliverySearchPage') },
    },
    attachValidation: true,
  }, async (request) => {
    const problems = new FieldProblems(SEARCH_FIELDS, 'querystring');
    if (request.validationError) problems.checkSchema(request, request.query, searchQuery);
    const q = request.query;
    const time = (field: 'since' | 'until'): number | undefined => {
      const raw = q[field];
      if (raw === undefined || problems.about(field)) return undefined;
      const ms = parseIsoTime(raw);
      if (ms === undefined) problems.add(field, `${field}: "${raw}" is not an ISO 8601 time with its offset`);
      return ms;
    };
    const since = time('since');
    const until = time('until');
    if (since !== undefined && until !== undefined && until <= since) problems.add('until', 'until must be after since');
    let after: DeliveryPosition | undefined;
    if (q.cursor !== undefined && !problems.about('cursor')) {
      const m = CURSOR.exec(q.cursor);
      if (m) after = { created: Number(m[1]), id: m[2]! };
      else problems.add('cursor', `cursor: "${q.cursor}" is not a cursor of this search; pass next_cursor as a previous page gave it`);
    }
    problems.throwIfAny();

    const pageLength = q.page_length;
    // One more than the page, to know whether another follows.
    const found = await store.searchDeliveries({
      accountId: visibleAccount(request), webhookId: q.webhook_id, eventId: q.event_id, mediaId: q.media_id, channelId: q.channel_id,
      event: q.event, status: q.status, statusCode: q.status_code, since, until, after, limit: pageLength + 1,
    });
    const page = found.slice(0, pageLength);
    return {
      deliveries: page.map(deliveryJson),
      page_length: pageLength,
      next_cursor: found.length > pageLength ? cursorOf(page.at(-1)!) : null,
    };
  });
}
