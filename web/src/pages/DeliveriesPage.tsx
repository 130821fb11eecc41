// Every delivery of the account's webhooks (the operator's: every account's), searched: one box
// that takes any id (a delivery's, an event's, a webhook's, a media's or a channel's: told apart by
// shape, and an 8-character id tried as a webhook, then a media, then a channel), filters on the
// event, status, HTTP status, webhook and time, and pages of GET /v2/deliveries/ walked with its
// cursor (older, and back to newer). Each delivery links to its view.
import { useId, useRef, useState, type FormEvent } from 'react';
import { ApiError, api, query } from '../api';
import { DeliveryBadge, HttpStatus } from '../components/Badges';
import { EventFilter, StatusFilter } from '../components/DeliveryFilters';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { RelativeTime } from '../components/RelativeTime';
import { localInputToIso } from '../format';
import { loadEventTypes, useLoad } from '../hooks';
import { Link } from '../router';
import type { DeliveryDetail, DeliverySearchPage, DeliveryStatus, WebhookList } from '../types';

const PAGE_LENGTH = 25;
const DELIVERY_ID = /^msg_[0-9a-f]{24}$/;
const EVENT_ID = /^evt_[A-Za-z0-9]+$/;
const SHORT_ID = /^[A-Za-z0-9]{8}$/;

type Field = 'delivery' | 'event_id' | 'webhook_id' | 'media_id' | 'channel_id';
const FOUND_AS: Record<Field, string> = {
  delivery: 'a delivery id', event_id: 'an event id', webhook_id: 'a webhook id', media_id: 'a media id', channel_id: 'a live channel id',
};

/** What an id may be, by its shape, in the order to try. */
function candidates(term: string, isWebhook: boolean): Field[] {
  if (DELIVERY_ID.test(term)) return ['delivery'];
  if (EVENT_ID.test(term)) return ['event_id'];
  if (isWebhook) return ['webhook_id'];
  return ['media_id', 'channel_id'];
}

interface Result {
  page: DeliverySearchPage;
  /** What the search box's id turned out to be; undefined without one. */
  as: Field | undefined;
}

