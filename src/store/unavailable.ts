// The one error a store throws when its database cannot be reached (refused, cut, no connection
// free in time): the request may succeed later, so the API answers 503 with Retry-After, not 500,
// and the dispatcher backs off. Each store knows its own driver's errors and wraps them in this.
export class StoreUnavailable extends Error {
  constructor(override readonly cause: unknown) {
    super('the database does not answer');
  }
}
