// What the domain (src/platform, src/ingest) throws when it refuses a request, in its own terms:
// the kind of refusal, a code, and a sentence for the client. It knows no HTTP: src/api/errors.ts
// answers these in JWP's error format, with the status each kind stands for, in one place.

/** A refusal: nothing was changed. `code` is the error's code, the message its description. */
export abstract class Refused extends Error {
  constructor(readonly code: string, description: string) {
    super(description);
  }
}

/** The request itself is wrong: a field missing, out of place or malformed (the API answers 400). */
export class Invalid extends Refused {}

/** What the request names does not exist (the API answers 404, not_found). */
export class NotFound extends Refused {
  constructor(description: string) {
    super('not_found', description);
  }
}

/**
 * The request clashes with the present state: the object already exists or was deleted, the
 * Idempotency-Key was used for another request, or other facts keep getting there first (the API answers 409).
 */
export class Conflict extends Refused {}
