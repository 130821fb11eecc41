// JWP writes two time formats: event_time with seconds ("2024-08-27T00:20:57+00:00") and
// resource times with microseconds ("2019-09-25T15:29:11.042095+00:00"). Hookline keeps
// epoch milliseconds and formats at the edge.

export function jwpSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '+00:00';
}

export function jwpMicros(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '000+00:00';
}

const ISO_WITH_OFFSET = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** The times JWP's format can write: four-digit years, after the offset is applied. */
const FIRST_WRITABLE = new Date(0).setUTCFullYear(0, 0, 1);
const LAST_WRITABLE = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * Parses an ISO 8601 time that states its offset; undefined when it is not one, names a day or
 * an hour that does not exist (2024-02-30, 24:00, an offset past 23:59), or falls outside the
 * years 0000–9999 once in UTC (JWP's format has four digits for the year).
 */
export function parseIsoTime(raw: string): number | undefined {
  const m = ISO_WITH_OFFSET.exec(raw);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return undefined;
  if (m[8] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) || ms < FIRST_WRITABLE || ms > LAST_WRITABLE ? undefined : ms;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Time is injected so that tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
