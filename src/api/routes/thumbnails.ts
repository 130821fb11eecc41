// The platform reports its thumbnails, shaped after JWP's v2 thumbnails resource (per property,
// each tied to a media). A ready thumbnail is what media_available and conversions_complete wait for.
import type { FastifyInstance } from 'fastify';
import { randomId } from '../../ids.js';
import type { FactResult } from '../../platform/lifecycle.js';
import type { MediaState } from '../../platform/media.js';
import { ref, type ApiTypeProvider } from '../components.js';
import { INTAKE_ROUTE, factParams, factRequest, factSchema, newId } from '../facts.js';
import { externalId } from '../schemas.js';
import type { ApiContext } from '../context.js';

function thumbnailJson(result: FactResult<MediaState>) {
  const thumbnail = result.state.thumbnails.find((t) => t.id === result.about)!;
  return { id: thumbnail.id, type: 'thumbnail' as const, media_id: result.id, status: thumbnail.status, events: result.events };
}

export default async function thumbnails(fastify: FastifyInstance, { lifecycle }: ApiContext) {
  const app = fastify.withTypeProvider<ApiTypeProvider>();

  app.post('/v2/sites/:site_id/thumbnails/', {
    schema: factSchema(
      'A thumbnail was created for a media: yields thumbnail_created, and, if it is created ready, perhaps media_available and conversions_complete.',
      factParams(),
      { 201: ref('Thumbnail') },
      {
        type: 'object',
        required: ['media_id'],
        additionalProperties: false,
        properties: {
          id: newId('thumbnail'),
          media_id: externalId,
          status: { type: 'string', enum: ['processing', 'ready'], default: 'processing' },
        },
      },
    ),
    config: INTAKE_ROUTE,
  }, async (request, reply) => {
    const fact = factRequest(request);
    const { site_id } = request.params;
    const body = request.body;
    const result = await lifecycle.createThumbnail(site_id, body.media_id, body.id ?? randomId(), body.status === 'ready', fact);
    return reply.code(201).send(thumbnailJson(result));
  });

  app.patch('/v2/sites/:site_id/thumbnails/:thumbnail_id/', {
    schema: factSchema(
      'A thumbnail is ready. May yield media_available and conversions_complete.',
      factParams('thumbnail_id'),
      { 200: ref('Thumbnail') },
      { type: 'object', required: ['status'], additionalProperties: false, properties: { status: { type: 'string', enum: ['ready'] } } },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, thumbnail_id } = request.params;
    return thumbnailJson(await lifecycle.thumbnail(site_id, thumbnail_id, 'ready', fact));
  });

  app.delete('/v2/sites/:site_id/thumbnails/:thumbnail_id/', {
    schema: factSchema(
      'A thumbnail was deleted: yields thumbnail_deleted.',
      factParams('thumbnail_id'),
      { 200: ref('Thumbnail') },
    ),
    config: INTAKE_ROUTE,
  }, async (request) => {
    const fact = factRequest(request);
    const { site_id, thumbnail_id } = request.params;
    return thumbnailJson(await lifecycle.thumbnail(site_id, thumbnail_id, 'delete', fact));
  });
}
