// JWP's 13 webhook events, as its documentation lists them (docs/jwp-events.md says it in our words).
// `leadingIds` stand right after "event" in the body; `trailingIds` after "event_time"
// (thumbnail and track events carry media_id last, as in JWP's examples).

export type IdField = 'media_id' | 'channel_id' | 'thumbnail_id' | 'track_id';
export const ID_FIELDS: readonly IdField[] = ['media_id', 'channel_id', 'thumbnail_id', 'track_id'];

export interface EventType {
  name: string;
  title: string;
  description: string;
  group: 'media' | 'live_channel';
  leadingIds: readonly IdField[];
  trailingIds: readonly IdField[];
  /** JWP's own example payload, verbatim. */
  example: Record<string, string>;
}

const media = (name: string, title: string, description: string, example: Record<string, string>): EventType => ({
  name, title, description, group: 'media', leadingIds: ['media_id'], trailingIds: [], example,
});
const channel = (name: string, title: string, description: string, example: Record<string, string>): EventType => ({
  name, title, description, group: 'live_channel', leadingIds: ['channel_id'], trailingIds: [], example,
});
const child = (id: IdField, name: string, title: string, description: string, example: Record<string, string>): EventType => ({
  name, title, description, group: 'media', leadingIds: [id], trailingIds: ['media_id'], example,
});

export const EVENT_TYPES: readonly EventType[] = [
  media('conversions_complete', 'Conversions Complete',
    "Notification sent when both the thumbnail is ready and all initial video renditions have been processed. Only fired for the first media upload, not when the media's original is replaced through a reupload.",
    { event: 'conversions_complete', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T00:20:57+00:00' }),
  channel('channel_active', 'Live Channel is Active', 'Notification sent when a Live Channel enters an active state.',
    { event: 'channel_active', channel_id: 'YijbmYHJ', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-29T03:01:24+00:00' }),
  channel('channel_idle', 'Live Channel is Idle', 'Notification sent when a Live Channel enters an idle state.',
    { event: 'channel_idle', channel_id: 't8JLGRl9', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-29T03:00:34+00:00' }),
  media('media_available', 'Media Available',
    'Notification sent when media is first publishable and indexed: the thumbnail is ready, but not all video renditions may have finished processing. Not sent if the publish start date is in the future.',
    { event: 'media_available', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T00:15:45+00:00' }),
  media('media_created', 'Media Created', 'Notification sent when media has been first uploaded.',
    { event: 'media_created', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T00:13:10+00:00' }),
  media('media_deleted', 'Media Deleted', 'Notification sent when media has been deleted.',
    { event: 'media_deleted', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T01:14:01+00:00' }),
  media('media_reuploaded', 'Media Reuploaded',
    'Notification sent when a media has been reuploaded: the point at which the reupload has been initiated, not when it has been fully processed.',
    { event: 'media_reuploaded', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T01:09:24+00:00' }),
  media('media_updated', 'Media Updated', 'Notification sent when a media is updated.',
    { event: 'media_updated', media_id: 'MNYaMSQl', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T01:05:28+00:00' }),
  channel('channel_created', 'New Live Channel Created', 'Notification sent when a Live Channel is created.',
    { event: 'channel_created', channel_id: 'YijbmYHJ', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-29T02:59:57+00:00' }),
  child('thumbnail_id', 'thumbnail_created', 'Thumbnail Created', 'Notification sent when a thumbnail is created.',
    { event: 'thumbnail_created', thumbnail_id: 'k9x00iro', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T00:13:25+00:00', media_id: 'MNYaMSQl' }),
  child('thumbnail_id', 'thumbnail_deleted', 'Thumbnail Deleted', 'Notification sent when a thumbnail is deleted.',
    { event: 'thumbnail_deleted', thumbnail_id: 'sl5swh3z', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T01:14:01+00:00', media_id: 'MNYaMSQl' }),
  child('track_id', 'track_created', 'Track Created', 'Notification sent when a text track is created.',
    { event: 'track_created', track_id: 'VHsQNYq9', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T00:58:57+00:00', media_id: 'MNYaMSQl' }),
  child('track_id', 'track_deleted', 'Track Deleted', 'Notification sent when a text track is deleted.',
    { event: 'track_deleted', track_id: 'VHsQNYq9', webhook_id: '2yW4KmiG', site_id: '9KboGBFu', event_time: '2024-08-27T01:02:03+00:00', media_id: 'MNYaMSQl' }),
];

export const EVENT_NAMES: readonly string[] = EVENT_TYPES.map((e) => e.name);
const BY_NAME = new Map(EVENT_TYPES.map((e) => [e.name, e]));

export function eventType(name: string): EventType | undefined {
  return BY_NAME.get(name);
}

/** The id fields an event of this type requires, in body order. */
export function requiredIds(type: EventType): IdField[] {
  return [...type.leadingIds, ...type.trailingIds];
}
