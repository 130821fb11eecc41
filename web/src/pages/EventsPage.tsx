// The catalogue, as the server delivers it (GET /v2/event_types/): JWP's 13 events, then
// Hookline's operational events, a group of their own (Hookline extensions, not JWP's).
import type { ReactNode } from 'react';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { loadEventTypes, useLoad } from '../hooks';
import type { EventType } from '../types';

const GROUPS: { group: EventType['group']; title: string; about: string }[] = [
  { group: 'media', title: 'Media', about: 'Uploads, conversions, updates and deletions of media, and their thumbnails and text tracks.' },
  { group: 'live_channel', title: 'Live channels', about: 'A live channel being created, going active and going idle.' },
  {
    group: 'operational', title: 'Operational (Hookline)',
    about: "Hookline's own events, not JWP's: another webhook of the account starts failing, is disabled, or recovers. A webhook that subscribes to these alone needs no property; it is never told about itself.",
  },
];

export function EventsPage() {
  const types = useLoad(loadEventTypes, []);
  return (
    <>
      <PageHeader
        title="Events"
        subtitle="What a webhook can listen to: JWP's 13 events, and Hookline's operational events. Each delivery is a POST whose JSON body has exactly the fields of the example."
      />
      {types.error !== undefined && <LoadError error={types.error} retry={types.reload} />}
      {!types.data && types.error === undefined && <Loading what="events" />}
      {types.data && (
        <nav aria-label="Events on this page" className="toc">
          {types.data.map((t) => <a key={t.name} href={`#${t.name}`} className="chip chip-event">{t.title}</a>)}
        </nav>
      )}
      {types.data && GROUPS.map(({ group, title, about }) => (
        <section key={group} aria-labelledby={`group-${group}`} className="event-group">
          <h2 id={`group-${group}`}>{title}</h2>
          <p className="muted">{about}</p>
          <div className="event-grid">
            {types.data!.filter((t) => t.group === group).map((t) => (
              <article key={t.name} id={t.name} className="card event-card" aria-labelledby={`${t.name}-title`}>
                <header>
                  <h3 id={`${t.name}-title`}>{t.title}</h3>
                  <code className="event-name">{t.name}</code>
                </header>
                <p>{t.description}</p>
                <p className="small"><strong>Hookline's rule:</strong> {t.rule}</p>
                {t.id_fields.length > 0
                  ? <p className="muted small">Carries {t.id_fields.map((f) => <code key={f}>{f}</code>).reduce<ReactNode[]>((all, c, i) => (i ? [...all, ' and ', c] : [c]), [])}.</p>
                  : <p className="muted small">About the webhook in <code>subject_webhook_id</code>; <code>webhook_id</code> is the one receiving it.</p>}
                <h4 className="visually-hidden">Example payload</h4>
                <pre className="code" tabIndex={0} aria-label={`Example payload of ${t.name}`}>{JSON.stringify(t.example, null, 4)}</pre>
              </article>
            ))}
          </div>
        </section>
      ))}
    </>
  );
}
