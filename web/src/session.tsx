// Who is signed in. The API key is sent once, to POST /ui/session; afterwards the browser holds
// only the HttpOnly session cookie, and this page holds the CSRF token in memory.
import { createContext, useContext } from 'react';
import { api, setCsrfToken } from './api';
import { forgetCachedData } from './hooks';
import type { Me } from './types';

export interface SessionValue {
  me: Me;
  signOut(): Promise<void>;
}

export const SessionContext = createContext<SessionValue | null>(null);

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside a signed-in page');
  return value;
}

export async function currentSession(): Promise<Me | null> {
  try {
    const me = await api.get<Me>('/ui/session');
    setCsrfToken(me.csrf_token);
    return me;
  } catch {
    return null;
  }
}

/** Starts a dashboard session (its cookie comes with the answer): nothing cached from another survives. */
async function startSession(path: string, body: object): Promise<Me> {
  const me = await api.post<Me>(path, body);
  forgetCachedData();
  setCsrfToken(me.csrf_token);
  return me;
}

export const signIn = (apiKey: string): Promise<Me> => startSession('/ui/session', { api_key: apiKey });

/**
 * Opens a portal link: its one-use token (the link's fragment) for a session cookie. The
 * fragment never reaches a server's log; the page drops it from the address bar first.
 */
export const openPortal = (token: string): Promise<Me> => startSession('/ui/portal', { token });

/** Whether the session may change anything: an account's, unless opened read-only. The operator's key only looks. */
export function canWrite(me: Me): boolean {
  return me.role === 'account' && !me.read_only;
}

export async function signOut(): Promise<void> {
  try {
    await api.delete('/ui/session');
  } finally {
    setCsrfToken(undefined);
    forgetCachedData();
  }
}
