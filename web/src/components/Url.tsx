// A webhook URL in monospace that wraps after its separators rather than mid-word.
import { Fragment } from 'react';
import { breakableUrl } from '../format';

export function Url({ href }: { href: string }) {
  return (
    <span className="mono url" title={href}>
      {breakableUrl(href).map((part, i) => (typeof part === 'string' ? <Fragment key={i}>{part}</Fragment> : <wbr key={i} />))}
    </span>
  );
}
