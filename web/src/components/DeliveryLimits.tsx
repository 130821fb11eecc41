// A webhook's delivery limits: how many requests a second Hookline may send to it (rate_limit)
// and how many attempts may be in flight at once (max_in_flight). Everyone who can see the
// webhook sees them; the account's key changes them in a small dialog. An empty field is null:
// no rate limit, and the node's default in-flight cap, below which the engine adapts.
import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { api, fieldErrors, focusFirstError } from '../api';
import type { Webhook } from '../types';
import { Dialog } from './Dialog';
import { useToast } from './Toasts';

const FIELDS = ['rate_limit', 'max_in_flight'] as const;
type Field = (typeof FIELDS)[number];

const number = new Intl.NumberFormat('en', { maximumFractionDigits: 3 });

/** "2.5 requests/s", "1 request/s"; below one a second, also how often that is. */
function rateText(rate: number): { value: string; every?: string } {
  const value = `${number.format(rate)} ${rate === 1 ? 'request' : 'requests'}/s`;
  if (rate >= 1) return { value };
  const seconds = 1 / rate;
  return { value, every: `one every ${new Intl.NumberFormat('en', { maximumFractionDigits: 1 }).format(seconds)} s` };
}

interface LimitsProps {
  webhook: Webhook;
  canAct: boolean;
  onSaved: () => void;
}

