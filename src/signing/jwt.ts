// JWP's signature: `Authorization: Bearer <JWT>`, HS256, whose claims are exactly the body.
// The key is the webhook secret's bytes as written (the whole "whsec_…" string).
// The contract, and why the key is read this way: docs/jwp-signature.md.
import { createHmac } from 'node:crypto';

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');

/** The HS256 signature of "<header>.<payload>", raw bytes. */
export function jwtMac(signingInput: string, secret: string): Buffer {
  return createHmac('sha256', secret).update(signingInput).digest();
}

export function signJwt(body: string, secret: string): string {
  const signingInput = `${HEADER}.${Buffer.from(body).toString('base64url')}`;
  return `${signingInput}.${jwtMac(signingInput, secret).toString('base64url')}`;
}
