// Which page to show: sign in when there is no session, else the page the path names.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { messageOf, onSessionLost } from './api';
import { Layout } from './components/Layout';
import { Loading } from './components/Feedback';
import { ConsolePage } from './pages/ConsolePage';
import { DeliveriesPage } from './pages/DeliveriesPage';
import { DeliveryPage } from './pages/DeliveryPage';
import { EventsPage } from './pages/EventsPage';
import { NotFound, PortalClosed } from './pages/NotFound';
import { PropertiesPage } from './pages/PropertiesPage';
import { SignIn } from './pages/SignIn';
import { WebhookPage } from './pages/WebhookPage';
import { WebhooksPage } from './pages/WebhooksPage';
import { navigate, usePath } from './router';
import { SessionContext, currentSession, openPortal, signOut } from './session';
import type { Me } from './types';

const TITLES: [RegExp, string][] = [
  [/^\/(webhooks|portal|sign-in)?\/?$/, 'Webhooks'],
  [/^\/webhooks\/[A-Za-z0-9]+\/?$/, 'Webhook'],
  [/^\/deliveries\/?$/, 'Deliveries'],
  [/^\/deliveries\/msg_[0-9a-f]{24}\/?$/, 'Delivery'],
  [/^\/events\/?$/, 'Events'],
  [/^\/properties\/?$/, 'Properties'],
  [/^\/console\/?$/, 'Operator console'],
];

/** The page a path names; the paths are those the server answers with the page (src/api/routes/dashboard.ts). */
function page(path: string) {
  const webhook = /^\/webhooks\/([A-Za-z0-9]+)\/?$/.exec(path);
  if (webhook) return <WebhookPage key={webhook[1]} id={webhook[1]!} />;
  const delivery = /^\/deliveries\/(msg_[0-9a-f]{24})\/?$/.exec(path);
  if (delivery) return <DeliveryPage key={delivery[1]} id={delivery[1]!} />;
  if (/^\/deliveries\/?$/.test(path)) return <DeliveriesPage />;
  if (/^\/events\/?$/.test(path)) return <EventsPage />;
  if (/^\/properties\/?$/.test(path)) return <PropertiesPage />;
  if (/^\/console\/?$/.test(path)) return <ConsolePage />;
  if (/^\/(webhooks|portal|sign-in)?\/?$/.test(path)) return <WebhooksPage />;
  return <NotFound path={path} />;
}

/** The portal link's token, taken once from the address (its fragment), which then forgets it. */
function takePortalToken(): string | undefined {
  if (location.pathname !== '/portal') return undefined;
  const token = location.hash.slice(1);
  history.replaceState(null, '', '/portal');
  return token || undefined;
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>();
  const [portalRefused, setPortalRefused] = useState<string>();
  const started = useRef(false);

  useEffect(() => {
    // Once, even where StrictMode runs effects twice: a portal token opens one session only.
    if (started.current) return;
    started.current = true;
    const enter = (token: string) => {
      setMe(undefined);
      openPortal(token).then((opened) => {
        setPortalRefused(undefined);
        setMe(opened);
        navigate('/', { replace: true });
      }, (err: unknown) => {
        const why = messageOf(err);
        setPortalRefused(why.charAt(0).toUpperCase() + why.slice(1));
        setMe(null);
      });
    };
    const token = takePortalToken();
    if (token) enter(token);
    else void currentSession().then(setMe);
    // Another link opened in this tab while it shows /portal only changes the fragment: no page load.
    window.addEventListener('hashchange', () => {
      const next = takePortalToken();
      if (next) enter(next);
    });
    onSessionLost(() => {
      setMe(null);
      setNotice('Your session has ended. Sign in again to continue.');
    });
  }, []);

  useEffect(() => {
    const title = TITLES.find(([re]) => re.test(path))?.[1] ?? 'Page not found';
    document.title = `${me === null ? 'Sign in' : title} · Hookline`;
  }, [path, me]);

  const leave = useCallback(async () => {
    await signOut().catch(() => undefined);
    setNotice('You have signed out.');
    setMe(null);
    navigate('/sign-in');
  }, []);
  const session = useMemo(() => (me ? { me, signOut: leave } : null), [me, leave]);

  if (me === undefined) return <Loading what="Hookline" />;
  if (me === null && portalRefused && path === '/portal') return <PortalClosed reason={portalRefused} />;
  if (me === null) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => {
          setNotice(undefined);
          setMe(signedIn);
          if (path === '/sign-in') navigate('/', { replace: true });
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <Layout path={path}>{path === '/sign-in' ? <WebhooksPage /> : page(path)}</Layout>
    </SessionContext.Provider>
  );
}
