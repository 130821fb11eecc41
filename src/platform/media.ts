// The media lifecycle: given what is known of one media and a new fact about it, which of JWP's
// events follow. Pure: no I/O, time comes in as `now`.
//
// JWP's rules (docs/jwp-events.md, with Hookline's readings of them), as decided here:
// - media_created on creation; media_updated when an update really changes the media's metadata;
//   media_reuploaded when a reupload is initiated; media_deleted on delete, after which the media
//   takes no more facts.
// - media_available is decided once per upload (the first, and each reupload), at the moment that
//   upload makes the media publishable (a ready thumbnail and at least one of its renditions
//   finished): sent, unless the publish start date is then in the future, in which case it is not
//   sent for that upload ("no Media Available notification will be sent").
// - conversions_complete once in the media's life, when a thumbnail is ready and every rendition
//   of the first upload is done; a reupload that comes before that means it is never sent.
import { createHash } from 'node:crypto';
import { accept, refuse, type Decision, type Emitted } from './decision.js';

/** Whether a once-only event is still to come, was sent, or will never be sent. */
export type Once = 'pending' | 'sent' | 'never';

export interface MediaState {
  deleted: boolean;
  /** Epoch ms, or null when the media has none. */
  publishStart: number | null;
  /**
   * A fingerprint of each other metadata field that is set (title, tags, custom_params…): what
   * tells a real update from a repeat, without keeping the platform's text.
   */
  fields: Record<string, string>;
  reuploads: number;
  /** The renditions of the current upload, in the order they were announced. */
  renditions: { id: string; ready: boolean }[];
  thumbnails: { id: string; status: 'processing' | 'ready' | 'deleted' }[];
  tracks: { id: string; deleted: boolean }[];
  /** For the current upload: the first, or the latest reupload. */
  mediaAvailable: Once;
  /** For the first upload only. */
  conversionsComplete: Once;
}

/** A metadata field's new value, as JSON; null clears the field. */
export type FieldValues = Record<string, unknown>;

export type MediaFact =
  | { kind: 'create'; publishStart: number | null; fields: FieldValues; renditions: string[] }
  /** `publishStart` undefined leaves the date as it is; null clears it. A field left out stays as it is. */
  | { kind: 'update'; publishStart?: number | null; fields: FieldValues }
  /** `renditions` undefined: the reupload produces the same renditions as before. */
  | { kind: 'reupload'; renditions?: string[] }
  | { kind: 'delete' }
  | { kind: 'rendition_ready'; renditionId: string }
  | { kind: 'thumbnail_create'; thumbnailId: string; ready: boolean }
  | { kind: 'thumbnail_ready'; thumbnailId: string }
  | { kind: 'thumbnail_delete'; thumbnailId: string }
  | { kind: 'track_create'; trackId: string }
  | { kind: 'track_delete'; trackId: string };

/**
 * A media stored before a field was added gets its neutral value: `fields` came with JWP's
 * metadata (a media stored before had none set).
 */
export function storedMediaState(stored: unknown): MediaState {
  return { fields: {}, ...(stored as Omit<MediaState, 'fields'>) };
}

/** JSON with every object's keys in order: custom_params {a, b} and {b, a} are the same value. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v);
}

/** The fields after an update (or at creation, over none): a null value clears its field. */
function withFields(fields: Record<string, string>, values: FieldValues): Record<string, string> {
  const next = { ...fields };
  for (const [name, value] of Object.entries(values)) {
    if (value === null) delete next[name];
    else next[name] = createHash('sha256').update(canonical(value)).digest('base64url').slice(0, 22);
  }
  return next;
}

const sameFields = (a: Record<string, string>, b: Record<string, string>) =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([name, print]) => b[name] === print);

const hasReadyThumbnail = (s: MediaState) => s.thumbnails.some((t) => t.status === 'ready');

/** Publishable: JWP's "thumbnail ready, and at least one rendition processed". */
export const isPublishable = (s: MediaState) => hasReadyThumbnail(s) && s.renditions.some((r) => r.ready);

/** The once-only events that the new state makes due. */
function milestones(mediaId: string, s: MediaState, now: number): { state: MediaState; events: Emitted[] } {
  const events: Emitted[] = [];
  let state = s;
  if (state.mediaAvailable === 'pending' && isPublishable(state)) {
    const embargoed = state.publishStart !== null && state.publishStart > now;
    state = { ...state, mediaAvailable: embargoed ? 'never' : 'sent' };
    if (!embargoed) events.push({ event: 'media_available', ids: { media_id: mediaId } });
  }
  if (state.conversionsComplete === 'pending' && hasReadyThumbnail(state) && state.renditions.every((r) => r.ready)) {
    state = { ...state, conversionsComplete: 'sent' };
    events.push({ event: 'conversions_complete', ids: { media_id: mediaId } });
  }
  return { state, events };
}

