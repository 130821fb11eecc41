// Short confirmations ("Test event sent") and failures, in a stack at the bottom right: at most
// three, newest last, each with its Dismiss button. They never hide the page's end: the page
// keeps room below its content as tall as the stack (--toasts-height), so the last rows of a
// delivery log scroll clear of them. Confirmations are announced politely and failures at once
// (two live regions that stay in the page); a toast waits while the pointer or the focus is on it.
import { createContext, useCallback, useContext, useEffect, useRef, useState, type ReactNode } from 'react';

type Kind = 'success' | 'error' | 'info';
interface Toast {
  id: number;
  kind: Kind;
  text: string;
}

const SHOWN_MS: Record<Kind, number> = { success: 5000, info: 7000, error: 9000 };
const MAX_SHOWN = 3;

const ToastContext = createContext<(text: string, kind?: Kind) => void>(() => {});

export const useToast = () => useContext(ToastContext);

export function ToastProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(1);
  const stack = useRef<HTMLDivElement>(null);
  // Each toast's timer and the time it has left, so that hovering or focusing the stack pauses them.
  const timers = useRef(new Map<number, { timer?: ReturnType<typeof setTimeout>; left: number; started: number }>());
  const paused = useRef(false);

  const dismiss = useCallback((id: number) => {
    clearTimeout(timers.current.get(id)?.timer);
    timers.current.delete(id);
    setToasts((all) => all.filter((t) => t.id !== id));
  }, []);
  const run = useCallback((id: number) => {
    const t = timers.current.get(id);
    if (!t || paused.current) return;
    t.started = Date.now();
    t.timer = setTimeout(() => dismiss(id), t.left);
  }, [dismiss]);
  const notify = useCallback((text: string, kind: Kind = 'success') => {
    const id = next.current++;
    setToasts((all) => {
      for (const old of all.slice(0, Math.max(0, all.length - (MAX_SHOWN - 1)))) {
        clearTimeout(timers.current.get(old.id)?.timer);
        timers.current.delete(old.id);
      }
      return [...all.slice(-(MAX_SHOWN - 1)), { id, kind, text }];
    });
    timers.current.set(id, { left: SHOWN_MS[kind], started: Date.now() });
    run(id);
  }, [run]);
  const pause = () => {
    paused.current = true;
    for (const t of timers.current.values()) {
      clearTimeout(t.timer);
      t.left = Math.max(1000, t.left - (Date.now() - t.started));
    }
  };
  const resume = () => {
    paused.current = false;
    for (const id of timers.current.keys()) run(id);
  };

  // The room the page keeps below its content while toasts are shown.
  useEffect(() => {
    const el = stack.current;
    if (!el) return;
    const observer = new ResizeObserver(() => {
      document.documentElement.style.setProperty('--toasts-height', `${el.offsetHeight}px`);
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);

  const shown = (kinds: Kind[]) => toasts.filter((t) => kinds.includes(t.kind)).map((t) => (
    <div key={t.id} className={`toast toast-${t.kind}`} data-toast={t.id}>
      <span>{t.text}</span>
      <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => dismiss(t.id)}>
        <span aria-hidden="true">×</span>
      </button>
    </div>
  ));
  return (
    <ToastContext.Provider value={notify}>
      {children}
      <div className="toasts" ref={stack} onMouseEnter={pause} onMouseLeave={resume} onFocus={pause} onBlur={resume}>
        <div className="toast-stack" role="status" aria-live="polite">{shown(['success', 'info'])}</div>
        <div className="toast-stack" role="alert" aria-live="assertive">{shown(['error'])}</div>
      </div>
    </ToastContext.Provider>
  );
}
