// What a path the dashboard has no page for shows (the server answers it with a 404 too), and
// what a portal link that cannot be opened shows.
import logo from '../favicon.svg';
import { Link } from '../router';

export function NotFound({ path }: { path: string }) {
  return (
    <div className="empty">
      <h1>Page not found</h1>
      <p className="muted">There is no page at <span className="mono">{path}</span>. The link may be mistyped, or the page may have moved.</p>
      <Link to="/" className="button button-primary">Go to webhooks</Link>
    </div>
  );
}

export function PortalClosed({ reason }: { reason: string }) {
  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="signin-brand">
          <img src={logo} alt="" width={40} height={40} />
          <h1>This link cannot be opened</h1>
        </div>
        <p className="callout callout-error" role="alert">{reason}</p>
        <p className="muted">A portal link opens once, within minutes of being made. Reload the page you found it on for a new one.</p>
        <Link to="/sign-in" className="button button-block">Sign in with an API key instead</Link>
      </div>
    </main>
  );
}
