// One sentence per event: which platform fact makes Hookline send it. GET /v2/event_types/
// serves each as the event's `rule`, and the dashboard's Events page shows it beside the event;
// the README's facts section and docs/jwp-events.md say the same at length.
export const EVENT_RULES: Readonly<Record<string, string>> = {
  media_created: 'Sent when the platform reports a new media (POST /v2/sites/{site_id}/media/).',
  media_updated: 'Sent when a reported update really changes the media\'s metadata (PATCH …/media/{media_id}/); an update that changes nothing sends nothing.',
  media_reuploaded: 'Sent when a reupload is initiated (PUT …/media/{media_id}/reupload/), not when it is processed.',
  media_deleted: 'Sent when the media is deleted; the media takes no more facts afterwards.',
  media_available:
    'Sent once per upload (the first, and each reupload), when it gives the media a ready thumbnail and at least one finished rendition; not if the publish start date is then in the future.',
  conversions_complete:
    'Sent once, when a thumbnail is ready and every rendition of the first upload has finished, in whatever order; never after a reupload.',
  thumbnail_created: 'Sent when a thumbnail is created for the media (POST …/thumbnails/).',
  thumbnail_deleted: 'Sent when a thumbnail is deleted (DELETE …/thumbnails/{thumbnail_id}/).',
  track_created: 'Sent when a text track is created (POST …/media/{media_id}/text_tracks/).',
  track_deleted: 'Sent when a text track is deleted (DELETE …/media/{media_id}/text_tracks/{track_id}/).',
  channel_created: 'Sent when a live channel is created (POST …/channels/); a new channel is idle.',
  channel_active: 'Sent when a live channel goes from idle to active; a repeated "active" sends nothing.',
  channel_idle: 'Sent when a live channel goes from active to idle; a repeated "idle" sends nothing.',
};
