// Who hears a store's changes, once committed. A write is done whatever a listener does: one that
// throws does not make the committed write look failed (its caller would send it again), nor keep
// the change from the listeners after it; its error is thrown again on its own, outside the write,
// as an uncaught exception. Both stores tell their listeners through this.
import type { StoreChange } from './types.js';

export type Listener = (change: StoreChange) => void;

export class Listeners {
  private readonly list: Listener[] = [];

  add(listener: Listener): void {
    this.list.push(listener);
  }

  tell(change: StoreChange): void {
    for (const listener of this.list) {
      try {
        listener(change);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
