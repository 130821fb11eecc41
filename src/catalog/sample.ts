// Sample events, for `hookline trigger` and the test route: every id the event takes, in JWP's
// 8-character shape, generated where not given.
import { randomId } from '../ids.js';
import { requiredIds, type EventType, type IdField } from './events.js';

export function sampleIds(type: EventType, given: Partial<Record<IdField, string>> = {}): Partial<Record<IdField, string>> {
  const ids: Partial<Record<IdField, string>> = {};
  for (const field of requiredIds(type)) ids[field] = given[field] ?? randomId();
  return ids;
}
