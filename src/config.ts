// Every setting in one table: its flag, its environment variables, its default and its parser.
// The README's settings table is this table; `hookline start --help` prints it. How flags are read
// (parseFlags), for `start` and the other commands alike, is here too.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatDuration, parseDuration, parseSchedule } from './delivery/schedule.js';
import { parseAllowList } from './security/ssrf.js';
import { parseSealingKey } from './security/sealing.js';

export class ConfigError extends Error {}

/** What a node does: serve the API, deliver, or both. */
export type Role = 'api' | 'worker' | 'all';

/** A shorter operator key could be guessed; `openssl rand -hex 32` gives a good one. */
export const MIN_OPERATOR_KEY_LENGTH = 32;

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  databasePool: number;
  databaseConnectTimeoutMs: number;
  databaseQueryTimeoutMs: number;
  role: Role;
  dev: boolean;
  operatorKey: string | undefined;
  operatorKeyFile: string | undefined;
  allowedTargets: string[];
  rateLimit: number;
  intakeRateLimit: number;
  sessionRateLimit: number;
  secretKey: string | undefined;
  retrySchedule: number[];
  retryJitter: number;
  requestTimeoutMs: number;
  nodeTimeoutMs: number;
  maxInFlight: number;
  accountMaxInFlight: number | undefined;
  endpointMaxInFlight: number;
  webhookMaxInFlightLimit: number;
  breakerThreshold: number;
  probeIntervalMs: number;
  autoDisableAfterMs: number;
  operatorWebhookUrl: string | undefined;
  operatorWebhookSecret: string | undefined;
  retentionMs: number;
  partitionIntervalMs: number;
  shutdownGraceMs: number;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  logLevel: string;
  propagateTrace: boolean;
  simulationStepMs: number;
  sessionTtlMs: number;
  publicUrl: string | undefined;
  portalFrameAncestors: string[];
}

interface Setting<K extends keyof Config> {
  key: K;
  flag: string;
  env: string[];
  default: Config[K];
  doc: string;
  parse: (raw: string) => Config[K];
  /** Flags that take no value (--dev). */
  boolean?: true;
}

const str = (raw: string) => raw;
const bool = (raw: string) => {
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(`expected true or false, got "${raw}"`);
};
const int = (min: number, max: number) => (raw: string) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new ConfigError(`expected a whole number from ${min} to ${max}, got "${raw}"`);
  return n;
};
const ratio = (raw: string) => {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new ConfigError(`expected a number from 0 to below 1, got "${raw}"`);
  return n;
};
const duration = (raw: string) => parseDuration(raw);
/** A database timeout: 0 would fail every call, and past an hour it no longer protects anything. */
const timeout = (raw: string) => {
  const ms = parseDuration(raw);
  if (ms < 100 || ms > 3_600_000) throw new ConfigError(`expected a duration from 100ms to 1h, got "${raw}"`);
  return ms;
};
/** A partition's interval: an hour at least (more partitions slow planning), 30 days at most. */
const partitionInterval = (raw: string) => {
  const ms = parseDuration(raw);
  if (ms < 3_600_000 || ms > 30 * 86_400_000) throw new ConfigError(`expected a duration from 1h to 30d, got "${raw}"`);
  return ms;
};
const targets = (raw: string) => {
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  parseAllowList(entries);
  return entries;
};
const url = (raw: string) => {
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) throw new ConfigError(`expected an http(s) URL, got "${raw}"`);
  return raw;
};
const publicUrl = (raw: string) => {
  const given = url(raw);
  const parsed = new URL(given);
  if (parsed.search || parsed.hash || parsed.username || parsed.password) throw new ConfigError(`expected an http(s) address without query, fragment or credentials, got "${raw}"`);
  return given.replace(/\/+$/, '');
};
/**
 * Origins as CSP's frame-ancestors takes them: scheme://host[:port], the host's first label
 * optionally `*` (any subdomain); no path, no 'self' or 'none' (those are the default's words).
 */
