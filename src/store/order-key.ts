// Which deliveries a webhook with ordering "per_media" holds one at a time: those of one media
// (its media_id; a thumbnail's or a track's event names its media too) or, for live-channel
// events, of one channel. Set at intake on deliveries.order_key, so that whoever owns the webhook
// next (after a restart, on another node) reads the same keys: '' for an event without either id
// (unordered, but on the ordered path), NULL for every delivery of an unordered webhook.
import type { EventFacts } from '../catalog/payload.js';

/** The key of an event's deliveries to an ordered webhook; '' when it has no media nor channel. */
export function orderKeyOf(facts: Pick<EventFacts, 'event' | 'ids'>): string {
  if (facts.event.startsWith('channel_') && facts.ids.channel_id !== undefined) return `channel:${facts.ids.channel_id}`;
  if (facts.ids.media_id !== undefined) return `media:${facts.ids.media_id}`;
  return '';
}

/** deliveries.order_key as the engine keeps it: null when the delivery is not held by any key. */
export const orderKeyFrom = (column: string | null | undefined): string | null => (column ? column : null);
