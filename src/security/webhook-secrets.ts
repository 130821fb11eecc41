// Webhook secrets between the sealed store and the signer. Opening a sealed secret costs an
// AES-GCM decryption: done once per webhook and kept in a bounded cache, never per delivery.
// `forget` is the one way to drop what is cached: call it whenever a webhook changes, rotates
// or goes (on PostgreSQL, also when another node says so).
import { signingKeys, type SigningKeys } from '../signing/headers.js';
import type { Store } from '../store/ports.js';
import type { SecretBox } from './sealing.js';

const DEFAULT_CAPACITY = 10_000;

export class WebhookSecrets {
  private readonly cache = new Map<string, SigningKeys>();
  /** Bumped by every forget: a load that began before one must not fill the cache. */
  private generation = 0;

  constructor(
    private readonly store: Store,
    private readonly box: SecretBox,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /** Seals a new secret of this webhook for the store. */
  seal(webhookId: string, secret: string): string {
    return this.box.seal(secret, webhookId);
  }

  /** The webhook's keys to sign with; undefined when it no longer exists. */
  async signingKeys(webhookId: string): Promise<SigningKeys | undefined> {
    const cached = this.cache.get(webhookId);
    if (cached) return cached;
    const generation = this.generation;
    const sealed = await this.store.getWebhookSecrets(webhookId);
    if (!sealed) return undefined;
    const keys = signingKeys(
      this.box.unseal(sealed.current, webhookId),
      sealed.previous === null ? null : this.box.unseal(sealed.previous, webhookId),
      sealed.previousExpiresAt,
    );
    if (generation === this.generation) {
      // Oldest first out: Map keeps insertion order.
      if (this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(webhookId, keys);
    }
    return keys;
  }

  /** Drops the cached keys of one webhook, or of every webhook when no id is given. */
  forget(webhookId?: string): void {
    this.generation++;
    if (webhookId === undefined) this.cache.clear();
    else this.cache.delete(webhookId);
  }
}
