// A fresh property with a webhook subscribed to all 13 events: its delivery log lists exactly
// the events that one test's facts yielded, in commit order, whatever other tests do.
import { EVENT_NAMES } from '../../src/catalog/events.js';
import { createWebhook, until, type Receiver, type TestNode } from '../helpers.js';

export interface Property {
  site: string;
  base: string;
  webhookId: string;
  /** The events committed for this property, oldest first, from the webhook's delivery log. */
  log(): Promise<string[]>;
  /** Waits until the receiver has `count` deliveries of this property, and returns their bodies. */
  delivered(count: number): Promise<any[]>;
}

export async function newProperty(node: TestNode, rx: Receiver): Promise<Property> {
  const site = (await node.operator.post('/v2/sites/', { name: 'Lifecycle test', account_id: node.account.id })).body.id as string;
  const hook = await createWebhook(node.account.api, [site], rx.url, [...EVENT_NAMES]);
  const mine = () => rx.received.filter((r) => r.json?.webhook_id === hook.id);
  return {
    site,
    base: `/v2/sites/${site}`,
    webhookId: hook.id,
    async log() {
      const res = await node.account.api.get(`/v2/webhooks/${hook.id}/deliveries/?page_length=100`);
      // newest first, ties broken by insertion order: reversed, it is commit order
      return (res.body.deliveries as { event: string }[]).map((d) => d.event).reverse();
    },
    async delivered(count) {
      await until(() => mine().length >= count, 10_000, `${count} deliveries`);
      return mine().map((r) => r.json);
    },
  };
}
