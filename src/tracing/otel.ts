// The OpenTelemetry SDK behind src/tracing/index.ts, loaded only when tracing is on. The SDK reads
// the standard OTEL_* variables itself (endpoint, headers, timeout, compression, sampler, batch
// sizes, resource attributes); this file picks the exporter (OTEL_TRACES_EXPORTER, and for otlp
// OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL), names the service `hookline`, and makes the two spans
// Hookline adds to @fastify/otel's request spans: a commit's, and one per delivery attempt, whose
// parent is its event's commit span, read back from the traceparent the event row keeps.
import { FastifyOtelInstrumentation } from '@fastify/otel';
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Context, type Span, type SpanContext, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter as OtlpJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OtlpProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, ConsoleSpanExporter, NodeTracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace-node';
import { ATTR_ERROR_TYPE, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import { ConfigError } from '../config.js';
import type { SendResult } from '../delivery/sender.js';
import type { PendingDelivery } from '../store/types.js';
import { VERSION } from '../version.js';
import type { AttemptSpan, CommitSpan, FastifyOtelPlugin, TraceExporterName, TraceParent, Tracing, TracingOptions } from './index.js';

/** Attribute names of Hookline's own (no semantic convention names these ids), and db.system.name's. */
const ATTR = {
  eventId: 'hookline.event.id',
  siteId: 'hookline.site.id',
  outcome: 'hookline.attempt.outcome',
  deliveries: 'hookline.deliveries',
  commitOutcome: 'hookline.commit.outcome',
  batchSize: 'hookline.commit.batch_size',
  dbSystem: 'db.system.name',
} as const;

/** Paths polled by probes and scrapers: no span for them. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/** Parsed parents kept (one per event): the fan-out of an event reads the same one many times. */
const PARENTS_KEPT = 4_096;

export class OtelTracing implements Tracing {
  readonly fastifyPlugin: FastifyOtelPlugin;
  private readonly provider: NodeTracerProvider;
  private readonly tracer: Tracer;
  private readonly parents = new Map<string, Context>();

  constructor(exporters: TraceExporterName[], private readonly options: TracingOptions, env: NodeJS.ProcessEnv) {
    const resource = defaultResource()
      .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'hookline', [ATTR_SERVICE_VERSION]: VERSION, 'service.instance.id': options.nodeId }))
      // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
      .merge(detectResources({ detectors: [envDetector] }));
    this.provider = new NodeTracerProvider({
      resource,
      // OTEL_BSP_* set the batches (queue 2048, 512 per export, every 5 s by default).
      spanProcessors: exporters.map((name) => new BatchSpanProcessor(exporter(name, env))),
    });
    // The API's globals, but no context manager: AsyncLocalStorage would slow every promise of the
    // process on Node 20 (a hook on each), and the engine makes many. A request's span reaches its
    // commit by hand (requestTrace); W3C traceparent is read from requests (the propagator).
    this.provider.register({ contextManager: null });
    this.tracer = this.provider.getTracer('hookline', VERSION);
    const instrumentation = new FastifyOtelInstrumentation({
      // The request and its handler: a span per hook (auth, limits, audit) would triple the spans.
      instrumentHooks: false,
      ignorePaths: (route: { url?: string }) => UNTRACED_PATHS.has(route.url ?? ''),
    });
    instrumentation.setTracerProvider(this.provider);
    this.fastifyPlugin = instrumentation.plugin();
    options.logger.info({ exporters }, 'tracing on (OpenTelemetry)');
  }

  startCommit(eventIds: readonly string[], siteId: string, parent: TraceParent | undefined): CommitSpan {
    const span = this.tracer.startSpan('hookline.commit', {
      kind: SpanKind.INTERNAL,
      attributes: {
        [ATTR.eventId]: eventIds.length === 1 ? eventIds[0] : [...eventIds],
        [ATTR.siteId]: siteId,
        [ATTR.dbSystem]: this.options.database,
      },
    }, parent ?? ROOT_CONTEXT);
    return {
      traceparent: traceparentOf(span.spanContext()),
      end: (outcome, batchSize) => {
        span.setAttribute(ATTR.commitOutcome, outcome.kind);
        span.setAttribute(ATTR.batchSize, batchSize);
        if (outcome.deliveries !== undefined) span.setAttribute(ATTR.deliveries, outcome.deliveries);
        span.end();
      },
      fail: (err) => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
        span.setAttribute(ATTR_ERROR_TYPE, err instanceof Error ? err.name : 'Error');
        span.end();
      },
    };
  }

  /**
   * The attempt's span: its ids, and how it went (Attempt.end). Each attribute costs every span
   * about 0.3 µs to make and export, a third of the span's cost with eleven of them: the URL
   * (url.full, server.address, server.port) and the method (always POST) are left out, as the
   * webhook id says where it went. The literal keys make the object V8's fast kind.
   */
  startAttempt(d: PendingDelivery): AttemptSpan {
    const span = this.tracer.startSpan('hookline.attempt', {
      kind: SpanKind.CLIENT,
      attributes: {
        'hookline.webhook.id': d.webhookId,
        'hookline.delivery.id': d.id,
        'hookline.event.id': d.eventId,
        'hookline.event.type': d.facts.event,
        'hookline.attempt': d.attempts + 1,
      },
    }, this.parent(d.facts.traceparent));
    return new Attempt(span);
  }

  async shutdown(): Promise<void> {
    await this.provider.shutdown();
    trace.disable();
    context.disable();
  }

  /** The context of the commit span an event keeps, parsed once per event (or a new trace without one). */
  private parent(traceparent: string | undefined): Context {
    if (traceparent === undefined) return ROOT_CONTEXT;
    let parent = this.parents.get(traceparent);
    if (parent === undefined) {
      const spanContext = parseTraceparent(traceparent);
      parent = spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
      if (this.parents.size >= PARENTS_KEPT) this.parents.clear();
      this.parents.set(traceparent, parent);
    }
    return parent;
  }
}

class Attempt implements AttemptSpan {
  constructor(private readonly span: Span) {}

  get traceparent(): string {
    return traceparentOf(this.span.spanContext());
  }

  end(result: SendResult, state: 'succeeded' | 'retrying' | 'failed'): void {
    const span = this.span;
    if (result.statusCode !== null) span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.statusCode);
    span.setAttribute(ATTR.outcome, state);
    if (result.error !== null) {
      span.setAttribute(ATTR_ERROR_TYPE, result.statusCode !== null ? String(result.statusCode) : errorType(result.error));
      span.setStatus({ code: SpanStatusCode.ERROR, message: result.error });
    }
    span.end();
  }
}

/** An attempt that got no answer: the error's code (ECONNREFUSED, …) or what it was. */
function errorType(error: string): string {
  if (error.startsWith('timeout')) return 'timeout';
  return /^([A-Z][A-Z0-9_]+):/.exec(error)?.[1] ?? '_OTHER';
}

function exporter(name: TraceExporterName, env: NodeJS.ProcessEnv): SpanExporter {
  if (name === 'console') return new ConsoleSpanExporter();
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
  if (protocol === 'http/protobuf') return new OtlpProtobufExporter();
  if (protocol === 'http/json') return new OtlpJsonExporter();
  throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: Hookline exports traces over http/protobuf or http/json, not "${protocol}"`);
}

/** W3C trace context: 00-<trace id>-<span id>-<flags>. */
export function traceparentOf(c: SpanContext): string {
  return `00-${c.traceId}-${c.spanId}-${c.traceFlags & 1 ? '01' : '00'}`;
}

function parseTraceparent(value: string): SpanContext | undefined {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  return m ? { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true } : undefined;
}
