// A webhook's own request headers (`headers` on the resource: e.g. a token for an access proxy in
// front of the receiver). What may be set, how their values are hidden in every answer and in
// the attempt log, and the limits. They are sealed at rest like the secret (webhook-secrets.ts).

/** What every answer shows instead of a value; in an update, it keeps the value stored under that name. */
export const MASK = '********';

export const MAX_HEADERS = 20;
export const MAX_NAME_LENGTH = 64;
export const MAX_VALUE_LENGTH = 1024;
/** Names and values together, in bytes: what the receiver's server must accept on top of ours. */
export const MAX_TOTAL_BYTES = 8192;

/** RFC 9110's token: what a field name is made of. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Visible ASCII, and spaces and tabs inside: no CR, LF, NUL or other control character. */
const VALUE = /^(?:[\x21-\x7e](?:[\x20-\x7e\t]*[\x21-\x7e])?)$/;

/**
 * Names a webhook may not set, lower case: hop-by-hop headers (RFC 9110 §7.6.1), those the HTTP
 * client derives from the request (Host, Content-Length, Expect), and every one Hookline sets
 * itself on a delivery (src/delivery/attempt.ts, src/signing/headers.ts), so that no setting can
 * change how a delivery is framed, signed or verified.
 */
const REFUSED = new Set([
  'connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'content-length', 'expect',
  'content-type', 'user-agent', 'authorization', 'webhook-id', 'webhook-timestamp', 'webhook-signature',
]);
/** Prefixes refused likewise: Proxy-* are the proxies' own, webhook-* are Standard Webhooks'. */
const REFUSED_PREFIXES = ['proxy-', 'webhook-'];

/** Why this name may not be set; undefined when it may. */
export function nameRefusal(name: string): string | undefined {
  if (name.length > MAX_NAME_LENGTH) return `the name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!TOKEN.test(name)) return 'the name is not an HTTP header name (letters, digits and !#$%&\'*+-.^_`|~ only)';
  const lower = name.toLowerCase();
  if (REFUSED.has(lower) || REFUSED_PREFIXES.some((p) => lower.startsWith(p))) {
    return `${name} is set by Hookline or by HTTP itself (hop-by-hop, framing or signature headers cannot be set)`;
  }
  return undefined;
}

/** Why this value may not be sent; undefined when it may. */
export function valueRefusal(value: string): string | undefined {
  if (value.length > MAX_VALUE_LENGTH) return `the value is longer than ${MAX_VALUE_LENGTH} characters`;
  if (!VALUE.test(value)) return 'the value must be visible ASCII, with spaces or tabs only inside (no CR, LF or other control characters)';
  return undefined;
}

/** The names as every answer shows them, each with its value masked. */
export const maskedHeaders = (names: readonly string[]): Record<string, string> =>
  Object.fromEntries(names.map((name) => [name, MASK]));

/** The headers of a request as the attempt log keeps them: the webhook's own values masked. */
export function loggedRequestHeaders(sent: Record<string, string>, custom: Record<string, string>): Record<string, string> {
  const names = Object.keys(custom);
  // Most webhooks have none: the headers as sent are logged as they are, not copied per attempt.
  if (names.length === 0) return sent;
  const logged = { ...sent };
  for (const name of names) logged[name] = MASK;
  return logged;
}
