// hookline trigger: reports a sample event to the running server's intake, as the platform
// would, so that every webhook subscribed to it gets a delivery. With --simulate, reports the
// first fact of a media or channel story, and the server plays the rest (src/platform/).
import { EVENT_NAMES, eventType, type IdField } from '../catalog/events.js';
import { sampleIds } from '../catalog/sample.js';
import { ConfigError } from '../config.js';
import { out } from './args.js';
import { ApiClient, DEFAULT_URL } from './client.js';
import { defineCommand, wrap } from './command.js';

const ID_FLAGS = { 'media-id': 'media_id', 'channel-id': 'channel_id', 'thumbnail-id': 'thumbnail_id', 'track-id': 'track_id' } as const;

type Flags = Partial<Record<keyof typeof ID_FLAGS | 'site' | 'event-time' | 'url' | 'key' | 'simulate', string>>;

interface Story {
  /** A flag the story cannot do without. */
  needs?: keyof Flags;
  /** The first fact, through the facts API. */
  request(site: string, flags: Flags): { method: string; path: string; body: Record<string, unknown> };
  /** What the server plays afterwards. */
  next: string;
}

const STORIES: Record<string, Story> = {
  upload: {
    request: (site, f) => ({ method: 'POST', path: `/v2/sites/${site}/media/`, body: f['media-id'] ? { id: f['media-id'] } : {} }),
    next: 'thumbnail_created, media_available and conversions_complete',
  },
  reupload: {
    needs: 'media-id',
    request: (site, f) => ({ method: 'PUT', path: `/v2/sites/${site}/media/${encodeURIComponent(f['media-id']!)}/reupload/`, body: {} }),
    next: 'its renditions (and media_available with the first, if the media has a ready thumbnail)',
  },
  channel: {
    request: (site, f) => ({ method: 'POST', path: `/v2/sites/${site}/channels/`, body: f['channel-id'] ? { id: f['channel-id'] } : {} }),
    next: 'channel_active and channel_idle',
  },
};

export const trigger = defineCommand({
  summary: 'send a sample event through the running server',
  synopsis: ['<event> [options]', '--simulate upload|reupload|channel [options]'],
  description: `Reports a sample event to the running server (POST /v2/sites/{site}/events/, operator key),
so that every webhook subscribed to it gets a delivery. Ids not given are generated in JWP's
8-character shape.

With --simulate, reports the first fact of a story instead, and the server plays the rest by
JWP's rules, one step every HOOKLINE_SIMULATION_STEP: an upload (media_created,
thumbnail_created, media_available, conversions_complete), a reupload of --media-id
(media_reuploaded, then media_available once it is publishable again), or a live channel
(channel_created, channel_active, channel_idle).`,
  flags: {
    site: { type: 'string', value: 'site_id', doc: 'The property.', default: 'the only one, if there is one' },
    'media-id': { type: 'string', value: 'id', doc: 'The media id.' },
    'channel-id': { type: 'string', value: 'id', doc: 'The live channel id.' },
    'thumbnail-id': { type: 'string', value: 'id', doc: 'The thumbnail id.' },
    'track-id': { type: 'string', value: 'id', doc: 'The text track id.' },
    'event-time': { type: 'string', value: 'iso', doc: 'When it happened, e.g. 2024-08-27T00:13:25+00:00.', default: 'now' },
    simulate: { type: 'string', value: 'story', doc: `Play a story: ${Object.keys(STORIES).join(', ')}.` },
    url: { type: 'string', value: 'url', doc: 'The server.', env: ['HOOKLINE_URL'], default: DEFAULT_URL },
    key: { type: 'string', value: 'key', doc: 'The operator key.', env: ['HOOKLINE_OPERATOR_KEY'] },
  },
  positionals: true,
  notes: wrap(`Events: ${EVENT_NAMES.join(', ')}`, 96).join('\n'),
  async run({ values, positionals }) {
    if (values.simulate !== undefined) {
      if (positionals.length > 0) throw new ConfigError(`--simulate plays its own events: name no event (got ${positionals.join(' ')})`);
      const story = STORIES[values.simulate];
      if (!story) throw new ConfigError(`--simulate: expected ${Object.keys(STORIES).join(', ')}, got "${values.simulate}"`);
      if (story.needs && !values[story.needs]) throw new ConfigError(`--simulate ${values.simulate} needs --${story.needs}`);
      const api = operatorApi(values);
      const site = values.site ?? (await onlySite(api));
      const { method, path, body } = story.request(site, values);
      const res = await api.call<{ id: string; type: string; events: { event: string }[] }>(method, path, { ...body, simulate: true });
      const now = res.events.map((e) => e.event).join(', ') || 'no event';
      out(`Simulating: ${res.type} ${res.id} on property ${site}: ${now} now; ${story.next} follow, one step every HOOKLINE_SIMULATION_STEP (1 s by default).`);
      return;
    }
    if (positionals.length !== 1) throw new ConfigError(positionals.length === 0 ? 'which event? name one' : `one event at a time, not ${positionals.join(' ')}`);
    const type = eventType(positionals[0]!);
    if (!type) throw new ConfigError(`unknown event "${positionals[0]}"; the events are: ${EVENT_NAMES.join(', ')}`);
    const api = operatorApi(values);
    const site = values.site ?? (await onlySite(api));

    const given: Partial<Record<IdField, string>> = {};
    for (const [flag, field] of Object.entries(ID_FLAGS)) {
      const value = values[flag as keyof typeof ID_FLAGS];
      if (value !== undefined) given[field] = value;
    }
    // Ids the event does not take are sent too: the server's refusal names them.
    const ids = { ...sampleIds(type, given), ...given };
    const body = { event: type.name, ...ids, ...(values['event-time'] ? { event_time: values['event-time'] } : {}) };
    const res = await api.call<{ id: string; deliveries: number }>('POST', `/v2/sites/${site}/events/`, body);

    const idText = Object.entries(ids).map(([k, v]) => `${k}=${v}`).join(' ');
    const count = `${res.deliveries} ${res.deliveries === 1 ? 'delivery' : 'deliveries'}`;
    out(`${type.name} on property ${site} (${idText}): event ${res.id}, ${count}`);
    if (res.deliveries === 0) out(`No webhook listens to ${type.name} on property ${site}.`);
  },
});

function operatorApi(flags: Flags): ApiClient {
  const key = flags.key ?? process.env.HOOKLINE_OPERATOR_KEY;
  if (!key) {
    throw new Error('trigger reports events with the operator key: pass --key or set HOOKLINE_OPERATOR_KEY (`hookline start` prints it at first start)');
  }
  return new ApiClient(flags.url ?? process.env.HOOKLINE_URL ?? DEFAULT_URL, key, 'HOOKLINE_OPERATOR_KEY');
}

/** Without --site: the only property there is, or a question naming them. */
async function onlySite(api: ApiClient): Promise<string> {
  const { sites } = await api.call<{ sites: { id: string; name: string }[] }>('GET', '/v2/sites/');
  if (sites.length === 1) return sites[0]!.id;
  if (sites.length === 0) throw new Error('there is no property yet: create one (POST /v2/sites/) and pass --site');
  throw new ConfigError(`which property? pass --site, one of: ${sites.map((s) => `${s.id} (${s.name})`).join(', ')}`);
}