const frameAncestors = (raw: string) => {
  const entries = raw.split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const concrete = entry.replace('://*.', '://wildcard.');
    if (!URL.canParse(concrete) || !/^https?:$/.test(new URL(concrete).protocol) || new URL(concrete).origin !== concrete) {
      throw new ConfigError(`expected http(s) origins like https://console.example.com (no path), got "${entry}"`);
    }
  }
  return entries;
};
const signingSecret = (raw: string) => {
  if (!/^whsec_[A-Za-z0-9+/]{32,}={0,2}$/.test(raw.trim())) throw new ConfigError('expected a whsec_… secret (whsec_ and at least 24 bytes in base64)');
  return raw.trim();
};
const sealingKey = (raw: string) => {
  parseSealingKey(raw);
  return raw.trim();
};

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({ key: 'host', flag: '--host', env: ['HOOKLINE_HOST'], default: '127.0.0.1', parse: str, doc: 'Address the HTTP server listens on.' }),
  setting({ key: 'port', flag: '--port', env: ['HOOKLINE_PORT', 'PORT'], default: 8000, parse: int(0, 65535), doc: 'Port the HTTP server listens on (0 picks a free one).' }),
  setting({ key: 'dataDir', flag: '--data-dir', env: ['HOOKLINE_DATA_DIR'], default: './data', parse: str, doc: 'Folder of the embedded SQLite database.' }),
  setting({ key: 'databaseUrl', flag: '--database', env: ['DATABASE_URL'], default: undefined, parse: str, doc: 'postgres://… selects PostgreSQL instead of the embedded SQLite.' }),
  setting({ key: 'databasePool', flag: '--database-pool', env: ['HOOKLINE_DATABASE_POOL'], default: 10, parse: int(1, 1_000), doc: 'PostgreSQL connections this node keeps open at most (one more listens for changes).' }),
  setting({ key: 'databaseConnectTimeoutMs', flag: '--database-connect-timeout', env: ['HOOKLINE_DATABASE_CONNECT_TIMEOUT'], default: 5_000, parse: timeout, doc: 'PostgreSQL: how long opening a connection, or waiting for a free one in the pool, may take before the request answers 503 (or the engine backs off).' }),
  setting({ key: 'databaseQueryTimeoutMs', flag: '--database-query-timeout', env: ['HOOKLINE_DATABASE_QUERY_TIMEOUT'], default: 5_000, parse: timeout, doc: 'PostgreSQL: how long one call to the database (a statement, or a transaction such as a batch of outcomes) may take. Past it (and a second\'s grace) the node drops that connection and answers 503 (or the engine backs off); the server cancels the statement (statement_timeout) and ends a transaction left idle that long (idle_in_transaction_session_timeout). Loading a window of a large backlog takes a few milliseconds.' }),
  setting({ key: 'role', flag: '--role', env: ['HOOKLINE_ROLE'], default: 'all', parse: (raw) => {
    if (raw !== 'api' && raw !== 'worker' && raw !== 'all') throw new ConfigError(`expected api, worker or all, got "${raw}"`);
    return raw;
  }, doc: 'api: serve the API only; worker: deliver only (serving just /healthz, /readyz and /metrics); all: both. Several api and worker nodes share one PostgreSQL database.' }),
  setting({ key: 'dev', flag: '--dev', env: ['HOOKLINE_DEV'], default: false, parse: bool, boolean: true, doc: 'Development mode: http and local webhook URLs allowed, no SSRF guard, keys printed at first start. Without it (production mode) the operator key must be given.' }),
  setting({ key: 'operatorKey', flag: '--operator-key', env: ['HOOKLINE_OPERATOR_KEY'], default: undefined, parse: str, doc: `The operator API key (at least ${MIN_OPERATOR_KEY_LENGTH} characters). Required in production mode; in --dev one is generated once and printed once.` }),
  setting({ key: 'operatorKeyFile', flag: '--operator-key-file', env: ['HOOKLINE_OPERATOR_KEY_FILE'], default: undefined, parse: str, doc: 'A file holding the operator API key (trailing whitespace ignored), instead of --operator-key.' }),
  setting({ key: 'allowedTargets', flag: '--allowed-targets', env: ['HOOKLINE_ALLOWED_TARGETS'], default: [], parse: targets, doc: 'Comma-separated CIDR ranges, addresses and host names (*.corp.example for a whole domain) that deliveries may reach although the SSRF guard blocks them.' }),
  setting({ key: 'rateLimit', flag: '--rate-limit', env: ['HOOKLINE_RATE_LIMIT'], default: 60, parse: int(0, 10_000_000), doc: 'Management API requests per minute per API key (JWP\'s limit); 0 turns the limit off.' }),
  setting({ key: 'intakeRateLimit', flag: '--intake-rate-limit', env: ['HOOKLINE_INTAKE_RATE_LIMIT'], default: 600_000, parse: int(0, 100_000_000), doc: 'Event intake requests (POST /v2/sites/{id}/events/) per minute per API key; 0 turns the limit off.' }),
  setting({ key: 'sessionRateLimit', flag: '--session-rate-limit', env: ['HOOKLINE_SESSION_RATE_LIMIT'], default: 600, parse: int(0, 10_000_000), doc: 'Requests per minute per dashboard session (a signed-in browser), counted apart from its API key\'s limit; 0 turns the limit off.' }),
  setting({ key: 'secretKey', flag: '--secret-key', env: ['HOOKLINE_SECRET_KEY'], default: undefined, parse: sealingKey, doc: 'Key that seals webhook secrets at rest (AES-256-GCM): 32 bytes in base64 or hex, e.g. `openssl rand -base64 32`. Prefer the variable to the flag. Unset on the embedded store: a key file secret.key is made in the data dir (mode 0600). Required with PostgreSQL.' }),
  setting({ key: 'retrySchedule', flag: '--retry-schedule', env: ['HOOKLINE_RETRY_SCHEDULE'], default: parseSchedule('0,5s,5m,30m,2h,5h,10h,10h'), parse: parseSchedule, doc: 'Delay before each attempt, from the previous one (units ms, s, m, h, d). Its length is the number of attempts.' }),
  setting({ key: 'retryJitter', flag: '--retry-jitter', env: ['HOOKLINE_RETRY_JITTER'], default: 0.2, parse: ratio, doc: 'Random spread of each retry delay, as a fraction (0.2 = ±20 %).' }),
  setting({ key: 'requestTimeoutMs', flag: '--request-timeout', env: ['HOOKLINE_REQUEST_TIMEOUT'], default: 15_000, parse: duration, doc: 'Deadline of one delivery attempt, from connect to the last byte read.' }),
  setting({ key: 'nodeTimeoutMs', flag: '--node-timeout', env: ['HOOKLINE_NODE_TIMEOUT'], default: 10_000, parse: duration, doc: 'On PostgreSQL: a worker node whose heartbeat is older than this is dead, and the other workers take its webhooks at once. Each node beats every third of it.' }),
  setting({ key: 'maxInFlight', flag: '--max-in-flight', env: ['HOOKLINE_MAX_IN_FLIGHT'], default: 512, parse: int(1, 100_000), doc: 'Delivery attempts in flight at once, per node.' }),
  setting({ key: 'accountMaxInFlight', flag: '--account-max-in-flight', env: ['HOOKLINE_ACCOUNT_MAX_IN_FLIGHT'], default: undefined, parse: int(1, 100_000), doc: 'Of the node\'s places, the most that one account\'s deliveries may hold, so that the others always find some free. Unset: half of --max-in-flight. With one account only, set it to --max-in-flight.' }),
  setting({ key: 'endpointMaxInFlight', flag: '--endpoint-max-in-flight', env: ['HOOKLINE_ENDPOINT_MAX_IN_FLIGHT'], default: 64, parse: int(1, 10_000), doc: 'The most delivery attempts in flight at once to one webhook, unless its max_in_flight says otherwise. Below it the engine adapts to how the endpoint answers (AIMD: +1 per round of quick successes, halved on timeouts, 5xx and 429), from 4.' }),
  setting({ key: 'webhookMaxInFlightLimit', flag: '--webhook-max-in-flight-limit', env: ['HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT'], default: 100, parse: int(1, 10_000), doc: 'The most a webhook\'s max_in_flight may ask: a create or update asking more is refused, and a larger value set before counts as this.' }),
  setting({ key: 'breakerThreshold', flag: '--breaker-threshold', env: ['HOOKLINE_BREAKER_THRESHOLD'], default: 5, parse: int(1, 1_000_000), doc: 'Consecutive failed attempts after which a webhook gets one attempt at a time (a probe), every probe interval, until one succeeds.' }),
  setting({ key: 'probeIntervalMs', flag: '--probe-interval', env: ['HOOKLINE_PROBE_INTERVAL'], default: 30_000, parse: duration, doc: 'Time between probes of a failing webhook.' }),
  setting({ key: 'autoDisableAfterMs', flag: '--auto-disable-after', env: ['HOOKLINE_AUTO_DISABLE_AFTER'], default: 5 * 86_400_000, parse: duration, doc: 'A webhook whose every attempt failed for this long is disabled (units ms, s, m, h, d).' }),
  setting({ key: 'operatorWebhookUrl', flag: '--operator-webhook-url', env: ['HOOKLINE_OPERATOR_WEBHOOK_URL'], default: undefined, parse: url, doc: 'Where the operator is told (a signed webhook.disabled POST) that a webhook was disabled automatically.' }),
  setting({ key: 'operatorWebhookSecret', flag: '--operator-webhook-secret', env: ['HOOKLINE_OPERATOR_WEBHOOK_SECRET'], default: undefined, parse: signingSecret, doc: 'The whsec_… secret that signs the operator notices. Required with --operator-webhook-url.' }),
  setting({ key: 'retentionMs', flag: '--retention', env: ['HOOKLINE_RETENTION'], default: 30 * 86_400_000, parse: duration, doc: 'How long finished deliveries, their attempts and events are kept (pending deliveries are kept until they finish). Idempotency keys are kept 24 h.' }),
  setting({ key: 'partitionIntervalMs', flag: '--partition-interval', env: ['HOOKLINE_PARTITION_INTERVAL'], default: 86_400_000, parse: partitionInterval, doc: 'PostgreSQL: the time each partition of events, deliveries and attempts covers (1h to 30d); retention drops whole partitions past HOOKLINE_RETENTION. A change applies to the partitions made from then on.' }),
  setting({ key: 'shutdownGraceMs', flag: '--shutdown-grace', env: ['HOOKLINE_SHUTDOWN_GRACE'], default: 10_000, parse: duration, doc: 'On SIGTERM, how long attempts in flight may finish; the deliveries still in flight then stay pending, and whoever owns their webhook next sends them.' }),
  setting({ key: 'sqliteSynchronous', flag: '--sqlite-synchronous', env: ['HOOKLINE_SQLITE_SYNCHRONOUS'], default: 'FULL', parse: (raw) => {
    const v = raw.toUpperCase();
    if (v !== 'FULL' && v !== 'NORMAL') throw new ConfigError(`expected FULL or NORMAL, got "${raw}"`);
    return v;
  }, doc: 'FULL: an acknowledged event survives a power loss. NORMAL: faster, but the last commits may be lost on power loss (never on a crash of the process).' }),
  setting({ key: 'simulationStepMs', flag: '--simulation-step', env: ['HOOKLINE_SIMULATION_STEP'], default: 1_000, parse: duration, doc: 'Time between the steps of a simulated upload, reupload or live channel ("simulate": true).' }),
  setting({ key: 'sessionTtlMs', flag: '--session-ttl', env: ['HOOKLINE_SESSION_TTL'], default: 12 * 3_600_000, parse: duration, doc: 'How long a dashboard sign-in lasts before the browser must sign in again.' }),
  setting({ key: 'publicUrl', flag: '--public-url', env: ['HOOKLINE_PUBLIC_URL'], default: undefined, parse: publicUrl, doc: 'The address browsers reach Hookline at (https://hooks.example.com): portal links start with it. Unset: the address the request that asked for the link came to.' }),
  setting({ key: 'portalFrameAncestors', flag: '--portal-frame-ancestors', env: ['HOOKLINE_PORTAL_FRAME_ANCESTORS'], default: [], parse: frameAncestors, doc: 'Comma-separated origins (https://console.example.com, https://*.example.com) whose pages may show the dashboard in an iframe: its Content-Security-Policy frame-ancestors. Set, the session cookie is SameSite=None; Secure; Partitioned, which browsers keep only over https (and on localhost). Unset: no page may frame it (X-Frame-Options: DENY).' }),
  setting({ key: 'propagateTrace', flag: '--propagate-trace', env: ['HOOKLINE_PROPAGATE_TRACE'], default: false, parse: bool, boolean: true, doc: 'Send each delivery attempt\'s trace context to the receiver as a W3C traceparent header (the attempt\'s span). Needs tracing on: OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER.' }),
  setting({ key: 'logLevel', flag: '--log-level', env: ['HOOKLINE_LOG_LEVEL'], default: 'info', parse: str, doc: 'pino log level: fatal, error, warn, info, debug, trace or silent.' }),
] as const;

