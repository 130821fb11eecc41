// A secret shown once: readable, selectable, one click to copy, and a plain warning.
import { useId, useRef, useState } from 'react';

export function CopySecret({ secret, label = 'Signing secret', purpose = "your receiver needs it to verify each delivery's signature" }: {
  secret: string;
  label?: string;
  /** What it is needed for: the end of the warning's second sentence. */
  purpose?: string;
}) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<'yes' | 'select' | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // No clipboard (an http page on another host): select it for Ctrl+C instead.
      input.current?.select();
      setCopied('select');
    }
  };
  return (
    <div className="secret">
      <label htmlFor={id} className="field-label">{label}</label>
      <div className="secret-row">
        <input id={id} ref={input} className="input mono" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
        <button type="button" className="button" onClick={copy}>{copied === 'yes' ? 'Copied' : 'Copy'}</button>
      </div>
      <p className="hint" aria-live="polite">
        {copied === 'select' ? 'Selected: press Ctrl+C (⌘C) to copy. ' : ''}
        <strong>This secret will not be shown again.</strong> Store it now: {purpose}.
      </p>
    </div>
  );
}
