// The platform reports facts about its media, shaped after JWP's v2 media resources; Hookline
// derives JWP's events from them (src/platform/media.ts holds the rules). Operator key only.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../ids.js';
import { isPublishable, storedMediaState, type FieldValues, type MediaState } from '../../platform/media.js';
import { SIMULATED_RENDITIONS } from '../../platform/simulate.js';
import type { FactResult } from '../../platform/lifecycle.js';
import { jwpSeconds, parseIsoTime } from '../../time.js';
import { requireOperator } from '../auth.js';
import { badRequest, notFound } from '../errors.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { INTAKE_ROUTE, factParams, factRequest, factSchema, newId, noBodyIsEmpty } from '../facts.js';
import { externalId } from '../schemas.js';
import type { ApiContext } from '../context.js';

const renditionList = {
  type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: externalId,
  description: 'The renditions this upload will produce; conversions_complete waits for all of them.',
} as const;

const text = (maxLength: number, description: string) => ({ type: ['string', 'null'], maxLength, description }) as const;
const date = (description: string) => ({
  type: ['string', 'null'], maxLength: 64, description: `ISO 8601 with an offset, like 2024-08-27T00:20:57+00:00. ${description}`,
}) as const;

/**
 * JWP's media metadata (its v2 media resource). Hookline keeps what its rules need: the publish
 * start date, and a fingerprint of every other field, to tell a real update (media_updated)
 * from one that changes nothing. null clears a field; a field left out of an update stays as it is.
 */
const metadataSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    title: text(1_000, 'The media\'s title.'),
    description: text(20_000, 'What the media is about.'),
    author: text(1_000, 'Who made it.'),
    permalink: text(2_048, 'The page where the media is shown.'),
    category: text(255, 'Its category (JWP uses IAB categories).'),
    language: {
      type: ['string', 'null'], maxLength: 35, pattern: '^([A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*)?$',
      description: 'A language tag, like en or pt-BR.',
    },
    tags: { type: ['array', 'null'], maxItems: 500, items: { type: 'string', maxLength: 255 }, description: 'Its tags, in order.' },
    custom_params: {
      type: ['object', 'null'], maxProperties: 500,
      propertyNames: { minLength: 1, maxLength: 255 },
      additionalProperties: { type: 'string', maxLength: 10_000 },
      description: 'Names and string values of the platform\'s own; an update replaces the whole object.',
    },
    external_id: text(255, 'The media\'s id in the platform\'s own system.'),
    publish_start_date: date(
      'If it is in the future when an upload makes the media publishable, media_available is not sent for that upload.'),
    publish_end_date: date('When the media stops being published.'),
  },
} as const;

function mediaStatus(s: MediaState): 'processing' | 'publishable' | 'deleted' {
  if (s.deleted) return 'deleted';
  return isPublishable(s) ? 'publishable' : 'processing';
}

export function mediaJson(id: string, s: MediaState, events: FactResult<MediaState>['events'] = []) {
  return {
    id,
    type: 'media' as const,
    status: mediaStatus(s),
    metadata: { publish_start_date: s.publishStart === null ? null : jwpSeconds(s.publishStart) },
    renditions: s.renditions.map((r) => ({ id: r.id, status: r.ready ? 'ready' as const : 'processing' as const })),
    thumbnails: s.thumbnails.map((t) => ({ id: t.id, status: t.status })),
    text_tracks: s.tracks.map((t) => ({ id: t.id, status: t.deleted ? 'deleted' as const : 'created' as const })),
    reuploads: s.reuploads,
    media_available: s.mediaAvailable,
    conversions_complete: s.conversionsComplete,
    events,
  };
}

/** The request's metadata, as the schema let it through. */
type Metadata = Record<string, unknown> & { publish_start_date?: string | null; publish_end_date?: string | null };

/** A date field as epoch ms: undefined when not given, null when cleared. */
function dateOf(metadata: Metadata, field: 'publish_start_date' | 'publish_end_date'): number | null | undefined {
  const raw = metadata[field];
  if (raw === undefined || raw === null) return raw;
  const ms = parseIsoTime(raw);
  if (ms === undefined) throw badRequest(`metadata.${field} must be an ISO 8601 time with an offset, like 2024-08-27T00:20:57+00:00`);
  return ms;
}

/** What the rules get of the metadata: the publish start date, and the other fields (dates as instants, so that an offset alone is no change). */
function metadataFact(metadata: Metadata = {}): { publishStart: number | null | undefined; fields: FieldValues } {
  const { publish_start_date: _start, publish_end_date: _end, ...rest } = metadata;
  const fields: FieldValues = { ...rest };
  const end = dateOf(metadata, 'publish_end_date');
  if (end !== undefined) fields.publish_end_date = end;
  return { publishStart: dateOf(metadata, 'publish_start_date'), fields };
}

