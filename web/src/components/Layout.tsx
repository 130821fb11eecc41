// The frame of every signed-in page: brand, navigation, who is signed in, sign out.
import type { ReactNode } from 'react';
import logo from '../favicon.svg';
import { Link } from '../router';
import { useSession } from '../session';

const NAV = [
  { to: '/', label: 'Webhooks', match: (p: string) => p === '/' || p.startsWith('/webhooks') },
  { to: '/deliveries', label: 'Deliveries', match: (p: string) => p.startsWith('/deliveries') },
  { to: '/events', label: 'Events', match: (p: string) => p === '/events' },
  { to: '/properties', label: 'Properties', match: (p: string) => p === '/properties' },
];

export function Layout({ path, children }: { path: string; children: ReactNode }) {
  const { me, signOut } = useSession();
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
            {NAV.map((item) => (
              <Link key={item.to} to={item.to} className="nav-link" aria-current={item.match(path) ? 'page' : undefined}>
                {item.label}
              </Link>
            ))}
          </nav>
          <div className="who">
            <span className="who-name" title={me.account ? `Account ${me.account.id}` : 'Operator key'}>
              {me.role === 'operator' ? 'Operator' : me.account?.name ?? 'Account'}
            </span>
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
