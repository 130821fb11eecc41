// First start: the operator key, and in development mode a default account with one property
// and one API key, so that a new user can create a webhook and send an event by following the
// README. Production mode makes no default account: its key would have to be printed, and no
// secret is printed there; the operator creates accounts and keys through the API.
import { randomId } from './ids.js';
import { generateApiKey, hashApiKey } from './security/keys.js';
import type { Store } from './store/ports.js';

export interface FirstStart {
  /** Set only when the key was generated now: it is shown this once. */
  operatorKey?: string;
  account?: { id: string; siteId: string; apiKey: string };
}

export async function bootstrap(store: Store, fixedOperatorKey: string | undefined, dev: boolean, now: number): Promise<FirstStart> {
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
  if (dev && (await store.listAccounts()).length === 0) {
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
