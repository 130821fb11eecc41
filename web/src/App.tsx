// Which page to show: sign in when there is no session, else the page the path names.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { onSessionLost } from './api';
import { Layout } from './components/Layout';
import { Loading } from './components/Feedback';
import { DeliveriesPage } from './pages/DeliveriesPage';
import { DeliveryPage } from './pages/DeliveryPage';
import { EventsPage } from './pages/EventsPage';
import { PropertiesPage } from './pages/PropertiesPage';
import { SignIn } from './pages/SignIn';
import { WebhookPage } from './pages/WebhookPage';
import { WebhooksPage } from './pages/WebhooksPage';
import { navigate, usePath } from './router';
import { SessionContext, currentSession, signOut } from './session';
import type { Me } from './types';

const TITLES: [RegExp, string][] = [
  [/^\/webhooks\/.+/, 'Webhook'],
  [/^\/deliveries\/.+/, 'Delivery'],
  [/^\/deliveries$/, 'Deliveries'],
  [/^\/events$/, 'Events'],
  [/^\/properties$/, 'Properties'],
  [/^\/sign-in$/, 'Sign in'],
];

function page(path: string) {
  const webhook = /^\/webhooks\/([A-Za-z0-9]+)\/?$/.exec(path);
  if (webhook) return <WebhookPage key={webhook[1]} id={webhook[1]!} />;
  const delivery = /^\/deliveries\/(msg_[0-9a-f]{24})\/?$/.exec(path);
  if (delivery) return <DeliveryPage key={delivery[1]} id={delivery[1]!} />;
  if (path === '/deliveries') return <DeliveriesPage />;
  if (path === '/events') return <EventsPage />;
  if (path === '/properties') return <PropertiesPage />;
  return <WebhooksPage />;
}

export function App() {
  const path = usePath();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>();

  useEffect(() => {
    void currentSession().then(setMe);
    onSessionLost(() => {
      setMe(null);
      setNotice('Your session has ended. Sign in again to continue.');
    });
  }, []);

  useEffect(() => {
    const title = TITLES.find(([re]) => re.test(path))?.[1] ?? 'Webhooks';
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
