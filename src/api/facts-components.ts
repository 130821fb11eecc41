// The named response shapes of the platform's facts (POST/PATCH /v2/sites/{site_id}/media/ and
// their renditions, thumbnails, text tracks, and live channels), registered with the others in
// components.ts (kept apart so that no file grows past its size).
import { yieldedEvents } from './facts.js';

const string = { type: 'string' } as const;
const integer = { type: 'integer' } as const;
const nullable = <T extends string>(type: T) => ({ type: [type, 'null'] }) as const;

/** The platform facts' objects below all list the events the fact yielded. */
const facts = { events: yieldedEvents } as const;

const statusList = <S extends string>(statuses: S[]) => ({
  type: 'array',
  items: { type: 'object', required: ['id', 'status'], properties: { id: string, status: { type: 'string', enum: statuses } } },
}) as const;
const once = { type: 'string', enum: ['pending', 'sent', 'never'] } as const;

export const Media = {
  $id: 'Media',
  description: 'A media, as the platform reported it.',
  type: 'object',
  required: ['id', 'type', 'status', 'metadata', 'renditions', 'thumbnails', 'text_tracks', 'reuploads', 'media_available', 'conversions_complete', 'events'],
  properties: {
    id: string,
    type: { type: 'string', const: 'media' },
    status: { type: 'string', enum: ['processing', 'publishable', 'deleted'] },
    metadata: { type: 'object', required: ['publish_start_date'], properties: { publish_start_date: nullable('string') } },
    renditions: statusList(['processing', 'ready']),
    thumbnails: statusList(['processing', 'ready', 'deleted']),
    text_tracks: statusList(['created', 'deleted']),
    reuploads: integer,
    media_available: once,
    conversions_complete: once,
    ...facts,
  },
} as const;

const mediaChild = <I extends string, T extends string, S extends string>($id: I, type: T, statuses: S[]) => ({
  $id,
  type: 'object',
  required: ['id', 'type', 'media_id', 'status', 'events'],
  properties: { id: string, type: { type: 'string', const: type }, media_id: string, status: { type: 'string', enum: statuses }, ...facts },
}) as const;

export const MediaRendition = mediaChild('MediaRendition', 'media_rendition', ['ready']);
export const TextTrack = mediaChild('TextTrack', 'text_track', ['created', 'deleted']);
export const Thumbnail = mediaChild('Thumbnail', 'thumbnail', ['processing', 'ready', 'deleted']);

export const Channel = {
  $id: 'Channel',
  description: 'A live channel.',
  type: 'object',
  required: ['id', 'type', 'status', 'events'],
  properties: { id: string, type: { type: 'string', const: 'channel' }, status: { type: 'string', enum: ['idle', 'active'] }, ...facts },
} as const;
