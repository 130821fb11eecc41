// Every setting in one table: its flag, its environment variables, its default and its parser.
// The README's settings table is this table; `hookline start --help` prints it.
import { parseDuration, parseSchedule } from './delivery/schedule.js';

export class ConfigError extends Error {}

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  databaseUrl: string | undefined;
  dev: boolean;
  operatorKey: string | undefined;
  retrySchedule: number[];
  retryJitter: number;
  requestTimeoutMs: number;
  leaseMs: number;
  maxInFlight: number;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  logLevel: string;
  simulationStepMs: number;
  sessionTtlMs: number;
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

function setting<K extends keyof Config>(s: Setting<K>): Setting<K> {
  return s;
}

export const SETTINGS = [
  setting({ key: 'host', flag: '--host', env: ['HOOKLINE_HOST'], default: '127.0.0.1', parse: str, doc: 'Address the HTTP server listens on.' }),
  setting({ key: 'port', flag: '--port', env: ['HOOKLINE_PORT', 'PORT'], default: 8000, parse: int(0, 65535), doc: 'Port the HTTP server listens on (0 picks a free one).' }),
  setting({ key: 'dataDir', flag: '--data-dir', env: ['HOOKLINE_DATA_DIR'], default: './data', parse: str, doc: 'Folder of the embedded SQLite database.' }),
  setting({ key: 'databaseUrl', flag: '--database', env: ['DATABASE_URL'], default: undefined, parse: str, doc: 'postgres://… selects PostgreSQL instead of the embedded SQLite.' }),
  setting({ key: 'dev', flag: '--dev', env: ['HOOKLINE_DEV'], default: false, parse: bool, boolean: true, doc: 'Development mode: http and local webhook URLs allowed.' }),
  setting({ key: 'operatorKey', flag: '--operator-key', env: ['HOOKLINE_OPERATOR_KEY'], default: undefined, parse: str, doc: 'Fixes the operator API key; otherwise one is generated once and printed once.' }),
  setting({ key: 'retrySchedule', flag: '--retry-schedule', env: ['HOOKLINE_RETRY_SCHEDULE'], default: parseSchedule('0,5s,5m,30m,2h,5h,10h,10h'), parse: parseSchedule, doc: 'Delay before each attempt, from the previous one (units ms, s, m, h). Its length is the number of attempts.' }),
  setting({ key: 'retryJitter', flag: '--retry-jitter', env: ['HOOKLINE_RETRY_JITTER'], default: 0.2, parse: ratio, doc: 'Random spread of each retry delay, as a fraction (0.2 = ±20 %).' }),
  setting({ key: 'requestTimeoutMs', flag: '--request-timeout', env: ['HOOKLINE_REQUEST_TIMEOUT'], default: 15_000, parse: duration, doc: 'Deadline of one delivery attempt, from connect to the last byte read.' }),
  setting({ key: 'leaseMs', flag: '--lease', env: ['HOOKLINE_LEASE'], default: 60_000, parse: duration, doc: 'How long a claimed delivery stays with its dispatcher before another may take it. Must exceed the request timeout.' }),
  setting({ key: 'maxInFlight', flag: '--max-in-flight', env: ['HOOKLINE_MAX_IN_FLIGHT'], default: 512, parse: int(1, 100_000), doc: 'Delivery attempts in flight at once, per dispatcher.' }),
  setting({ key: 'sqliteSynchronous', flag: '--sqlite-synchronous', env: ['HOOKLINE_SQLITE_SYNCHRONOUS'], default: 'FULL', parse: (raw) => {
    const v = raw.toUpperCase();
    if (v !== 'FULL' && v !== 'NORMAL') throw new ConfigError(`expected FULL or NORMAL, got "${raw}"`);
    return v;
  }, doc: 'FULL: an acknowledged event survives a power loss. NORMAL: faster, but the last commits may be lost on power loss (never on a crash of the process).' }),
  setting({ key: 'simulationStepMs', flag: '--simulation-step', env: ['HOOKLINE_SIMULATION_STEP'], default: 1_000, parse: duration, doc: 'Time between the steps of a simulated upload, reupload or live channel ("simulate": true).' }),
  setting({ key: 'sessionTtlMs', flag: '--session-ttl', env: ['HOOKLINE_SESSION_TTL'], default: 12 * 3_600_000, parse: duration, doc: 'How long a dashboard sign-in lasts before the browser must sign in again.' }),
  setting({ key: 'logLevel', flag: '--log-level', env: ['HOOKLINE_LOG_LEVEL'], default: 'info', parse: str, doc: 'pino log level: fatal, error, warn, info, debug, trace or silent.' }),
] as const;

export function defaultConfig(): Config {
  return Object.fromEntries(SETTINGS.map((s) => [s.key, s.default])) as unknown as Config;
}

/** Reads flags first, then environment variables, then defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaultConfig() as unknown as Record<string, unknown>;
  const fromFlags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.split(/=(.*)/s, 2) as [string, string | undefined];
    const s = SETTINGS.find((x) => x.flag === flag);
    if (!s) throw new ConfigError(`unknown option ${flag}`);
    if ('boolean' in s && s.boolean && inline === undefined) {
      fromFlags.set(s.key, 'true');
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new ConfigError(`${flag} needs a value`);
    fromFlags.set(s.key, value);
  }
  for (const s of SETTINGS) {
    const envName = s.env.find((name) => env[name] !== undefined && env[name] !== '');
    const raw = fromFlags.get(s.key) ?? (envName ? env[envName] : undefined);
    if (raw === undefined) continue;
    try {
      config[s.key] = s.parse(raw);
    } catch (err) {
      const source = fromFlags.has(s.key) ? s.flag : envName;
      throw new ConfigError(`${source}: ${(err as Error).message}`);
    }
  }
  const result = config as unknown as Config;
  if (result.leaseMs <= result.requestTimeoutMs) {
    throw new ConfigError(`HOOKLINE_LEASE (${result.leaseMs} ms) must exceed HOOKLINE_REQUEST_TIMEOUT (${result.requestTimeoutMs} ms)`);
  }
  return result;
}

export function settingsHelp(): string {
  return SETTINGS.map((s) => `  ${(s.flag + ('boolean' in s ? '' : ' <value>')).padEnd(28)} ${s.env.join(', ').padEnd(32)} ${s.doc}`).join('\n');
}