export function applyMediaFact(mediaId: string, state: MediaState | undefined, fact: MediaFact, now: number): Decision<MediaState> {
  const media = (event: string): Emitted => ({ event, ids: { media_id: mediaId } });

  if (fact.kind === 'create') {
    if (state) return refuse(409, 'already_exists', `media ${mediaId} already exists${state.deleted ? ' (it was deleted; ids are not reused)' : ''}`);
    const created: MediaState = {
      deleted: false,
      publishStart: fact.publishStart,
      fields: withFields({}, fact.fields),
      reuploads: 0,
      renditions: fact.renditions.map((id) => ({ id, ready: false })),
      thumbnails: [],
      tracks: [],
      mediaAvailable: 'pending',
      conversionsComplete: 'pending',
    };
    return accept(created, [media('media_created')]);
  }
  if (!state) return refuse(404, 'not_found', `media ${mediaId} not found`);
  if (state.deleted) return refuse(409, 'media_deleted', `media ${mediaId} was deleted; it takes no more facts`);

  switch (fact.kind) {
    case 'update': {
      const publishStart = fact.publishStart === undefined ? state.publishStart : fact.publishStart;
      const fields = withFields(state.fields, fact.fields);
      // An update that leaves every field as it was changes nothing, and says nothing.
      if (publishStart === state.publishStart && sameFields(fields, state.fields)) return accept(state);
      return accept({ ...state, publishStart, fields }, [media('media_updated')]);
    }
    case 'reupload': {
      const ids = fact.renditions ?? state.renditions.map((r) => r.id);
      const next: MediaState = {
        ...state,
        reuploads: state.reuploads + 1,
        renditions: ids.map((id) => ({ id, ready: false })),
        // The reupload is judged on its own: media_available once more, when it makes the media publishable.
        mediaAvailable: 'pending',
        conversionsComplete: state.conversionsComplete === 'pending' ? 'never' : state.conversionsComplete,
      };
      return accept(next, [media('media_reuploaded')]);
    }
    case 'delete':
      return accept({ ...state, deleted: true }, [media('media_deleted')]);
    case 'rendition_ready': {
      const rendition = state.renditions.find((r) => r.id === fact.renditionId);
      if (!rendition) {
        const known = state.renditions.map((r) => r.id).join(', ');
        return refuse(404, 'not_found', `media ${mediaId} has no rendition ${fact.renditionId}; its renditions are ${known}`);
      }
      if (rendition.ready) return accept(state);
      const next = { ...state, renditions: state.renditions.map((r) => (r.id === fact.renditionId ? { ...r, ready: true } : r)) };
      const due = milestones(mediaId, next, now);
      return accept(due.state, due.events);
    }
    case 'thumbnail_create': {
      if (state.thumbnails.some((t) => t.id === fact.thumbnailId)) {
        return refuse(409, 'already_exists', `thumbnail ${fact.thumbnailId} already exists`);
      }
      const next: MediaState = {
        ...state,
        thumbnails: [...state.thumbnails, { id: fact.thumbnailId, status: fact.ready ? 'ready' : 'processing' }],
      };
      const due = milestones(mediaId, next, now);
      return accept(due.state, [{ event: 'thumbnail_created', ids: { thumbnail_id: fact.thumbnailId, media_id: mediaId } }, ...due.events]);
    }
    case 'thumbnail_ready':
    case 'thumbnail_delete': {
      const thumbnail = state.thumbnails.find((t) => t.id === fact.thumbnailId);
      if (!thumbnail) return refuse(404, 'not_found', `thumbnail ${fact.thumbnailId} not found on media ${mediaId}`);
      if (thumbnail.status === 'deleted') return refuse(409, 'thumbnail_deleted', `thumbnail ${fact.thumbnailId} was deleted`);
      if (fact.kind === 'thumbnail_ready') {
        if (thumbnail.status === 'ready') return accept(state);
        const next = { ...state, thumbnails: state.thumbnails.map((t) => (t.id === fact.thumbnailId ? { ...t, status: 'ready' as const } : t)) };
        const due = milestones(mediaId, next, now);
        return accept(due.state, due.events);
      }
      const next = { ...state, thumbnails: state.thumbnails.map((t) => (t.id === fact.thumbnailId ? { ...t, status: 'deleted' as const } : t)) };
      return accept(next, [{ event: 'thumbnail_deleted', ids: { thumbnail_id: fact.thumbnailId, media_id: mediaId } }]);
    }
    case 'track_create': {
      if (state.tracks.some((t) => t.id === fact.trackId)) return refuse(409, 'already_exists', `text track ${fact.trackId} already exists`);
      const next = { ...state, tracks: [...state.tracks, { id: fact.trackId, deleted: false }] };
      return accept(next, [{ event: 'track_created', ids: { track_id: fact.trackId, media_id: mediaId } }]);
    }
    case 'track_delete': {
      const track = state.tracks.find((t) => t.id === fact.trackId);
      if (!track) return refuse(404, 'not_found', `text track ${fact.trackId} not found on media ${mediaId}`);
      if (track.deleted) return refuse(409, 'track_deleted', `text track ${fact.trackId} was deleted`);
      const next = { ...state, tracks: state.tracks.map((t) => (t.id === fact.trackId ? { ...t, deleted: true } : t)) };
      return accept(next, [{ event: 'track_deleted', ids: { track_id: fact.trackId, media_id: mediaId } }]);
    }
  }
}
