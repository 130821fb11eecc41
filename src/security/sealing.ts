// Sealing: secrets are stored encrypted with AES-256-GCM, so that a copy of the database without
// the key reveals none of them. Each sealed value is bound to a context (the webhook's id) as
// associated data: moved to another row, it no longer opens.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const PREFIX = 'sealed.v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const SEALING_KEY_BYTES = 32;

/** A value that does not open: a wrong key, a changed byte, or the wrong context. */
export class UnsealError extends Error {}

/** A sealing key as written in HOOKLINE_SECRET_KEY or a key file: 32 bytes in base64, base64url or hex. */
export function parseSealingKey(raw: string): Buffer {
  const text = raw.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(text)
    ? Buffer.from(text, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(text)
      ? Buffer.from(text, 'base64')
      : undefined;
  if (!key || key.length !== SEALING_KEY_BYTES) {
    throw new Error('expected 32 random bytes in base64 or hex (make one with: openssl rand -base64 32)');
  }
  return key;
}

export function generateSealingKey(): string {
  return randomBytes(SEALING_KEY_BYTES).toString('base64');
}

export class SecretBox {
  constructor(private readonly key: Buffer) {
    if (key.length !== SEALING_KEY_BYTES) throw new Error(`a sealing key has ${SEALING_KEY_BYTES} bytes`);
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64url');
  }

  unseal(sealed: string, context: string): string {
    if (!sealed.startsWith(PREFIX)) throw new UnsealError('not a sealed value');
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64url');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new UnsealError('sealed value too short');
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new UnsealError('the sealed value does not open with this key');
    }
  }
}
