// Applies a platform's facts: reads the object's state, lets the pure rules (media.ts,
// channel.ts) decide, and commits the new state, the events and their deliveries, and the
// fact's Idempotency-Key in one transaction, through the intake path events take too
// (src/ingest/commit.ts). A fact is acknowledged only after that commit, so nothing
// acknowledged is lost, and a repeated key finds the first answer and yields nothing.
//
// Concurrency: optimistic. The commit names the version each object was read at; if another
// fact got there first, the commit writes nothing and the fact is decided again on fresh state.
import { createHash } from 'node:crypto';
import { Conflict, NotFound } from '../errors.js';
import { newEventId } from '../ids.js';
import type { IntakeCommit } from '../ingest/commit.js';
import type { Intake } from '../store/ports.js';
import type { PlatformObject } from '../store/types.js';
import type { TraceParent } from '../tracing/index.js';
import { applyChannelFact, type ChannelFact, type ChannelState } from './channel.js';
import type { Decision } from './decision.js';
import { applyMediaFact, storedMediaState, type MediaFact, type MediaState } from './media.js';

/** How a fact arrived: its Idempotency-Key, if any, and a hash of the request it came in. */
export interface FactRequest {
  key?: string;
  requestHash?: string;
  /** The request's span, when traced (src/tracing/): the fact's commit span goes under it. */
  trace?: TraceParent;
}

export interface FactResult<S> {
  /** The media or channel whose state this is (a thumbnail's facts are about its media). */
  id: string;
  /** The object the fact named: the media or channel, or its rendition, thumbnail or text track (ids made by Hookline come back the same on a repeat). */
  about: string;
  state: S;
  events: { id: string; event: string }[];
  /** True when this is the stored answer to an earlier request with the same Idempotency-Key. */
  repeat: boolean;
}

/** What identifies a request for its Idempotency-Key: method, path and body. */
export function factRequestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, body ?? null])).digest('hex');
}

interface Step<S> {
  id: string;
  about: string;
  decision: Decision<S>;
  /** The rows to write once the decision is known. */
  writes(state: S): PlatformObject[];
}

const reused = () => new Conflict('idempotency_conflict', 'this Idempotency-Key was already used with a different request');

const MAX_TRIES = 20;
/**
 * After a stale read, wait a random moment of up to this many ms per try so far before reading
 * again: on a shared store, facts about one object from many requests (and nodes) really do run
 * at once, and retrying in lockstep would keep them colliding.
 */
const BACKOFF_STEP_MS = 2;

export class Lifecycle {
  constructor(
    private readonly store: Pick<Intake, 'getPlatformObject'>,
    private readonly intake: IntakeCommit,
  ) {}

  media(siteId: string, mediaId: string, fact: MediaFact, request: FactRequest = {}): Promise<FactResult<MediaState>> {
    return this.apply(siteId, request, (now) => this.mediaStep(siteId, mediaId, fact, now));
  }

  /** A new thumbnail: its id must be new on the property, as the thumbnail routes find the media by it. */
  createThumbnail(siteId: string, mediaId: string, thumbnailId: string, ready: boolean, request: FactRequest = {}) {
    return this.apply(siteId, request, async (now) => {
      if (await this.store.getPlatformObject(siteId, 'thumbnail', thumbnailId)) {
        throw new Conflict('already_exists', `thumbnail ${thumbnailId} already exists`);
      }
      const step = await this.mediaStep(siteId, mediaId, { kind: 'thumbnail_create', thumbnailId, ready }, now);
      return {
        ...step,
        writes: (state: MediaState) => [
          ...step.writes(state),
          { kind: 'thumbnail' as const, id: thumbnailId, state: { media_id: mediaId }, version: 0 },
        ],
      };
    });
  }

  /** A fact about an existing thumbnail, applied to the media it belongs to. */
  thumbnail(siteId: string, thumbnailId: string, fact: 'ready' | 'delete', request: FactRequest = {}) {
    return this.apply(siteId, request, async (now) => {
      const found = await this.store.getPlatformObject(siteId, 'thumbnail', thumbnailId);
      if (!found) throw new NotFound(`thumbnail ${thumbnailId} not found`);
      const mediaId = (found.state as { media_id: string }).media_id;
      const kind = fact === 'ready' ? 'thumbnail_ready' : 'thumbnail_delete';
      return this.mediaStep(siteId, mediaId, { kind, thumbnailId }, now);
    });
  }

  channel(siteId: string, channelId: string, fact: ChannelFact, request: FactRequest = {}): Promise<FactResult<ChannelState>> {
    return this.apply(siteId, request, async () => {
      const found = await this.store.getPlatformObject(siteId, 'channel', channelId);
      return {
        id: channelId,
        about: channelId,
        decision: applyChannelFact(channelId, found?.state as ChannelState | undefined, fact),
        writes: (state: ChannelState) => [{ kind: 'channel', id: channelId, state, version: found?.version ?? 0 }],
      };
    });
  }

  private async mediaStep(siteId: string, mediaId: string, fact: MediaFact, now: number): Promise<Step<MediaState>> {
    const found = await this.store.getPlatformObject(siteId, 'media', mediaId);
    return {
      id: mediaId,
      about: 'renditionId' in fact ? fact.renditionId : 'thumbnailId' in fact ? fact.thumbnailId : 'trackId' in fact ? fact.trackId : mediaId,
      decision: applyMediaFact(mediaId, found && storedMediaState(found.state), fact, now),
      writes: (state) => [{ kind: 'media', id: mediaId, state, version: found?.version ?? 0 }],
    };
  }

  private async apply<S>(
    siteId: string,
    request: FactRequest,
    decide: (now: number) => Promise<Step<S>>,
  ): Promise<FactResult<S>> {
    await this.intake.requireSite(siteId);
    const key = request.key && request.requestHash ? { key: request.key, requestHash: request.requestHash } : undefined;
    for (let attempt = 0; attempt < MAX_TRIES; attempt++) {
      const now = this.intake.clock.now();
      // Looked up before deciding: the rules would refuse a repeat (the media exists by now).
      const seen = await this.intake.recall<FactResult<S>>(siteId, key, now);
      if (seen === 'conflict') throw reused();
      if (seen) return { ...seen, repeat: true };
      const step = await decide(now);
      if (!step.decision.ok) {
        const { status, code, description } = step.decision.refusal;
        throw status === 404 ? new NotFound(description) : new Conflict(code, description);
      }
      const { state } = step.decision;
      const events = step.decision.events.map((e) => ({ id: newEventId(), siteId, event: e.event, ids: e.ids, eventTime: now, created: now }));
      const result: FactResult<S> = { id: step.id, about: step.about, state, events: events.map((e) => ({ id: e.id, event: e.event })), repeat: false };
      const done = await this.intake.commit({ siteId, writes: step.writes(state), events }, key, () => result, request.trace);
      if (done === 'stale') {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * BACKOFF_STEP_MS * (attempt + 1)));
        continue;
      }
      if (done === 'conflict') throw reused();
      // A repeat here: the key was taken by the same request meanwhile; its answer stands.
      return done.repeat ? { ...done.answer, repeat: true } : result;
    }
    throw new Conflict('busy', 'other facts about the same object kept arriving at the same moment; send this one again');
  }
}
