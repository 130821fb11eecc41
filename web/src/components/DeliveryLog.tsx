// A webhook's delivery log: filter by status and event, open a delivery to see what was sent
// and each attempt's answer, resend it, recover the failed ones since a time, and replay into it
// the events it never got (after a count of them). It refreshes itself every few seconds while
// the tab is visible and a delivery of the webhook is pending (never while the webhook is
// disabled: its deliveries wait), and waits out a 429's Retry-After.
import { Fragment, useEffect, useId, useState, type FormEvent } from 'react';
import { api, messageOf, query } from '../api';
import { Confirm } from './Dialog';
import { ago, fullTime, isoToLocalInput, localInputToIso, plural, prettyJson } from '../format';
import { loadEventTypes, useLoad, usePoll } from '../hooks';
import type { DeliveryDetail, DeliveryList, DeliveryStatus, ReplayCount, Webhook } from '../types';
import { DeliveryBadge, HttpStatus } from './Badges';
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
          <div className="field field-inline">
            <label className="field-label" htmlFor={ids.status}>Status</label>
            <select id={ids.status} className="input" value={status} onChange={(e) => filter(() => setStatus(e.target.value as DeliveryStatus | ''))}>
              <option value="">All statuses</option>
              <option value="succeeded">Succeeded</option>
              <option value="pending">Pending</option>
              <option value="failed">Failed</option>
            </select>
          </div>
          <div className="field field-inline">
            <label className="field-label" htmlFor={ids.event}>Event</label>
            <select id={ids.event} className="input" value={event} onChange={(e) => filter(() => setEvent(e.target.value))}>
              <option value="">All events</option>
              {(eventTypes.data ?? []).map((t) => <option key={t.name} value={t.name}>{t.title}</option>)}
            </select>
          </div>
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
          <p>{status || event ? 'No deliveries match these filters.' : 'No deliveries yet. Send a test event to see one arrive.'}</p>
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
                      <div className="row-sub mono">{d.event}</div>
                    </td>
                    <td data-label="Delivery ID"><span className="mono small">{d.id}</span></td>
                    <td data-label="Attempts">
                      {d.attempts}
                      {d.next_attempt_at && <div className="row-sub">next {ago(d.next_attempt_at)}</div>}
                    </td>
                    <td data-label="Response">{d.attempts === 0 ? <span className="muted">—</span> : <HttpStatus code={d.last_status_code} />}</td>
                    <td data-label="Created"><time dateTime={d.created} title={fullTime(d.created)}>{ago(d.created)}</time></td>
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

interface DetailsProps {
  id: string;
  url: string;
  canAct: boolean;
  tick: number;
  onResent: () => void;
}

export function DeliveryDetails({ id, url, canAct, tick, onResent }: DetailsProps) {
  const notify = useToast();
  const [busy, setBusy] = useState(false);
  const detail = useLoad(() => api.get<DeliveryDetail>(`/v2/deliveries/${id}/`), [id]);
  const { reload } = detail;
  // Follows the log's refreshes, so a pending delivery's new attempts appear while it is open.
  useEffect(() => {
    if (tick > 0) void reload();
  }, [tick, reload]);

  const resend = async () => {
    setBusy(true);
    try {
      await api.post(`/v2/deliveries/${id}/retry/`);
      notify(`Delivery ${id} resent: one more attempt is on its way.`);
      // The log reloads, then this delivery with it (tick).
      onResent();
    } catch (err) {
      notify(`Resend failed: ${messageOf(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  if (!detail.data) return detail.error !== undefined ? <LoadError error={detail.error} retry={detail.reload} /> : <Loading what="the delivery" />;
  const d = detail.data;
  return (
    <div className="delivery-detail">
      <div className="detail-head">
        <h3>Delivery <span className="mono">{d.id}</span></h3>
        {canAct && (
          <button type="button" className="button button-small button-primary" onClick={resend} disabled={busy}>
            {busy ? 'Resending…' : 'Resend'}
          </button>
        )}
      </div>
      <div className="detail-grid">
        <div>
          <h4>Request</h4>
          <dl className="kv mono small">
            <dt>POST</dt><dd className="url">{url}</dd>
            <dt>content-type</dt><dd>application/json</dd>
            <dt>webhook-id</dt><dd>{d.id}</dd>
            <dt>authorization</dt><dd className="muted">Bearer JWT of the body, signed with the webhook's secret</dd>
            <dt>webhook-signature</dt><dd className="muted">v1,… (Standard Webhooks), with webhook-timestamp</dd>
          </dl>
          <h4>Body</h4>
          <pre className="code" tabIndex={0} aria-label="Request body">{d.request_body ? prettyJson(d.request_body) : '(the event is no longer kept)'}</pre>
        </div>
        <div>
          <h4>Attempts <span className="muted">({d.attempts.length})</span></h4>
          {d.attempts.length === 0 && <p className="muted">Not attempted yet{d.next_attempt_at ? `: due ${ago(d.next_attempt_at)}` : ''}.</p>}
          <ol className="attempts" reversed>
            {[...d.attempts].reverse().map((a, i) => (
              <li key={`${a.attempted_at}-${i}`} className="attempt">
                <div className="attempt-head">
                  <span className="attempt-number">#{d.attempts.length - i}</span>
                  <HttpStatus code={a.status_code} />
                  <span className="muted small">{a.duration_ms} ms</span>
                  <time className="muted small" dateTime={a.attempted_at} title={fullTime(a.attempted_at)}>{ago(a.attempted_at)}</time>
                </div>
                {a.error && <p className="attempt-error">{a.error}</p>}
                {a.response_body ? (
                  <pre className="code code-small" tabIndex={0} aria-label={`Response body of attempt ${d.attempts.length - i}`}>{prettyJson(a.response_body)}</pre>
                ) : (
                  <p className="muted small">{a.status_code === null ? 'No response.' : 'Empty response body.'}</p>
                )}
              </li>
            ))}
          </ol>
        </div>
      </div>
    </div>
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const iso = localInputToIso(since);
    if (!iso) {
      setError('Enter a date and time.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const { recovered } = await api.post<{ recovered: number }>(`/v2/webhooks/${webhook.id}/recover/`, { since: iso });
      notify(recovered === 0
        ? 'No failed deliveries since then: nothing to recover.'
        : `${plural(recovered, 'failed delivery', 'failed deliveries')} queued for one more attempt.`);
      onRecovered();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
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
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [preview, setPreview] = useState<{ since: string; count: number }>();
  const [confirmError, setConfirmError] = useState<string>();
  const count = async (e: FormEvent) => {
    e.preventDefault();
    const iso = localInputToIso(since);
    if (!iso) {
      setError('Enter a date and time.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const { deliveries } = await api.get<ReplayCount>(`/v2/webhooks/${webhook.id}/replay/${query({ since: iso })}`);
      if (deliveries === 0) notify('Nothing to replay: this webhook has every event since then already.');
      else setPreview({ since: iso, count: deliveries });
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const close = () => {
    setPreview(undefined);
    setConfirmError(undefined);
  };
  const replay = async () => {
    if (!preview) return;
    setBusy(true);
    setConfirmError(undefined);
    try {
      const { deliveries } = await api.post<ReplayCount>(`/v2/webhooks/${webhook.id}/replay/`, { since: preview.since });
      notify(deliveries === 0
        ? 'Nothing to replay: this webhook has every event since then already.'
        : `${plural(deliveries, 'event')} replayed: each is on its way as a delivery marked Replay.`);
      close();
      onReplayed();
    } catch (err) {
      setConfirmError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
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
        error={confirmError}
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
