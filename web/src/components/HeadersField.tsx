// The Create/Edit Webhook panel's request headers: rows of name and value that Hookline sends
// with every delivery (e.g. a token for an access proxy). A saved value never comes back from
// the server: its row shows it masked, and an untouched masked row keeps it (the API takes the
// mask as "keep the stored value"). The API's refusal of a header is shown under its row.
import { useId } from 'react';
import { MASK } from '../types';

export interface HeaderRow {
  key: number;
  name: string;
  value: string;
  /** The value is the server's, unseen: sent back as the mask unless typed over. */
  stored: boolean;
}

let nextKey = 0;
export const headerRows = (headers: Record<string, string> | undefined): HeaderRow[] =>
  Object.keys(headers ?? {}).map((name) => ({ key: nextKey++, name, value: '', stored: true }));

/** The body's `headers` from the rows: empty names are left out; an untouched saved value is the mask. */
export const headersBody = (rows: HeaderRow[]): Record<string, string> =>
  Object.fromEntries(rows.filter((r) => r.name.trim() !== '').map((r) => [r.name.trim(), r.stored && r.value === '' ? MASK : r.value]));

interface Props {
  rows: HeaderRow[];
  onChange: (rows: HeaderRow[]) => void;
  /** The API's messages: by header name, and '' for the headers as a whole. */
  errors: Record<string, string>;
}

export function HeadersField({ rows, onChange, errors }: Props) {
  const id = useId();
  const update = (key: number, change: Partial<HeaderRow>) => onChange(rows.map((r) => (r.key === key ? { ...r, ...change } : r)));
  return (
    <fieldset className={`field ${errors[''] ? 'has-error' : ''}`} data-field="headers" tabIndex={-1} aria-describedby={`${id}-hint`}>
      <legend className="field-label">Request headers <span className="optional">(optional)</span></legend>
      <p className="hint" id={`${id}-hint`}>
        Sent with every delivery, e.g. a token for an access proxy in front of your receiver. Values are stored encrypted and never shown again.
      </p>
      {errors[''] && <p className="field-error" role="alert">{errors['']}</p>}
      <div className="header-rows">
        {rows.map((r, i) => {
          const error = errors[r.name.trim()];
          return (
            <div key={r.key} className="header-row" data-header={r.name}>
              <input
                className="input mono" aria-label={`Header ${i + 1} name`} value={r.name} placeholder="X-Access-Token" autoComplete="off" spellCheck={false}
                aria-invalid={!!error} data-header-error={error ? '' : undefined}
                onChange={(e) => update(r.key, { name: e.target.value })}
              />
              <input
                className="input mono" aria-label={`Header ${i + 1} value`} value={r.value} autoComplete="off" spellCheck={false}
                placeholder={r.stored ? `${MASK} (saved; type to replace)` : 'value'}
                onChange={(e) => update(r.key, { value: e.target.value, stored: r.stored && e.target.value === '' })}
              />
              <button type="button" className="button button-small" onClick={() => onChange(rows.filter((x) => x.key !== r.key))}>
                Remove<span className="visually-hidden"> header {r.name || i + 1}</span>
              </button>
              {error && <p className="field-error">{error}</p>}
            </div>
          );
        })}
      </div>
      <div>
        <button type="button" className="button button-small" onClick={() => onChange([...rows, { key: nextKey++, name: '', value: '', stored: false }])}>
          Add header
        </button>
      </div>
    </fieldset>
  );
}

/** The API's refusals of `headers` (“headers.X-Name: …”, “headers: …”), by header name ('' for all), and the rest. */
export function headerErrors(descriptions: string[]): { byHeader: Record<string, string>; other: string[] } {
  const byHeader: Record<string, string> = {};
  const other: string[] = [];
  for (const d of descriptions) {
    const m = /^headers(?:\.([^:]+))?: (.*)$/s.exec(d);
    if (!m) other.push(d);
    else byHeader[m[1] ?? ''] = m[2]!.charAt(0).toUpperCase() + m[2]!.slice(1);
  }
  return { byHeader, other };
}
