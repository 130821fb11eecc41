// The Create Webhook panel, as JWP's dashboard has it: Name, optional Description, URL,
// Select Property, Choose Event, Create. Editing uses the same panel. The API checks the
// input and names every field it refuses at once: each message is shown next to its field
// (under the heading of a group of checkboxes), the first is scrolled to and focused, and the
// form keeps what was typed. Enter on a checkbox does not submit the half-filled form. The
// webhook's own request headers are edited in HeadersField.tsx.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { api, fieldErrors, focusFirstError } from '../api';
import { loadEventTypes, loadSites } from '../hooks';
import type { EventType, Site, Webhook, WebhookMetadata } from '../types';
import { Dialog } from './Dialog';
import { HeadersField, headerErrors, headerRows, headersBody, type HeaderRow } from './HeadersField';

const FIELDS = ['name', 'description', 'webhook_url', 'site_ids', 'events'] as const;
type Field = (typeof FIELDS)[number];

const GROUPS: { group: EventType['group']; title: string; noun: string; about?: string }[] = [
  { group: 'media', title: 'Media', noun: 'media' },
  { group: 'live_channel', title: 'Live channels', noun: 'live channels' },
  {
    group: 'operational', title: 'Operational (Hookline)', noun: 'operational',
    about: "Hookline's own, not JWP's: sent when another webhook of this account starts failing, is disabled, or recovers. They need no property.",
  },
];

const empty: WebhookMetadata = { name: '', description: '', webhook_url: '', site_ids: [], events: [] };

interface PanelProps {
  open: boolean;
  /** Set to edit this webhook; unset to create one. */
  webhook?: Webhook;
  onClose: () => void;
  onSaved: (webhook: Webhook) => void;
}

