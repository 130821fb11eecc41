// Sign in with an API key. The key goes to the server once and is not kept by the page: the
// session lives in an HttpOnly cookie.
import { useId, useRef, useState, type FormEvent } from 'react';
import { fieldErrors } from '../api';
import logo from '../favicon.svg';
import { signIn } from '../session';
import type { Me } from '../types';

export function SignIn({ onSignedIn, notice }: { onSignedIn: (me: Me) => void; notice?: string }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const id = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const me = await signIn(key);
      setKey('');
      onSignedIn(me);
    } catch (err) {
      const { byField, other } = fieldErrors(err, ['api_key'] as const);
      setError(byField.api_key ?? other.join(' '));
      input.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="signin-brand">
          <img src={logo} alt="" width={40} height={40} />
          <div>
            <h1>Sign in to Hookline</h1>
            <p className="muted">Webhooks for your video platform</p>
          </div>
        </div>
        {notice && <p className="callout callout-info" role="status">{notice}</p>}
        <form onSubmit={submit} noValidate className="stack">
          <div className={`field ${error ? 'has-error' : ''}`}>
            <label className="field-label" htmlFor={id}>API key</label>
            <input
              id={id} ref={input} className="input mono" type="password" autoComplete="off" spellCheck={false} autoFocus
              value={key} onChange={(e) => setKey(e.target.value)} placeholder="hlk_…"
              aria-invalid={!!error} aria-describedby={`${id}-hint${error ? ` ${id}-error` : ''}`}
            />
            <p className="hint" id={`${id}-hint`}>
              Your account API key manages your webhooks; the operator key shows every account. Hookline printed both on its first start.
            </p>
            {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
          </div>
          <button type="submit" className="button button-primary button-block" disabled={busy}>{busy ? 'Signing in…' : 'Sign in'}</button>
        </form>
        <p className="signin-footnote muted">
          The key is checked once and not stored by this page. You stay signed in with a secure cookie until you sign out.
        </p>
      </div>
    </main>
  );
}
