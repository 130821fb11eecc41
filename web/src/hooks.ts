// Loading data for a page, and keeping it fresh while something on it is pending.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError, messageOf } from './api';
import type { EventType, Site } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** Loads again, keeping what is shown meanwhile; resolves with the error, if it failed. */
  reload: () => Promise<unknown>;
}

/** Runs `load` now and whenever `deps` change; `reload` runs it again keeping the shown data. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const generation = useRef(0);
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setState((s) => ({ ...s, loading: true }));
    try {
      const data = await run();
      if (mine === generation.current) setState({ data, error: undefined, loading: false });
      return undefined;
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
      return error;
    }
  }, [run]);
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    void reload();
  }, [reload]);
  return { ...state, reload };
}

export interface Action {
  busy: boolean;
  /** What the last run met, as the form shows it under itself; undefined while it runs and after a success. */
  error: string | undefined;
  setError: (error: string | undefined) => void;
  /** Runs `act` unless one is running: busy meanwhile, its failure's message kept in `error`. */
  run: (act: () => Promise<unknown>) => Promise<void>;
}

/** A form's or a button's request: one at a time, busy while it runs, its failure shown by the caller. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(async (act: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await act();
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

/** How long the server asked to wait (Retry-After on a 429 or a 503) in what a tick resolved with (reload's errors). */
function askedWait(result: unknown): number {
  const all = Array.isArray(result) ? result : [result];
  return Math.max(0, ...all.map((r) => (r instanceof ApiError && (r.status === 429 || r.status === 503) ? r.retryAfterMs ?? 0 : 0)));
}

/**
 * Calls `tick` `ms` after its last call ended, while `enabled` (the page has something pending)
 * and the tab is visible, and at once when the tab becomes visible again: one call at a time.
 * After a 429 or a 503 it waits as long as the server asked (Retry-After), if that is longer;
 * `tick` resolves with what its loads met (Loaded.reload's errors).
 */
export function usePoll(tick: () => Promise<unknown>, ms: number, enabled: boolean): void {
  const latest = useRef(tick);
  latest.current = tick;
  // Outlives a pause of the polling: a Retry-After holds every call until then.
  const notBefore = useRef(0);
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let running = false;
    let stopped = false;
    const schedule = (delay: number) => {
      clearTimeout(timer);
      timer = setTimeout(() => void fire(), delay);
    };
    const fire = async () => {
      // Hidden: nothing until it is visible again (onVisible).
      if (stopped || running || document.visibilityState !== 'visible') return;
      const wait = notBefore.current - Date.now();
      if (wait > 0) return schedule(wait);
      running = true;
      let asked = 0;
      try {
        asked = askedWait(await latest.current());
      } finally {
        running = false;
      }
      notBefore.current = Date.now() + asked;
      if (!stopped) schedule(Math.max(ms, asked));
    };
    const onVisible = () => {
      if (document.visibilityState === 'visible' && !running) schedule(0);
    };
    schedule(ms);
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms, enabled]);
}

// The catalogue never changes while the server runs; properties rarely do. One load per session.
let eventTypes: Promise<EventType[]> | undefined;
let sites: Promise<Site[]> | undefined;

export function loadEventTypes(): Promise<EventType[]> {
  eventTypes ??= api.get<{ event_types: EventType[] }>('/v2/event_types/').then((r) => r.event_types);
  eventTypes.catch(() => (eventTypes = undefined));
  return eventTypes;
}

export function loadSites(): Promise<Site[]> {
  sites ??= api.get<{ sites: Site[] }>('/v2/sites/').then((r) => r.sites);
  sites.catch(() => (sites = undefined));
  return sites;
}

export function forgetCachedData(): void {
  eventTypes = undefined;
  sites = undefined;
}
