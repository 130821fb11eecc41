// hookline listen: a local receiver for developers. It verifies every delivery, prints it on
// one line, and answers as told (200, a failure to watch retries, or what the forwarded-to app
// answers). With --register it creates a webhook pointing at itself and deletes it on exit.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EVENT_NAMES, ID_FIELDS } from '../catalog/events.js';
import { ConfigError } from '../config.js';
import { verify, type Scheme } from '../signing/verify.js';
import { intFlag, out, urlFlag } from './args.js';
import { ApiClient, DEFAULT_URL, fetchFailure } from './client.js';
import { defineCommand } from './command.js';

const NO_SECRET = `hookline listen needs the webhook's secret to verify deliveries. Either
  - pass --secret whsec_… (or set HOOKLINE_WEBHOOK_SECRET): Hookline shows a webhook's secret
    once, in the answer to its creation (POST /v2/webhooks/); a new one comes from
    POST /v2/webhooks/{id}/rotate_secret/;
  - or pass --register --site <site_id> with an account key (--key or HOOKLINE_API_KEY):
    listen then creates a webhook pointing at itself, uses its secret, and deletes it on exit.`;

interface Behaviour {
  secrets: string[];
  status: number | undefined;
  failRate: number;
  forwardTo: URL | undefined;
}

const PORT = '9000';
const HOST = '127.0.0.1';

