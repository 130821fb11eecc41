// Loading data for a page, and keeping it fresh while the page is open.
import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from './api';
import type { EventType, Site } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
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
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, [run]);
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true });
    void reload();
  }, [reload]);
  return { ...state, reload };
}

/** Calls `tick` every `ms` while the tab is visible, and at once when it becomes visible again. */
export function useInterval(tick: () => void, ms: number, enabled = true): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    if (!enabled) return;
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') latest.current();
    }, ms);
    const onVisible = () => {
      if (document.visibilityState === 'visible') latest.current();
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
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
