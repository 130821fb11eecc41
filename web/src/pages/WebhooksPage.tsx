// The Webhooks page: every webhook with its health (one request for the page: include=health),
// and the Create button that opens the panel. It polls only while a webhook has deliveries pending.
// The operator sees every account's, with an Account column and a filter by account.
import { useEffect, useId, useRef, useState } from 'react';
import { api, query } from '../api';
import { WebhookStatus } from '../components/Badges';
import { Url } from '../components/Url';
import { CopySecret } from '../components/CopySecret';
import { LastDelivery, SuccessRate } from '../components/Health';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { Pager } from '../components/Pager';
import { WebhookPanel } from '../components/WebhookPanel';
import { loadEventTypes, loadSites, useLoad, usePoll } from '../hooks';
import { Link } from '../router';
import { canWrite, useSession } from '../session';
import type { Account, EventType, Site, Webhook, WebhookList, WebhookStats } from '../types';

const REFRESH_MS = 10_000;

const PAGE_LENGTH = 20;

export function WebhooksPage() {
  const { me } = useSession();
  const [page, setPage] = useState(1);
  const [panelOpen, setPanelOpen] = useState(false);
  const [created, setCreated] = useState<Webhook>();
  const operator = me.role === 'operator';
  const [account, setAccount] = useState('');
  const accountFilterId = useId();
  const list = useLoad(
    () => api.get<WebhookList>(`/v2/webhooks/${query({ page, page_length: PAGE_LENGTH, include: 'health', account_id: account })}`),
    [page, account],
  );
  const names = useLoad(() => Promise.all([loadSites(), loadEventTypes()]), []);
  const accounts = useLoad(
    () => (operator ? api.get<{ accounts: Account[] }>('/v2/accounts/').then((r) => r.accounts) : Promise.resolve(undefined)),
    [operator],
  );

  const webhooks = list.data?.webhooks;
  // A disabled webhook's pending deliveries wait: nothing of it changes until it is enabled.
  const pending = webhooks?.some((w) => w.status !== 'disabled' && (w.health?.deliveries.pending ?? 0) > 0) ?? false;
  usePoll(list.reload, REFRESH_MS, pending);

  const canCreate = canWrite(me);
  // A read-only session is shown nothing it cannot do; the operator is shown what the account's key does.
  const create = me.read_only ? undefined : (
    <button type="button" className="button button-primary" onClick={() => setPanelOpen(true)} disabled={!canCreate}
      title={canCreate ? undefined : 'Sign in with an account API key to create webhooks'}>
      Create
    </button>
  );

  return (
    <>
      <PageHeader
        title="Webhooks"
        subtitle="Hookline sends an HTTP POST to each webhook's URL when one of its events happens on one of its properties."
        actions={create}
      />
      {operator && (
        <p className="callout callout-info">You are signed in with the operator key: you see every account's webhooks. Webhooks are created and changed with an account's API key.</p>
      )}
      {me.read_only && <p className="callout callout-info">Read-only: you can look at this account's webhooks and their deliveries, not change them.</p>}
      {operator && (
        <div className="toolbar">
          <div className="field field-inline">
            <label className="field-label" htmlFor={accountFilterId}>Account</label>
            <select id={accountFilterId} className="input" value={account} onChange={(e) => { setAccount(e.target.value); setPage(1); }}>
              <option value="">All accounts</option>
              {accounts.data?.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
            </select>
          </div>
        </div>
      )}
      {created?.secret && <CreatedNotice webhook={created} secret={created.secret} onDone={() => setCreated(undefined)} />}

      {list.error !== undefined && !webhooks && <LoadError error={list.error} retry={list.reload} />}
      {!webhooks && list.error === undefined && <Loading what="webhooks" />}
      {webhooks && webhooks.length === 0 && account && (
        <div className="empty"><h2>This account has no webhooks</h2></div>
      )}
      {webhooks && webhooks.length === 0 && !account && (
        <div className="empty">
          <h2>No webhooks yet</h2>
          <p className="muted">Create one to be told when media is uploaded, converted, updated or deleted, or when a live channel changes state.</p>
          {canCreate && <button type="button" className="button button-primary" onClick={() => setPanelOpen(true)}>Create a webhook</button>}
        </div>
      )}
      {webhooks && webhooks.length > 0 && (
        <div className="card table-card">
          <table className="table responsive webhooks-table">
            <caption className="visually-hidden">Webhooks</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                {operator && <th scope="col">Account</th>}
                <th scope="col">URL</th>
                <th scope="col">Properties</th>
                <th scope="col">Events</th>
                <th scope="col">Status</th>
                <th scope="col">Last delivery</th>
                <th scope="col">Success (24 h)</th>
              </tr>
            </thead>
            <tbody>
              {webhooks.map((w) => (
                <WebhookRow key={w.id} webhook={w} stats={w.health} sites={names.data?.[0]} eventTypes={names.data?.[1]} accounts={operator ? accounts.data ?? [] : undefined} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && <Pager page={page} pageLength={PAGE_LENGTH} total={list.data.total} onPage={setPage} label="Webhook pages" />}

      <WebhookPanel
        open={panelOpen}
        onClose={() => setPanelOpen(false)}
        onSaved={(w) => {
          setPanelOpen(false);
          setCreated(w);
          setPage(1);
          void list.reload();
        }}
      />
    </>
  );
}

function WebhookRow({ webhook: w, stats, sites, eventTypes, accounts }: {
  webhook: Webhook; stats?: WebhookStats; sites?: Site[]; eventTypes?: EventType[];
  /** The operator's view: the Account column. */
  accounts?: Account[];
}) {
  const siteName = (id: string) => sites?.find((s) => s.id === id)?.name ?? id;
  const eventTitle = (name: string) => eventTypes?.find((t) => t.name === name)?.title ?? name;
  return (
    <tr>
      <td data-label="Name">
        <Link to={`/webhooks/${w.id}`} className="row-title">{w.metadata.name}</Link>
        {w.metadata.description && <div className="row-sub">{w.metadata.description}</div>}
      </td>
      {accounts && (
        <td data-label="Account">
          {accounts.find((a) => a.id === w.account_id)?.name ?? <span className="mono">{w.account_id}</span>}
        </td>
      )}
      <td data-label="URL"><Url href={w.metadata.webhook_url} /></td>
      <td data-label="Properties">
        {w.metadata.site_ids.length === 0
          ? <span className="muted">None</span>
          : <ul className="chips">{w.metadata.site_ids.map((id) => <li key={id} className="chip" title={id}>{siteName(id)}</li>)}</ul>}
      </td>
      <td data-label="Events">
        <ul className="chips" title={w.metadata.events.map(eventTitle).join(', ')}>
          {w.metadata.events.slice(0, 2).map((e) => <li key={e} className="chip chip-event">{eventTitle(e)}</li>)}
          {w.metadata.events.length > 2 && <li className="chip chip-more">+{w.metadata.events.length - 2} more</li>}
        </ul>
      </td>
      <td data-label="Status"><WebhookStatus webhook={w} /></td>
      <td data-label="Last delivery">{stats ? <LastDelivery stats={stats} /> : <span className="muted">…</span>}</td>
      <td data-label="Success (24 h)"><SuccessRate stats={stats} /></td>
    </tr>
  );
}

/**
 * Shown once, right after Create: the new webhook's secret, which no later answer repeats. Its
 * heading takes the focus once the panel has closed (closing gives the focus back to what
 * opened it, the Create button, in the same commit): keyboard and screen reader users land here.
 */
function CreatedNotice({ webhook, secret, onDone }: { webhook: Webhook; secret: string; onDone: () => void }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    const frame = requestAnimationFrame(() => ref.current?.focus());
    return () => cancelAnimationFrame(frame);
  }, [webhook.id]);
  return (
    <section className="callout callout-success created" aria-labelledby="created-title">
      <div className="created-head">
        <h2 id="created-title" ref={ref} tabIndex={-1}>Webhook “{webhook.metadata.name}” created</h2>
        <button type="button" className="button button-small" onClick={onDone}>Done</button>
      </div>
      <CopySecret secret={secret} />
    </section>
  );
}