export const listen = defineCommand({
  summary: 'run a local receiver that verifies and prints deliveries',
  synopsis: ['[options]'],
  description: `Runs a receiver on this machine that verifies every delivery (Standard Webhooks signature and
timestamp, and the JWT), prints it, and answers 200. Unverified deliveries get a 401.`,
  flags: {
    port: { type: 'string', value: 'n', doc: 'Where to listen; 0 picks a free port.', default: PORT },
    host: { type: 'string', value: 'address', doc: 'The address to listen on.', default: HOST },
    secret: {
      type: 'string', multiple: true, value: 'whsec_…', env: ['HOOKLINE_WEBHOOK_SECRET'],
      doc: "The webhook's secret (the variable takes a comma-separated list). Give it twice during a rotation: --secret <new> --secret <old>.",
    },
    status: { type: 'string', value: 'code', doc: 'Answer this status instead of 200 (e.g. 500, to watch retries).' },
    'fail-rate': { type: 'string', value: '0..1', doc: 'Answer a failure (--status, or 500) to this share of deliveries.' },
    'forward-to': { type: 'string', value: 'url', doc: 'Relay verified deliveries, headers and body as received, to your app, and answer what it answers.' },
    register: {
      type: 'boolean',
      doc: 'Create a webhook pointing here, verify with its secret, and delete it on exit. Needs --site, an account key, and a server started with --dev.',
    },
    site: { type: 'string', value: 'site_id', doc: "With --register: the webhook's property." },
    events: { type: 'string', value: 'a,b,…', doc: 'With --register: its events.', default: `all ${EVENT_NAMES.length}` },
    url: { type: 'string', value: 'url', doc: 'With --register: the server.', env: ['HOOKLINE_URL'], default: DEFAULT_URL },
    key: { type: 'string', value: 'key', doc: 'With --register: an account API key.', env: ['HOOKLINE_API_KEY'] },
  },
  async run({ values }) {
    const port = intFlag('port', values.port ?? PORT, 0, 65535);
    const failRate = values['fail-rate'] === undefined ? 0 : Number(values['fail-rate']);
    if (!(failRate >= 0 && failRate <= 1)) throw new ConfigError(`--fail-rate: expected a number from 0 to 1, got "${values['fail-rate']}"`);
    const behaviour: Behaviour = {
      secrets: values.secret ?? process.env.HOOKLINE_WEBHOOK_SECRET?.split(',').map((s) => s.trim()).filter(Boolean) ?? [],
      status: values.status === undefined ? undefined : intFlag('status', values.status, 200, 599),
      failRate,
      forwardTo: values['forward-to'] === undefined ? undefined : urlFlag('forward-to', values['forward-to']),
    };
    const events = values.events?.split(',').map((e) => e.trim()).filter(Boolean) ?? [...EVENT_NAMES];
    const unknown = events.filter((e) => !EVENT_NAMES.includes(e));
    if (unknown.length > 0) throw new ConfigError(`--events: unknown ${unknown.join(', ')}; the events are: ${EVENT_NAMES.join(', ')}`);
    if (values.register && !values.site) throw new ConfigError('--register needs --site <site_id>: the property whose events to receive');
    const apiKey = values.key ?? process.env.HOOKLINE_API_KEY;
    if (values.register && !apiKey) throw new Error('--register needs an account API key: pass --key or set HOOKLINE_API_KEY (`hookline start` prints the default account\'s at first start)');
    if (!values.register && behaviour.secrets.length === 0) throw new Error(NO_SECRET);

    const server = createServer((req, res) => void receive(req, res, behaviour));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, values.host ?? HOST, resolve);
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const localUrl = `http://${/^(0\.0\.0\.0|\[::\])$/.test(host) ? '127.0.0.1' : host}:${address.port}/`;

    let registered: { api: ApiClient; id: string } | undefined;
    if (values.register) {
      const api = new ApiClient(values.url ?? process.env.HOOKLINE_URL ?? DEFAULT_URL, apiKey!, 'HOOKLINE_API_KEY');
      let hook: { id: string; secret: string };
      try {
        hook = await api.call('POST', '/v2/webhooks/', {
          metadata: { name: `hookline listen on ${localUrl}`, description: 'made by hookline listen; deleted when it stops', webhook_url: localUrl, events, site_ids: [values.site] },
        });
      } catch (err) {
        server.close();
        const hint = /webhook_url/.test((err as Error).message) ? ' (listen registers an http:// URL on this machine: start the server with --dev)' : '';
        throw new Error(`could not register a webhook: ${(err as Error).message}${hint}`);
      }
      registered = { api, id: hook.id };
      behaviour.secrets = [hook.secret];
      out(`Registered webhook ${hook.id} for ${events.length === EVENT_NAMES.length ? 'all events' : events.join(', ')} on property ${values.site}; it is deleted when listen stops.`);
      out(`Its secret, for this session: ${hook.secret}`);
    }
    const answer = behaviour.status !== undefined || behaviour.failRate > 0
      ? `answering ${behaviour.failRate > 0 ? `${behaviour.status ?? 500} to ${Math.round(behaviour.failRate * 100)} % of deliveries` : behaviour.status}`
      : behaviour.forwardTo ? `forwarding to ${behaviour.forwardTo.href}` : 'answering 200';
    out(`Listening on ${localUrl} (verifying with ${behaviour.secrets.length} ${behaviour.secrets.length === 1 ? 'secret' : 'secrets'}, ${answer}). Ctrl-C stops.`);

    let stopping = false;
    const stop = async () => {
      if (stopping) return;
      stopping = true;
      server.closeAllConnections();
      server.close();
      if (registered) {
        try {
          await registered.api.call('DELETE', `/v2/webhooks/${registered.id}/`);
          out(`Deleted webhook ${registered.id}.`);
        } catch (err) {
          process.stderr.write(`hookline: could not delete webhook ${registered.id}: ${(err as Error).message}\n`);
          process.exit(1);
        }
      }
      process.exit(0);
    };
    process.on('SIGINT', () => void stop());
    process.on('SIGTERM', () => void stop());
  },
});

const MAX_BODY = 1024 * 1024;

