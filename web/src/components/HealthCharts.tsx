// A webhook's health over time, drawn: attempts per hour (24 h) or per day (30 days) as bars, the
// failed part of each bar in red, the success rate as a line over them, and the latency
// percentiles of the window. Plain SVG, no chart library: two small charts do not need one. Each
// chart is a figure with a title and a summary for screen readers, and its numbers are in a table
// beneath it (collapsed), the same data for whoever cannot see the drawing.
import { useId } from 'react';
import { percent } from '../format';
import type { HistoryBucket, HistoryWindow, WebhookStats } from '../types';

const WIDTH = 720;
const HEIGHT = 180;
const PAD = { top: 12, right: 44, bottom: 24, left: 40 };
const PLOT_W = WIDTH - PAD.left - PAD.right;
const PLOT_H = HEIGHT - PAD.top - PAD.bottom;

const hour = new Intl.DateTimeFormat('en', { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const day = new Intl.DateTimeFormat('en', { month: 'short', day: 'numeric', timeZone: 'UTC' });

/** What a bucket is called: its hour (local time) or its UTC day. */
function bucketLabel(b: HistoryBucket, window: HistoryWindow): string {
  return window === '24h' ? hour.format(new Date(b.start)) : day.format(new Date(b.start));
}

/** A round top for the axis: 1, 2, 5, 10, 20, 50, … at or above `max`. */
function niceMax(max: number): number {
  if (max <= 1) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max)!;
}

export function HealthCharts({ stats, window, onWindow, loading }: {
  stats: WebhookStats | undefined;
  window: HistoryWindow;
  onWindow: (w: HistoryWindow) => void;
  loading: boolean;
}) {
  const id = useId();
  const buckets = stats?.window === window ? stats.buckets ?? [] : [];
  const total = buckets.reduce((n, b) => n + b.attempts, 0);
  const succeeded = buckets.reduce((n, b) => n + b.succeeded, 0);
  const latency = stats?.window === window ? stats.latency_ms ?? null : null;
  const span = window === '24h' ? 'the last 24 hours, by the hour' : 'the last 30 days, by the day (UTC)';
  return (
    <section className="card charts" aria-labelledby={`${id}-title`} aria-busy={loading}>
      <div className="card-head">
        <div>
          <h2 id={`${id}-title`}>Health over time</h2>
          <p className="muted small">Attempts to this webhook over {span}, and how long they took.</p>
        </div>
        <div className="segmented" role="group" aria-label="Window">
          {(['24h', '30d'] as const).map((w) => (
            <button key={w} type="button" className="button button-small" aria-pressed={window === w} onClick={() => onWindow(w)}>
              {w === '24h' ? '24 hours' : '30 days'}
            </button>
          ))}
        </div>
      </div>
      <div className="charts-body">
        <dl className="chart-stats">
          <div><dt>Attempts</dt><dd>{total}</dd></div>
          <div><dt>Success rate</dt><dd>{total === 0 ? '—' : percent(succeeded / total)}</dd></div>
        </dl>
        {buckets.length > 0 && <AttemptsChart buckets={buckets} window={window} total={total} succeeded={succeeded} />}
        {latency && <LatencyChart latency={latency} />}
        {buckets.length > 0 && total === 0 && <p className="muted small">No attempts in this window.</p>}
      </div>
    </section>
  );
}

function AttemptsChart({ buckets, window, total, succeeded }: { buckets: HistoryBucket[]; window: HistoryWindow; total: number; succeeded: number }) {
  const id = useId();
  const top = niceMax(Math.max(...buckets.map((b) => b.attempts)));
  const slot = PLOT_W / buckets.length;
  const barW = Math.max(2, slot * 0.7);
  const x = (i: number) => PAD.left + i * slot + (slot - barW) / 2;
  const y = (n: number) => PAD.top + PLOT_H - (n / top) * PLOT_H;
  const rateY = (r: number) => PAD.top + PLOT_H - r * PLOT_H;
  // The success rate's line joins the buckets that had attempts.
  const rated = buckets.map((b, i) => ({ b, i })).filter(({ b }) => b.success_rate !== null);
  const line = rated.map(({ b, i }, k) => `${k === 0 ? 'M' : 'L'}${(x(i) + barW / 2).toFixed(1)},${rateY(b.success_rate!).toFixed(1)}`).join(' ');
  const every = window === '24h' ? 4 : 5;
  const summary = `${total} attempts, ${total === 0 ? 'none' : percent(succeeded / total)} successful; the busiest ${window === '24h' ? 'hour' : 'day'} had ${Math.max(...buckets.map((b) => b.attempts))}.`;
  return (
    <figure className="chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`} className="chart-caption">
        Attempts per {window === '24h' ? 'hour' : 'day'} <span className="chart-key chart-key-ok">succeeded</span>{' '}
        <span className="chart-key chart-key-failed">failed</span> <span className="chart-key chart-key-rate">success rate</span>
      </figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} className="chart-svg" role="img" aria-label={`Attempts per ${window === '24h' ? 'hour' : 'day'}: ${summary}`}>
        <title>{`Attempts per ${window === '24h' ? 'hour' : 'day'}: ${summary}`}</title>
        {[0, 0.5, 1].map((f) => (
          <g key={f} className="chart-grid">
            <line x1={PAD.left} x2={WIDTH - PAD.right} y1={y(top * f)} y2={y(top * f)} />
            <text x={PAD.left - 6} y={y(top * f) + 4} textAnchor="end">{Math.round(top * f)}</text>
            <text x={WIDTH - PAD.right + 6} y={rateY(f) + 4} textAnchor="start">{`${f * 100}%`}</text>
          </g>
        ))}
        {buckets.map((b, i) => (
          <g key={b.start} className="chart-bar" data-bucket={b.start}>
            <title>{`${bucketLabel(b, window)}: ${b.attempts} attempts, ${b.attempts - b.succeeded} failed`}</title>
            {b.succeeded > 0 && <rect className="chart-ok" x={x(i)} width={barW} y={y(b.succeeded)} height={y(0) - y(b.succeeded)} />}
            {b.attempts > b.succeeded && <rect className="chart-failed" x={x(i)} width={barW} y={y(b.attempts)} height={y(b.succeeded) - y(b.attempts)} />}
            {i % every === 0 && <text className="chart-label" x={x(i) + barW / 2} y={HEIGHT - 6} textAnchor="middle">{bucketLabel(b, window)}</text>}
          </g>
        ))}
        {line && <path className="chart-rate" d={line} />}
        {rated.map(({ b, i }) => <circle key={b.start} className="chart-rate-dot" cx={x(i) + barW / 2} cy={rateY(b.success_rate!)} r={3} />)}
      </svg>
      <details className="chart-table">
        <summary>Show as a table</summary>
        <table className="table">
          <caption className="visually-hidden">Attempts per {window === '24h' ? 'hour' : 'day'}</caption>
          <thead>
            <tr><th scope="col">{window === '24h' ? 'Hour' : 'Day'}</th><th scope="col">Attempts</th><th scope="col">Succeeded</th><th scope="col">Success rate</th></tr>
          </thead>
          <tbody>
            {buckets.map((b) => (
              <tr key={b.start}>
                <th scope="row"><time dateTime={b.start}>{bucketLabel(b, window)}</time></th>
                <td>{b.attempts}</td>
                <td>{b.succeeded}</td>
                <td>{b.success_rate === null ? '—' : percent(b.success_rate)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

/** The window's latency percentiles as three bars on one scale, each with its value written beside it. */
function LatencyChart({ latency }: { latency: { p50: number; p95: number; p99: number } }) {
  const id = useId();
  const rows = [['p50', latency.p50], ['p95', latency.p95], ['p99', latency.p99]] as const;
  const max = Math.max(1, latency.p99);
  const summary = rows.map(([name, ms]) => `${name} ${ms} ms`).join(', ');
  return (
    <figure className="chart chart-latency" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`} className="chart-caption">Attempt duration (latency percentiles)</figcaption>
      <svg viewBox={`0 0 ${WIDTH} 84`} className="chart-svg" role="img" aria-label={`Attempt duration: ${summary}`}>
        <title>{`Attempt duration: ${summary}`}</title>
        {rows.map(([name, ms], i) => (
          <g key={name} className="chart-latency-row" data-percentile={name}>
            <text className="chart-label" x={PAD.left - 6} y={i * 28 + 18} textAnchor="end">{name}</text>
            <rect className="chart-latency-bar" x={PAD.left} y={i * 28 + 4} height={20} width={Math.max(2, (ms / max) * (PLOT_W - 80))} />
            <text className="chart-value" x={PAD.left + Math.max(2, (ms / max) * (PLOT_W - 80)) + 6} y={i * 28 + 18}>{`${ms} ms`}</text>
          </g>
        ))}
      </svg>
    </figure>
  );
}
