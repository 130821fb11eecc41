export function Pager({ page, pageLength, total, onPage, label }: { page: number; pageLength: number; total: number; onPage: (p: number) => void; label: string }) {
  const pages = Math.max(1, Math.ceil(total / pageLength));
  if (total <= pageLength && page === 1) return null;
  const first = (page - 1) * pageLength + 1;
  const last = Math.min(total, page * pageLength);
  return (
    <nav className="pager" aria-label={label}>
      <span className="muted">{first}–{last} of {total}</span>
      <button type="button" className="button button-small" disabled={page <= 1} onClick={() => onPage(page - 1)}>Previous</button>
      <span className="muted">Page {page} of {pages}</span>
      <button type="button" className="button button-small" disabled={page >= pages} onClick={() => onPage(page + 1)}>Next</button>
    </nav>
  );
}
