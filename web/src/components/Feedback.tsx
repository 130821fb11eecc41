// Loading and failure states shared by the pages.
import { messageOf } from '../api';

export function Loading({ what }: { what: string }) {
  return <p className="loading" role="status">Loading {what}…</p>;
}

export function LoadError({ error, retry }: { error: unknown; retry?: () => void }) {
  return (
    <div className="callout callout-error" role="alert">
      <p>{messageOf(error)}</p>
      {retry && <button type="button" className="button button-small" onClick={retry}>Try again</button>}
    </div>
  );
}
