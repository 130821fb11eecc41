// The frame of every signed-in page: brand, navigation, who is signed in, sign out; and where
// the keyboard focus goes after a navigation.
import { useEffect, useRef, type ReactNode } from 'react';
import logo from '../favicon.svg';
import { Link } from '../router';
import { useSession } from '../session';

const NAV = [
  { to: '/', label: 'Webhooks', match: (p: string) => p === '/' || p.startsWith('/webhooks') },
  { to: '/deliveries', label: 'Deliveries', match: (p: string) => p.startsWith('/deliveries') },
  { to: '/events', label: 'Events', match: (p: string) => p === '/events' },
  { to: '/properties', label: 'Properties', match: (p: string) => p === '/properties' },
  // The operator's only: accounts, properties, keys and the audit log.
  { to: '/console', label: 'Console', match: (p: string) => p === '/console', operator: true },
];

/**
 * After a navigation inside the page (not the first load), the keyboard focus goes to the new
 * page's heading, as a page load would start there: screen readers say where they are, and Tab
 * goes on from the top of the page. A page still loading gets it as soon as its heading shows.
 */
function useHeadingFocus(path: string) {
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const main = document.getElementById('main');
    if (!main) return;
    const focusHeading = () => {
      const heading = main.querySelector('h1');
      if (!heading) return false;
      if (!heading.hasAttribute('tabindex')) heading.setAttribute('tabindex', '-1');
      heading.focus({ preventScroll: true });
      return true;
    };
    if (focusHeading()) return;
    const observer = new MutationObserver(() => {
      if (focusHeading()) observer.disconnect();
    });
    observer.observe(main, { childList: true, subtree: true });
    return () => observer.disconnect();
  }, [path]);
}

export function Layout({ path, children }: { path: string; children: ReactNode }) {
  const { me, signOut } = useSession();
  useHeadingFocus(path);
  return (
    <div className="app">
      <a className="skip-link" href="#main">Skip to content</a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand" aria-label="Hookline, webhooks">
            <img src={logo} alt="" width={24} height={24} className="brand-mark" />
            <span>Hookline</span>
          </Link>
          <nav aria-label="Main" className="nav">
            {NAV.filter((item) => !item.operator || me.role === 'operator').map((item) => (
              <Link key={item.to} to={item.to} className="nav-link" aria-current={item.match(path) ? 'page' : undefined}>
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="who">
            <span className="who-name" title={me.account ? `Account ${me.account.id}` : 'Operator key'}>
              {me.role === 'operator' ? 'Operator' : me.account?.name ?? 'Account'}
            </span>
            {me.read_only && <span className="chip chip-readonly" title="This session can look at webhooks and deliveries, not change them">Read-only</span>}
            <button type="button" className="button button-small button-quiet" onClick={() => void signOut()}>Sign out</button>
          </div>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>{children}</main>
    </div>
  );
}

export function PageHeader({ title, subtitle, actions, children }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode; children?: ReactNode }) {
  return (
    <div className="page-header">
      <div className="page-title">
        {children}
        <h1>{title}</h1>
        {subtitle && <div className="page-subtitle">{subtitle}</div>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </div>
  );
}
