// Traces (OpenTelemetry), seen from the rest of Hookline: whether they are on (the standard OTEL_*
// variables say so), and the few calls intake, the engine and the API make when they are. This file
// imports nothing of OpenTelemetry: the SDK (otel.ts) is loaded only when tracing is on, so that a
// node without it pays one `undefined` check per intake and per attempt, and loads nothing.
import type { FastifyOtelInstrumentation } from '@fastify/otel';
import type { Context } from '@opentelemetry/api';
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ConfigError } from '../config.js';
import type { SendResult } from '../delivery/sender.js';
import type { PendingDelivery } from '../store/types.js';

/** @fastify/otel's plugin (a type only, as the other OpenTelemetry types here). */
export type FastifyOtelPlugin = ReturnType<FastifyOtelInstrumentation['plugin']>;

/** The exporters OTEL_TRACES_EXPORTER may name here (the OpenTelemetry SDK's names). */
const EXPORTERS = ['otlp', 'console', 'none'] as const;
export type TraceExporterName = (typeof EXPORTERS)[number];

/**
 * The exporters the environment asks for, or undefined when tracing is off: it is on when
 * OTEL_TRACES_EXPORTER names one (other than none) or an OTLP endpoint is set
 * (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and OTEL_SDK_DISABLED is not true.
 */
export function tracesWanted(env: NodeJS.ProcessEnv = process.env): TraceExporterName[] | undefined {
  const set = (name: string) => (env[name] ?? '').trim() !== '';
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  for (const name of named) {
    if (!(EXPORTERS as readonly string[]).includes(name)) {
      throw new ConfigError(`OTEL_TRACES_EXPORTER: Hookline exports traces with ${EXPORTERS.join(', ')}, not "${name}"`);
    }
  }
  if (named.length > 0) {
    const exporters = named.filter((e) => e !== 'none') as TraceExporterName[];
    return exporters.length > 0 ? [...new Set(exporters)] : undefined;
  }
  return set('OTEL_EXPORTER_OTLP_ENDPOINT') || set('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') ? ['otlp'] : undefined;
}

/**
 * Where a request's spans hang: the OpenTelemetry context of its request span, passed along by
 * hand (no AsyncLocalStorage: on Node 20 it would slow every promise of the process, and the
 * engine makes many). A type only: nothing of OpenTelemetry is loaded for it.
 */
export type TraceParent = Context;

/** The request's span (@fastify/otel's), as the parent of what it commits; undefined when not traced. */
export function requestTrace(request: FastifyRequest): TraceParent | undefined {
  if (!('opentelemetry' in request) || typeof request.opentelemetry !== 'function') return undefined;
  const otel: { context?: TraceParent | null } = request.opentelemetry();
  return otel.context ?? undefined;
}

/** A commit's span: started in the intake request's context, ended once the transaction answered. */
export interface CommitSpan {
  /** What the committed events keep (events.traceparent): their attempts are spans of this trace. */
  readonly traceparent: string;
  end(outcome: { kind: string; deliveries?: number }, batchSize: number): void;
  fail(err: unknown): void;
}

/** One attempt's span, a child of its event's commit span. */
export interface AttemptSpan {
  /** The traceparent a receiver gets (HOOKLINE_PROPAGATE_TRACE): this span's. */
  readonly traceparent: string;
  end(result: SendResult, state: 'succeeded' | 'retrying' | 'failed'): void;
}

export interface Tracing {
  /** @fastify/otel: a span per API request. Registered before any route. */
  readonly fastifyPlugin: FastifyOtelPlugin;
  startCommit(eventIds: readonly string[], siteId: string, parent: TraceParent | undefined): CommitSpan;
  startAttempt(d: PendingDelivery): AttemptSpan;
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** This node's id: the spans' service.instance.id. */
  nodeId: string;
  /** sqlite or postgresql: the commit span's db.system.name. */
  database: 'sqlite' | 'postgresql';
  logger: Logger;
}

/** Starts tracing if the environment asks for it (tracesWanted); undefined when it does not. */
export async function startTracing(options: TracingOptions, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | undefined> {
  const exporters = tracesWanted(env);
  if (!exporters) return undefined;
  const { OtelTracing } = await import('./otel.js');
  return new OtelTracing(exporters, options, env);
}
