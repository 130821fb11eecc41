// Webhook secrets, and each webhook's own request headers (src/security/custom-headers.ts), between
// the sealed store and the sender. Opening a sealed value costs an AES-GCM decryption: done once
// per webhook and kept in a bounded cache, never per delivery.
// `forget` is the one way to drop what is cached: call it whenever a webhook changes, rotates
// or goes (on PostgreSQL, also when another node says so).
import { signingKeys, type SigningKeys } from '../signing/headers.js';
import type { Store } from '../store/ports.js';
import type { SecretBox } from './sealing.js';

const DEFAULT_CAPACITY = 10_000;

/** What a delivery to one webhook is sent with, beside its body. */
export interface WebhookCredentials {
  keys: SigningKeys;
  /** The webhook's own headers, in clear: for the request only, never for a log or an answer. */
  headers: Record<string, string>;
}

/** The headers are sealed for their webhook and their column: moved to the secret's, they do not open. */
const headersContext = (webhookId: string) => `${webhookId}/headers`;

export class WebhookSecrets {
  private readonly cache = new Map<string, WebhookCredentials>();
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

  /** Seals a webhook's own headers for the store; null when it has none. */
  sealHeaders(webhookId: string, headers: Record<string, string>): string | null {
    return Object.keys(headers).length === 0 ? null : this.box.seal(JSON.stringify(headers), headersContext(webhookId));
  }

  /** Opens what sealHeaders sealed; {} for null. */
  openHeaders(webhookId: string, sealed: string | null): Record<string, string> {
    return sealed === null ? {} : JSON.parse(this.box.unseal(sealed, headersContext(webhookId)));
  }

  /** The webhook's keys to sign with and its own headers; undefined when it no longer exists. */
  async credentials(webhookId: string): Promise<WebhookCredentials | undefined> {
    const cached = this.cache.get(webhookId);
    if (cached) return cached;
    const generation = this.generation;
    const sealed = await this.store.getWebhookSecrets(webhookId);
    if (!sealed) return undefined;
    const keys: WebhookCredentials = {
      keys: signingKeys(
        this.box.unseal(sealed.current, webhookId),
        sealed.previous === null ? null : this.box.unseal(sealed.previous, webhookId),
        sealed.previousExpiresAt,
      ),
      headers: this.openHeaders(webhookId, sealed.headers),
    };
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
