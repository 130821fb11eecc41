// The operator console's audit log: who (which key) created, changed, rotated, revoked or deleted
// what, and when, newest first; every account's, or one account's.
import { useId, useState } from 'react';
import { api, query } from '../../api';
import { RelativeTime } from '../RelativeTime';
import { useLoad } from '../../hooks';
import type { Account, AuditEntry } from '../../types';
import { LoadError, Loading } from '../Feedback';
import { Pager } from '../Pager';

const PAGE_LENGTH = 20;

export function AuditLogCard({ accounts, refreshKey }: { accounts: Account[]; refreshKey: number }) {
  const id = useId();
  const [account, setAccount] = useState('');
  const [page, setPage] = useState(1);
  const log = useLoad(
    () => api.get<{ audit_log: AuditEntry[]; total: number }>(`/v2/audit_log/${query({ account_id: account, page, page_length: PAGE_LENGTH })}`),
    [account, page, refreshKey],
  );
  const accountName = (aid: string | null) => (aid === null ? '—' : accounts.find((a) => a.id === aid)?.name ?? aid);
  return (
    <section className="card table-card" aria-labelledby={`${id}-title`}>
      <div className="card-head">
        <div>
          <h2 id={`${id}-title`}>Audit log</h2>
          <p className="muted small">Every change made through the API, by which key, newest first.</p>
        </div>
        <div className="field field-inline">
          <label className="field-label" htmlFor={`${id}-account`}>Account</label>
          <select id={`${id}-account`} className="input" value={account} onChange={(e) => { setAccount(e.target.value); setPage(1); }}>
            <option value="">All accounts</option>
            {accounts.map((a) => <option key={a.id} value={a.id}>{a.name}</option>)}
          </select>
        </div>
      </div>
      {log.error !== undefined && <LoadError error={log.error} retry={log.reload} />}
      {!log.data && log.error === undefined && <Loading what="the audit log" />}
      {log.data?.audit_log.length === 0 && <p className="muted empty-small">Nothing recorded yet.</p>}
      {log.data && log.data.audit_log.length > 0 && (
        <table className="table responsive audit-table">
          <caption className="visually-hidden">Audit log, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Account</th><th scope="col">By</th><th scope="col">IP</th></tr></thead>
          <tbody>
            {log.data.audit_log.map((e) => (
              <tr key={e.id} data-audit={e.action}>
                <td data-label="When"><RelativeTime iso={e.created} /></td>
                <td data-label="Action"><span className="mono">{e.action}</span></td>
                <td data-label="Target">{e.target_id ? <span className="mono">{e.target_type} {e.target_id}</span> : <span className="muted">—</span>}</td>
                <td data-label="Account">{accountName(e.account_id)}</td>
                <td data-label="By">{e.actor === 'operator' ? 'Operator' : <>Key <span className="mono">{e.key_id}</span></>}</td>
                <td data-label="IP"><span className="mono small">{e.ip ?? '—'}</span></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {log.data && <Pager page={page} pageLength={PAGE_LENGTH} total={log.data.total} onPage={setPage} label="Audit log pages" />}
    </section>
  );
}
