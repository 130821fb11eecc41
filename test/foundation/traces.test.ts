// Traces (OpenTelemetry): a real `hookline start` with the standard OTEL_* variables exports to a
// small OTLP/HTTP collector on loopback, and one event is one trace: the intake request (which
// continues the platform's traceparent), its commit, and a span per delivery attempt, with the
// ids as attributes; the receiver gets the attempt's traceparent only with HOOKLINE_PROPAGATE_TRACE.
import { rmSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { Api, OPERATOR_KEY, createWebhook, runCli, spawnCli, startReceiver, tempDir, type CliProcess, type Receiver } from '../helpers.js';
import { startCollector, type Collector, type ReceivedSpan } from '../otlp-collector.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The platform's own trace, which the intake request continues. */
const PLATFORM_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PLATFORM_SPAN = '00f067aa0ba902b7';

async function tracedNode(collector: Collector, env: Record<string, string> = {}): Promise<{ cli: CliProcess; operator: Api; account: Api; siteId: string }> {
  const dataDir = tempDir();
  const cli = spawnCli(['start', '--dev', '--port', '0', '--data-dir', dataDir], {
    HOOKLINE_OPERATOR_KEY: OPERATOR_KEY,
    HOOKLINE_RETRY_SCHEDULE: '0,100ms,100ms',
    HOOKLINE_RETRY_JITTER: '0',
    HOOKLINE_LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    // The SDK's batch delay (5 s by default), through its own variable.
    OTEL_BSP_SCHEDULE_DELAY: '50',
    ...env,
  });
  cleanup.push(async () => {
    cli.child.kill('SIGTERM');
    await cli.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  const [, url] = await cli.waitFor(/listening on (http:\/\/\S+)/, 20_000);
  const [, siteId] = await cli.waitFor(/property \(site_id\): (\S+)/);
  const [, key] = await cli.waitFor(/account API key \(shown once, keep it\): (hlk_\S+)/);
  return { cli, operator: new Api(url!, OPERATOR_KEY), account: new Api(url!, key), siteId: siteId! };
}

async function collectorAndReceiver(answer?: Parameters<typeof startReceiver>[0]): Promise<{ collector: Collector; receiver: Receiver }> {
  const collector = await startCollector();
  cleanup.push(() => collector.close());
  const receiver = await startReceiver(answer);
  cleanup.push(() => receiver.close());
  return { collector, receiver };
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

it('follows one event from its intake request through its commit to each delivery attempt, in one trace', async () => {
  // The first attempt gets a 500, the second a 200: two attempt spans.
  const { collector, receiver } = await collectorAndReceiver((_req, i) => (i === 0 ? 500 : 200));
  const { operator, account, siteId } = await tracedNode(collector);
  expect((await operator.get('/healthz')).status).toBe(200);
  const webhook = await createWebhook(account, [siteId], receiver.url);

  const reported = await operator.post(`/v2/sites/${siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' }, {
    traceparent: `00-${PLATFORM_TRACE}-${PLATFORM_SPAN}-01`,
  });
  expect(reported.status).toBe(202);
  const eventId: string = reported.body.id;
  const [first, second] = await receiver.waitFor(2);
  const deliveryId = first!.headers['webhook-id'];
  expect(second!.headers['webhook-id']).toBe(deliveryId);
  // Not asked for: the receivers get no trace context.
  expect(first!.headers.traceparent).toBeUndefined();

  const spans = await collector.waitFor((all) => named(all, 'hookline.attempt').length >= 2 && all);
  const inTrace = spans.filter((s) => s.traceId === PLATFORM_TRACE);
  // The intake request (@fastify/otel) continues the platform's trace, with its handler under it.
  const request = inTrace.find((s) => s.name === 'request' && s.attributes['http.route'] === '/v2/sites/:site_id/events/');
  expect(request, JSON.stringify(spans, null, 1)).toBeDefined();
  expect(request!.parentSpanId).toBe(PLATFORM_SPAN);
  expect(request!.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 202 });
  expect(request!.resource['service.name']).toBe('hookline');
  const handler = inTrace.find((s) => s.parentSpanId === request!.spanId && s.name.startsWith('handler'));
  expect(handler).toBeDefined();

  // Its commit, under the request.
  const [commit, ...otherCommits] = named(inTrace, 'hookline.commit');
  expect(otherCommits).toEqual([]);
  expect(commit!.parentSpanId).toBe(request!.spanId);
  expect(commit!.attributes).toMatchObject({
    'hookline.event.id': eventId, 'hookline.site.id': siteId, 'hookline.deliveries': 1,
    'hookline.commit.outcome': 'accepted', 'db.system.name': 'sqlite',
  });

  // Each attempt, under the commit: the same trace, whichever turn of the engine sent it.
  const attempts = named(spans, 'hookline.attempt').sort((a, b) => Number(a.attributes['hookline.attempt']) - Number(b.attributes['hookline.attempt']));
  expect(attempts).toHaveLength(2);
  for (const attempt of attempts) {
    expect(attempt.traceId).toBe(PLATFORM_TRACE);
    expect(attempt.parentSpanId).toBe(commit!.spanId);
    expect(attempt.kind).toBe(3); // CLIENT
    expect(attempt.attributes).toMatchObject({
      'hookline.webhook.id': webhook.id, 'hookline.delivery.id': deliveryId, 'hookline.event.id': eventId,
      'hookline.event.type': 'media_available',
    });
  }
  expect(attempts[0]!.attributes).toMatchObject({ 'hookline.attempt': 1, 'http.response.status_code': 500, 'error.type': '500', 'hookline.attempt.outcome': 'retrying' });
  expect(attempts[0]!.status.code).toBe(2); // ERROR
  expect(attempts[1]!.attributes).toMatchObject({ 'hookline.attempt': 2, 'http.response.status_code': 200, 'hookline.attempt.outcome': 'succeeded' });
  expect(attempts[1]!.attributes['error.type']).toBeUndefined();

  // Probes and scrapes make no spans; everything came as OTLP/JSON.
  expect(spans.filter((s) => s.attributes['url.path'] === '/healthz')).toEqual([]);
  expect(collector.refused).toEqual([]);
});

it('sends the attempt\'s traceparent to the receiver only with HOOKLINE_PROPAGATE_TRACE', async () => {
  const { collector, receiver } = await collectorAndReceiver();
  const { operator, account, siteId } = await tracedNode(collector, { HOOKLINE_PROPAGATE_TRACE: 'true' });
  await createWebhook(account, [siteId], receiver.url);
  expect((await operator.post(`/v2/sites/${siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' })).status).toBe(202);
  const [delivery] = await receiver.waitFor(1);
  const [attempt] = await collector.waitFor((all) => named(all, 'hookline.attempt').length >= 1 && named(all, 'hookline.attempt'));
  expect(delivery!.headers.traceparent).toBe(`00-${attempt!.traceId}-${attempt!.spanId}-01`);
  // A trace of its own (no traceparent came with the report), begun by the intake request.
  const commit = named(collector.spans, 'hookline.commit').find((s) => s.spanId === attempt!.parentSpanId);
  expect(commit?.traceId).toBe(attempt!.traceId);
});

it('refuses HOOKLINE_PROPAGATE_TRACE without tracing, and an exporter it does not have', async () => {
  const dataDir = tempDir();
  cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const base = { HOOKLINE_OPERATOR_KEY: OPERATOR_KEY, HOOKLINE_DATA_DIR: dataDir, HOOKLINE_PORT: '0' };
  const propagate = await runCli(['start', '--dev'], { ...base, HOOKLINE_PROPAGATE_TRACE: 'true' });
  expect(propagate.code).toBe(2);
  expect(propagate.output).toContain('HOOKLINE_PROPAGATE_TRACE needs tracing on: set OTEL_EXPORTER_OTLP_ENDPOINT');
  const zipkin = await runCli(['start', '--dev'], { ...base, OTEL_TRACES_EXPORTER: 'zipkin' });
  expect(zipkin.code).toBe(2);
  expect(zipkin.output).toContain('OTEL_TRACES_EXPORTER: Hookline exports traces with otlp, console, none, not "zipkin"');
  const grpc = await runCli(['start', '--dev'], { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
  expect(grpc.code).toBe(2);
  expect(grpc.output).toContain('OTEL_EXPORTER_OTLP_PROTOCOL: Hookline exports traces over http/protobuf or http/json, not "grpc"');
});

it('puts a platform fact\'s commit in its request\'s trace, and exports what is buffered when the node stops', async () => {
  const { collector, receiver } = await collectorAndReceiver();
  // Batches wait an hour: what the collector gets, the node's shutdown sent.
  const { cli, operator, account, siteId } = await tracedNode(collector, { OTEL_BSP_SCHEDULE_DELAY: '3600000' });
  const webhook = await createWebhook(account, [siteId], receiver.url, ['media_created']);
  const created = await operator.post(`/v2/sites/${siteId}/media/`, { id: 'MNYaMSQl', renditions: ['180p'] }, {
    traceparent: `00-${PLATFORM_TRACE}-${PLATFORM_SPAN}-01`,
  });
  expect(created.status).toBe(201);
  const [{ id: eventId }] = created.body.events;
  await receiver.waitFor(1);
  expect(collector.spans.filter((s) => s.name === 'hookline.attempt')).toEqual([]);

  cli.child.kill('SIGTERM');
  expect(await cli.exited).toBe(0);
  const request = collector.spans.find((s) => s.name === 'request' && s.attributes['http.route'] === '/v2/sites/:site_id/media/');
  expect(request?.traceId).toBe(PLATFORM_TRACE);
  const commit = collector.spans.find((s) => s.name === 'hookline.commit' && s.attributes['hookline.event.id'] === eventId);
  expect(commit).toMatchObject({ traceId: PLATFORM_TRACE, parentSpanId: request!.spanId });
  const attempt = collector.spans.find((s) => s.name === 'hookline.attempt');
  expect(attempt).toMatchObject({ traceId: PLATFORM_TRACE, parentSpanId: commit!.spanId });
  expect(attempt!.attributes).toMatchObject({ 'hookline.webhook.id': webhook.id, 'hookline.event.id': eventId, 'hookline.event.type': 'media_created' });
});
