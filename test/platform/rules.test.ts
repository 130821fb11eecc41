// The lifecycle rules alone (src/platform/media.ts, channel.ts): pure functions, so every order
// of facts can be tried, not just the likely ones.
import { describe, expect, it } from 'vitest';
import { applyChannelFact, type ChannelFact, type ChannelState } from '../../src/platform/channel.js';
import type { Emitted } from '../../src/platform/decision.js';
import { applyMediaFact, storedMediaState, type FieldValues, type MediaFact, type MediaState } from '../../src/platform/media.js';
import { EVENT_RULES } from '../../src/platform/rules.js';
import { EVENT_NAMES } from '../../src/catalog/events.js';

const M = 'MNYaMSQl';
const NOW = Date.parse('2024-08-27T00:13:10Z');
const HOUR = 3_600_000;

interface Played {
  state: MediaState | undefined;
  /** The events of each accepted fact, in order. */
  events: string[];
  /** For each fact: the events it yielded, or the refusal's status. */
  steps: (string[] | number)[];
}

/** Plays facts in order, as the platform would report them, one second apart. */
function play(facts: MediaFact[], start: MediaState | undefined = undefined, now = NOW): Played {
  let state = start;
  const events: string[] = [];
  const steps: (string[] | number)[] = [];
  facts.forEach((fact, i) => {
    const d = applyMediaFact(M, state, fact, now + i * 1000);
    if (!d.ok) {
      steps.push(d.refusal.status);
      return;
    }
    state = d.state;
    const names = d.events.map((e) => e.event);
    events.push(...names);
    steps.push(names);
  });
  return { state, events, steps };
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

const create = (renditions = ['180p', '720p', '1080p'], publishStart: number | null = null, fields: FieldValues = {}): MediaFact =>
  ({ kind: 'create', publishStart, fields, renditions });
const update = (fields: FieldValues = {}, publishStart?: number | null): MediaFact => ({ kind: 'update', fields, publishStart });
const rendition = (renditionId: string): MediaFact => ({ kind: 'rendition_ready', renditionId });
const thumbReady = (thumbnailId = 'k9x00iro'): MediaFact => ({ kind: 'thumbnail_create', thumbnailId, ready: true });

describe('media: created, updated, deleted', () => {
  it('sends media_created once, media_updated on every update that changes something, media_deleted on delete', () => {
    const { events, steps } = play([create(), update({ title: 'x' }), update({}, NOW + HOUR), update({ title: 'y' }), { kind: 'delete' }]);
    expect(events).toEqual(['media_created', 'media_updated', 'media_updated', 'media_updated', 'media_deleted']);
    expect(steps).toEqual([['media_created'], ['media_updated'], ['media_updated'], ['media_updated'], ['media_deleted']]);
  });

  it('says nothing for an update that changes nothing: empty, the same values again, or a field cleared that was never set', () => {
    const fields = { title: 'Match of the day', tags: ['sport', 'live'], custom_params: { league: 'A', round: '3' }, publish_end_date: NOW + HOUR };
    const { steps, state } = play([
      create(['180p'], NOW - HOUR, fields),
      update(),
      update(fields),
      update({ custom_params: { round: '3', league: 'A' } }), // the same object, its keys in another order
      update({ author: null }),
      update({}, NOW - HOUR),
    ]);
    expect(steps).toEqual([['media_created'], [], [], [], [], []]);
    // each real change is one media_updated: a value, an order of tags, a cleared field, the date
    const next = play([
      update({ title: 'Match of the week' }), update({ tags: ['live', 'sport'] }), update({ custom_params: null }),
      update({ custom_params: null }), update({}, null), update({ publish_end_date: NOW + 2 * HOUR }), update({ title: '' }),
    ], state);
    expect(next.steps).toEqual([['media_updated'], ['media_updated'], ['media_updated'], [], ['media_updated'], ['media_updated'], ['media_updated']]);
  });

  it('keeps a fingerprint of each field, not the platform\'s text', () => {
    const { state } = play([create(['180p'], null, { title: 'A secret title', description: 'x'.repeat(5_000) })]);
    expect(Object.keys(state!.fields).sort()).toEqual(['description', 'title']);
    expect(JSON.stringify(state)).not.toContain('secret');
    expect(JSON.stringify(state).length).toBeLessThan(1_000);
  });

  it('refuses a second creation of the same media with 409, deleted or not', () => {
    expect(play([create(), create()]).steps[1]).toBe(409);
    expect(play([create(), { kind: 'delete' }, create()]).steps[2]).toBe(409);
  });

  it('refuses any fact about a media it never heard of with 404, and changes nothing', () => {
    const facts: MediaFact[] = [update({ title: 'x' }), { kind: 'delete' }, { kind: 'reupload' }, rendition('180p'), thumbReady(),
      { kind: 'thumbnail_ready', thumbnailId: 'x' }, { kind: 'track_create', trackId: 't' }, { kind: 'track_delete', trackId: 't' }];
    for (const fact of facts) {
      const d = applyMediaFact(M, undefined, fact, NOW);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.refusal).toMatchObject({ status: 404, description: `media ${M} not found` });
    }
  });

  it('takes no fact at all after the delete: each is a 409 and the state stays as deleted', () => {
    const deleted = play([create(), thumbReady(), { kind: 'delete' }]).state!;
    const later: MediaFact[] = [update({ title: 'x' }), { kind: 'delete' }, { kind: 'reupload' }, rendition('180p'), thumbReady('other'),
      { kind: 'thumbnail_ready', thumbnailId: 'k9x00iro' }, { kind: 'thumbnail_delete', thumbnailId: 'k9x00iro' },
      { kind: 'track_create', trackId: 't' }];
    for (const fact of later) {
      const d = applyMediaFact(M, deleted, fact, NOW);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(d.refusal).toMatchObject({ status: 409, code: 'media_deleted' });
    }
  });
});