export function defaultConfig(): Config {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as Config;
}

/**
 * A flag of a command (a setting of `hookline start`, or a flag of another command): how
 * parseFlags reads it, and what the command's --help says of it (src/cli/command.ts).
 */
export interface Flag {
  type: 'string' | 'boolean';
  /** Given several times, it gives a list. */
  multiple?: boolean;
  /** The value's name in the help: `--port <n>`. */
  value?: string;
  doc: string;
  /** The variables the command reads when the flag is not given. */
  env?: readonly string[];
  /** What applies when neither the flag nor a variable is given, as the help says it. */
  default?: string;
}

export type Flags = Readonly<Record<string, Flag>>;

/** What parseFlags gives for each flag given: a string, a list of them, or true. */
export type FlagValues<F extends Flags> = {
  [N in keyof F]?: F[N]['type'] extends 'boolean' ? boolean : F[N]['multiple'] extends true ? string[] : string;
};

/** The edits (insert, delete, replace, swap two neighbours) from one name to another. */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The known name closest to a mistyped one, if one is close enough to be what was meant. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (!best || d < best.distance) best = { name: candidate, distance: d };
  }
  return best && best.distance <= Math.max(1, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** parseArgs's refusals in our words; an unknown flag is answered with the closest known one. */
function flagError(err: Error & { code?: string }, known: readonly string[]): ConfigError {
  const unknown = /^Unknown option '(.*?)'(?:\.|$)/s.exec(err.message)?.[1];
  if (unknown !== undefined) {
    const meant = unknown.startsWith('--') ? closest(unknown, known.map((name) => `--${name}`)) : undefined;
    return new ConfigError(`unknown flag ${unknown}${meant ? `; did you mean ${meant}?` : ''}`);
  }
  const positional = /^Unexpected argument '(.*?)'(?:\.|$)/s.exec(err.message)?.[1];
  if (positional !== undefined) return new ConfigError(`unexpected argument "${positional}": this command takes flags only`);
  const flag = /^Option '([^' ]+)/.exec(err.message)?.[1];
  if (err.code !== 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' || flag === undefined) return new ConfigError(err.message);
  if (/does not take an argument/.test(err.message)) return new ConfigError(`${flag} takes no value`);
  if (/ambiguous/.test(err.message)) return new ConfigError(`${flag} needs a value (one that starts with "-" goes after "=": ${flag}=-…)`);
  return new ConfigError(`${flag} needs a value`);
}

