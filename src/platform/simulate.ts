// Simulated lifecycles for developers: after the first fact, the rest of a believable story is
// played by itself, one step every `stepMs`, through the same Lifecycle as the platform's facts.
// Steps are in-process timers: a simulation ends with the server.
import type { Logger } from 'pino';
import { Refused } from '../errors.js';
import { randomId } from '../ids.js';
import type { Lifecycle } from './lifecycle.js';

/** The renditions a simulated upload produces when none are given: a typical ladder. */
export const SIMULATED_RENDITIONS = ['180p', '406p', '720p', '1080p'];

interface Step {
  /** How many step intervals to wait before this step. */
  after: number;
  run: () => Promise<unknown>;
}

export class Simulator {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<unknown>>();
  private stopped = false;

  constructor(
    private readonly lifecycle: Lifecycle,
    private readonly stepMs: number,
    private readonly logger: Logger,
  ) {}

  /** After media_created: a thumbnail, then the renditions one by one (media_available, conversions_complete). */
  upload(siteId: string, mediaId: string, renditions: string[]): void {
    const thumbnailId = randomId();
    this.play(`upload of media ${mediaId}`, [
      { after: 1, run: () => this.lifecycle.createThumbnail(siteId, mediaId, thumbnailId, true) },
      ...renditions.map((renditionId) => ({
        after: 1,
        run: () => this.lifecycle.media(siteId, mediaId, { kind: 'rendition_ready', renditionId }),
      })),
    ]);
  }

  /** After media_reuploaded: the new renditions finish (media_available with the first, if a thumbnail is ready). */
  reupload(siteId: string, mediaId: string, renditions: string[]): void {
    this.play(`reupload of media ${mediaId}`, renditions.map((renditionId) => ({
      after: 1,
      run: () => this.lifecycle.media(siteId, mediaId, { kind: 'rendition_ready', renditionId }),
    })));
  }

  /** After channel_created: the channel goes live, streams a while, and goes idle. */
  channel(siteId: string, channelId: string): void {
    this.play(`live channel ${channelId}`, [
      { after: 1, run: () => this.lifecycle.channel(siteId, channelId, { kind: 'status', status: 'active' }) },
      { after: 3, run: () => this.lifecycle.channel(siteId, channelId, { kind: 'status', status: 'idle' }) },
    ]);
  }

  /** Cancels the steps still to come and waits for the one in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  private play(story: string, steps: Step[], index = 0): void {
    const step = steps[index];
    if (this.stopped || !step) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      const run = step.run().then(
        () => this.play(story, steps, index + 1),
        (err: unknown) => {
          // The platform may have changed the object meanwhile (deleted the media, say): the story ends.
          if (err instanceof Refused) this.logger.info({ story, step: index + 1, reason: err.message }, 'simulation ended: a step was refused');
          else this.logger.error({ err, story, step: index + 1 }, 'simulation step failed');
        },
      );
      this.running.add(run);
      void run.finally(() => this.running.delete(run));
    }, step.after * this.stepMs);
    this.timers.add(timer);
  }
}
