// Tells the operator that a webhook was disabled by its outcomes (410 Gone, failing too long):
// a `webhook.disabled` notice POSTed to HOOKLINE_OPERATOR_WEBHOOK_URL, signed like any delivery
// with HOOKLINE_OPERATOR_WEBHOOK_SECRET, so the operator's receiver verifies it the same way.
import type { Logger } from 'pino';
import { randomId } from '../ids.js';
import { signatureHeaders, signingKeys, type SigningKeys } from '../signing/headers.js';
import type { Webhook } from '../store/types.js';
import { jwpMicros, type Clock } from '../time.js';
import type { Sender } from './sender.js';

export class OperatorNotices {
  private readonly keys: SigningKeys;

  constructor(
    private readonly url: string,
    secret: string,
    private readonly sender: Sender,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    this.keys = signingKeys(secret, null, null);
  }

  /** One attempt per notice: the webhook's status and the log keep the fact if it fails. */
  async webhooksDisabled(webhooks: Webhook[]): Promise<void> {
    await Promise.all(webhooks.map(async (w) => {
      const id = `ntc_${randomId(24)}`;
      const body = JSON.stringify({
        event: 'webhook.disabled',
        webhook_id: w.id,
        account_id: w.accountId,
        name: w.name,
        webhook_url: w.webhookUrl,
        disabled_reason: w.disabledReason,
        disabled_at: w.disabledAt === null ? null : jwpMicros(w.disabledAt),
      });
      const headers = { 'content-type': 'application/json', 'user-agent': 'Hookline/0.1', ...signatureHeaders(this.keys, id, this.clock.now(), body) };
      const result = await this.sender.send(this.url, headers, body);
      if (result.error !== null) this.log.error({ webhookId: w.id, noticeId: id, error: result.error }, 'the operator notice of a disabled webhook was not delivered');
    }));
  }
}
