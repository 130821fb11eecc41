// The retry schedule: the delay before each attempt, counted from the previous attempt.
// Attempt 1 follows schedule[0] (normally 0: at once); after attempt N fails, the next is
// due schedule[N] later; after the last, the delivery has failed.

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!match) throw new Error(`"${raw}" is not a duration (like 500ms, 5s, 30m, 2h, 5d)`);
  const unit = match[2];
  if (!unit && Number(match[1]) !== 0) throw new Error(`"${raw}" needs a unit (ms, s, m, h or d)`);
  return Math.round(Number(match[1]) * UNITS[unit ?? 'ms']!);
}

/** The inverse of parseDuration, in the largest unit that says it exactly: 300000 is 5m. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0';
  const [unit, size] = Object.entries(UNITS).reverse().find(([, size]) => ms % size === 0)!;
  return `${ms / size}${unit}`;
}

export function parseSchedule(raw: string): number[] {
  const delays = raw.split(',').map(parseDuration);
  if (delays.length === 0 || delays.length > 50) throw new Error('a retry schedule has 1 to 50 delays');
  return delays;
}

/**
 * When the attempt after `attemptsMade` attempts is due, or null when none is left.
 * `random` is injectable so tests can pin the jitter.
 */
export function nextAttemptAt(
  schedule: readonly number[],
  jitter: number,
  attemptsMade: number,
  from: number,
  random: () => number = Math.random,
): number | null {
  if (attemptsMade >= schedule.length) return null;
  const delay = schedule[attemptsMade]!;
  const spread = delay * jitter * (random() * 2 - 1);
  return from + Math.round(delay + spread);
}
