// The operator's console (signed in with the operator key): accounts and their properties, each
// account's API keys (create, shown once; revoke), and the audit log. Each through the operator
// routes of the API (/v2/accounts/, /v2/sites/, …/api_keys/, /v2/audit_log/).
import { useId, useState, type FormEvent } from 'react';
import { api } from '../api';
import { AuditLogCard } from '../components/console/AuditLogCard';
import { KeysCard } from '../components/console/KeysCard';
import { LoadError, Loading } from '../components/Feedback';
import { PageHeader } from '../components/Layout';
import { useToast } from '../components/Toasts';
import { fullTime } from '../format';
import { forgetCachedData, useAction, useLoad } from '../hooks';
import { useSession } from '../session';
import type { Account, Site } from '../types';

export function ConsolePage() {
  const { me } = useSession();
  const data = useLoad(async () => {
    const [accounts, sites] = await Promise.all([
      api.get<{ accounts: Account[] }>('/v2/accounts/').then((r) => r.accounts),
      api.get<{ sites: Site[] }>('/v2/sites/').then((r) => r.sites),
    ]);
    return { accounts, sites };
  }, []);
  const [auditKey, setAuditKey] = useState(0);
  const changed = async () => {
    // The webhook panel's list of properties is cached: a new one must show there too.
    forgetCachedData();
    setAuditKey((k) => k + 1);
    await data.reload();
  };

  if (me.role !== 'operator') {
    return (
      <div className="empty">
        <h1>Operator console</h1>
        <p className="muted">The console is for the operator key. Sign in with it to manage accounts, properties and keys.</p>
      </div>
    );
  }
  return (
    <>
      <PageHeader title="Operator console" subtitle="Accounts, their properties and API keys, and who changed what." />
      {data.error !== undefined && <LoadError error={data.error} retry={data.reload} />}
      {!data.data && data.error === undefined && <Loading what="accounts" />}
      {data.data && (
        <>
          <div className="console-grid">
            <AccountsCard accounts={data.data.accounts} sites={data.data.sites} onChanged={changed} />
            <PropertiesCard accounts={data.data.accounts} sites={data.data.sites} onChanged={changed} />
          </div>
          <KeysCard accounts={data.data.accounts} onChanged={() => setAuditKey((k) => k + 1)} />
          <AuditLogCard accounts={data.data.accounts} refreshKey={auditKey} />
        </>
      )}
    </>
  );
}

function AccountsCard({ accounts, sites, onChanged }: { accounts: Account[]; sites: Site[]; onChanged: () => Promise<void> }) {
  const notify = useToast();
  const id = useId();
  const [name, setName] = useState('');
  const { busy, error, run } = useAction();
  const create = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const account = await api.post<Account>('/v2/accounts/', { name: name.trim() });
      notify(`Account “${account.name}” created.`);
      setName('');
      await onChanged();
    });
  };
  return (
    <section className="card table-card" aria-labelledby={`${id}-title`}>
      <div className="card-head"><h2 id={`${id}-title`}>Accounts</h2><span className="badge badge-muted">{accounts.length}</span></div>
      <form className="inline-form" onSubmit={create} noValidate aria-label="Create an account">
        <div className="field">
          <label className="field-label" htmlFor={id}>New account name</label>
          <input id={id} className="input" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!error} aria-describedby={error ? `${id}-error` : undefined} />
        </div>
        <button type="submit" className="button button-primary" disabled={busy}>{busy ? 'Creating…' : 'Create account'}</button>
        {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
      </form>
      <table className="table responsive">
        <caption className="visually-hidden">Accounts</caption>
        <thead><tr><th scope="col">Account</th><th scope="col">ID</th><th scope="col">Properties</th><th scope="col">Created</th></tr></thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id} data-account={a.id}>
              <td data-label="Account">{a.name}</td>
              <td data-label="ID"><span className="mono">{a.id}</span></td>
              <td data-label="Properties">{sites.filter((s) => s.account_id === a.id).length}</td>
              <td data-label="Created">{fullTime(a.created)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PropertiesCard({ accounts, sites, onChanged }: { accounts: Account[]; sites: Site[]; onChanged: () => Promise<void> }) {
  const notify = useToast();
  const id = useId();
  const [name, setName] = useState('');
  const [account, setAccount] = useState('');
  const { busy, error, run } = useAction();
  const chosen = account || accounts[0]?.id || '';
  const accountName = (aid: string) => accounts.find((a) => a.id === aid)?.name ?? aid;
  const create = (e: FormEvent) => {
    e.preventDefault();
    void run(async () => {
      const site = await api.post<Site>('/v2/sites/', { name: name.trim(), account_id: chosen });
      notify(`Property “${site.name}” created: its site_id is ${site.id}.`);
      setName('');
      await onChanged();
    });
  };
  return (
    <section className="card table-card" aria-labelledby={`${id}-title`}>
      <div className="card-head"><h2 id={`${id}-title`}>Properties</h2><span className="badge badge-muted">{sites.length}</span></div>
      <form className="inline-form" onSubmit={create} noValidate aria-label="Create a property">
        <div className="field">
          <label className="field-label" htmlFor={`${id}-account`}>Account</label>
          <select id={`${id}-account`} className="input" value={chosen} onChange={(e) => setAccount(e.target.value)}>
            {accounts.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </div>
        <div className="field">
          <label className="field-label" htmlFor={id}>New property name</label>
          <input id={id} className="input" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!error} aria-describedby={error ? `${id}-error` : undefined} />
        </div>
        <button type="submit" className="button button-primary" disabled={busy || !chosen}>{busy ? 'Creating…' : 'Create property'}</button>
        {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
      </form>
      <table className="table responsive">
        <caption className="visually-hidden">Properties</caption>
        <thead><tr><th scope="col">Property</th><th scope="col">site_id</th><th scope="col">Account</th></tr></thead>
        <tbody>
          {sites.map((s) => (
            <tr key={s.id} data-site={s.id}>
              <td data-label="Property">{s.name}</td>
              <td data-label="site_id"><span className="mono">{s.id}</span></td>
              <td data-label="Account">{accountName(s.account_id)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