async function receive(req: IncomingMessage, res: ServerResponse, behaviour: Behaviour): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) {
      res.writeHead(413).end('body too large');
      out(`${clock()} ✘ ${req.method} ${req.url}: body over ${MAX_BODY} bytes → 413`);
      return;
    }
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const text = body.toString('utf8');
  const described = describe(text, req.headers['webhook-id']);

  const hasJwt = Boolean(req.headers.authorization);
  const hasStandard = Boolean(req.headers['webhook-signature'] ?? req.headers['svix-signature']);
  const scheme: Scheme = hasJwt && hasStandard ? 'both' : hasJwt ? 'jwt' : 'standard';
  try {
    verify(body, req.headers, behaviour.secrets, { scheme });
  } catch (err) {
    const reason = (err as Error).message;
    const hint = /JWT's signature/.test(reason) && behaviour.secrets.length === 1 ? ' (during a rotation, give both secrets: --secret <new> --secret <old>)' : '';
    res.writeHead(401, { 'content-type': 'text/plain' }).end(`not verified: ${reason}\n`);
    out(`${clock()} ✘ ${described} NOT VERIFIED: ${reason}${hint} → 401`);
    return;
  }
  const verified = scheme === 'both' ? 'verified (Standard Webhooks + JWT)' : scheme === 'jwt' ? 'verified (JWT only: no timestamp)' : 'verified (Standard Webhooks)';

  const failing = behaviour.failRate > 0 ? Math.random() < behaviour.failRate : behaviour.status !== undefined;
  if (failing) {
    const status = behaviour.status ?? 500;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`hookline listen answers ${status}\n`);
    out(`${clock()} ✔ ${described} ${verified} ${latency(text)}→ ${status} (as asked)`);
    return;
  }
  if (!behaviour.forwardTo) {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    out(`${clock()} ✔ ${described} ${verified} ${latency(text)}→ 200`);
    return;
  }
  const started = performance.now();
  try {
    const relayed = await fetch(behaviour.forwardTo, { method: 'POST', headers: relayHeaders(req), body, signal: AbortSignal.timeout(10_000) });
    const answer = Buffer.from(await relayed.arrayBuffer());
    res.writeHead(relayed.status, { 'content-type': relayed.headers.get('content-type') ?? 'text/plain' }).end(answer);
    out(`${clock()} ✔ ${described} ${verified} ${latency(text)}→ forwarded: ${relayed.status} in ${Math.round(performance.now() - started)} ms`);
  } catch (err) {
    const cause = fetchFailure(err);
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`could not forward to ${behaviour.forwardTo.href}: ${cause}\n`);
    out(`${clock()} ✔ ${described} ${verified} ${latency(text)}→ 502: could not forward to ${behaviour.forwardTo.href} (${cause})`);
  }
}

/** The content and signature headers, as received; hop-by-hop ones stay here. */
function relayHeaders(req: IncomingMessage): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of ['content-type', 'user-agent', 'authorization', 'webhook-id', 'webhook-timestamp', 'webhook-signature', 'svix-id', 'svix-timestamp', 'svix-signature']) {
    const value = req.headers[name];
    if (typeof value === 'string') kept[name] = value;
  }
  return kept;
}

/** "media_available media_id=… site_id=… webhook_id=… msg_…", from a body that may not be JSON. */
function describe(text: string, msgId: string | string[] | undefined): string {
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parts = typeof json?.event === 'string' ? [json.event] : ['(not a JWP event)'];
  for (const field of [...ID_FIELDS, 'site_id', 'webhook_id']) if (typeof json?.[field] === 'string') parts.push(`${field}=${json[field]}`);
  if (typeof msgId === 'string') parts.push(msgId);
  return parts.join(' ');
}

/** Time since the event (event_time has whole seconds, so this may read up to 1 s high). */
function latency(text: string): string {
  try {
    const ms = Date.now() - Date.parse(JSON.parse(text).event_time);
    return Number.isFinite(ms) ? `latency ${(Math.max(ms, 0) / 1000).toFixed(1)}s ` : '';
  } catch {
    return '';
  }
}

const clock = () => new Date().toISOString().slice(11, 19);
