// A webhook's delivery log: filter by status and event, open a delivery to see what was sent
// and each attempt's answer (DeliveryDetails.tsx), tests marked as such, resend it, recover the failed ones since a time, and replay into it
// the events it never got (after a count of them). It refreshes itself every few seconds while
// the tab is visible and a delivery of the webhook is pending (never while the webhook is
// disabled: its deliveries wait), and waits out a 429's Retry-After.
import { Fragment, useEffect, useId, useState, type FormEvent } from 'react';
import { api, query } from '../api';
import { Confirm } from './Dialog';
import { fullTime, isoToLocalInput, localInputToIso, plural } from '../format';
import { RelativeTime } from './RelativeTime';
import { loadEventTypes, useAction, useLoad, usePoll } from '../hooks';
import type { DeliveryList, DeliveryStatus, ReplayCount, Webhook } from '../types';
import { DeliveryBadge, HttpStatus } from './Badges';
import { DeliveryDetails } from './DeliveryDetails';
import { EventFilter, StatusFilter } from './DeliveryFilters';
import { LoadError, Loading } from './Feedback';
import { Pager } from './Pager';
import { useToast } from './Toasts';

const PAGE_LENGTH = 20;
const REFRESH_MS = 3_000;

interface LogProps {
  webhook: Webhook;
  canAct: boolean;
  /** Changes when something elsewhere on the page made deliveries (a test event). */
  refreshKey: number;
  /** Whether the webhook has deliveries pending beyond the page shown (its health says). */
  pending: boolean;
  /** Called on each refresh, so that what the page shows beside the log keeps up with it; resolves with what its loads met. */
  onRefresh?: () => Promise<unknown>;
}

