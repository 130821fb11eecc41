import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random [A-Za-z0-9] string; 8 characters is JWP's id shape. Rejection sampling keeps it uniform. */
export function randomId(length = 8): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

/** An event's id: a reported event's, a fact's, a test event's or an operational event's. */
export const newEventId = () => 'evt_' + randomId(20);

export const ID_PATTERN = '^[A-Za-z0-9]{8}$';

/** A delivery's id, as the stores make it: msg_ and 24 hex digits (12 random bytes). */
export const DELIVERY_ID = 'msg_[0-9a-f]{24}';
