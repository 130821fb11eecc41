// A time said relative to now ("in 13 seconds", "2 minutes ago") that keeps up with the shared
// clock (clock.ts), with the full date and time on hover.
import { useNow } from '../clock';
import { ago, fullTime } from '../format';

export function RelativeTime({ iso, className }: { iso: string; className?: string }) {
  const now = useNow();
  return <time className={className} dateTime={iso} title={fullTime(iso)}>{ago(iso, now)}</time>;
}
