// Retention on the embedded store: each purge deletes at most `limit` of the oldest rows, in a
// short transaction of its own, so that intake never waits long behind it. A pending delivery
// is never purged, and an event goes only once its deliveries have.
import type { Retention } from '../ports.js';
import { statement, type Context } from './statement.js';

export function retention({ db }: Context): Retention {
  return {
    async purgeDeliveries(before, limit) {
      // Found through their events (created in the same transaction), which spares the busiest
      // table an index on its creation time.
      return statement(db, `DELETE FROM deliveries WHERE rowid IN (
        SELECT d.rowid FROM events e JOIN deliveries d ON d.event_id = e.id
        WHERE e.created < ? AND d.status <> 'pending' ORDER BY e.created LIMIT ?)`).run(before, limit).changes;
    },

    async purgeEvents(before, limit) {
      return statement(db, `DELETE FROM events WHERE rowid IN (
        SELECT rowid FROM events e WHERE e.created < ? AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
        ORDER BY e.created LIMIT ?)`).run(before, limit).changes;
    },

    async purgeIdempotencyKeys(before, limit) {
      // Events' and facts' keys alike (one table).
      return statement(db, `DELETE FROM idempotency_keys WHERE rowid IN (
        SELECT rowid FROM idempotency_keys WHERE created < ? ORDER BY created LIMIT ?)`).run(before, limit).changes;
    },

    // One node, one file: its tables are not partitioned, and the batch purge is its retention.
    async preparePartitions() {
      return 0;
    },

    async dropPartitions() {
      return { dropped: 0, kept: 0 };
    },

    async purgeSessions(now) {
      const links = statement(db, 'DELETE FROM portal_tokens WHERE expires <= ?').run(now).changes;
      return links + statement(db, 'DELETE FROM sessions WHERE expires <= ?').run(now).changes;
    },
  };
}
