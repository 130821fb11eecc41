// A webhook's rate_limit on its own: the token bucket the engine asks before each attempt. Time
// is passed in, so every wait is checked to the millisecond.
import { describe, expect, it } from 'vitest';
import { defaultBurst, RateLimit } from '../../src/delivery/rate-limit.js';

/** Takes n tokens as early as the bucket allows, from `start`, following the waits it returns. */
function takeTimes(bucket: RateLimit, n: number, start = 0): number[] {
  const times: number[] = [];
  let now = start;
  while (times.length < n) {
    const wait = bucket.take(now);
    if (wait === 0) times.push(now);
    else now += wait;
  }
  return times;
}

describe('rate limit', () => {
  it('lets a burst through, then one every 1000 / perSecond ms', () => {
    const bucket = new RateLimit(5);
    expect(takeTimes(bucket, 9)).toEqual([0, 0, 0, 0, 0, 200, 400, 600, 800]);
    expect(bucket.take(800)).toBe(200);
  });

  it('has one second of the rate as its burst by default, and at least one', () => {
    expect([5, 2.5, 0.5, 0.01, 100].map(defaultBurst)).toEqual([5, 3, 1, 1, 100]);
    expect(takeTimes(new RateLimit(2.5), 5)).toEqual([0, 0, 0, 400, 800]);
    expect(takeTimes(new RateLimit(10, 1), 3)).toEqual([0, 100, 200]);
  });

  it('returns the exact wait: not a millisecond early, not a millisecond late', () => {
    const bucket = new RateLimit(3);
    takeTimes(bucket, 3);
    expect(bucket.take(0)).toBe(334);
    expect(bucket.take(333)).toBe(1);
    expect(bucket.take(334)).toBe(0);
    expect(bucket.take(334)).toBe(333);
    expect(bucket.take(666)).toBe(1);
    expect(bucket.take(667)).toBe(0);
    expect(bucket.take(667)).toBe(333); // three thirds make a token at 1000 sharp
    expect(bucket.take(999)).toBe(1);
    expect(bucket.take(1000)).toBe(0);
  });

  it('gives the k-th token after the burst at ceil(k * 1000 / perSecond), not a ms sooner, at any rate', () => {
    for (const perSecond of [1.5, 3, 7, 2.5, 1000 / 3, 999, 1000, 2500]) {
      const bucket = new RateLimit(perSecond);
      takeTimes(bucket, defaultBurst(perSecond));
      let now = 0;
      for (let k = 1; k <= 50; k++) {
        const wait = bucket.take(now);
        const due = Math.ceil((k * 1000) / perSecond - 1e-6);
        if (due > now) {
          expect(wait, `${perSecond}/s, token ${k}`).toBe(due - now);
          expect(bucket.take(due - 1), `${perSecond}/s, token ${k} a ms early`).toBe(1);
          now = due;
          expect(bucket.take(now)).toBe(0);
        } else {
          expect(wait, `${perSecond}/s, token ${k}`).toBe(0); // more than one a ms
        }
      }
    }
  });

  it('never says to wait a ms longer than needed', () => {
    for (const perSecond of [0.3, 0.5, 0.7, 1, 3, 7, 1000 / 3]) {
      const bucket = new RateLimit(perSecond);
      let now = 0;
      for (let i = 0; i < 50; i++) {
        const wait = bucket.take(now);
        if (wait === 0) continue; // took one
        if (wait > 1) expect(bucket.take(now + wait - 1), `${perSecond}/s at ${now + wait - 1}`).toBe(1);
        now += wait;
        expect(bucket.take(now), `${perSecond}/s at ${now}`).toBe(0);
      }
    }
  });

  it('works at rates below one a second', () => {
    expect(takeTimes(new RateLimit(0.5), 4)).toEqual([0, 2_000, 4_000, 6_000]);
    // A burst of one cannot hold the 0.2 ms left over at 3 334 ms, so the next is 3 334 ms on.
    expect(takeTimes(new RateLimit(0.3), 4)).toEqual([0, 3_334, 6_668, 10_002]);
    const slow = new RateLimit(0.3);
    expect(slow.take(0)).toBe(0);
    expect(slow.take(0)).toBe(3_334);
    expect(slow.take(3_333)).toBe(1);
    expect(slow.take(3_334)).toBe(0);
  });

  it('does not save up more than the burst over a long idle time', () => {
    const bucket = new RateLimit(2);
    takeTimes(bucket, 2);
    expect(takeTimes(bucket, 5, 3_600_000)).toEqual([3_600_000, 3_600_000, 3_600_500, 3_601_000, 3_601_500]);
  });

  it('keeps the tokens it has on a new rate, down to the new burst', () => {
    const lower = new RateLimit(10);
    takeTimes(lower, 2); // 8 left
    lower.setRate(4); // burst 4: 4 left
    expect(takeTimes(lower, 6)).toEqual([0, 0, 0, 0, 250, 500]);

    const higher = new RateLimit(2);
    takeTimes(higher, 1); // 1 left
    higher.setRate(10); // burst 10, still 1 left
    expect(takeTimes(higher, 3)).toEqual([0, 100, 200]);

    const emptied = new RateLimit(10);
    takeTimes(emptied, 10);
    emptied.setRate(1, 3);
    expect(emptied.take(0)).toBe(1_000);
    expect(takeTimes(emptied, 4, 10_000)).toEqual([10_000, 10_000, 10_000, 11_000]);
  });

  it('gives no tokens and no negative waits when the clock goes back', () => {
    const bucket = new RateLimit(1);
    expect(bucket.take(10_000)).toBe(0);
    expect(bucket.take(5_000)).toBe(6_000); // back to 10 000 and then a second
    expect(bucket.take(10_999)).toBe(1);
    expect(bucket.take(11_000)).toBe(0);

    const flapping = new RateLimit(2);
    expect(flapping.take(10_000)).toBe(0);
    expect(flapping.take(0)).toBe(0); // the token it had
    for (let i = 0; i < 20; i++) {
      expect(flapping.take(0)).toBe(10_500);
      expect(flapping.take(10_000)).toBe(500);
    }
    expect(flapping.take(10_500)).toBe(0);
    expect(flapping.take(10_500)).toBe(500);
  });

  it('never returns a negative or fractional wait on a jumpy clock', () => {
    const bucket = new RateLimit(3.7);
    let seed = 1;
    const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const start = 1_000_000;
    let now = start;
    let latest = start;
    let taken = 0;
    for (let i = 0; i < 2_000; i++) {
      now += Math.round((random() - 0.4) * 1_000);
      latest = Math.max(latest, now);
      const wait = bucket.take(now);
      expect(Number.isInteger(wait) && wait >= 0).toBe(true);
      if (wait === 0) taken++;
    }
    // Time only counts as it passes the latest time seen: at most the burst and the rate since.
    expect(taken).toBeGreaterThan(0);
    expect(taken).toBeLessThanOrEqual(defaultBurst(3.7) + Math.floor((3.7 * (latest - start)) / 1_000));
  });

  it('refuses a rate or burst that makes no sense', () => {
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => new RateLimit(rate)).toThrow(RangeError);
    expect(() => new RateLimit(1, 0)).toThrow(/burst/);
    expect(() => new RateLimit(1, 1.5)).toThrow(/burst/);
    expect(() => new RateLimit(1).setRate(0)).toThrow(RangeError);
  });
});
