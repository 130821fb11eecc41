// JSON as the delivery view shows it: pretty-printed and highlighted (keys, strings, numbers,
// true/false/null), with spans only, so that its text stays the JSON itself (copy, select,
// search). A tokenizer of a few lines does it; text that is not JSON is shown as it is.
import { Fragment, useState, type ReactNode } from 'react';
import { prettyJson } from '../format';

/** A string (a key when a colon follows), a number, a literal, or anything else. */
const TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;

export function highlightJson(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index;
    if (at > last) out.push(text.slice(last, at));
    const [all, string, colon, number, literal] = m;
    if (string !== undefined) {
      out.push(<span key={at} className={colon ? 'json-key' : 'json-string'}>{string}</span>);
      if (colon) out.push(colon);
    } else if (number !== undefined) {
      out.push(<span key={at} className="json-number">{number}</span>);
    } else if (literal !== undefined) {
      out.push(<span key={at} className="json-literal">{literal}</span>);
    } else {
      out.push(all);
    }
    last = at + all.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out.map((part, i) => (typeof part === 'string' ? <Fragment key={`t${i}`}>{part}</Fragment> : part));
}

/** Highlighted only when it parses as JSON. */
export function JsonBlock({ text, label, small }: { text: string; label: string; small?: boolean }) {
  const pretty = prettyJson(text);
  const isJson = pretty !== text || isParsable(text);
  return (
    <pre className={`code${small ? ' code-small' : ''}`} tabIndex={0} aria-label={label}>
      {isJson ? highlightJson(pretty) : text}
    </pre>
  );
}

function isParsable(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** One click to copy `text`; says so in place (and, without a clipboard, that it could not). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'copied' | 'failed'>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
    setTimeout(() => setState(undefined), 2_000);
  };
  return (
    <button type="button" className="button button-small button-quiet copy-button" onClick={() => void copy()} aria-label={label}>
      <span aria-live="polite">{state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : 'Copy'}</span>
    </button>
  );
}
