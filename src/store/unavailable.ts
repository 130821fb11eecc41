// The errors a store throws when its database cannot be reached (refused, cut, no connection
// free in time): the request may succeed later, so the API answers 503 with Retry-After, not 500,
// and the dispatcher backs off. Each store knows its own driver's errors and wraps them in these.
export class StoreUnavailable extends Error {
  constructor(override readonly cause: unknown, message = 'the database does not answer; nothing was committed, so the request may be sent again') {
    super(message);
  }
}

/**
 * The connection was lost, or COMMIT itself failed, once COMMIT was sent: the transaction may
 * have been committed or not, and only reading tells. Not "nothing was committed": sending the
 * same change again is safe only where a repeat is recognised (an Idempotency-Key).
 */
export class CommitUnknown extends StoreUnavailable {
  constructor(cause: unknown, message = 'the database did not confirm the commit: the change may have been recorded; '
    + 'look before sending it again, or resend it with the same Idempotency-Key where the route takes one') {
    super(cause, message);
  }
}