describe('media_available and conversions_complete, in every order', () => {
  const processing: MediaFact[] = [thumbReady(), rendition('180p'), rendition('720p'), rendition('1080p')];

  it.each(permutations(processing).map((order) => [order.map((f) => ('renditionId' in f ? f.renditionId : 'thumbnail')).join(' → '), order]))(
    '%s',
    (_name, order) => {
      const { steps, events } = play([create(), ...(order as MediaFact[])]);
      const at = (event: string) => steps.findIndex((s) => Array.isArray(s) && s.includes(event));
      expect(events.filter((e) => e === 'media_available')).toHaveLength(1);
      expect(events.filter((e) => e === 'conversions_complete')).toHaveLength(1);
      // available at the first fact that makes thumbnail + one rendition; complete at the very last fact
      const thumbAt = 1 + (order as MediaFact[]).findIndex((f) => f.kind === 'thumbnail_create');
      const firstRenditionAt = 1 + (order as MediaFact[]).findIndex((f) => f.kind === 'rendition_ready');
      expect(at('media_available')).toBe(Math.max(thumbAt, firstRenditionAt));
      expect(at('conversions_complete')).toBe(processing.length);
      expect(events.indexOf('media_available')).toBeLessThan(events.indexOf('conversions_complete'));
    },
  );

  it('waits for the thumbnail to be ready, not merely created, in any order of the separate facts', () => {
    const facts: MediaFact[] = [
      { kind: 'thumbnail_create', thumbnailId: 'th', ready: false },
      { kind: 'thumbnail_ready', thumbnailId: 'th' },
      rendition('180p'),
      rendition('720p'),
    ];
    for (const order of permutations(facts)) {
      const { steps, events } = play([create(['180p', '720p']), ...order]);
      const readyBeforeCreate = order.indexOf(facts[1]!) < order.indexOf(facts[0]!);
      if (readyBeforeCreate) {
        // a thumbnail cannot be ready before it exists: refused, and nothing follows from it
        expect(steps[1 + order.indexOf(facts[1]!)]).toBe(404);
        expect(events).toEqual(['media_created', 'thumbnail_created']);
      } else {
        expect(events.filter((e) => e === 'media_available')).toHaveLength(1);
        expect(events.filter((e) => e === 'conversions_complete')).toHaveLength(1);
        expect(events.indexOf('media_available')).toBeGreaterThan(events.indexOf('thumbnail_created'));
      }
    }
  });

  it('sends both on the same fact when the thumbnail comes last, available first', () => {
    const { steps } = play([create(['180p', '720p']), rendition('720p'), rendition('180p'), thumbReady()]);
    expect(steps[3]).toEqual(['thumbnail_created', 'media_available', 'conversions_complete']);
  });

  it('does not count a rendition twice, nor a thumbnail ready twice', () => {
    const { steps, events } = play([
      create(['180p', '720p']), { kind: 'thumbnail_create', thumbnailId: 'th', ready: false }, rendition('180p'), rendition('180p'),
      { kind: 'thumbnail_ready', thumbnailId: 'th' }, { kind: 'thumbnail_ready', thumbnailId: 'th' }, rendition('180p'),
    ]);
    expect(steps.slice(3)).toEqual([[], ['media_available'], [], []]);
    expect(events).not.toContain('conversions_complete');
  });

  it('refuses a rendition the upload did not announce with 404, naming those it did', () => {
    const d = applyMediaFact(M, play([create(['180p', '720p'])]).state, rendition('4k'), NOW);
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.refusal).toMatchObject({ status: 404, description: `media ${M} has no rendition 4k; its renditions are 180p, 720p` });
  });

  it('needs a ready thumbnail that still exists: deleting it before any rendition holds media_available back', () => {
    const { steps } = play([
      create(['180p', '720p']), thumbReady('a'), { kind: 'thumbnail_delete', thumbnailId: 'a' },
      rendition('180p'), rendition('720p'), thumbReady('b'),
    ]);
    expect(steps.slice(3)).toEqual([[], [], ['thumbnail_created', 'media_available', 'conversions_complete']]);
  });
});

