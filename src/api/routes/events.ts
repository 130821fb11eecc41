// Events: the platform (operator key) reports that something happened on a property, and a
// property's events are read back as a feed (account key), in commit order with a cursor, so that
// a receiver that was down longer than the retry schedule can catch up. The intake route maps
// HTTP to src/ingest/events.ts and back; its answer comes after the event and its deliveries are
// committed. The feed is Hookline's (docs/jwp-api.md, "Hookline's extensions").
import type { FastifyInstance } from 'fastify';
import { EVENT_NAMES, ID_FIELDS } from '../../catalog/events.js';
import type { EventInput } from '../../ingest/events.js';
import { ID_PATTERN } from '../../ids.js';
import type { EventRecord, FeedPosition } from '../../store/types.js';
import { jwpSeconds } from '../../time.js';
import { requestTrace } from '../../tracing/index.js';
import { requireOperator, visibleAccount } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { externalId, idempotencyHeaders } from '../schemas.js';
import { INTAKE_ROUTE } from '../facts.js';
import { ref, type ApiTypeProvider } from '../components.js';
import type { ApiContext } from '../context.js';

/** Events per page of the feed: this many unless asked, and at most FEED_MAX_PAGE. */
const FEED_PAGE = 100;
const FEED_MAX_PAGE = 10_000;

const siteParam = { type: 'object', required: ['site_id'], properties: { site_id: { type: 'string', pattern: ID_PATTERN } } } as const;

/**
 * A cursor names a place in the feed, right after one event: "<tx>.<seq>" (FeedPosition, in
 * src/store/types.ts). Clients hand back what next_cursor gave them; anything else is refused.
 */
const cursorOf = (p: FeedPosition) => `${p.tx}.${p.seq}`;
const CURSOR = /^(0|[1-9][0-9]{0,19})\.(0|[1-9][0-9]{0,15})$/;
const MAX_TX = 2n ** 64n - 1n;

function positionOf(raw: string): FeedPosition {
  const m = CURSOR.exec(raw);
  const seq = m ? Number(m[2]) : NaN;
  if (!m || BigInt(m[1]!) > MAX_TX || !Number.isSafeInteger(seq)) {
    throw badRequest(`after: "${raw}" is not a cursor of this feed; pass next_cursor as a previous page gave it`, 'invalid_query');
  }
  return { tx: m[1]!, seq };
}

/** An event as the feed lists it: its id, then its delivery body's fields but webhook_id. */
const feedEventJson = (e: EventRecord) => ({ id: e.id, event: e.event, site_id: e.siteId, event_time: jwpSeconds(e.eventTime), ...e.ids });

export default async function events(fastify: FastifyInstance, { ingestor, store }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  app.post('/v2/sites/:site_id/events/', {
    schema: {
      tags: ['events'],
      description: 'Reports an event; every webhook subscribed to this property and event gets a delivery.',
      params: siteParam,
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
      response: { 202: ref('ReportedEvent') },
    },
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    requireOperator(request);
    const input: EventInput = request.body;
    const key = request.headers['idempotency-key'] as string | undefined;
    return reply.code(202).send(await ingestor.report(request.params.site_id, input, key, requestTrace(request)));
  });

  app.get('/v2/sites/:site_id/events/', {
    schema: {
      tags: ['events'],
      description: "Hookline's catch-up feed: the property's events in commit order, oldest first, from the oldest kept "
        + '(HOOKLINE_RETENTION) or after `after`, a next_cursor a previous page gave. Test events are left out.',
      params: siteParam,
      querystring: {
        type: 'object',
        properties: {
          after: { type: 'string', maxLength: 64, description: 'next_cursor of the previous page; left out, the feed starts at the oldest event kept.' },
          event: { type: 'string', enum: EVENT_NAMES, description: 'Only events of this type.' },
          page_length: { type: 'integer', minimum: 1, maximum: FEED_MAX_PAGE, 'x-finite': true, default: FEED_PAGE },
        },
      },
      response: { 200: ref('EventFeed') },
    },
  }, async (request) => {
    const { site_id } = request.params;
    const site = await store.getSite(site_id);
    const account = visibleAccount(request);
    if (!site || (account !== null && site.accountId !== account)) throw notFound(`property ${site_id}`);
    const q = request.query;
    const after = q.after === undefined ? null : positionOf(q.after);
    const page = await store.readFeed(site_id, after, q.event, q.page_length);
    return { events: page.events.map(feedEventJson), next_cursor: page.next && cursorOf(page.next) };
  });
}
