import Bottleneck from 'bottleneck';
import { CancelledError } from './errors.js';

/**
 * Basecamp allows about 50 requests per 10-second period. A fixed-window reservoir lets 100 requests
 * through across a window boundary, so the budget is a *sliding* window built from bottleneck's
 * concurrency: each granted request holds one of `max` slots for `windowMs` after it is granted. No
 * window of `windowMs` can then see more than `max` grants, bursts up to `max` go out at once, and the
 * rest queue in order. With a clustered bottleneck (Redis) the slots are shared by every instance.
 *
 * A 429 pauses the whole budget: every queued request waits until the pause ends, not only the one that
 * was refused.
 */

export interface RateLimit {
  max: number;
  windowMs: number;
}

export function parseRateLimit(text: string): RateLimit {
  const m = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/i.exec(text);
  if (!m) throw new Error(`BASECAMP_RATE_LIMIT must look like "50/10s" (requests/window), got ${JSON.stringify(text)}`);
  const max = Number(m[1]);
  const n = Number(m[2]);
  const unit = (m[3] ?? 's').toLowerCase();
  const windowMs = unit === 'ms' ? n : unit === 'm' ? n * 60_000 : n * 1000;
  if (max < 1 || windowMs < 1) throw new Error(`BASECAMP_RATE_LIMIT must be positive, got ${JSON.stringify(text)}`);
  return { max, windowMs: Math.round(windowMs) };
}

/** Where the "hold everything until" time lives: in memory, or shared by a fleet (Redis). */
export interface PauseStore {
  get(): Promise<number>;
  /** Extends the pause to `until` (epoch ms); never shortens one already longer. */
  extend(until: number): Promise<void>;
}

export class LocalPauseStore implements PauseStore {
  private until = 0;
  async get(): Promise<number> {
    return this.until;
  }
  async extend(until: number): Promise<void> {
    this.until = Math.max(this.until, until);
  }
}

export interface RateBudgetOptions extends RateLimit {
  /** A pre-built (e.g. Redis-clustered) limiter; by default a local one with `maxConcurrent: max`. */
  limiter?: Bottleneck;
  pauseStore?: PauseStore;
  /** For a shared (Redis) budget: an error when the shared store is unusable, so requests fail fast instead of hanging. */
  unavailable?: () => Error | undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (ms <= 0) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref?.();
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class RateBudget {
  readonly max: number;
  readonly windowMs: number;
  /**
   * How long a grant holds its slot: the window plus a small margin, because Basecamp counts arrivals and
   * two requests granted exactly one window apart can arrive a few ms less than a window apart.
   */
  readonly holdMs: number;
  private readonly limiter: Bottleneck;
  private readonly pauses: PauseStore;
  /** Releases for slots held to time the window; stop() runs them all. */
  private readonly holds = new Set<() => void>();
  /** Rejecters of requests still waiting for a slot, so a lost shared store can fail them all at once. */
  private readonly waiting = new Set<(error: Error) => void>();
  private readonly unavailable?: () => Error | undefined;
  /** Grants so far (for tests and the benchmark). */
  granted = 0;

  constructor(options: RateBudgetOptions) {
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.holdMs = options.windowMs + Math.round(options.windowMs * 0.02) + 50;
    this.limiter = options.limiter ?? new Bottleneck({ maxConcurrent: options.max });
    this.pauses = options.pauseStore ?? new LocalPauseStore();
    this.unavailable = options.unavailable;
  }

  /** Rejects every request still waiting (the shared store went away); they were never sent. */
  failWaiting(error: Error): void {
    for (const fail of [...this.waiting]) fail(error);
  }

  /**
   * Resolves when one request may be sent now. Rejects with CancelledError if `signal` aborts first; a
   * cancelled request gives its place back without using any budget.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new CancelledError('Cancelled before the request was sent.'));
    const down = this.unavailable?.();
    if (down) return Promise.reject(down);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error) => {
        if (settled) return;
        settled = true;
        this.waiting.delete(fail);
        signal?.removeEventListener('abort', onAbort);
        reject(error);
      };
      const onAbort = () => fail(new CancelledError('Cancelled while waiting for the rate budget; nothing was sent.'));
      this.waiting.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      const job = async () => {
        // Wait out any 429 pause (it may be extended while we wait, hence the loop).
        for (;;) {
          if (settled) return; // cancelled while queued: release the slot at once
          const until = await this.pauses.get();
          const wait = until - Date.now();
          if (wait <= 0) break;
          await sleep(wait, signal);
        }
        if (settled) return;
        settled = true;
        this.waiting.delete(fail);
        signal?.removeEventListener('abort', onAbort);
        this.granted++;
        resolve();
        // Hold the slot for one window: this is what makes the window slide.
        await new Promise<void>((release) => {
          const done = () => {
            clearTimeout(timer);
            this.holds.delete(done);
            release();
          };
          const timer = setTimeout(done, this.holdMs);
          timer.unref?.();
          this.holds.add(done);
        });
      };
      this.limiter.schedule(job).catch((error: unknown) => fail(error instanceof Error ? error : new Error(String(error))));
    });
  }

  /** Holds back every request, queued or future, for `ms`. */
  async pause(ms: number): Promise<void> {
    await this.pauses.extend(Date.now() + Math.max(0, ms));
  }

  /** Releases held slots (they only exist to time the window) and stops the limiter. */
  async stop(): Promise<void> {
    for (const release of [...this.holds]) release();
    await this.limiter.stop({ dropWaitingJobs: true }).catch(() => undefined);
  }
}