describe('publish start date', () => {
  it('never sends media_available when the date is in the future as the media becomes publishable, even after it passes', () => {
    const embargoed = play([create(['180p', '720p'], NOW + HOUR), thumbReady(), rendition('180p')]);
    expect(embargoed.events).toEqual(['media_created', 'thumbnail_created']);
    expect(embargoed.state!.mediaAvailable).toBe('never');
    // the date passes; more facts arrive; still no media_available, but conversions_complete comes
    const later = play([rendition('720p'), update({ title: 'x' })], embargoed.state, NOW + 2 * HOUR);
    expect(later.events).toEqual(['conversions_complete', 'media_updated']);
  });

  it('sends it when the date is already past', () => {
    expect(play([create(['180p'], NOW - HOUR), rendition('180p'), thumbReady()]).events)
      .toEqual(['media_created', 'thumbnail_created', 'media_available', 'conversions_complete']);
  });

  it('uses the date in force when the media becomes publishable: an update before counts, one after does not', () => {
    const movedLater = play([create(['180p', '720p']), update({}, NOW + HOUR), thumbReady(), rendition('180p')]);
    expect(movedLater.events).not.toContain('media_available');
    const cleared = play([create(['180p', '720p'], NOW + HOUR), update({}, null), thumbReady(), rendition('180p')]);
    expect(cleared.events).toContain('media_available');
    const afterwards = play([create(['180p', '720p']), thumbReady(), rendition('180p'), update({}, NOW + HOUR)]);
    expect(afterwards.events).toEqual(['media_created', 'thumbnail_created', 'media_available', 'media_updated']);
  });
});

