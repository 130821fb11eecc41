// One delivery opened in the log: the request as sent (its URL, the headers of its latest
// attempt, the webhook's own values masked, and the body), and each attempt with the response's
// status, headers and body, highlighted, each with a copy button; and a resend.
import { useEffect, useState } from 'react';
import { api, messageOf } from '../api';
import { prettyJson } from '../format';
import { RelativeTime } from './RelativeTime';
import { useLoad } from '../hooks';
import { MASK, type Attempt, type DeliveryDetail } from '../types';
import { HttpStatus } from './Badges';
import { LoadError, Loading } from './Feedback';
import { CopyButton, JsonBlock } from './Json';
import { useToast } from './Toasts';

interface DetailsProps {
  id: string;
  url: string;
  canAct: boolean;
  tick: number;
  onResent: () => void;
}

const headerText = (headers: Record<string, string>) => Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n');

export function DeliveryDetails({ id, url, canAct, tick, onResent }: DetailsProps) {
  const notify = useToast();
  const [busy, setBusy] = useState(false);
  const detail = useLoad(() => api.get<DeliveryDetail>(`/v2/deliveries/${id}/`), [id]);
  const { reload } = detail;
  // Follows the log's refreshes, so a pending delivery's new attempts appear while it is open.
  useEffect(() => {
    if (tick > 0) void reload();
  }, [tick, reload]);

  const resend = async () => {
    setBusy(true);
    try {
      await api.post(`/v2/deliveries/${id}/retry/`);
      notify(`Delivery ${id} resent: one more attempt is on its way.`);
      // The log reloads, then this delivery with it (tick).
      onResent();
    } catch (err) {
      notify(`Resend failed: ${messageOf(err)}`, 'error');
    } finally {
      setBusy(false);
    }
  };

  if (!detail.data) return detail.error !== undefined ? <LoadError error={detail.error} retry={detail.reload} /> : <Loading what="the delivery" />;
  const d = detail.data;
  const latest = [...d.attempts].reverse().find((a) => a.request_headers);
  return (
    <div className="delivery-detail">
      <div className="detail-head">
        <h3>Delivery <span className="mono">{d.id}</span>{d.test && <> <span className="chip chip-test">Test</span></>}</h3>
        {canAct && (
          <button type="button" className="button button-small button-primary" onClick={resend} disabled={busy}>
            {busy ? 'Resending…' : 'Resend'}
          </button>
        )}
      </div>
      <div className="detail-grid">
        <div>
          <h4>Request</h4>
          <dl className="kv mono small">
            <dt>POST</dt><dd className="url">{url}</dd>
          </dl>
          {latest?.request_headers ? (
            <>
              <div className="block-head">
                <h4>Headers <span className="muted small">(attempt {d.attempts.lastIndexOf(latest) + 1})</span></h4>
                <CopyButton text={headerText(latest.request_headers)} label="Copy the headers of the request" />
              </div>
              <Headers headers={latest.request_headers} label="Request headers" />
            </>
          ) : (
            <dl className="kv mono small">
              <dt>content-type</dt><dd>application/json</dd>
              <dt>webhook-id</dt><dd>{d.id}</dd>
              <dt>authorization</dt><dd className="muted">Bearer JWT of the body, signed with the webhook's secret</dd>
              <dt>webhook-signature</dt><dd className="muted">v1,… (Standard Webhooks), with webhook-timestamp</dd>
            </dl>
          )}
          <div className="block-head">
            <h4>Body</h4>
            {d.request_body && <CopyButton text={prettyJson(d.request_body)} label="Copy the body of the request" />}
          </div>
          {d.request_body
            ? <JsonBlock text={d.request_body} label="Request body" />
            : <pre className="code" tabIndex={0} aria-label="Request body">(the event is no longer kept)</pre>}
        </div>
        <div>
          <h4>Attempts <span className="muted">({d.attempts.length})</span></h4>
          {d.attempts.length === 0 && <p className="muted">Not attempted yet{d.next_attempt_at ? <>: due <RelativeTime iso={d.next_attempt_at} /></> : ''}.</p>}
          <ol className="attempts" reversed>
            {[...d.attempts].reverse().map((a, i) => <AttemptView key={`${a.attempted_at}-${i}`} attempt={a} number={d.attempts.length - i} />)}
          </ol>
        </div>
      </div>
    </div>
  );
}

function AttemptView({ attempt: a, number }: { attempt: Attempt; number: number }) {
  return (
    <li className="attempt">
      <div className="attempt-head">
        <span className="attempt-number">#{number}</span>
        <HttpStatus code={a.status_code} />
        <span className="muted small">{a.duration_ms} ms</span>
        <RelativeTime className="muted small" iso={a.attempted_at} />
      </div>
      {a.error && <p className="attempt-error">{a.error}</p>}
      {a.response_headers && Object.keys(a.response_headers).length > 0 && (
        <details open>
          <summary>Response headers ({Object.keys(a.response_headers).length})</summary>
          <div className="block-head">
            <span />
            <CopyButton text={headerText(a.response_headers)} label={`Copy the headers of attempt ${number}'s response`} />
          </div>
          <Headers headers={a.response_headers} label={`Response headers of attempt ${number}`} />
        </details>
      )}
      {a.request_headers && (
        <details>
          <summary>Request headers sent</summary>
          <Headers headers={a.request_headers} label={`Headers sent with attempt ${number}`} />
        </details>
      )}
      {a.response_body ? (
        <>
          <div className="block-head">
            <span className="muted small">Response body</span>
            <CopyButton text={prettyJson(a.response_body)} label={`Copy the body of attempt ${number}'s response`} />
          </div>
          <JsonBlock text={a.response_body} label={`Response body of attempt ${number}`} small />
        </>
      ) : (
        <p className="muted small">{a.status_code === null ? 'No response.' : 'Empty response body.'}</p>
      )}
    </li>
  );
}

/** Headers in a table, a masked value shown as such. */
function Headers({ headers, label }: { headers: Record<string, string>; label: string }) {
  return (
    <table className="headers-table" aria-label={label}>
      <tbody>
        {Object.entries(headers).map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td>{value === MASK ? <span className="masked" title="The webhook's own header: its value is sealed and never shown">{MASK}</span> : value}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
