// A webhook's recent health, from GET /v2/webhooks/{id}/stats/.
import { fullTime, percent, plural } from '../format';
import type { WebhookStats } from '../types';
import { DeliveryBadge, HttpStatus } from './Badges';
import { RelativeTime } from './RelativeTime';

export function LastDelivery({ stats }: { stats: WebhookStats }) {
  const last = stats.last_delivery;
  if (!last) return <span className="muted">Never</span>;
  return (
    <span className="last-delivery">
      <DeliveryBadge status={last.status} /> <HttpStatus code={last.last_status_code} />
      <RelativeTime className="row-sub" iso={last.last_modified} />
    </span>
  );
}

export function SuccessRate({ stats }: { stats?: WebhookStats }) {
  if (!stats) return <span className="muted">…</span>;
  const { succeeded, failed, pending } = stats.deliveries;
  const finished = succeeded + failed;
  if (stats.success_rate === null) {
    return <span className="muted">{pending > 0 ? `${plural(pending, 'delivery', 'deliveries')} pending` : 'No deliveries'}</span>;
  }
  const level = stats.success_rate >= 0.99 ? 'ok' : stats.success_rate >= 0.9 ? 'warn' : 'error';
  return (
    <span className="rate" title={`Since ${fullTime(stats.since)}: ${succeeded} succeeded, ${failed} failed, ${pending} pending`}>
      <span className={`rate-value rate-${level}`}>{percent(stats.success_rate)}</span>
      <span className="rate-meta">of {plural(finished, 'delivery', 'deliveries')}</span>
    </span>
  );
}
