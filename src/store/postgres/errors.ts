// Which of the pg driver's errors mean "the database cannot be reached now" rather than "this
// statement is wrong": those become StoreUnavailable.
import { StoreUnavailable } from '../unavailable.js';

/** Socket errors: the server refused, reset or never answered the connection. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs of a server that is going away, cannot take us, or did not finish in time: class 08
 * (connection exception), 57P01–57P03 (shut down, crashed, starting), 53300 (too many
 * connections), 57014 (cancelled: statement_timeout) and 25P03 (the server ended a transaction
 * left idle too long: idle_in_transaction_session_timeout).
 */
const SERVER_GONE = /^(08...|57P0[123]|53300|57014|25P03)$/;

/**
 * pg's own messages when a connection ends under a query, cannot be opened in time, the pool
 * has no connection free within its timeout, or a statement got no answer within query_timeout.
 * pg gives these no code.
 */
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout)/;

export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailable) return true;
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || SERVER_GONE.test(code))) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable); // a name with several addresses, all refused
  return DRIVER_MESSAGES.test(err.message);
}

/** `err` as the store layer throws it. */
export function storeError(err: unknown): unknown {
  return isUnavailable(err) && !(err instanceof StoreUnavailable) ? new StoreUnavailable(err) : err;
}
