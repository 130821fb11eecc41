// How times, rates and ids read on the page.

const relative = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const absolute = new Intl.DateTimeFormat('en', { dateStyle: 'medium', timeStyle: 'medium' });

export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  if (abs < 60) return relative.format(seconds, 'second');
  if (abs < 3600) return relative.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), 'hour');
  return relative.format(Math.round(seconds / 86_400), 'day');
}

export function fullTime(iso: string): string {
  return absolute.format(new Date(iso));
}

export function percent(rate: number): string {
  const p = rate * 100;
  return `${p === 100 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Pretty-prints JSON text for reading; leaves anything else as it is. */
export function prettyJson(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** The value of an <input type="datetime-local"> (local time) as an ISO time with offset. */
export function localInputToIso(value: string): string | undefined {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function isoToLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

/** A URL with line-break opportunities after its separators, so that it wraps where it reads well. */
export function breakableUrl(url: string): (string | { wbr: number })[] {
  const parts: (string | { wbr: number })[] = [];
  url.split(/(?<=[/.?&=#])/).forEach((piece, i) => {
    if (i > 0) parts.push({ wbr: i });
    parts.push(piece);
  });
  return parts;
}
