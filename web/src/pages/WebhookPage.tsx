// One webhook: its settings and health (and its health over time, drawn), what can be done with it,
// and its delivery log.
import { useId, useState } from 'react';
import { ApiError, api, messageOf } from '../api';
import { WebhookStatus } from '../components/Badges';
import { Url } from '../components/Url';
import { CopySecret } from '../components/CopySecret';
import { DeliveryLimits } from '../components/DeliveryLimits';
import { DeliveryLog } from '../components/DeliveryLog';
import { Confirm, Dialog } from '../components/Dialog';
import { LoadError, Loading } from '../components/Feedback';
import { HealthCharts } from '../components/HealthCharts';
import { LastDelivery, SuccessRate } from '../components/Health';
import { PageHeader } from '../components/Layout';
import { useToast } from '../components/Toasts';
import { WebhookPanel } from '../components/WebhookPanel';
import { fullTime } from '../format';
import { RelativeTime } from '../components/RelativeTime';
import { loadEventTypes, loadSites, useLoad } from '../hooks';
import { Link, navigate } from '../router';
import { canWrite, useSession } from '../session';
import { MASK, type EventType, type HistoryWindow, type Webhook, type WebhookStats } from '../types';

type Open = 'edit' | 'delete' | 'rotate' | 'test' | 'disable' | undefined;