/**
 * Reads `flags` from a command line with node's parseArgs; what it refuses is a ConfigError
 * (a usage error). The last of a repeated flag wins, unless it is `multiple`.
 */
export function parseFlags<F extends Flags>(flags: F, argv: string[], { positionals = false } = {}): { values: FlagValues<F>; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(flags).map(([name, f]) => [name, { type: f.type, multiple: f.multiple ?? false }]));
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals, tokens: true });
  } catch (err) {
    throw flagError(err as Error, Object.keys(flags));
  }
  if (parsed.tokens.some((t) => t.kind === 'option-terminator')) throw new ConfigError('unknown flag --');
  return { values: parsed.values as FlagValues<F>, positionals: parsed.positionals };
}

/** A setting's default, as the README's table and the help say it: 5s, not 5000. */
function shownDefault(s: (typeof SETTINGS)[number]): string | undefined {
  const value: unknown = s.default;
  const parse: unknown = s.parse;
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (parse === parseSchedule) return (value as number[]).map(formatDuration).join(',');
  if (parse === duration || parse === timeout || parse === partitionInterval) return formatDuration(value as number);
  return Array.isArray(value) ? value.join(',') : String(value);
}

/** The settings as `hookline start`'s flags (its --help is made from them). */
export const SETTING_FLAGS: Flags = Object.fromEntries(SETTINGS.map((s) => [s.flag.slice(2), {
  type: 'boolean' in s && s.boolean ? 'boolean' : 'string',
  value: 'value',
  doc: s.doc,
  env: s.env,
  default: shownDefault(s),
} satisfies Flag]));

