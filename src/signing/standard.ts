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

export function standardSignature(key: Buffer, msgId: string, timestampSeconds: number, body: string): string {
  const mac = createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}
