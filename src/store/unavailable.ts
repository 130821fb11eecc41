// The errors a store throws when its database cannot be reached (refused, cut, silent past its
// deadline, no connection free in time): the request may succeed later, so the API answers 503
// with Retry-After, not 500, and the engine backs off. Each store knows its own driver's errors
// and wraps them in these.
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

/**
 * Writes fail for lack of space (the embedded store: SQLITE_FULL, or the I/O errors SQLite
 * reports for a full disk). A StoreUnavailable, so that the dispatcher backs off and keeps its
 * outcomes, but answered with its own code, `storage_full`; the store says when it starts and
 * ends (Store.onStorageFull), so that it is logged once per change rather than per request.
 */
export class StorageFull extends StoreUnavailable {
  constructor(cause: unknown) {
    super(cause, 'the server has no room left to write; nothing was written');
  }
}
