// hookline trigger: reports a sample event to the running server's intake, as the platform
// would, so that every webhook subscribed to it gets a delivery.
import { parseArgs } from 'node:util';
import { EVENT_NAMES, eventType, type IdField } from '../catalog/events.js';
import { sampleIds } from '../catalog/sample.js';
import { ConfigError } from '../config.js';
import { out, parsingFlags } from './args.js';
import { ApiClient, DEFAULT_URL } from './client.js';

export const summary = 'send a sample event through the running server';

export const usage = `Usage: hookline trigger <event> [options]

Reports a sample event to the running server (POST /v2/sites/{site}/events/, operator key),
so that every webhook subscribed to it gets a delivery. Ids not given are generated in JWP's
8-character shape.

Events: ${EVENT_NAMES.join(', ')}

Options:
  --site <site_id>        the property (default: the only one, if there is one)
  --media-id <id>         --channel-id <id>   --thumbnail-id <id>   --track-id <id>
  --event-time <iso>      when it happened (default: now), e.g. 2024-08-27T00:13:25+00:00
  --url <url>             the server (HOOKLINE_URL, default ${DEFAULT_URL})
  --key <key>             the operator key (HOOKLINE_OPERATOR_KEY)
`;

const ID_FLAGS: Record<string, IdField> = { 'media-id': 'media_id', 'channel-id': 'channel_id', 'thumbnail-id': 'thumbnail_id', 'track-id': 'track_id' };

export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parsingFlags(() => parseArgs({ args: argv, strict: true, allowPositionals: true, options: {
    site: { type: 'string' },
    'media-id': { type: 'string' },
    'channel-id': { type: 'string' },
    'thumbnail-id': { type: 'string' },
    'track-id': { type: 'string' },
    'event-time': { type: 'string' },
    url: { type: 'string' },
    key: { type: 'string' },
  } }));
  if (positionals.length !== 1) throw new ConfigError(positionals.length === 0 ? 'which event? name one' : `one event at a time, not ${positionals.join(' ')}`);
  const type = eventType(positionals[0]!);
  if (!type) throw new ConfigError(`unknown event "${positionals[0]}"; the events are: ${EVENT_NAMES.join(', ')}`);
  const key = values.key ?? process.env.HOOKLINE_OPERATOR_KEY;
  if (!key) {
    throw new Error('trigger reports events with the operator key: pass --key or set HOOKLINE_OPERATOR_KEY (`hookline start` prints it at first start)');
  }
  const api = new ApiClient(values.url ?? process.env.HOOKLINE_URL ?? DEFAULT_URL, key, 'HOOKLINE_OPERATOR_KEY');
  const site = values.site ?? (await onlySite(api));

  const given: Partial<Record<IdField, string>> = {};
  for (const [flag, field] of Object.entries(ID_FLAGS)) {
    const value = values[flag as keyof typeof values];
    if (typeof value === 'string') given[field] = value;
  }
  // Ids the event does not take are sent too: the server's refusal names them.
  const ids = { ...sampleIds(type, given), ...given };
  const body = { event: type.name, ...ids, ...(values['event-time'] ? { event_time: values['event-time'] } : {}) };
  const res = await api.call<{ id: string; deliveries: number }>('POST', `/v2/sites/${site}/events/`, body);

  const idText = Object.entries(ids).map(([k, v]) => `${k}=${v}`).join(' ');
  const count = `${res.deliveries} ${res.deliveries === 1 ? 'delivery' : 'deliveries'}`;
  out(`${type.name} on property ${site} (${idText}): event ${res.id}, ${count}`);
  if (res.deliveries === 0) out(`No webhook listens to ${type.name} on property ${site}.`);
}

/** Without --site: the only property there is, or a question naming them. */
async function onlySite(api: ApiClient): Promise<string> {
  const { sites } = await api.call<{ sites: { id: string; name: string }[] }>('GET', '/v2/sites/');
  if (sites.length === 1) return sites[0]!.id;
  if (sites.length === 0) throw new Error('there is no property yet: create one (POST /v2/sites/) and pass --site');
  throw new ConfigError(`which property? pass --site, one of: ${sites.map((s) => `${s.id} (${s.name})`).join(', ')}`);
}
