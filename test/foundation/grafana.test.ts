// The Grafana dashboard (ops/grafana-dashboard.json) against a running server's /metrics: every
// metric its queries name, and every label they select or group by, is in what the server
// exposes, so that renaming a metric without the dashboard fails here rather than on an
// operator's screen. It also shows what the issue asks of it: outcomes, latency, backlog, the
// oldest pending delivery and disabled webhooks.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWebhook, nodePerTest, until } from '../helpers.js';

const DASHBOARD = join(import.meta.dirname, '../../ops/grafana-dashboard.json');
/** Labels Prometheus adds when it scrapes, and the histogram's own: not in a metric's own labels. */
const SCRAPE_LABELS = new Set(['job', 'instance', 'le']);

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}

/** Every query of the dashboard: the panels' and the template variables'. */
function queries(dashboard: { panels: Panel[]; templating: { list: { query?: unknown }[] } }): string[] {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
  const variables = dashboard.templating.list.map((v) => (typeof v.query === 'object' && v.query ? (v.query as { query: string }).query : undefined));
  return [...exprs, ...variables.filter((q): q is string => typeof q === 'string' && q.includes('hookline_'))];
}

/** The exposition's series: each name (with _bucket, _sum, _count) and the labels it carries. */
function exposed(text: string): Map<string, Set<string>> {
  const series = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s/.exec(line);
    if (!match) continue;
    const labels = series.get(match[1]!) ?? new Set<string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) labels.add(pair[1]!);
    series.set(match[1]!, labels);
  }
  return series;
}

describe('the Grafana dashboard', () => {
  const nodes = nodePerTest();

  it('names only metrics and labels that a running server exposes on /metrics', async () => {
    const node = await nodes.start({ breakerThreshold: 1_000 });
    const failing = await nodes.receiver(() => 500);
    await createWebhook(node.account.api, [node.account.siteId], failing.url, ['media_available']);
    expect((await node.operator.post(`/v2/sites/${node.account.siteId}/events/`, { event: 'media_available', media_id: 'MNYaMSQl' })).status).toBe(202);
    // One failed attempt: the failure streak has its series, the histogram its observation.
    await failing.waitFor(1);
    const scrape = await until(async () => {
      const res = await node.operator.get('/metrics');
      return /^hookline_webhook_consecutive_failures\{/m.test(res.body) ? (res.body as string) : undefined;
    }, 10_000, 'a failure streak in /metrics');
    const series = exposed(scrape);

    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    const all = queries(dashboard);
    expect(all.length).toBeGreaterThan(0);
    for (const query of all) {
      const names = [...query.matchAll(/\bhookline_[a-z0-9_]+/g)].map((m) => m[0]);
      expect(names.length, query).toBeGreaterThan(0);
      for (const name of names) expect(series.has(name), `${name} (in ${query}) is not in /metrics`).toBe(true);
      const labels = new Set(names.flatMap((n) => [...series.get(n)!]));
      const selected = [...query.matchAll(/\bhookline_[a-z0-9_]+\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!));
      const grouped = [...query.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter(Boolean));
      const labelValues = [...query.matchAll(/label_values\([^,]+,\s*(\w+)\)/g)].map((m) => m[1]!);
      for (const label of [...selected, ...grouped, ...labelValues]) {
        if (!SCRAPE_LABELS.has(label)) expect(labels.has(label), `label ${label} (in ${query}) is on none of ${names.join(', ')}`).toBe(true);
      }
    }
  });

  it('shows outcomes, attempt latency, pending deliveries, the oldest pending age and disabled webhooks', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
    const panelFor = (metric: string) => dashboard.panels.filter((p) => (p.targets ?? []).some((t) => t.expr.includes(metric))).map((p) => p.title);
    expect(panelFor('hookline_delivery_attempts_total')).toContain('Delivery attempts by outcome');
    expect(panelFor('hookline_attempt_duration_seconds_bucket')).toEqual(['Attempt latency']);
    expect(panelFor('hookline_deliveries_pending')).toEqual(['Pending deliveries']);
    expect(panelFor('hookline_oldest_pending_age_seconds')).toEqual(['Oldest pending delivery']);
    expect(panelFor('hookline_webhooks_disabled')).toEqual(['Disabled webhooks']);
  });
});
