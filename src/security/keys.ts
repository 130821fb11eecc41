// API keys are random and long, so one SHA-256 is enough to store them: there is nothing to
// guess that a slow hash would protect. Only the hash is kept; the key is shown once.
import { createHash } from 'node:crypto';
import { randomId } from '../ids.js';

export function generateApiKey(): string {
  return 'hlk_' + randomId(40);
}

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

