// JWP's error format, {"errors":[{"code","description"}]}, for every refusal the API gives.
// The contract: docs/jwp-api.md ("Errors").
// Who throws what: the domain (src/platform, src/ingest) throws src/errors.ts's refusals
// (Invalid, NotFound, Conflict), which know no HTTP; the API's own code (routes, auth, hooks)
// throws ApiError, with its status. The error handler below is the one place that turns either into a response.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Invalid, NotFound, Refused } from '../errors.js';
import { CommitUnknown, StorageFull, StoreUnavailable } from '../store/unavailable.js';

export class ApiError extends Error {
  constructor(readonly statusCode: number, readonly code: string, description: string) {
    super(description);
  }
}

/**
 * A refusal that names several fields at once (400), one entry each, in the order given: a
 * webhook's create or update (src/api/field-errors.ts). Each description starts with its field.
 */
export class FieldErrors extends Error {
  constructor(readonly descriptions: string[], readonly code = 'invalid_body') {
    super(descriptions.join('; '));
  }
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const badRequest = (description: string, code = 'invalid_body') => new ApiError(400, code, description);

/** Seconds a client is asked to wait (Retry-After) while the database cannot be reached. */
export const UNAVAILABLE_RETRY_AFTER_S = 5;
/** … and while the disk is full, which takes an operator to mend. */
export const STORAGE_FULL_RETRY_AFTER_S = 30;

export function errorBody(code: string, description: string) {
  return { errors: [{ code, description }] };
}

export interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns an ajv error into a sentence naming the field: "metadata.events[0] must be one of …". */
export function describeValidation(context: string, e: AjvError): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\/(\d+)/g, '[$1]').replace(/\//g, '.');
  const field = path || (context === 'body' ? 'the body' : context);
  switch (e.keyword) {
    case 'required':
      return `${path ? path + '.' : ''}${String(e.params.missingProperty)} is required`;
    case 'additionalProperties':
      return `${path ? path + '.' : ''}${String(e.params.additionalProperty)} is not a known field`;
    case 'x-finite':
      return `${field} must be a finite number`;
    case 'enum':
      return `${field} must be one of: ${(e.params.allowedValues as unknown[]).join(', ')}`;
    default:
      return `${field} ${e.message ?? 'is invalid'}`;
  }
}

const CODES: Record<string, [number, string, string]> = {
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'invalid_json', 'the body is not valid JSON'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'invalid_json', 'the body is empty; send a JSON object'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'unsupported_media_type', 'send the body as application/json'],
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'body_too_large', 'the body is too large'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'invalid_request', 'Content-Length does not match the body'],
};

/** Errors the router raises before any route runs (a path that is not valid URL encoding, a too-long parameter). */
export function frameworkErrors(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const [status, code, description] = err.code === 'FST_ERR_MAX_PARAM_LENGTH'
    ? [414, 'uri_too_long', 'a path parameter is too long']
    : err.code === 'FST_ERR_BAD_URL'
      ? [400, 'invalid_request', 'the path is not valid URL encoding']
      : [500, 'internal_error', 'something went wrong on our side; it has been logged'];
  if (status === 500) reply.log.error({ err }, 'request failed');
  void reply.code(status).send(errorBody(code, description));
}

/**
 * `notFoundPage`: answers a request that no route matched with a page instead of JSON when it
 * wants one (the dashboard's "Page not found" for a browser: routes/dashboard.ts).
 */
export function installErrorHandlers(app: FastifyInstance, notFoundPage?: { wantsNotFoundPage(request: FastifyRequest): boolean; send(reply: FastifyReply, status: 404): FastifyReply }): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) {
      return reply.code(err.statusCode).send(errorBody(err.code, err.message));
    }
    if (err instanceof FieldErrors) {
      return reply.code(400).send({ errors: err.descriptions.map((description) => ({ code: err.code, description })) });
    }
    if (err instanceof Refused) {
      return reply.code(err instanceof Invalid ? 400 : err instanceof NotFound ? 404 : 409).send(errorBody(err.code, err.message));
    }
    if (err instanceof StorageFull) {
      // Nothing was committed. The store logs once when the disk fills and once when it has room
      // again (src/server.ts), not at every request refused meanwhile.
      return reply.code(503).header('retry-after', String(STORAGE_FULL_RETRY_AFTER_S))
        .send(errorBody('storage_full', err.message));
    }
    if (err instanceof StoreUnavailable) {
      // database_unavailable: nothing was committed (a store's transaction is all or nothing), so
      // the same request may be sent again. commit_unknown: it may have been committed.
      const unknown = err instanceof CommitUnknown;
      request.log.warn({ err: err.cause }, unknown ? 'the database did not confirm a commit' : 'the database does not answer');
      return reply.code(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_S))
        .send(errorBody(unknown ? 'commit_unknown' : 'database_unavailable', err.message));
    }
    if (err.validation) {
      const context = err.validationContext ?? 'body';
      const code = context === 'body' ? 'invalid_body' : `invalid_${context === 'querystring' ? 'query' : context}`;
      return reply.code(400).send(errorBody(code, describeValidation(context, err.validation[0] as AjvError)));
    }
    const known = err.code ? CODES[err.code] : undefined;
    if (known) return reply.code(known[0]).send(errorBody(known[1], known[2]));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('invalid_request', err.message));
    }
    request.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('internal_error', 'something went wrong on our side; it has been logged'));
  });
  // No route for this method and path. If the path has routes for other methods: 405 with Allow.
  // No handler runs either way, and nothing is said beyond the methods (a 404 or 405 is answered
  // before any key is asked for, like a 404 always was: src/api/auth.ts).
  app.setNotFoundHandler((request, reply) => {
    const allowed = allowedMethods(app, request.url);
    // A route that found nothing to serve (a static file that is not there) says so as a 404.
    if (allowed.length === 0 || allowed.includes(request.method)) {
      if (allowed.length === 0 && notFoundPage?.wantsNotFoundPage(request)) return notFoundPage.send(reply, 404);
      return reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0]}`));
    }
    return reply.code(405).header('allow', allowed.join(', '))
      .send(errorBody('method_not_allowed', `${request.method} is not allowed here; this route takes ${allowed.join(', ')}`));
  });
}

/**
 * The methods that have a route at this URL, asked of the router itself, so that it is matched
 * exactly as a request would be (decoding, trailing slash, parameters). For a URL it cannot
 * decode, or with a parameter too long, the router hands back a framework error's handler of its
 * own (frameworkErrors above) instead of a route: that one has no parsed query (searchParams),
 * and is no route.
 */
function allowedMethods(app: FastifyInstance, url: string): string[] {
  return app.supportedMethods.filter((method) => app.findRoute({ method, url })?.searchParams !== undefined);
}

/**
 * Requests Node's HTTP parser refuses before Fastify sees them (not HTTP, headers too large):
 * still answered in JWP's format, then the connection is closed. When the bad bytes follow a
 * good request on the same connection (a body sent without Content-Length), the good request's
 * answer goes first, so that the client reads the answer to what it asked.
 */
export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  // Node's own name for the response in progress on this socket.
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inFlight && !inFlight.writableFinished) {
    inFlight.once('finish', () => clientErrorHandler(err, socket));
    inFlight.once('close', () => socket.destroy());
    return;
  }
  const [status, code, description] = err.code === 'HPE_HEADER_OVERFLOW'
    ? [431, 'headers_too_large', 'the request headers are too large']
    : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time']
      : [400, 'invalid_request', 'the request is not valid HTTP'];
  const body = JSON.stringify(errorBody(code, description));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
