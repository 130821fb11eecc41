// Of a node's places for attempts, how many each account holds: at most its share
// (HOOKLINE_ACCOUNT_MAX_IN_FLIGHT), so that one account's slow endpoints never hold them all. An
// endpoint whose account is at its share waits here until one of the account's attempts ends.
import type { Endpoint } from './endpoint.js';

export class AccountShares {
  private readonly accounts = new Map<string, { inFlight: number; waiting: Set<Endpoint> }>();

  constructor(private readonly share: number) {}

  /** Takes a place for the endpoint's account; false (and the endpoint waits) when the account holds its share. */
  take(ep: Endpoint): boolean {
    const account = this.of(ep.accountId);
    if (account.inFlight >= this.share) {
      account.waiting.add(ep);
      return false;
    }
    account.inFlight++;
    return true;
  }

  /** An attempt of the account ended: the endpoints that were waiting for a place, now free to try. */
  release(accountId: string): Endpoint[] {
    const account = this.of(accountId);
    account.inFlight--;
    if (account.waiting.size === 0) return [];
    const waiting = [...account.waiting];
    account.waiting.clear();
    return waiting;
  }

  private of(id: string) {
    let account = this.accounts.get(id);
    if (!account) this.accounts.set(id, (account = { inFlight: 0, waiting: new Set() }));
    return account;
  }
}
