// The audit log: who (which API key) changed what, and when. One hook records every successful
// POST, PUT, PATCH or DELETE on /v2/, so a route added later is audited without doing anything.
// A route names its action in its config (`audit: 'webhook.created'`; otherwise the method and
// path stand for it), may opt out (`audit: false`: event intake, which reports facts rather than
// changing anything), and may say what it touched with noteAudit() where the defaults (the
// caller's account, the created resource's id, the last path parameter) would be wrong.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomId } from '../ids.js';
import type { AuditEntry } from '../store/types.js';
import type { Store } from '../store/ports.js';
import { StorageFull } from '../store/unavailable.js';
import type { Clock } from '../time.js';
import { isApiRoute } from './auth.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: string | false;
  }
  interface FastifyRequest {
    auditNote: AuditNote | null;
  }
}

export interface AuditNote {
  /** The account the change concerns, when the caller is the operator. */
  accountId?: string | null;
  targetType?: string;
  targetId?: string;
}

export function noteAudit(request: FastifyRequest, note: AuditNote): void {
  request.auditNote = { ...request.auditNote, ...note };
}

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function createdId(reply: FastifyReply, payload: unknown): string | undefined {
  if (reply.statusCode !== 201 || typeof payload !== 'string') return undefined;
  try {
    // The serialized answer, parsed back: nothing types it (a 201 of every route comes here).
    const id = (JSON.parse(payload) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function entryFor(request: FastifyRequest, reply: FastifyReply, payload: unknown, now: number): AuditEntry {
  const configured = request.routeOptions.config.audit;
  const action = configured || `${request.method} ${request.routeOptions.url}`;
  const params = Object.entries((request.params ?? {}) as Record<string, string>);
  const lastParam = params[params.length - 1];
  const note = request.auditNote ?? {};
  const principal = request.principal;
  // A hook of every route: its params are untyped, and an operator route may name an account.
  const accountId = note.accountId !== undefined
    ? note.accountId
    : principal.kind === 'account' ? principal.accountId : ((request.params as { account_id?: string }).account_id ?? null);
  return {
    id: randomId(16),
    accountId,
    actor: request.portal ? 'portal' : principal.kind,
    keyId: request.apiKeyId,
    action,
    targetType: note.targetType ?? (configured ? configured.split('.')[0]! : lastParam?.[0].replace(/_id$/, '')) ?? null,
    targetId: note.targetId ?? createdId(reply, payload) ?? lastParam?.[1] ?? null,
    ip: request.ip ?? null,
    created: now,
  };
}

export function installAudit(app: FastifyInstance, store: Store, clock: Clock): void {
  app.decorateRequest('auditNote', null);
  app.addHook('onSend', async (request, reply, payload) => {
    const audited = CHANGES.has(request.method) && isApiRoute(request) && request.principal
      && reply.statusCode >= 200 && reply.statusCode < 300 && request.routeOptions.config.audit !== false;
    if (audited) {
      try {
        await store.appendAudit(entryFor(request, reply, payload, clock.now()));
      } catch (err) {
        // The change is committed already; failing the answer would make the caller repeat it.
        // (A full disk is logged once by the store, not with a stack at every request.)
        if (err instanceof StorageFull) request.log.warn({ reason: err.message }, 'writing the audit log failed');
        else request.log.error({ err }, 'writing the audit log failed');
      }
    }
    return payload;
  });
}