describe('reupload', () => {
  const whole = [thumbReady(), rendition('180p'), rendition('720p')];
  const count = (events: string[], name: string) => events.filter((e) => e === name).length;

  it.each([
    ['before anything was processed', 0, 0],
    ['after the thumbnail only', 1, 0],
    ['after media_available, before conversions_complete', 2, 1],
    ['after both', 3, 1],
  ])('%s: media_reuploaded at once, media_available once more when it is publishable, no conversions_complete after it', (_name, done, availableBefore) => {
    const before = play([create(['180p', '720p']), ...whole.slice(0, done as number)]);
    expect(count(before.events, 'media_available')).toBe(availableBefore);
    const after = play([{ kind: 'reupload' }, rendition('720p'), rendition('180p'), thumbReady('new')], before.state);
    expect(after.steps[0]).toEqual(['media_reuploaded']);
    // Publishable again at the first rendition if the thumbnail was there before, else when one is ready.
    const thumbnailBefore = (done as number) >= 1;
    expect(after.steps.slice(1)).toEqual(thumbnailBefore
      ? [['media_available'], [], ['thumbnail_created']]
      : [[], [], ['thumbnail_created', 'media_available']]);
    expect(after.state!.mediaAvailable).toBe('sent');
    expect(after.state!.conversionsComplete).toBe((done as number) === 3 ? 'sent' : 'never');
    expect(count(after.events, 'conversions_complete')).toBe(0);
  });

  it('before the media was ever publishable, then ready renditions and a thumbnail: media_available exactly once', () => {
    const { events, state } = play([
      create(['180p', '720p']), { kind: 'reupload' }, { kind: 'reupload', renditions: ['360p', '1080p'] },
      rendition('1080p'), rendition('360p'), rendition('1080p'), thumbReady(), thumbReady('second'),
    ]);
    expect(events).toEqual(['media_created', 'media_reuploaded', 'media_reuploaded', 'thumbnail_created', 'media_available', 'thumbnail_created']);
    expect(state).toMatchObject({ mediaAvailable: 'sent', conversionsComplete: 'never', reuploads: 2 });
  });

  it('in every order of the reupload\'s renditions and the thumbnail, media_available once, at the first moment it is publishable', () => {
    const facts = [thumbReady(), rendition('a'), rendition('b')];
    for (const order of permutations(facts)) {
      const { steps, events } = play([create(['180p']), { kind: 'reupload', renditions: ['a', 'b'] }, ...order]);
      expect(count(events, 'media_available')).toBe(1);
      const at = steps.findIndex((s) => Array.isArray(s) && s.includes('media_available'));
      expect(at).toBe(2 + Math.max(order.indexOf(facts[0]!), Math.min(order.indexOf(facts[1]!), order.indexOf(facts[2]!))));
      expect(events).not.toContain('conversions_complete');
    }
  });

  it('judges each upload\'s publish start date on its own: not sent for an embargoed reupload, sent for a later one', () => {
    const available = play([create(['180p']), thumbReady(), rendition('180p')]);
    expect(available.events).toContain('media_available');
    const embargoed = play([update({}, NOW + HOUR), { kind: 'reupload' }, rendition('180p')], available.state);
    expect(embargoed.events).toEqual(['media_updated', 'media_reuploaded']);
    expect(embargoed.state!.mediaAvailable).toBe('never');
    // the date passes: the next reupload is sent its media_available
    const later = play([{ kind: 'reupload' }, rendition('180p')], embargoed.state, NOW + 2 * HOUR);
    expect(later.events).toEqual(['media_reuploaded', 'media_available']);
  });

  it('takes the renditions of the reupload: the old ones are gone, the new ones are known', () => {
    const before = play([create(['180p', '720p'])]);
    const after = play([{ kind: 'reupload', renditions: ['1080p'] }, rendition('720p'), rendition('1080p')], before.state);
    expect(after.steps).toEqual([['media_reuploaded'], 404, []]);
    expect(after.state!.renditions).toEqual([{ id: '1080p', ready: true }]);
  });

  it('sends media_reuploaded on every reupload', () => {
    expect(play([create(), { kind: 'reupload' }, { kind: 'reupload' }]).events).toEqual(['media_created', 'media_reuploaded', 'media_reuploaded']);
  });

  it('reads a media stored before the metadata fields: it has none set', () => {
    const { fields: _, ...stored } = play([create(['180p'])]).state!;
    const d = applyMediaFact(M, storedMediaState(stored), update({ title: 't' }), NOW);
    expect(d.ok && d.events.map((e) => e.event)).toEqual(['media_updated']);
    expect(applyMediaFact(M, storedMediaState(stored), update(), NOW)).toMatchObject({ ok: true, events: [] });
  });
});

