// One run at a time per key, and once more if asked again while it ran: a burst of changes to one
// webhook reads it once or twice, never a hundred times, and never misses the last change (a read
// that started before a change runs again after it).
export class Coalesced<K> {
  private readonly running = new Map<K, Promise<void>>();
  private readonly again = new Set<K>();

  run(key: K, work: () => Promise<void>): Promise<void> {
    const current = this.running.get(key);
    if (current) {
      this.again.add(key);
      return current;
    }
    const done = work().finally(() => {
      this.running.delete(key);
      if (this.again.delete(key)) void this.run(key, work);
    });
    this.running.set(key, done);
    return done;
  }
}
