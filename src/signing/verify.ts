// For receivers: `import { verify } from 'hookline/verify'`. Checks a delivery's signatures and
// returns its event, or throws a WebhookVerificationError that says what failed. This module
// and what it imports use node:crypto only: no server code comes with it.
//
// Standard Webhooks (the default) signs the id, the time and the body, so a bounded timestamp
// stops replays. JWP's JWT carries no time of its own (its claims are the body): a captured
// delivery verifies forever, so rely on it alone only where replays do not matter.
import { timingSafeEqual } from 'node:crypto';
import { jwtMac } from './jwt.js';
import { secretKey, standardMac } from './standard.js';

export type Scheme = 'standard' | 'jwt' | 'both';

export interface VerifyOptions {
  /**
   * The signature that must be present and valid: 'standard' (default: webhook-id,
   * webhook-timestamp, webhook-signature, or their svix-* names), 'jwt' (Authorization: Bearer,
   * JWP's scheme) or 'both'.
   */
  scheme?: Scheme;
  /** How far webhook-timestamp may be from now, either way, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** The time to judge webhook-timestamp by (epoch ms or a Date); default now. */
  now?: number | Date;
}

/** A JWP event as Hookline delivers it. */
export interface WebhookEvent {
  event: string;
  webhook_id: string;
  site_id: string;
  event_time: string;
  media_id?: string;
  channel_id?: string;
  thumbnail_id?: string;
  track_id?: string;
}

export type HeadersLike =
  | { get(name: string): string | null }
  | Record<string, string | string[] | undefined>;

export type VerificationFailure = 'missing_header' | 'invalid_header' | 'invalid_signature' | 'timestamp_out_of_range' | 'invalid_body';

export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
  constructor(readonly code: VerificationFailure, message: string) {
    super(message);
  }
}

export const DEFAULT_TOLERANCE_SECONDS = 300;

/**
 * Verifies a delivery and returns its parsed body. `body` must be the raw body, exactly as
 * received; `secrets` may list several (during a rotation, the new and the old).
 */
export function verify<T = WebhookEvent>(
  body: string | Uint8Array,
  headers: HeadersLike,
  secrets: string | readonly string[],
  options: VerifyOptions = {},
): T {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) {
    throw new TypeError('verify() needs the raw body (a string or Buffer) as received, not a parsed object: signatures cover its exact bytes');
  }
  const keys = typeof secrets === 'string' ? [secrets] : [...secrets];
  if (keys.length === 0 || keys.some((s) => typeof s !== 'string' || s === '')) throw new TypeError('verify() needs at least one secret, and no empty one');
  const scheme = options.scheme ?? 'standard';
  const header = headerReader(headers);
  const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
  if (scheme === 'standard' || scheme === 'both') verifyStandard(body, header, keys, options);
  if (scheme === 'jwt' || scheme === 'both') verifyJwt(text, header, keys);
  return parseBody(text) as T;
}

function verifyStandard(body: string | Uint8Array, header: (name: string) => string | undefined, secrets: string[], options: VerifyOptions): void {
  const id = header('webhook-id') ?? header('svix-id');
  const timestamp = header('webhook-timestamp') ?? header('svix-timestamp');
  const signature = header('webhook-signature') ?? header('svix-signature');
  const missing = [!id && 'webhook-id', !timestamp && 'webhook-timestamp', !signature && 'webhook-signature'].filter(Boolean);
  if (missing.length > 0) throw new WebhookVerificationError('missing_header', `missing header ${missing.join(', ')} (Standard Webhooks)`);
  if (!/^\d{1,12}$/.test(timestamp!)) throw new WebhookVerificationError('invalid_header', `webhook-timestamp "${timestamp}" is not a time in seconds`);

  const seconds = Number(timestamp);
  const now = options.now === undefined ? Date.now() : Number(options.now);
  const tolerance = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const drift = Math.floor(now / 1000) - seconds;
  if (Math.abs(drift) > tolerance) {
    throw new WebhookVerificationError('timestamp_out_of_range',
      `webhook-timestamp is ${Math.abs(drift)} s in the ${drift > 0 ? 'past' : 'future'}, more than the ${tolerance} s allowed: a replay, or a clock out of step`);
  }

  const given = signature!.split(' ').filter((s) => s.startsWith('v1,')).map((s) => Buffer.from(s.slice(3), 'base64'));
  if (given.length === 0) throw new WebhookVerificationError('invalid_header', 'webhook-signature holds no "v1," signature');
  for (const secret of secrets) {
    const expected = standardMac(secretKey(secret), id!, seconds, body);
    if (given.some((g) => g.length === expected.length && timingSafeEqual(g, expected))) return;
  }
  throw new WebhookVerificationError('invalid_signature', `webhook-signature matches none of the ${countSecrets(secrets)}: a wrong secret, or the body or its headers changed`);
}

function verifyJwt(body: string, header: (name: string) => string | undefined, secrets: string[]): void {
  const authorization = header('authorization');
  if (!authorization) throw new WebhookVerificationError('missing_header', 'missing header Authorization (Bearer JWT)');
  const token = authorization.replace(/^Bearer\s+/i, '').trim();
  const parts = token.split('.');
  if (parts.length !== 3) throw new WebhookVerificationError('invalid_header', 'Authorization holds no JWT (expected "Bearer <header>.<claims>.<signature>")');
  const [head, claims, mac] = parts as [string, string, string];
  const alg = (decodeJson(head, 'header') as { alg?: unknown }).alg;
  if (alg !== 'HS256') throw new WebhookVerificationError('invalid_header', `the JWT's alg is ${JSON.stringify(alg)}; only HS256 is accepted`);

  const given = Buffer.from(mac, 'base64url');
  const signed = secrets.some((secret) => {
    const expected = jwtMac(`${head}.${claims}`, secret);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!signed) throw new WebhookVerificationError('invalid_signature', `the JWT's signature matches none of the ${countSecrets(secrets)}: a wrong secret, or the token changed`);
  // The signature covers the claims; the claims must be the body.
  if (!sameJson(decodeJson(claims, 'claims'), parseBody(body))) {
    throw new WebhookVerificationError('invalid_body', "the body differs from the JWT's claims: it changed on the way");
  }
}

function headerReader(headers: HeadersLike): (name: string) => string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (name) => (headers as { get(name: string): string | null }).get(name) ?? undefined;
  }
  const lower = new Map(Object.entries(headers as Record<string, string | string[] | undefined>).map(([k, v]) => [k.toLowerCase(), v]));
  return (name) => {
    const value = lower.get(name);
    return Array.isArray(value) ? value[0] : value;
  };
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new WebhookVerificationError('invalid_body', 'the body is not JSON');
  }
}

function decodeJson(part: string, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new WebhookVerificationError('invalid_header', `the JWT's ${what} is not base64url JSON`);
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

const countSecrets = (secrets: string[]) => (secrets.length === 1 ? '1 secret given' : `${secrets.length} secrets given`);
