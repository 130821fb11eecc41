// What both stores do to a delivery search before they build its SQL: of the two upper bounds a
// search may have, the cursor and `until`, only the tighter one is kept, so that the walk along
// the index starts there (given both, a planner may start from the looser one and read every
// row in between, which grows the deeper the cursor goes).
import type { DeliverySearch } from './types.js';

export function tightestBound(search: DeliverySearch): DeliverySearch {
  const { after, until } = search;
  if (after === undefined || until === undefined) return search;
  // created < until is implied by (created, id) < after when after.created < until, and the other way round otherwise.
  return after.created < until ? { ...search, until: undefined } : { ...search, after: undefined };
}
