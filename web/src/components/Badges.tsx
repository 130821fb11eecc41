// Status at a glance: words first, colour second.
import type { DeliveryStatus, Webhook } from '../types';

export function WebhookStatus({ webhook }: { webhook: Webhook }) {
  const disabled = webhook.status === 'disabled';
  return <span className={`badge ${disabled ? 'badge-muted' : 'badge-ok'}`}>{disabled ? 'Disabled' : 'Active'}</span>;
}

const DELIVERY_LABEL: Record<DeliveryStatus, string> = { pending: 'Pending', succeeded: 'Succeeded', failed: 'Failed' };
const DELIVERY_CLASS: Record<DeliveryStatus, string> = { pending: 'badge-warn', succeeded: 'badge-ok', failed: 'badge-error' };

export function DeliveryBadge({ status }: { status: DeliveryStatus }) {
  return <span className={`badge ${DELIVERY_CLASS[status]}`}>{DELIVERY_LABEL[status]}</span>;
}

export function HttpStatus({ code }: { code: number | null }) {
  if (code === null) return <span className="http http-none">no response</span>;
  const kind = code >= 200 && code < 300 ? 'ok' : code >= 500 ? 'error' : 'warn';
  return <span className={`http http-${kind}`}>{code}</span>;
}