export function DeliveriesPage() {
  const ids = { term: useId(), event: useId(), status: useId(), code: useId(), webhook: useId(), since: useId(), until: useId() };
  const [draft, setDraft] = useState('');
  const [term, setTerm] = useState('');
  const [event, setEvent] = useState('');
  const [status, setStatus] = useState<DeliveryStatus | ''>('');
  const [statusCode, setStatusCode] = useState('');
  const [webhookId, setWebhookId] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  /** The cursors of the pages walked so far: the last one is the page shown (undefined: the newest). */
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const cursor = cursors.at(-1);
  const lastAs = useRef<Field | undefined>(undefined);
  const eventTypes = useLoad(loadEventTypes, []);
  const webhooks = useLoad(() => api.get<WebhookList>('/v2/webhooks/?page_length=1000'), []);
  // What the search depends on of the webhook list: the list arriving re-runs no search but one for a webhook's id.
  const termIsWebhook = SHORT_ID.test(term) && (webhooks.data?.webhooks ?? []).some((w) => w.id === term);

  const result = useLoad(async (): Promise<Result> => {
    const filters = {
      event, status, status_code: statusCode, webhook_id: webhookId,
      since: since ? localInputToIso(since) : undefined, until: until ? localInputToIso(until) : undefined,
      page_length: PAGE_LENGTH, cursor,
    };
    const search = (extra: Record<string, string>) => api.get<DeliverySearchPage>(`/v2/deliveries/${query({ ...filters, ...extra })}`);
    if (!term) return { page: await search({}), as: undefined };
    const tries = cursor && lastAs.current ? [lastAs.current] : candidates(term, termIsWebhook);
    for (const [i, field] of tries.entries()) {
      if (field === 'delivery') {
        try {
          const d = await api.get<DeliveryDetail>(`/v2/deliveries/${term}/`);
          return { page: { deliveries: [{ ...d, attempts: d.attempts.length }], page_length: PAGE_LENGTH, next_cursor: null }, as: field };
        } catch (err) {
          if (err instanceof ApiError && err.status === 404) return { page: { deliveries: [], page_length: PAGE_LENGTH, next_cursor: null }, as: field };
          throw err;
        }
      }
      const page = await search({ [field]: term });
      if (page.deliveries.length > 0 || i === tries.length - 1) {
        lastAs.current = field;
        return { page, as: field };
      }
    }
    throw new Error('unreachable');
  }, [term, event, status, statusCode, webhookId, since, until, cursor, termIsWebhook]);

  /** A filter changed: back to the newest page. */
  const change = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    lastAs.current = undefined;
    setCursors([undefined]);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change(setTerm)(draft.trim());
  };
  const hookName = (id: string) => webhooks.data?.webhooks.find((w) => w.id === id)?.metadata.name;
  const title = (name: string) => eventTypes.data?.find((t) => t.name === name)?.title ?? name;
  const page = result.data?.page;
  const filtered = Boolean(term || event || status || statusCode || webhookId || since || until);

  return (
    <>
      <PageHeader title="Deliveries" subtitle="Every delivery to your webhooks, newest first. Search by any id, or filter." />
      <section className="card log" aria-label="Delivery search">
        <form className="search-form" role="search" onSubmit={submit}>
          <div className="field">
            <label className="field-label" htmlFor={ids.term}>Search by id</label>
            <input
              id={ids.term} className="input mono" type="search" value={draft} onChange={(e) => setDraft(e.target.value)}
              placeholder="media, channel, event, webhook or delivery id" aria-describedby={`${ids.term}-hint`} autoComplete="off" spellCheck={false}
            />
            <p className="hint" id={`${ids.term}-hint`}>A delivery id (msg_…) or an event id (evt_…), a webhook id, a media id or a live channel id.</p>
          </div>
          <button type="submit" className="button button-primary">Search</button>
          {term && <button type="button" className="button" onClick={() => { setDraft(''); change(setTerm)(''); }}>Clear</button>}
        </form>
        <div className="toolbar">
          <div className="toolbar-filters">
            <EventFilter id={ids.event} value={event} eventTypes={eventTypes.data} onChange={change(setEvent)} />
            <StatusFilter id={ids.status} value={status} onChange={change(setStatus)} />
            <div className="field field-inline">
              <label className="field-label" htmlFor={ids.code}>HTTP status</label>
              <input id={ids.code} className="input input-short" type="number" min={100} max={599} inputMode="numeric" value={statusCode}
                onChange={(e) => change(setStatusCode)(e.target.value)} placeholder="any" />
            </div>
            <div className="field field-inline">
              <label className="field-label" htmlFor={ids.webhook}>Webhook</label>
              <select id={ids.webhook} className="input" value={webhookId} onChange={(e) => change(setWebhookId)(e.target.value)}>
                <option value="">All webhooks</option>
                {(webhooks.data?.webhooks ?? []).map((w) => <option key={w.id} value={w.id}>{w.metadata.name} ({w.id})</option>)}
              </select>
            </div>
            <div className="field field-inline">
              <label className="field-label" htmlFor={ids.since}>From</label>
              <input id={ids.since} className="input" type="datetime-local" value={since} onChange={(e) => change(setSince)(e.target.value)} />
            </div>
            <div className="field field-inline">
              <label className="field-label" htmlFor={ids.until}>Until</label>
              <input id={ids.until} className="input" type="datetime-local" value={until} onChange={(e) => change(setUntil)(e.target.value)} />
            </div>
          </div>
        </div>

        {term && result.data?.as && (
          <p className="search-found" role="status">
            {page && page.deliveries.length > 0 ? <>Deliveries of <span className="mono">{term}</span>, found as {FOUND_AS[result.data.as]}.</>
              : <>Nothing found for <span className="mono">{term}</span>{result.data.as === 'channel_id' ? ' as a media, webhook or live channel id' : ` as ${FOUND_AS[result.data.as]}`}.</>}
          </p>
        )}
        {result.error !== undefined && <LoadError error={result.error} retry={result.reload} />}
        {!page && result.error === undefined && <Loading what="deliveries" />}
        {page && page.deliveries.length === 0 && !term && (
          <div className="empty empty-small"><p>{filtered ? 'No deliveries match these filters.' : 'No deliveries yet.'}</p></div>
        )}
        {page && page.deliveries.length > 0 && (
          <table className="table responsive deliveries-table" aria-busy={result.loading}>
            <caption className="visually-hidden">Deliveries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event</th>
                <th scope="col">Webhook</th>
                <th scope="col">Delivery ID</th>
                <th scope="col">Attempts</th>
                <th scope="col">Response</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {page.deliveries.map((d) => (
                <tr key={d.id} data-delivery={d.id}>
                  <td data-label="Status"><DeliveryBadge status={d.status} /></td>
                  <td data-label="Event">{title(d.event)}<div className="row-sub mono">{d.event}</div></td>
                  <td data-label="Webhook"><Link to={`/webhooks/${d.webhook_id}`}>{hookName(d.webhook_id) ?? d.webhook_id}</Link><div className="row-sub mono">{d.webhook_id}</div></td>
                  <td data-label="Delivery ID"><Link to={`/deliveries/${d.id}`} className="mono small">{d.id}</Link></td>
                  <td data-label="Attempts">{d.attempts}{d.next_attempt_at && <div className="row-sub">next <RelativeTime iso={d.next_attempt_at} /></div>}</td>
                  <td data-label="Response">{d.attempts === 0 ? <span className="muted">—</span> : <HttpStatus code={d.last_status_code} />}</td>
                  <td data-label="Created"><RelativeTime iso={d.created} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {page && (cursors.length > 1 || page.next_cursor) && (
          <nav className="pager" aria-label="Delivery pages">
            <span className="muted">Page {cursors.length}</span>
            <button type="button" className="button button-small" disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
            <button type="button" className="button button-small" disabled={!page.next_cursor} onClick={() => setCursors((c) => [...c, page.next_cursor!])}>Older</button>
          </nav>
        )}
      </section>
    </>
  );
}
