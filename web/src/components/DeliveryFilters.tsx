// The filters a list of deliveries shares, the webhook's log and the Deliveries page alike: by
// status and by event (each event by its title, from the catalogue).
import type { DeliveryStatus, EventType } from '../types';

export function StatusFilter({ id, value, onChange }: { id: string; value: DeliveryStatus | ''; onChange: (status: DeliveryStatus | '') => void }) {
  return (
    <div className="field field-inline">
      <label className="field-label" htmlFor={id}>Status</label>
      <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value as DeliveryStatus | '')}>
        <option value="">All statuses</option>
        <option value="succeeded">Succeeded</option>
        <option value="pending">Pending</option>
        <option value="failed">Failed</option>
      </select>
    </div>
  );
}

export function EventFilter({ id, value, eventTypes, onChange }: { id: string; value: string; eventTypes: EventType[] | undefined; onChange: (event: string) => void }) {
  return (
    <div className="field field-inline">
      <label className="field-label" htmlFor={id}>Event</label>
      <select id={id} className="input" value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">All events</option>
        {(eventTypes ?? []).map((t) => <option key={t.name} value={t.name}>{t.title}</option>)}
      </select>
    </div>
  );
}