export function WebhookPanel({ open, webhook, onClose, onSaved }: PanelProps) {
  const [form, setForm] = useState<WebhookMetadata>(empty);
  const [errors, setErrors] = useState<Partial<Record<Field, string>>>({});
  const [general, setGeneral] = useState<string[]>([]);
  const [headers, setHeaders] = useState<HeaderRow[]>([]);
  const [headersError, setHeadersError] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [sites, setSites] = useState<Site[]>();
  const [eventTypes, setEventTypes] = useState<EventType[]>();
  const [loadError, setLoadError] = useState<string>();
  const formRef = useRef<HTMLFormElement>(null);
  const ids = { name: useId(), description: useId(), url: useId() };

  useEffect(() => {
    if (!open) return;
    setForm(webhook ? { ...webhook.metadata } : empty);
    setHeaders(headerRows(webhook?.headers));
    setHeadersError({});
    setErrors({});
    setGeneral([]);
    setLoadError(undefined);
    Promise.all([loadSites(), loadEventTypes()])
      .then(([s, e]) => {
        setSites(s);
        setEventTypes(e);
      })
      .catch((err: Error) => setLoadError(err.message));
  }, [open, webhook]);

  const set = <K extends keyof WebhookMetadata>(key: K, value: WebhookMetadata[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    // The message was about the old value; keep the others until the next try.
    setErrors((e) => ({ ...e, [key]: undefined }));
  };
  const toggle = (key: 'site_ids' | 'events', value: string, on: boolean) =>
    set(key, on ? [...form[key], value] : form[key].filter((v) => v !== value));

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setGeneral([]);
    setHeadersError({});
    try {
      // Every field is sent, even empty, so that the API names the one it refuses.
      const metadata = { ...form, name: form.name.trim(), webhook_url: form.webhook_url.trim() };
      // The headers as a whole (an update replaces them); a create without any leaves them out.
      const own = headersBody(headers);
      const extra = webhook || Object.keys(own).length > 0 ? { headers: own } : {};
      const saved = webhook
        ? await api.patch<Webhook>(`/v2/webhooks/${webhook.id}/`, { metadata, ...extra })
        : await api.post<Webhook>('/v2/webhooks/', { metadata, ...extra });
      onSaved(saved);
    } catch (err) {
      const { byField, other } = fieldErrors(err, FIELDS, 'metadata.');
      const { byHeader, other: rest } = headerErrors(other);
      setErrors(byField);
      setGeneral(rest);
      setHeadersError(byHeader);
      if (Object.keys(byField).length === 0 && rest.length === 0 && Object.keys(byHeader).length > 0) {
        requestAnimationFrame(() => {
          const target = formRef.current?.querySelector<HTMLElement>('[data-header-error]') ?? formRef.current?.querySelector<HTMLElement>('[data-field="headers"]');
          target?.scrollIntoView({ block: 'center' });
          target?.focus({ preventScroll: true });
        });
      } else {
        focusFirstError(formRef.current, FIELDS, byField);
      }
    } finally {
      setBusy(false);
    }
  };

  const errorId = (field: Field) => `${field}-error-${ids.name}`;
  const describedBy = (field: Field, hint?: string) => [hint, errors[field] ? errorId(field) : undefined].filter(Boolean).join(' ') || undefined;
  const errorText = (field: Field) => <FieldError id={errorId(field)} message={errors[field]} />;

  const title = webhook ? 'Edit Webhook' : 'Create Webhook';
  return (
    <Dialog
      open={open}
      sheet
      title={title}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="button" onClick={onClose}>Cancel</button>
          <button type="submit" form={`form-${ids.name}`} className="button button-primary" disabled={busy}>
            {busy ? (webhook ? 'Saving…' : 'Creating…') : webhook ? 'Save changes' : 'Create'}
          </button>
        </>
      }
    >
      <form id={`form-${ids.name}`} ref={formRef} noValidate onSubmit={submit} className="stack" aria-label={title}>
        {general.length > 0 && (
          <div className="callout callout-error" role="alert" tabIndex={-1}>
            {general.map((g) => <p key={g}>{g}</p>)}
          </div>
        )}
        {loadError && <div className="callout callout-error" role="alert">{loadError}</div>}

        <div className={`field ${errors.name ? 'has-error' : ''}`}>
          <label className="field-label" htmlFor={ids.name}>Name</label>
          <input
            id={ids.name} data-field="name" data-autofocus className="input" value={form.name} autoComplete="off" required
            aria-invalid={!!errors.name} aria-describedby={describedBy('name')}
            onChange={(e) => set('name', e.target.value)} placeholder="e.g. CMS sync"
          />
          {errorText('name')}
        </div>

        <div className={`field ${errors.description ? 'has-error' : ''}`}>
          <label className="field-label" htmlFor={ids.description}>Description <span className="optional">(optional)</span></label>
          <textarea
            id={ids.description} data-field="description" className="input" rows={2} value={form.description}
            aria-invalid={!!errors.description} aria-describedby={describedBy('description')}
            onChange={(e) => set('description', e.target.value)} placeholder="What this webhook is for"
          />
          {errorText('description')}
        </div>

        <div className={`field ${errors.webhook_url ? 'has-error' : ''}`}>
          <label className="field-label" htmlFor={ids.url}>Webhook URL</label>
          <input
            id={ids.url} data-field="webhook_url" className="input mono" type="url" inputMode="url" value={form.webhook_url} required
            autoComplete="off" spellCheck={false} aria-invalid={!!errors.webhook_url} aria-describedby={describedBy('webhook_url', `${ids.url}-hint`)}
            onChange={(e) => set('webhook_url', e.target.value)} placeholder="https://example.com/webhooks/jwp"
          />
          <p className="hint" id={`${ids.url}-hint`}>Hookline sends an HTTP POST here for each event.</p>
          {errorText('webhook_url')}
        </div>

        <ChoiceGroup legend="Select Property" field="site_ids" error={errors.site_ids} errorId={errorId('site_ids')}
          hint="Needed for JWP's events; a webhook of operational events alone needs none.">
          {!sites && !loadError && <p className="muted">Loading properties…</p>}
          {sites?.length === 0 && <p className="muted">This account has no properties yet. The operator creates them.</p>}
          <div className="choices">
            {sites?.map((s) => (
              <Choice key={s.id} checked={form.site_ids.includes(s.id)} onChange={(on) => toggle('site_ids', s.id, on)} title={s.name} meta={s.id} />
            ))}
          </div>
        </ChoiceGroup>

        <ChoiceGroup legend="Choose Event" field="events" error={errors.events} errorId={errorId('events')}>
          {!eventTypes && !loadError && <p className="muted">Loading events…</p>}
          {GROUPS.map(({ group, title: groupTitle, noun, about }) => {
            const inGroup = eventTypes?.filter((t) => t.group === group) ?? [];
            if (inGroup.length === 0) return null;
            const allOn = inGroup.every((t) => form.events.includes(t.name));
            return (
              <div key={group} className="choice-section">
                <div className="choice-section-head">
                  <h3>{groupTitle}</h3>
                  <button
                    type="button" className="link-button"
                    onClick={() => set('events', allOn
                      ? form.events.filter((n) => !inGroup.some((t) => t.name === n))
                      : [...form.events, ...inGroup.map((t) => t.name).filter((n) => !form.events.includes(n))])}
                  >
                    {allOn ? `Clear ${noun}` : `Select all ${noun}`}
                  </button>
                </div>
                {about && <p className="hint">{about}</p>}
                <div className="choices">
                  {inGroup.map((t) => (
                    <Choice
                      key={t.name} checked={form.events.includes(t.name)} onChange={(on) => toggle('events', t.name, on)}
                      title={t.title} meta={t.name} description={t.description}
                    />
                  ))}
                </div>
              </div>
            );
          })}
        </ChoiceGroup>

        <HeadersField rows={headers} onChange={setHeaders} errors={headersError} />
      </form>
    </Dialog>
  );
}

function FieldError({ id, message }: { id: string; message?: string }) {
  return message ? <p className="field-error" id={id}>{message}</p> : null;
}

/**
 * A fieldset of checkboxes that the API's refusal of `field` can point at: its message right
 * under the heading, where it is seen, not below the last of many checkboxes.
 */
function ChoiceGroup({ legend, field, error, errorId, hint, children }: { legend: string; field: Field; error?: string; errorId: string; hint?: string; children: ReactNode }) {
  return (
    <fieldset className={`field choice-group ${error ? 'has-error' : ''}`} data-field={field} tabIndex={-1} aria-describedby={error ? errorId : undefined}>
      <legend className="field-label">{legend}</legend>
      <FieldError id={errorId} message={error} />
      {hint && <p className="hint">{hint}</p>}
      {children}
    </fieldset>
  );
}

function Choice({ checked, onChange, title, meta, description }: { checked: boolean; onChange: (on: boolean) => void; title: string; meta: string; description?: string }) {
  const descriptionId = useId();
  return (
    <label className="choice">
      <input
        type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby={description ? descriptionId : undefined}
        // Enter in a form submits it; on a checkbox it would send the form half filled. Space ticks it.
        onKeyDown={(e) => {
          if (e.key === 'Enter') e.preventDefault();
        }}
      />
      <span className="choice-text">
        <span className="choice-title">{title} <code className="choice-meta">{meta}</code></span>
        {description && <span className="choice-description" id={descriptionId}>{description}</span>}
      </span>
    </label>
  );
}
