// The adaptive per-endpoint concurrency limit on its own: how it grows, when it refuses to, how
// it cuts back on overload and how the outside ceiling bounds it. Sequences are exact, so a
// change to the rule shows here.
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit } from '../../src/delivery/concurrency.js';

const FAST = 50;

/** n fast successes, each started with the limit fully in use; the limit after each. */
function busy(limit: AdaptiveLimit, n: number, latencyMs = FAST): number[] {
  return Array.from({ length: n }, () => {
    limit.onSuccess(latencyMs, limit.limit);
    return limit.limit;
  });
}

/** n overloads in a row; the limit after each. */
function overloads(limit: AdaptiveLimit, n: number): number[] {
  return Array.from({ length: n }, () => {
    limit.onOverload();
    return limit.limit;
  });
}

describe('adaptive concurrency: growth', () => {
  it('starts at 4 by default and doubles per window in slow start while fast and in use', () => {
    const limit = new AdaptiveLimit();
    expect(limit.limit).toBe(4);
    expect(busy(limit, 12)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });

  it('adds one per window of successes after slow start', () => {
    const limit = new AdaptiveLimit({ slowStart: false });
    // A window is as many successes as the limit: 4 to reach 5, then 5 to reach 6, then 6.
    expect(busy(limit, 15)).toEqual([4, 4, 4, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6, 7]);
  });

  it('counts an attempt that started with limit - 1 in flight, not one with fewer', () => {
    const limit = new AdaptiveLimit({ initial: 4 });
    limit.onSuccess(FAST, 2);
    limit.onSuccess(FAST, 1);
    expect(limit.limit).toBe(4);
    limit.onSuccess(FAST, 3);
    expect(limit.limit).toBe(5);
    limit.onSuccess(FAST, 3);
    expect(limit.limit).toBe(5);
  });

  it('does not grow an under-used endpoint: one at a time stays at 3 at most', () => {
    const limit = new AdaptiveLimit({ initial: 1 });
    for (let i = 0; i < 1_000; i++) limit.onSuccess(FAST, 1);
    expect(limit.limit).toBe(3);
    const idle = new AdaptiveLimit({ initial: 4, slowStart: false });
    for (let i = 0; i < 1_000; i++) idle.onSuccess(FAST, 2);
    expect(idle.limit).toBe(4);
  });

  it('does not grow on slow successes, and they do not count towards the window', () => {
    const limit = new AdaptiveLimit({ slowMs: 1_000, slowStart: false });
    expect(busy(limit, 10, 1_001)).toEqual(Array(10).fill(4));
    expect(busy(limit, 4, 1_000)).toEqual([4, 4, 4, 5]); // exactly slowMs is not slow
    const starting = new AdaptiveLimit({ slowMs: 200 });
    expect(busy(starting, 3, 5_000)).toEqual([4, 4, 4]);
    expect(busy(starting, 2, 200)).toEqual([5, 6]);
  });

  it('does not grow past max', () => {
    const limit = new AdaptiveLimit({ max: 7 });
    expect(busy(limit, 6)).toEqual([5, 6, 7, 7, 7, 7]);
    const linear = new AdaptiveLimit({ initial: 6, max: 7, slowStart: false });
    expect(busy(linear, 20).at(-1)).toBe(7);
  });

  it('starts within min..max', () => {
    expect(new AdaptiveLimit({ max: 2 }).limit).toBe(2);
    expect(new AdaptiveLimit({ initial: 1, min: 3 }).limit).toBe(3);
    expect(new AdaptiveLimit({ min: 5, max: 2 }).limit).toBe(2); // the ceiling wins
  });

  it('refuses nonsense options', () => {
    expect(() => new AdaptiveLimit({ initial: 0 })).toThrow(/initial/);
    expect(() => new AdaptiveLimit({ max: 2.5 })).toThrow(/max/);
    expect(() => new AdaptiveLimit({ backoffRatio: 1 })).toThrow(/backoffRatio/);
    expect(() => new AdaptiveLimit({ backoffRatio: 0 })).toThrow(/backoffRatio/);
    expect(() => new AdaptiveLimit({ slowMs: -1 })).toThrow(/slowMs/);
    expect(() => new AdaptiveLimit().setMax(0)).toThrow(/max/);
  });
});

describe('adaptive concurrency: overload', () => {
  it('halves on overload, rounding down', () => {
    const limit = new AdaptiveLimit({ initial: 9 });
    limit.onOverload();
    expect(limit.limit).toBe(4);
    const other = new AdaptiveLimit({ initial: 10, backoffRatio: 0.9 });
    other.onOverload();
    expect(other.limit).toBe(9);
  });

  it('cuts once for a burst of failures from one window, then again after that window', () => {
    const limit = new AdaptiveLimit({ initial: 8 });
    // The first cuts 8 to 4; the next 8 to end (all possibly in flight at the cut) do not cut again.
    expect(overloads(limit, 9)).toEqual([4, 4, 4, 4, 4, 4, 4, 4, 4]);
    expect(overloads(limit, 1)).toEqual([2]);
    expect(overloads(limit, 4)).toEqual([2, 2, 2, 2]);
    expect(overloads(limit, 1)).toEqual([1]);
  });

  it('never goes below min', () => {
    const limit = new AdaptiveLimit({ initial: 8 });
    expect(overloads(limit, 40).filter((n, i, all) => n !== all[i - 1])).toEqual([4, 2, 1]);
    expect(limit.limit).toBe(1);
    const floored = new AdaptiveLimit({ initial: 8, min: 3 });
    expect(overloads(floored, 40).filter((n, i, all) => n !== all[i - 1])).toEqual([4, 3]);
  });

  it('counts successes towards the window after a cut, without growing', () => {
    const limit = new AdaptiveLimit({ initial: 8 });
    limit.onOverload();
    expect(busy(limit, 8)).toEqual(Array(8).fill(4)); // the rest of the window that was cut
    limit.onOverload();
    expect(limit.limit).toBe(2);
  });

  it('recovers after overload additively: slow start is over', () => {
    const limit = new AdaptiveLimit({ initial: 8 });
    limit.onOverload();
    busy(limit, 8); // the window that was cut
    expect(busy(limit, 9)).toEqual([4, 4, 4, 5, 5, 5, 5, 5, 6]);
    // A fresh overload halves again and recovery resumes from there.
    limit.onOverload();
    expect(limit.limit).toBe(3);
    busy(limit, 6);
    expect(busy(limit, 7)).toEqual([3, 3, 4, 4, 4, 4, 5]);
  });

  it('starts the window afresh after a cut', () => {
    const limit = new AdaptiveLimit({ initial: 6, slowStart: false });
    busy(limit, 5); // one short of 7
    limit.onOverload();
    busy(limit, 6); // the window that was cut
    expect(busy(limit, 3)).toEqual([3, 3, 4]);
  });
});

describe('adaptive concurrency: the ceiling from outside', () => {
  it('lowers the limit at once and caps growth; raising it lets growth resume from where it is', () => {
    const limit = new AdaptiveLimit({ initial: 8, slowStart: false });
    limit.setMax(5);
    expect(limit.limit).toBe(5);
    expect(busy(limit, 20)).toEqual(Array(20).fill(5));
    limit.setMax(50);
    expect(limit.limit).toBe(5);
    expect(busy(limit, 5)).toEqual([5, 5, 5, 5, 6]);
  });

  it('drops the part-counted window when it lowers the limit', () => {
    const limit = new AdaptiveLimit({ initial: 8, slowStart: false });
    busy(limit, 7); // one short of 9
    limit.setMax(4);
    limit.setMax(10);
    expect(busy(limit, 4)).toEqual([4, 4, 4, 5]);
  });

  it('wins over min when it is lower, and the limit comes back to min when it rises again', () => {
    const limit = new AdaptiveLimit({ initial: 4, min: 3 });
    limit.setMax(1);
    expect(limit.limit).toBe(1);
    limit.onOverload();
    expect(limit.limit).toBe(1);
    limit.setMax(10);
    expect(limit.limit).toBe(3); // back within min..max
  });
});
