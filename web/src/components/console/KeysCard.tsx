// The operator console's API keys: one account's live keys, a new one (its secret shown once),
// and revoking one after confirmation (from then on the key gets 401, on every node).
import { useId, useState, type FormEvent } from 'react';
import { api } from '../../api';
import { fullTime } from '../../format';
import { useAction, useLoad } from '../../hooks';
import type { Account, ApiKey } from '../../types';
import { CopySecret } from '../CopySecret';
import { Confirm } from '../Dialog';
import { LoadError, Loading } from '../Feedback';
import { useToast } from '../Toasts';

export function KeysCard({ accounts, onChanged }: { accounts: Account[]; onChanged: () => void }) {
  const notify = useToast();
  const id = useId();
  const [account, setAccount] = useState('');
  const chosen = account || accounts[0]?.id || '';
  const keys = useLoad(
    () => (chosen ? api.get<{ api_keys: ApiKey[] }>(`/v2/accounts/${chosen}/api_keys/`).then((r) => r.api_keys) : Promise.resolve([])),
    [chosen],
  );
  const [name, setName] = useState('');
  const [created, setCreated] = useState<{ name: string; secret: string }>();
  const [revoking, setRevoking] = useState<ApiKey>();
  const creating = useAction();
  const revocation = useAction();
  const { error } = creating;
  const busy = creating.busy || revocation.busy;

  const create = (e: FormEvent) => {
    e.preventDefault();
    void creating.run(async () => {
      const key = await api.post<ApiKey & { secret: string }>(`/v2/accounts/${chosen}/api_keys/`, { name: name.trim() });
      setCreated({ name: key.name, secret: key.secret });
      setName('');
      await keys.reload();
      onChanged();
    });
  };
  const revoke = () => revocation.run(async () => {
    if (!revoking) return;
    await api.delete(`/v2/accounts/${chosen}/api_keys/${revoking.id}/`);
    notify(`API key “${revoking.name}” revoked: requests with it now get 401.`);
    setRevoking(undefined);
    setCreated(undefined);
    await keys.reload();
    onChanged();
  });

  return (
    <section className="card table-card" aria-labelledby={`${id}-title`}>
      <div className="card-head">
        <div>
          <h2 id={`${id}-title`}>API keys</h2>
          <p className="muted small">An account's keys sign its scripts and its people in. A key's secret is shown once, when it is made.</p>
        </div>
        <div className="field field-inline">
          <label className="field-label" htmlFor={`${id}-account`}>Account</label>
          <select id={`${id}-account`} className="input" value={chosen} onChange={(e) => { setAccount(e.target.value); setCreated(undefined); }}>
            {accounts.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </div>
      </div>
      <form className="inline-form" onSubmit={create} noValidate aria-label="Create an API key">
        <div className="field">
          <label className="field-label" htmlFor={id}>New key name</label>
          <input id={id} className="input" value={name} onChange={(e) => setName(e.target.value)} aria-invalid={!!error} aria-describedby={error ? `${id}-error` : undefined} />
        </div>
        <button type="submit" className="button button-primary" disabled={busy || !chosen}>Create key</button>
        {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
      </form>
      {created && (
        <div className="callout callout-success created">
          <CopySecret secret={created.secret} label={`API key “${created.name}”`} purpose="scripts and the dashboard sign in with it" />
        </div>
      )}
      {keys.error !== undefined && <LoadError error={keys.error} retry={keys.reload} />}
      {!keys.data && keys.error === undefined && <Loading what="keys" />}
      {keys.data?.length === 0 && <p className="muted empty-small">This account has no live keys.</p>}
      {keys.data && keys.data.length > 0 && (
        <table className="table responsive">
          <caption className="visually-hidden">API keys of the account</caption>
          <thead><tr><th scope="col">Key</th><th scope="col">ID</th><th scope="col">Created</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {keys.data.map((k) => (
              <tr key={k.id} data-key={k.id}>
                <td data-label="Key">{k.name}</td>
                <td data-label="ID"><span className="mono">{k.id}</span></td>
                <td data-label="Created">{fullTime(k.created)}</td>
                <td className="cell-action">
                  <button type="button" className="button button-small button-danger-quiet" onClick={() => setRevoking(k)}>
                    Revoke<span className="visually-hidden"> key {k.name}</span>
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Confirm
        open={revoking !== undefined}
        title="Revoke this API key?"
        confirmLabel="Revoke key"
        danger
        busy={busy}
        error={revocation.error}
        onConfirm={() => void revoke()}
        onClose={() => { setRevoking(undefined); revocation.setError(undefined); }}
      >
        <p>Every request with “{revoking?.name}” is refused from now on, and dashboard sessions signed in with it end. This cannot be undone.</p>
      </Confirm>
    </section>
  );
}
