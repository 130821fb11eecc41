// How long to wait before trying the database again after a failure: 250 ms, doubling up to
// 10 s, each wait drawn between half and all of that so that nodes cut off together do not all
// come back at the same instant. A success starts again from the first wait.
export const FIRST_BACKOFF_MS = 250;
export const MAX_BACKOFF_MS = 10_000;

export class Backoff {
  private failures = 0;

  constructor(private readonly random: () => number = Math.random) {}

  /** The wait after one more failure in a row. */
  next(): number {
    const ceiling = Math.min(FIRST_BACKOFF_MS * 2 ** this.failures, MAX_BACKOFF_MS);
    this.failures++;
    return Math.round(ceiling * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.failures = 0;
  }
}
