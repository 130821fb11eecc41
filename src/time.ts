// JWP writes two time formats: event_time with seconds ("2024-08-27T00:20:57+00:00") and
// resource times with microseconds ("2019-09-25T15:29:11.042095+00:00"). Hookline keeps
// epoch milliseconds and formats at the edge.

export function jwpSeconds(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '+00:00';
}

export function jwpMicros(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23) + '000+00:00';
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Parses an ISO 8601 time that states its offset; undefined when it is not one. */
export function parseIsoTime(raw: string): number | undefined {
  if (!ISO_WITH_OFFSET.test(raw)) return undefined;
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Time is injected so that tests can move it. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
