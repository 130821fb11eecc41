// The headers that sign one delivery attempt: JWP's JWT and Standard Webhooks. During a
// rotation's grace period, webhook-signature carries the new and the old signature (new first,
// space-separated, as Standard Webhooks allows); the JWT holds one, so the new secret signs it.
import { signJwt } from './jwt.js';
import { secretKey, standardSignature } from './standard.js';

/** A webhook's secrets, ready to sign with: made once per secret, not per delivery. */
export interface SigningKeys {
  secret: string;
  key: Buffer;
  previous: { key: Buffer; until: number } | null;
}

export function signingKeys(current: string, previous: string | null, previousUntil: number | null): SigningKeys {
  return {
    secret: current,
    key: secretKey(current),
    previous: previous !== null && previousUntil !== null ? { key: secretKey(previous), until: previousUntil } : null,
  };
}

export function signatureHeaders(keys: SigningKeys, msgId: string, attemptedAt: number, body: string): Record<string, string> {
  const timestamp = Math.floor(attemptedAt / 1000);
  let signature = standardSignature(keys.key, msgId, timestamp, body);
  if (keys.previous && attemptedAt < keys.previous.until) signature += ' ' + standardSignature(keys.previous.key, msgId, timestamp, body);
  return {
    authorization: `Bearer ${signJwt(body, keys.secret)}`,
    'webhook-id': msgId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signature,
  };
}