export function DeliveryLog({ webhook, canAct, refreshKey, pending, onRefresh }: LogProps) {
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const [event, setEvent] = useState('');
  const [page, setPage] = useState(1);
  const [live, setLive] = useState(true);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [tick, setTick] = useState(0);
  const [updatedAt, setUpdatedAt] = useState<number>();
  const eventTypes = useLoad(loadEventTypes, []);
  const ids = { status: useId(), event: useId(), live: useId() };
  const list = useLoad(
    () => api.get<DeliveryList>(`/v2/webhooks/${webhook.id}/deliveries/${query({ status, event, page, page_length: PAGE_LENGTH })}`),
    [webhook.id, status, event, page, refreshKey],
  );
  useEffect(() => {
    if (list.data) setUpdatedAt(Date.now());
  }, [list.data]);
  /** The list first, then the deliveries open under it: they show at least what the list does. */
  const refresh = async () => {
    const met = await Promise.all([list.reload(), onRefresh?.()]);
    setTick((t) => t + 1);
    return met;
  };
  const waiting = webhook.status !== 'disabled' && (pending || (list.data?.deliveries.some((d) => d.status === 'pending') ?? false));
  const polling = live && waiting;
  usePoll(refresh, REFRESH_MS, polling);

  const filter = (apply: () => void) => {
    apply();
    setPage(1);
  };
  const toggle = (id: string) =>
    setOpen((s) => {
      const next = new Set(s);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const title = (name: string) => eventTypes.data?.find((t) => t.name === name)?.title ?? name;
  const deliveries = list.data?.deliveries;

  return (
    <section className="card log" aria-labelledby="log-title">
      <div className="card-head">
        <div>
          <h2 id="log-title">Delivery log</h2>
          <p className="muted small">
            Each event sent to this webhook, and every attempt to deliver it.
          </p>
        </div>
        <div className="live">
          <label className="switch" htmlFor={ids.live}>
            <input id={ids.live} type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} />
            <span>Auto-refresh</span>
          </label>
          <span className="muted small" aria-live="off">
            {polling && <span className="pulse" aria-hidden="true" />}
            {updatedAt ? `Updated ${new Date(updatedAt).toLocaleTimeString()}` : ''}
            {live && !waiting && updatedAt ? ' · nothing pending' : ''}
          </span>
          <button type="button" className="button button-small" onClick={() => void refresh()}>Refresh</button>
        </div>
      </div>

      <div className="toolbar">
        <div className="toolbar-filters">
          <StatusFilter id={ids.status} value={status} onChange={(v) => filter(() => setStatus(v))} />
          <EventFilter id={ids.event} value={event} eventTypes={eventTypes.data} onChange={(v) => filter(() => setEvent(v))} />
        </div>
        {canAct && (
          <div className="toolbar-actions">
            <RecoverForm webhook={webhook} onRecovered={() => void refresh()} />
            <ReplayForm webhook={webhook} onReplayed={() => void refresh()} />
          </div>
        )}
      </div>

      {list.error !== undefined && <LoadError error={list.error} retry={list.reload} />}
      {!deliveries && list.error === undefined && <Loading what="deliveries" />}
      {deliveries && deliveries.length === 0 && (
        <div className="empty empty-small">
          <p>{status || event ? 'No deliveries match these filters.' : canAct ? 'No deliveries yet. Send a test event to see one arrive.' : 'No deliveries yet.'}</p>
        </div>
      )}
      {deliveries && deliveries.length > 0 && (
        <table className="table responsive deliveries-table">
          <caption className="visually-hidden">Deliveries, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Event</th>
              <th scope="col">Delivery ID</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col">Created</th>
              <th scope="col"><span className="visually-hidden">Details</span></th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => {
              const expanded = open.has(d.id);
              return (
                <Fragment key={d.id}>
                  <tr className={expanded ? 'is-open' : undefined} data-delivery={d.id}>
                    <td data-label="Status"><DeliveryBadge status={d.status} /></td>
                    <td data-label="Event">
                      {title(d.event)}
                      {d.replay && <> <span className="chip chip-replay" title="Sent by a replay of past events">Replay</span></>}
                      {d.test && <> <span className="chip chip-test" title="A test event, with made-up ids, sent to this webhook only">Test</span></>}
                      <div className="row-sub mono">{d.event}</div>
                    </td>
                    <td data-label="Delivery ID"><span className="mono small">{d.id}</span></td>
                    <td data-label="Attempts">
                      {d.attempts}
                      {d.next_attempt_at && (webhook.status === 'disabled'
                        ? <div className="row-sub">waits: webhook disabled</div>
                        : <div className="row-sub">next <RelativeTime iso={d.next_attempt_at} /></div>)}
                    </td>
                    <td data-label="Response">{d.attempts === 0 ? <span className="muted">—</span> : <HttpStatus code={d.last_status_code} />}</td>
                    <td data-label="Created"><RelativeTime iso={d.created} /></td>
                    <td className="cell-action">
                      <button type="button" className="button button-small" aria-expanded={expanded} aria-controls={`detail-${d.id}`} onClick={() => toggle(d.id)}>
                        {expanded ? 'Hide' : 'Details'}<span className="visually-hidden"> of delivery {d.id}</span>
                      </button>
                    </td>
                  </tr>
                  {expanded && (
                    <tr className="detail-row">
                      <td colSpan={7} id={`detail-${d.id}`}>
                        <DeliveryDetails id={d.id} url={webhook.metadata.webhook_url} canAct={canAct} tick={tick} onResent={() => void refresh()} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      {list.data && <Pager page={page} pageLength={PAGE_LENGTH} total={list.data.total} onPage={setPage} label="Delivery pages" />}
    </section>
  );
}

/** The time a recovery or a replay starts from, as a local date and time; its error is `${id}-error`. */
function SinceField({ id, label, value, onChange, error }: {
  id: string; label: string; value: string; onChange: (value: string) => void; error: string | undefined;
}) {
  return (
    <div className="field field-inline">
      <label className="field-label" htmlFor={id}>{label}</label>
      <input id={id} className="input" type="datetime-local" value={value} onChange={(e) => onChange(e.target.value)}
        aria-invalid={!!error} aria-describedby={error ? `${id}-error` : undefined} />
    </div>
  );
}

function RecoverForm({ webhook, onRecovered }: { webhook: Webhook; onRecovered: () => void }) {
  const notify = useToast();
  const id = useId();
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 24 * 3_600_000));
  const { busy, error, setError, run } = useAction();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const iso = localInputToIso(since);
    if (!iso) return setError('Enter a date and time.');
    void run(async () => {
      const { recovered } = await api.post<{ recovered: number }>(`/v2/webhooks/${webhook.id}/recover/`, { since: iso });
      notify(recovered === 0
        ? 'No failed deliveries since then: nothing to recover.'
        : `${plural(recovered, 'failed delivery', 'failed deliveries')} queued for one more attempt.`);
      onRecovered();
    });
  };
  return (
    <form className="recover" onSubmit={submit} noValidate>
      <SinceField id={id} label="Recover failed since" value={since} onChange={setSince} error={error} />
      <button type="submit" className="button" disabled={busy}>{busy ? 'Recovering…' : 'Recover'}</button>
      {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
    </form>
  );
}

/**
 * Replay: the events of the webhook's properties and events since a time that it never got (they
 * came before it existed, or before it subscribed), counted first, sent once confirmed.
 */
function ReplayForm({ webhook, onReplayed }: { webhook: Webhook; onReplayed: () => void }) {
  const notify = useToast();
  const id = useId();
  const [since, setSince] = useState(() => isoToLocalInput(Date.now() - 24 * 3_600_000));
  const [preview, setPreview] = useState<{ since: string; count: number }>();
  const counting = useAction();
  const replaying = useAction();
  const { error } = counting;
  const busy = counting.busy || replaying.busy;
  const count = (e: FormEvent) => {
    e.preventDefault();
    const iso = localInputToIso(since);
    if (!iso) return counting.setError('Enter a date and time.');
    void counting.run(async () => {
      const { deliveries } = await api.get<ReplayCount>(`/v2/webhooks/${webhook.id}/replay/${query({ since: iso })}`);
      if (deliveries === 0) notify('Nothing to replay: this webhook has every event since then already.');
      else setPreview({ since: iso, count: deliveries });
    });
  };
  const close = () => {
    setPreview(undefined);
    replaying.setError(undefined);
  };
  const replay = () => replaying.run(async () => {
    if (!preview) return;
    const { deliveries } = await api.post<ReplayCount>(`/v2/webhooks/${webhook.id}/replay/`, { since: preview.since });
    notify(deliveries === 0
      ? 'Nothing to replay: this webhook has every event since then already.'
      : `${plural(deliveries, 'event')} replayed: each is on its way as a delivery marked Replay.`);
    close();
    onReplayed();
  });
  return (
    <form className="recover" onSubmit={count} noValidate>
      <SinceField id={id} label="Replay events since" value={since} onChange={setSince} error={error} />
      <button type="submit" className="button" disabled={busy}>{busy && !preview ? 'Counting…' : 'Replay…'}</button>
      {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
      <Confirm
        open={preview !== undefined}
        title="Replay past events?"
        confirmLabel={`Replay ${plural(preview?.count ?? 0, 'event')}`}
        busy={busy}
        error={replaying.error}
        onConfirm={() => void replay()}
        onClose={close}
      >
        <p>
          {plural(preview?.count ?? 0, 'event')} of its properties and events since {preview && fullTime(preview.since)} never
          reached “{webhook.metadata.name}”: {preview?.count === 1 ? 'it' : 'they'} came before the webhook existed or subscribed to {preview?.count === 1 ? 'it' : 'them'}.
        </p>
        <p className="muted">Each is sent as a new delivery, oldest first, marked <span className="chip chip-replay">Replay</span> in the log. Events it has already received are not sent again.</p>
      </Confirm>
    </form>
  );
}
