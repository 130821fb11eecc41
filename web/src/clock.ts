// One ticking clock for the whole page: relative times ("next in 13 seconds", "2 minutes ago")
// read it, so they stay true while the page is open. One timer runs while at least one time is
// shown (not one per row), and every time shown moves on the same tick.
import { useSyncExternalStore } from 'react';

const TICK_MS = 1_000;
const listeners = new Set<() => void>();
let now = Date.now();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  if (!timer) {
    now = Date.now();
    timer = setInterval(() => {
      now = Date.now();
      for (const l of listeners) l();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/** The time now, in ms, as of the page's last tick (every second while anything reads it). */
export function useNow(): number {
  return useSyncExternalStore(subscribe, () => now);
}