export function WebhookPage({ id }: { id: string }) {
  const { me } = useSession();
  const notify = useToast();
  const hook = useLoad(() => api.get<Webhook>(`/v2/webhooks/${id}/`), [id]);
  const stats = useLoad(() => api.get<WebhookStats>(`/v2/webhooks/${id}/stats/`), [id]);
  // The charts' history: loaded when the window changes, not with the log's refreshes (the health above is cheap to poll; this is not).
  const [historyWindow, setHistoryWindow] = useState<HistoryWindow>('24h');
  const history = useLoad(() => api.get<WebhookStats>(`/v2/webhooks/${id}/stats/?window=${historyWindow}`), [id, historyWindow]);
  const names = useLoad(() => Promise.all([loadSites(), loadEventTypes()]), []);
  const [open, setOpen] = useState<Open>();
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const [deliveriesChanged, setDeliveriesChanged] = useState(0);

  const close = () => {
    setOpen(undefined);
    setActionError(undefined);
  };

  if (!hook.data) {
    if (hook.error instanceof ApiError && hook.error.status === 404) {
      return (
        <div className="empty">
          <h1>Webhook not found</h1>
          <p className="muted">There is no webhook {id} in this account. It may have been deleted.</p>
          <Link to="/" className="button">Back to webhooks</Link>
        </div>
      );
    }
    return hook.error !== undefined ? <LoadError error={hook.error} retry={hook.reload} /> : <Loading what="the webhook" />;
  }

  const w = hook.data;
  const canAct = canWrite(me);
  const disabled = w.status === 'disabled';
  const [sites, eventTypes] = names.data ?? [[], []];
  const siteName = (sid: string) => sites.find((s) => s.id === sid)?.name;
  const eventType = (name: string) => eventTypes.find((t) => t.name === name);

  const setStatus = async (status: 'active' | 'disabled') => {
    setBusy(true);
    setActionError(undefined);
    try {
      await api.patch<Webhook>(`/v2/webhooks/${w.id}/`, { status });
      await hook.reload();
      notify(status === 'disabled' ? 'Webhook disabled: deliveries are kept and wait.' : 'Webhook enabled: waiting deliveries resume.');
      close();
    } catch (err) {
      if (status === 'disabled') setActionError(messageOf(err));
      else notify(`Could not enable: ${messageOf(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  const remove = async () => {
    setBusy(true);
    setActionError(undefined);
    try {
      await api.delete(`/v2/webhooks/${w.id}/`);
      notify(`Webhook “${w.metadata.name}” deleted.`);
      navigate('/');
    } catch (err) {
      setActionError(messageOf(err));
      setBusy(false);
    }
  };

  return (
    <>
      <PageHeader
        title={<>{w.metadata.name} <WebhookStatus webhook={w} /></>}
        subtitle={<Url href={w.metadata.webhook_url} />}
        actions={canAct && (
          <>
            <button type="button" className="button" onClick={() => setOpen('edit')}>Edit</button>
            <button type="button" className="button" onClick={() => setOpen('test')}>Send test event</button>
            <button type="button" className="button" onClick={() => setOpen('rotate')}>Rotate secret</button>
            {disabled
              ? <button type="button" className="button" onClick={() => void setStatus('active')} disabled={busy}>Enable</button>
              : <button type="button" className="button" onClick={() => setOpen('disable')}>Disable</button>}
            <button type="button" className="button button-danger-quiet" onClick={() => setOpen('delete')}>Delete</button>
          </>
        )}
      >
        <nav aria-label="Breadcrumb" className="breadcrumb">
          <Link to="/">Webhooks</Link>
          <span aria-hidden="true">/</span>
          <span aria-current="page">{w.metadata.name}</span>
        </nav>
      </PageHeader>

      {disabled && (
        <div className="callout callout-warn" role="status">
          <strong>Disabled{w.disabled_at ? <> <RelativeTime iso={w.disabled_at} /></> : ''}.</strong>{' '}
          {w.disabled_reason ? <>Reason: {w.disabled_reason}. </> : null}
          Its deliveries are kept and not attempted until it is enabled again.
          {w.disabled_at && <span className="muted small"> ({fullTime(w.disabled_at)})</span>}
        </div>
      )}
      {!canAct && (
        <p className="callout callout-info">
          {me.read_only ? 'Read-only: this session can look at the webhook and its deliveries, not change them.' : "Read-only: the operator key can look at webhooks; the account's key changes them."}
        </p>
      )}

      <section className="card overview" aria-label="Settings">
        <dl className="overview-grid">
          <div className="wide">
            <dt>Description</dt>
            <dd>{w.metadata.description || <span className="muted">No description</span>}</dd>
          </div>
          <div>
            <dt>Properties</dt>
            <dd>
              {w.metadata.site_ids.length === 0 && <span className="muted">None: operational events only</span>}
              <ul className="chips">
                {w.metadata.site_ids.map((sid) => (
                  <li key={sid} className="chip" title={sid}>{siteName(sid) ?? sid} <span className="mono muted">{sid}</span></li>
                ))}
              </ul>
            </dd>
          </div>
          <div>
            <dt>Events</dt>
            <dd>
              <ul className="chips">
                {w.metadata.events.map((e) => <li key={e} className="chip chip-event" title={eventType(e)?.description}>{eventType(e)?.title ?? e}</li>)}
              </ul>
            </dd>
          </div>
          <div>
            <dt>Last delivery</dt>
            <dd>{stats.data ? <LastDelivery stats={stats.data} /> : <span className="muted">…</span>}</dd>
          </div>
          <div>
            <dt>Success (24 h)</dt>
            <dd><SuccessRate stats={stats.data} /></dd>
          </div>
          <div>
            <dt>Request headers</dt>
            <dd>
              {Object.keys(w.headers ?? {}).length === 0
                ? <span className="muted">None</span>
                : (
                  <ul className="chips" aria-label="Request headers">
                    {Object.keys(w.headers ?? {}).map((name) => (
                      <li key={name} className="chip mono" title="Sent with every delivery; the value is stored encrypted and never shown">{name}: <span className="masked">{MASK}</span></li>
                    ))}
                  </ul>
                )}
            </dd>
          </div>
          <div>
            <dt>Webhook ID</dt>
            <dd className="mono">{w.id}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd><RelativeTime iso={w.created} />
              {w.last_modified !== w.created && <span className="muted small"> · changed <RelativeTime iso={w.last_modified} /></span>}</dd>
          </div>
        </dl>
      </section>

      <HealthCharts stats={history.data} window={historyWindow} onWindow={setHistoryWindow} loading={history.loading} />

      <DeliveryLimits webhook={w} canAct={canAct} onSaved={() => void hook.reload()} />

      <DeliveryLog webhook={w} canAct={canAct} refreshKey={deliveriesChanged} pending={(stats.data?.deliveries.pending ?? 0) > 0} onRefresh={stats.reload} />

      <WebhookPanel
        open={open === 'edit'}
        webhook={w}
        onClose={close}
        onSaved={() => {
          close();
          void hook.reload();
          notify('Webhook saved.');
        }}
      />
      <TestEventDialog
        open={open === 'test'}
        webhook={w}
        eventTypes={eventTypes}
        onClose={close}
        onSent={() => {
          close();
          setDeliveriesChanged((n) => n + 1);
          void stats.reload();
        }}
      />
      <RotateDialog open={open === 'rotate'} webhook={w} onClose={close} />
      <Confirm
        open={open === 'disable'}
        title="Disable this webhook?"
        confirmLabel="Disable webhook"
        busy={busy}
        error={actionError}
        onConfirm={() => void setStatus('disabled')}
        onClose={close}
      >
        <p>Hookline stops sending to <span className="mono">{w.metadata.webhook_url}</span>. New events are still recorded, and every waiting delivery is sent when you enable it again.</p>
      </Confirm>
      <Confirm
        open={open === 'delete'}
        title="Delete this webhook?"
        confirmLabel="Delete webhook"
        danger
        busy={busy}
        error={actionError}
        onConfirm={() => void remove()}
        onClose={close}
      >
        <p>“{w.metadata.name}” stops receiving events at once, and its delivery log is deleted with it. This cannot be undone.</p>
      </Confirm>
    </>
  );
}

function TestEventDialog({ open, webhook, eventTypes, onClose, onSent }: { open: boolean; webhook: Webhook; eventTypes: EventType[]; onClose: () => void; onSent: () => void }) {
  const notify = useToast();
  const id = useId();
  const [event, setEvent] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const chosen = event || webhook.metadata.events[0] || 'media_available';
  const send = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.post(`/v2/webhooks/${webhook.id}/test/`, { event: chosen });
      // A disabled webhook's deliveries wait: nothing arrives until it is enabled.
      notify(webhook.status === 'disabled'
        ? 'Test event queued. This webhook is disabled: it waits in the delivery log and is sent when you enable the webhook.'
        : 'Test event sent. Watch it arrive in the delivery log.', webhook.status === 'disabled' ? 'info' : 'success');
      onSent();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  const options = webhook.metadata.events.map((name) => eventTypes.find((t) => t.name === name) ?? { name, title: name, description: '' });
  const description = options.find((o) => o.name === chosen)?.description;
  return (
    <Dialog
      open={open}
      title="Send a test event"
      description="Sends one sample event, with made-up ids, to this webhook only. It is signed and logged like any other."
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>Cancel</button>
          <button type="button" className="button button-primary" onClick={() => void send()} disabled={busy}>{busy ? 'Sending…' : 'Send test event'}</button>
        </>
      }
    >
      <div className="field">
        <label className="field-label" htmlFor={id}>Event</label>
        <select id={id} className="input" data-autofocus value={chosen} onChange={(e) => setEvent(e.target.value)} aria-describedby={`${id}-about`}>
          {options.map((o) => <option key={o.name} value={o.name}>{o.title}</option>)}
        </select>
        {description && <p className="hint" id={`${id}-about`}>{description}</p>}
      </div>
      {webhook.status === 'disabled' && (
        <p className="callout callout-warn">This webhook is disabled: the test event waits in its delivery log, and is sent only when you enable it.</p>
      )}
      {error && <p className="callout callout-error" role="alert">{error}</p>}
    </Dialog>
  );
}

const GRACE_PERIODS = [
  { seconds: 0, label: 'None: the old secret stops working now (it leaked)' },
  { seconds: 3_600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 7 * 86_400, label: '7 days' },
];

function RotateDialog({ open, webhook, onClose }: { open: boolean; webhook: Webhook; onClose: () => void }) {
  const id = useId();
  const [grace, setGrace] = useState(86_400);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [secret, setSecret] = useState<string>();
  const done = () => {
    setSecret(undefined);
    setError(undefined);
    onClose();
  };
  const rotate = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<{ secret: string }>(`/v2/webhooks/${webhook.id}/rotate_secret/`, { grace_period_seconds: grace });
      setSecret(answer.secret);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={open}
      title={secret ? 'New signing secret' : 'Rotate the signing secret'}
      onClose={done}
      footer={secret
        ? <button type="button" className="button button-primary" onClick={done}>Done</button>
        : (
          <>
            <button type="button" className="button" onClick={done}>Cancel</button>
            <button type="button" className="button button-primary" onClick={() => void rotate()} disabled={busy}>{busy ? 'Rotating…' : 'Rotate secret'}</button>
          </>
        )}
    >
      {secret ? (
        <CopySecret secret={secret} label="New signing secret" />
      ) : (
        <>
          <p>Hookline makes a new secret for “{webhook.metadata.name}”. Deliveries are signed with it from now on.</p>
          <div className="field">
            <label className="field-label" htmlFor={id}>Keep the old secret valid for</label>
            <select id={id} className="input" data-autofocus value={grace} onChange={(e) => setGrace(Number(e.target.value))} aria-describedby={`${id}-hint`}>
              {GRACE_PERIODS.map((g) => <option key={g.seconds} value={g.seconds}>{g.label}</option>)}
            </select>
            <p className="hint" id={`${id}-hint`}>During this time the Standard Webhooks signature carries both secrets, so receivers can switch without missing a delivery.</p>
          </div>
          {error && <p className="callout callout-error" role="alert">{error}</p>}
        </>
      )}
    </Dialog>
  );
}
