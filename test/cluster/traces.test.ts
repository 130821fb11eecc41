// Traces on a cluster: an event reported to an api node and delivered by a worker node (two
// `hookline start` processes on one PostgreSQL schema, both exporting to one OTLP/HTTP collector on
// loopback) is one trace: the worker reads the commit's traceparent from the event's row, and its
// attempt span is a child of the api node's commit span.
import { rmSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { Api, OPERATOR_KEY, TEST_SECRET_KEY, createWebhook, freshSchema, spawnCli, startReceiver, tempDir } from '../helpers.js';
import { startCollector, type Collector } from '../otlp-collector.js';

const cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function node(role: 'api' | 'worker', databaseUrl: string, collector: Collector) {
  const dataDir = tempDir();
  const cli = spawnCli(['start', '--dev', '--port', '0', '--role', role], {
    DATABASE_URL: databaseUrl,
    HOOKLINE_SECRET_KEY: TEST_SECRET_KEY,
    HOOKLINE_OPERATOR_KEY: OPERATOR_KEY,
    HOOKLINE_DATA_DIR: dataDir,
    HOOKLINE_LOG_LEVEL: 'warn',
    OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_BSP_SCHEDULE_DELAY: '50',
  });
  cleanup.push(async () => {
    cli.child.kill('SIGTERM');
    await cli.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });
  return cli;
}

it('keeps an event delivered by another node in the trace of its intake', async () => {
  const schema = await freshSchema();
  cleanup.push(() => schema.drop());
  const collector = await startCollector();
  cleanup.push(() => collector.close());
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());

  const api = node('api', schema.url, collector);
  const [, url] = await api.waitFor(/listening on (http:\/\/\S+)/, 20_000);
  const [, siteId] = await api.waitFor(/property \(site_id\): (\S+)/);
  const [, key] = await api.waitFor(/account API key \(shown once, keep it\): (hlk_\S+)/);
  const worker = node('worker', schema.url, collector);
  await worker.waitFor(/worker listening on/, 20_000);

  const webhook = await createWebhook(new Api(url!, key), [siteId!], receiver.url);
  const reported = await new Api(url!, OPERATOR_KEY).post(`/v2/sites/${siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' });
  expect(reported.status).toBe(202);
  const [delivery] = await receiver.waitFor(1, 20_000);

  const [commit, attempt] = await collector.waitFor((spans) => {
    const c = spans.find((s) => s.name === 'hookline.commit' && s.attributes['hookline.event.id'] === reported.body.id);
    const a = spans.find((s) => s.name === 'hookline.attempt' && s.attributes['hookline.event.id'] === reported.body.id);
    return c && a && [c, a];
  });
  expect(attempt!.traceId).toBe(commit!.traceId);
  expect(attempt!.parentSpanId).toBe(commit!.spanId);
  expect(commit!.attributes['db.system.name']).toBe('postgresql');
  expect(attempt!.attributes).toMatchObject({
    'hookline.webhook.id': webhook.id, 'hookline.delivery.id': delivery!.headers['webhook-id'], 'http.response.status_code': 200,
  });
  // Two nodes: the commit's span comes from the api node, the attempt's from the worker.
  expect(commit!.resource['service.name']).toBe('hookline');
  expect(attempt!.resource['service.name']).toBe('hookline');
  expect(commit!.resource['service.instance.id']).toMatch(/^node_/);
  expect(attempt!.resource['service.instance.id']).toMatch(/^node_/);
  expect(attempt!.resource['service.instance.id']).not.toBe(commit!.resource['service.instance.id']);
  // And the intake request's span is the root of that trace, on the api node.
  const request = collector.spans.find((s) => s.traceId === commit!.traceId && s.name === 'request');
  expect(request?.parentSpanId).toBe('');
  expect(request?.resource['service.instance.id']).toBe(commit!.resource['service.instance.id']);
});
