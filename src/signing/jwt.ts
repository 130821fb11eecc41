// JWP's signature: `Authorization: Bearer <JWT>`, HS256, whose claims are exactly the body.
// The key is the webhook secret's bytes as written (the whole "whsec_…" string).
import { createHmac } from 'node:crypto';

const HEADER = Buffer.from('{"alg":"HS256","typ":"JWT"}').toString('base64url');

export function signJwt(body: string, secret: string): string {
  const signingInput = `${HEADER}.${Buffer.from(body).toString('base64url')}`;
  const signature = createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}