describe('thumbnails and text tracks', () => {
  const emitted = (facts: MediaFact[]): Emitted[] => {
    let state: MediaState | undefined;
    const out: Emitted[] = [];
    for (const fact of facts) {
      const d = applyMediaFact(M, state, fact, NOW);
      if (!d.ok) throw new Error(d.refusal.description);
      state = d.state;
      out.push(...d.events);
    }
    return out;
  };

  it('carry media_id with their own id', () => {
    expect(emitted([
      create(), { kind: 'thumbnail_create', thumbnailId: 'th1', ready: false }, { kind: 'thumbnail_delete', thumbnailId: 'th1' },
      { kind: 'track_create', trackId: 'tr1' }, { kind: 'track_delete', trackId: 'tr1' },
    ]).slice(1)).toEqual([
      { event: 'thumbnail_created', ids: { thumbnail_id: 'th1', media_id: M } },
      { event: 'thumbnail_deleted', ids: { thumbnail_id: 'th1', media_id: M } },
      { event: 'track_created', ids: { track_id: 'tr1', media_id: M } },
      { event: 'track_deleted', ids: { track_id: 'tr1', media_id: M } },
    ]);
  });

  it('refuses out-of-order facts: delete before create (404), twice created or deleted (409)', () => {
    expect(play([create(), { kind: 'track_delete', trackId: 't' }]).steps[1]).toBe(404);
    expect(play([create(), { kind: 'thumbnail_delete', thumbnailId: 't' }]).steps[1]).toBe(404);
    expect(play([create(), { kind: 'track_create', trackId: 't' }, { kind: 'track_create', trackId: 't' }]).steps[2]).toBe(409);
    expect(play([create(), { kind: 'track_create', trackId: 't' }, { kind: 'track_delete', trackId: 't' }, { kind: 'track_delete', trackId: 't' }]).steps[3]).toBe(409);
    expect(play([create(), thumbReady('t'), thumbReady('t')]).steps[2]).toBe(409);
    const gone = play([create(), thumbReady('t'), { kind: 'thumbnail_delete', thumbnailId: 't' }]);
    expect(play([{ kind: 'thumbnail_ready', thumbnailId: 't' }, { kind: 'thumbnail_delete', thumbnailId: 't' }], gone.state).steps).toEqual([409, 409]);
  });
});

describe('live channels', () => {
  const C = 'YijbmYHJ';
  const playChannel = (facts: ChannelFact[]) => {
    let state: ChannelState | undefined;
    const steps: (string[] | number)[] = [];
    for (const fact of facts) {
      const d = applyChannelFact(C, state, fact);
      if (!d.ok) {
        steps.push(d.refusal.status);
        continue;
      }
      state = d.state;
      steps.push(d.events.map((e) => e.event));
    }
    return steps;
  };
  const to = (status: 'active' | 'idle'): ChannelFact => ({ kind: 'status', status });

  it('sends channel_created, then channel_active / channel_idle only on a real change (a new channel is idle)', () => {
    expect(playChannel([{ kind: 'create' }, to('idle'), to('active'), to('active'), to('idle'), to('idle'), to('active')]))
      .toEqual([['channel_created'], [], ['channel_active'], [], ['channel_idle'], [], ['channel_active']]);
  });

  it('in any sequence of states, sends exactly one event per change', () => {
    for (let seed = 0; seed < 64; seed++) {
      const states = Array.from({ length: 6 }, (_, i) => ((seed >> i) & 1 ? 'active' : 'idle') as 'active' | 'idle');
      const steps = playChannel([{ kind: 'create' }, ...states.map(to)]).slice(1) as string[][];
      let previous = 'idle';
      states.forEach((s, i) => {
        expect(steps[i]).toEqual(s === previous ? [] : [`channel_${s}`]);
        previous = s;
      });
    }
  });

  it('refuses a state before creation (404) and a second creation (409)', () => {
    expect(playChannel([to('active')])).toEqual([404]);
    expect(playChannel([{ kind: 'create' }, { kind: 'create' }])).toEqual([['channel_created'], 409]);
  });

  it('carries channel_id', () => {
    const d = applyChannelFact(C, undefined, { kind: 'create' });
    expect(d.ok && d.events).toEqual([{ event: 'channel_created', ids: { channel_id: C } }]);
  });
});

describe('rule texts', () => {
  it('has one for each of the 13 events, and no other', () => {
    expect(Object.keys(EVENT_RULES).sort()).toEqual([...EVENT_NAMES].sort());
  });
});