/** Some settings as another command's flags (`migrate --data-dir`), documented as start documents them; configFrom reads them. */
export function settingFlags<N extends string>(...names: N[]): Record<N, Flag> {
  return Object.fromEntries(names.map((name) => {
    const flag = SETTING_FLAGS[name];
    if (!flag) throw new Error(`--${name} is not a setting`);
    return [name, flag];
  })) as Record<N, Flag>;
}

/** Reads flags first, then environment variables, then defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  return configFrom(parseFlags(SETTING_FLAGS, argv).values, env);
}

/** The settings from flags already read (`hookline start`'s, by parseFlags), then variables, then defaults. */
export function configFrom(flags: FlagValues<typeof SETTING_FLAGS>, env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  for (const s of SETTINGS) {
    const given = flags[s.flag.slice(2)];
    const envName = s.env.find((name) => env[name] !== undefined && env[name] !== '');
    const raw = given !== undefined ? String(given) : envName ? env[envName] : undefined;
    if (raw === undefined) continue;
    try {
      config[s.key] = s.parse(raw);
    } catch (err) {
      const source = given !== undefined ? s.flag : envName;
      throw new ConfigError(`${source}: ${(err as Error).message}`);
    }
  }
  const result = config as unknown as Config;
  if (result.operatorKeyFile !== undefined) {
    if (result.operatorKey !== undefined) throw new ConfigError('give the operator key once: HOOKLINE_OPERATOR_KEY or HOOKLINE_OPERATOR_KEY_FILE, not both');
    try {
      result.operatorKey = readFileSync(result.operatorKeyFile, 'utf8').trim();
    } catch (err) {
      throw new ConfigError(`HOOKLINE_OPERATOR_KEY_FILE: cannot read ${result.operatorKeyFile}: ${(err as Error).message}`);
    }
  }
  if ((result.operatorWebhookUrl === undefined) !== (result.operatorWebhookSecret === undefined)) {
    throw new ConfigError('HOOKLINE_OPERATOR_WEBHOOK_URL and HOOKLINE_OPERATOR_WEBHOOK_SECRET go together: set both or neither');
  }
  if (result.accountMaxInFlight !== undefined && result.accountMaxInFlight > result.maxInFlight) {
    throw new ConfigError(`HOOKLINE_ACCOUNT_MAX_IN_FLIGHT (${result.accountMaxInFlight}) must not exceed HOOKLINE_MAX_IN_FLIGHT (${result.maxInFlight})`);
  }
  if (result.endpointMaxInFlight > result.webhookMaxInFlightLimit) {
    throw new ConfigError(`HOOKLINE_ENDPOINT_MAX_IN_FLIGHT (${result.endpointMaxInFlight}) must not exceed HOOKLINE_WEBHOOK_MAX_IN_FLIGHT_LIMIT (${result.webhookMaxInFlightLimit})`);
  }
  return result;
}

/** The places of this node that one account may hold: as set, or half of them. */
export function accountMaxInFlight(config: Pick<Config, 'accountMaxInFlight' | 'maxInFlight'>): number {
  return config.accountMaxInFlight ?? Math.max(1, Math.floor(config.maxInFlight / 2));
}

/**
 * What production mode (no --dev) demands before anything starts: a given operator key that
 * cannot be guessed. Secrets are never generated and printed outside development mode.
 */
export function checkProductionConfig(config: Config): void {
  if (config.dev) return;
  if (!config.operatorKey) {
    throw new ConfigError('production mode needs the operator key: set HOOKLINE_OPERATOR_KEY or HOOKLINE_OPERATOR_KEY_FILE (or run with --dev to try Hookline locally)');
  }
  if (config.operatorKey.length < MIN_OPERATOR_KEY_LENGTH) {
    throw new ConfigError(`the operator key must have at least ${MIN_OPERATOR_KEY_LENGTH} characters (try: openssl rand -hex 32)`);
  }
}
