// Accounts and their properties (JWP's sites). The operator sees every account; an account
// sees its own properties, whose ids its webhooks and events use.
import { api } from '../api';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { fullTime } from '../format';
import { useLoad } from '../hooks';
import { useSession } from '../session';
import type { Account, Site } from '../types';

export function PropertiesPage() {
  const { me } = useSession();
  const operator = me.role === 'operator';
  const data = useLoad(async () => {
    const [sites, accounts] = await Promise.all([
      api.get<{ sites: Site[] }>('/v2/sites/').then((r) => r.sites),
      operator ? api.get<{ accounts: Account[] }>('/v2/accounts/').then((r) => r.accounts) : Promise.resolve(me.account ? [{ ...me.account, created: '' }] : []),
    ]);
    return { sites, accounts };
  }, [operator]);

  return (
    <>
      <PageHeader
        title="Properties"
        subtitle={operator
          ? 'Every account and its properties. A property id is the site_id of webhooks and events.'
          : 'The properties of your account. A property id is the site_id your webhooks listen to.'}
      />
      {data.error !== undefined && <LoadError error={data.error} retry={data.reload} />}
      {!data.data && data.error === undefined && <Loading what="properties" />}
      {data.data?.accounts.map((a) => {
        const own = data.data!.sites.filter((s) => s.account_id === a.id);
        return (
          <section key={a.id} className="card table-card account" aria-labelledby={`account-${a.id}`}>
            <div className="card-head">
              <div>
                <h2 id={`account-${a.id}`}>{a.name}</h2>
                <p className="muted small">Account <span className="mono">{a.id}</span>{a.created && <> · created {fullTime(a.created)}</>}</p>
              </div>
              <span className="badge badge-muted">{own.length} {own.length === 1 ? 'property' : 'properties'}</span>
            </div>
            {own.length === 0 ? (
              <p className="muted empty-small">No properties yet.</p>
            ) : (
              <table className="table responsive">
                <caption className="visually-hidden">Properties of {a.name}</caption>
                <thead>
                  <tr><th scope="col">Property</th><th scope="col">Property ID (site_id)</th><th scope="col">Created</th></tr>
                </thead>
                <tbody>
                  {own.map((s) => (
                    <tr key={s.id}>
                      <td data-label="Property">{s.name}</td>
                      <td data-label="Property ID"><span className="mono">{s.id}</span></td>
                      <td data-label="Created">{fullTime(s.created)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        );
      })}
    </>
  );
}
