// Standard Webhooks (standardwebhooks.com): HMAC-SHA256 over "<webhook-id>.<timestamp>.<body>",
// keyed with the base64 part of "whsec_<base64>", sent as "v1,<base64 signature>".
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** The HMAC of one message, raw bytes. */
export function standardMac(key: Buffer, msgId: string, timestampSeconds: number, body: string | Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.`).update(body).digest();
}

export function standardSignature(key: Buffer, msgId: string, timestampSeconds: number, body: string): string {
  return `v1,${standardMac(key, msgId, timestampSeconds, body).toString('base64')}`;
}