export function DeliveryLimits({ webhook, canAct, onSaved }: LimitsProps) {
  const [open, setOpen] = useState(false);
  const titleId = useId();
  const rate = webhook.rate_limit ?? null;
  const inFlight = webhook.max_in_flight ?? null;
  const shown = rate === null ? undefined : rateText(rate);
  return (
    <section className="card limits" aria-labelledby={titleId}>
      <div className="card-head">
        <div>
          <h2 id={titleId}>Delivery limits</h2>
          <p className="muted small">How hard Hookline may press on this endpoint. Deliveries over a limit wait their turn; none are dropped.</p>
        </div>
        {canAct && <button type="button" className="button button-small" onClick={() => setOpen(true)}>Change limits</button>}
      </div>
      <dl className="overview-grid limits-grid">
        <div>
          <dt>Rate limit</dt>
          <dd>
            {shown
              ? <><strong className="limit-value">{shown.value}</strong>{shown.every && <span className="muted small"> · {shown.every}</span>}</>
              : <span className="muted">No rate limit</span>}
          </dd>
        </div>
        <div>
          <dt>Concurrency</dt>
          <dd>
            {inFlight !== null
              ? <strong className="limit-value">At most {number.format(inFlight)} in flight</strong>
              : <span className="muted">Adapts, up to the node's default</span>}
          </dd>
        </div>
      </dl>
      {canAct && (
        <LimitsDialog
          open={open}
          webhook={webhook}
          onClose={() => setOpen(false)}
          onSaved={() => {
            setOpen(false);
            onSaved();
          }}
        />
      )}
    </section>
  );
}

/** A positive decimal as typed ("5", "0.5", ".5", "2.50"); undefined when it is not one. */
function parseRate(text: string): number | undefined {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

function parseCount(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

function LimitsDialog({ open, webhook, onClose, onSaved }: { open: boolean; webhook: Webhook; onClose: () => void; onSaved: () => void }) {
  const notify = useToast();
  const ids = { form: useId(), rate: useId(), inFlight: useId() };
  const formRef = useRef<HTMLFormElement>(null);
  const [rate, setRate] = useState('');
  const [inFlight, setInFlight] = useState('');
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!open) return;
    setRate(webhook.rate_limit == null ? '' : String(webhook.rate_limit));
    setInFlight(webhook.max_in_flight == null ? '' : String(webhook.max_in_flight));
    setErrors({});
    setGeneral([]);
  }, [open, webhook]);

  const focusFirst = (byField: Partial<Record<Field, string>>) => focusFirstError(formRef.current, FIELDS, byField);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const typedRate = rate.trim();
    const typedInFlight = inFlight.trim();
    const rateLimit = typedRate === '' ? null : parseRate(typedRate);
    const maxInFlight = typedInFlight === '' ? null : parseCount(typedInFlight);
    const mistakes: Partial<Record<Field, string>> = {};
    if (rateLimit === undefined) mistakes.rate_limit = 'Enter a number of requests per second above 0, such as 5 or 0.5, or leave it empty for no limit.';
    if (maxInFlight === undefined) mistakes.max_in_flight = 'Enter a whole number from 1, or leave it empty for the node\'s default.';
    setGeneral([]);
    setErrors(mistakes);
    if (rateLimit === undefined || maxInFlight === undefined) {
      focusFirst(mistakes);
      return;
    }
    setBusy(true);
    try {
      await api.patch<Webhook>(`/v2/webhooks/${webhook.id}/`, { rate_limit: rateLimit, max_in_flight: maxInFlight });
      notify('Delivery limits saved.');
      onSaved();
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS);
      setErrors(byField);
      setGeneral(other);
      focusFirst(byField);
    } finally {
      setBusy(false);
    }
  };

  const errorId = (field: Field) => `${field}-error-${ids.form}`;
  const describedBy = (field: Field, hint: string) => [hint, errors[field] ? errorId(field) : undefined].filter(Boolean).join(' ');

  return (
    <Dialog
      open={open}
      title="Change delivery limits"
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>Cancel</button>
          <button type="submit" form={`form-${ids.form}`} className="button button-primary" disabled={busy}>{busy ? 'Saving…' : 'Save limits'}</button>
        </>
      }
    >
      <form id={`form-${ids.form}`} ref={formRef} noValidate onSubmit={submit} className="stack" aria-label="Delivery limits">
        {general.length > 0 && (
          <div className="callout callout-error" role="alert" tabIndex={-1}>
            {general.map((g) => <p key={g}>{g}</p>)}
          </div>
        )}
        <div className={`field ${errors.rate_limit ? 'has-error' : ''}`}>
          <label className="field-label" htmlFor={ids.rate}>Rate limit <span className="optional">(requests per second)</span></label>
          <input
            id={ids.rate} data-field="rate_limit" data-autofocus className="input input-short" inputMode="decimal" autoComplete="off"
            value={rate} placeholder="No limit" aria-invalid={!!errors.rate_limit} aria-describedby={describedBy('rate_limit', `${ids.rate}-hint`)}
            onChange={(e) => {
              setRate(e.target.value);
              setErrors((x) => ({ ...x, rate_limit: undefined }));
            }}
          />
          <p className="hint" id={`${ids.rate}-hint`}>At most this many requests a second to this webhook, with bursts of up to one second's worth. Fractions are allowed: 0.5 is one every 2 seconds. Empty: no limit.</p>
          {errors.rate_limit && <p className="field-error" id={errorId('rate_limit')}>{errors.rate_limit}</p>}
        </div>
        <div className={`field ${errors.max_in_flight ? 'has-error' : ''}`}>
          <label className="field-label" htmlFor={ids.inFlight}>Max in flight <span className="optional">(attempts at once)</span></label>
          <input
            id={ids.inFlight} data-field="max_in_flight" className="input input-short" inputMode="numeric" autoComplete="off"
            value={inFlight} placeholder="Node's default" aria-invalid={!!errors.max_in_flight} aria-describedby={describedBy('max_in_flight', `${ids.inFlight}-hint`)}
            onChange={(e) => {
              setInFlight(e.target.value);
              setErrors((x) => ({ ...x, max_in_flight: undefined }));
            }}
          />
          <p className="hint" id={`${ids.inFlight}-hint`}>At most this many delivery attempts waiting on the endpoint at once, from 1 to the operator's limit (100 unless changed). Empty: the node's default, and Hookline adapts below it to how the endpoint answers.</p>
          {errors.max_in_flight && <p className="field-error" id={errorId('max_in_flight')}>{errors.max_in_flight}</p>}
        </div>
      </form>
    </Dialog>
  );
}
