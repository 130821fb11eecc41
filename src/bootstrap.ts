// First start: the operator key, and a default account with one property and one API key, so
// that a new user can create a webhook and send an event by following the README.
import { randomId } from './ids.js';
import { generateApiKey, hashApiKey } from './security/keys.js';
import type { Store } from './store/types.js';

export interface FirstStart {
  /** Set only when the key was generated now: it is shown this once. */
  operatorKey?: string;
  account?: { id: string; siteId: string; apiKey: string };
}

export async function bootstrap(store: Store, fixedOperatorKey: string | undefined, now: number): Promise<FirstStart> {
  const result: FirstStart = {};
  if (fixedOperatorKey) {
    const hash = hashApiKey(fixedOperatorKey);
    const known = await store.findApiKey(hash);
    if (!known || known.accountId !== null) {
      await store.setOperatorKey({ id: randomId(), accountId: null, name: 'operator', created: now }, hash);
    }
  } else if (!(await store.hasOperatorKey())) {
    result.operatorKey = generateApiKey();
    await store.setOperatorKey({ id: randomId(), accountId: null, name: 'operator', created: now }, hashApiKey(result.operatorKey));
  }
  if ((await store.listAccounts()).length === 0) {
    const account = { id: randomId(), name: 'Default account', created: now };
    await store.createAccount(account);
    const site = { id: randomId(), accountId: account.id, name: 'Default property', created: now };
    await store.createSite(site);
    const apiKey = generateApiKey();
    await store.createApiKey({ id: randomId(), accountId: account.id, name: 'default', created: now }, hashApiKey(apiKey));
    result.account = { id: account.id, siteId: site.id, apiKey };
  }
  return result;
}