export default async function media(fastify: FastifyInstance, { lifecycle, simulator, store }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();
  const tags = ['platform facts']; // the GET routes' (factSchema sets it on the facts)

  app.post('/v2/sites/:site_id/media/', {
    preValidation: noBodyIsEmpty,
    schema: factSchema(
      'A media was uploaded: yields media_created. With "simulate": true, Hookline then plays the rest of the upload by itself.',
      factParams(),
      { 201: ref('Media') },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          id: newId('media'),
          metadata: metadataSchema,
          renditions: renditionList,
          simulate: { type: 'boolean', description: `Play a thumbnail and the renditions (default ${SIMULATED_RENDITIONS.join(', ')}) finishing one by one.` },
        },
      },
    ),
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    const fact = factRequest(request);
    const { site_id } = request.params;
    const body = request.body;
    const renditions = body.renditions ?? (body.simulate ? SIMULATED_RENDITIONS : undefined);
    if (!renditions) throw badRequest('renditions is required: the renditions this upload will produce (or send "simulate": true)');
    const id = body.id ?? randomId();
    const { publishStart, fields } = metadataFact(body.metadata);
    const result = await lifecycle.media(site_id, id, { kind: 'create', publishStart: publishStart ?? null, fields, renditions }, fact);
    if (body.simulate && !result.repeat) simulator.upload(site_id, result.id, renditions);
    return reply.code(201).send(mediaJson(result.id, result.state, result.events));
  });

  app.get('/v2/sites/:site_id/media/:media_id/', {
    schema: { tags, description: 'What Hookline knows of a media, and which once-only events are still to come.', params: factParams('media_id'), response: { 200: ref('Media') } },
  }, async (request) => {
    requireOperator(request);
    const { site_id, media_id } = request.params;
    const found = await store.getPlatformObject(site_id, 'media', media_id);
    if (!found) throw notFound(`media ${media_id}`);
    return mediaJson(media_id, storedMediaState(found.state));
  });

  app.patch('/v2/sites/:site_id/media/:media_id/', {
    preValidation: noBodyIsEmpty,
    schema: factSchema(
      'A media was updated: yields media_updated if a metadata field really changed (nothing for an update that changes nothing). A new publish_start_date counts for the uploads not yet publishable.',
      factParams('media_id'),
      { 200: ref('Media') },
      { type: 'object', additionalProperties: false, properties: { metadata: metadataSchema } },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, media_id } = request.params;
    const body = request.body;
    const result = await lifecycle.media(site_id, media_id, { kind: 'update', ...metadataFact(body.metadata) }, fact);
    return mediaJson(result.id, result.state, result.events);
  });

  app.delete('/v2/sites/:site_id/media/:media_id/', {
    schema: factSchema(
      'A media was deleted: yields media_deleted. Later facts about it are refused (409).',
      factParams('media_id'),
      { 200: ref('Media') },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, media_id } = request.params;
    const result = await lifecycle.media(site_id, media_id, { kind: 'delete' }, fact);
    return mediaJson(result.id, result.state, result.events);
  });

  app.put('/v2/sites/:site_id/media/:media_id/reupload/', {
    preValidation: noBodyIsEmpty,
    schema: factSchema(
      'A reupload was initiated: yields media_reuploaded. media_available follows once more when the reupload makes the media publishable; conversions_complete never does (first upload only).',
      factParams('media_id'),
      { 200: ref('Media') },
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          renditions: { ...renditionList, description: 'The renditions the reupload will produce; by default the same as before.' },
          simulate: { type: 'boolean', description: 'Play the new renditions finishing one by one.' },
        },
      },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, media_id } = request.params;
    const body = request.body;
    const result = await lifecycle.media(site_id, media_id, { kind: 'reupload', renditions: body.renditions }, fact);
    if (body.simulate && !result.repeat) simulator.reupload(site_id, media_id, result.state.renditions.map((r) => r.id));
    return mediaJson(result.id, result.state, result.events);
  });

  app.patch('/v2/sites/:site_id/media/:media_id/media_renditions/:rendition_id/', {
    schema: factSchema(
      'A rendition finished processing. May yield media_available and conversions_complete.',
      factParams('media_id', 'rendition_id'),
      { 200: ref('MediaRendition') },
      { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ['ready'] } } },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, media_id, rendition_id } = request.params;
    const result = await lifecycle.media(site_id, media_id, { kind: 'rendition_ready', renditionId: rendition_id }, fact);
    return { id: result.about, type: 'media_rendition' as const, media_id, status: 'ready' as const, events: result.events };
  });

  app.post('/v2/sites/:site_id/media/:media_id/text_tracks/', {
    preValidation: noBodyIsEmpty,
    schema: factSchema(
      'A text track was created: yields track_created.',
      factParams('media_id'),
      { 201: ref('TextTrack') },
      { type: 'object', additionalProperties: false, properties: { id: newId('track') } },
    ),
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    const fact = factRequest(request);
    const { site_id, media_id } = request.params;
    const id = request.body.id ?? randomId();
    const result = await lifecycle.media(site_id, media_id, { kind: 'track_create', trackId: id }, fact);
    return reply.code(201).send({ id: result.about, type: 'text_track', media_id, status: 'created', events: result.events });
  });

  app.delete('/v2/sites/:site_id/media/:media_id/text_tracks/:track_id/', {
    schema: factSchema(
      'A text track was deleted: yields track_deleted.',
      factParams('media_id', 'track_id'),
      { 200: ref('TextTrack') },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, media_id, track_id } = request.params;
    const result = await lifecycle.media(site_id, media_id, { kind: 'track_delete', trackId: track_id }, fact);
    return { id: result.about, type: 'text_track' as const, media_id, status: 'deleted' as const, events: result.events };
  });
}
