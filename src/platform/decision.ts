// What a lifecycle rule answers to a fact: the subject's next state and the JWP events that
// follow, or a refusal that changes nothing. Pure data, so the rules can be tested alone.
// JWP's rules and Hookline's readings of them: docs/jwp-events.md.
import type { IdField } from '../catalog/events.js';

export interface Emitted {
  event: string;
  ids: Partial<Record<IdField, string>>;
}

/** Why a fact cannot be accepted; the API answers it as a JWP error. */
export interface Refusal {
  status: 404 | 409;
  code: string;
  description: string;
}

export type Decision<S> = { ok: true; state: S; events: Emitted[] } | { ok: false; refusal: Refusal };

export const accept = <S>(state: S, events: Emitted[] = []): Decision<S> => ({ ok: true, state, events });
export const refuse = <S>(status: Refusal['status'], code: string, description: string): Decision<S> => ({
  ok: false,
  refusal: { status, code, description },
});
