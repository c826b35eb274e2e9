import { CancelledError, RateLimitedError } from './errors.js';

/**
 * Basecamp allows about 50 requests per 10-second period. A fixed-window reservoir lets 100 requests
 * through across a window boundary, so the budget is a *sliding-window log*: every grant is recorded, and
 * a request is granted only while fewer than `max` grants are younger than `holdMs` (one window plus a
 * margin). No window of `windowMs` can then see more than `max` grants, bursts up to `max` go out at once,
 * and the rest queue in order. The log lives in memory, or in Redis when a fleet shares one budget
 * (shared-budget.ts); the queueing and pausing rules here are the same for both.
 *
 * A 429 pauses the whole budget: every queued request waits until the pause ends, not only the one that
 * was refused. A pause longer than `maxWaitMs` is not waited out: requests fail at once with
 * RateLimitedError saying how long is left, instead of hanging until the MCP client gives up.
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

/**
 * How long a grant counts against the budget: the window plus a small margin, because Basecamp counts
 * arrivals and two requests granted exactly one window apart can arrive a few ms less than a window apart.
 */
export function holdMsFor(windowMs: number): number {
  return windowMs + Math.round(windowMs * 0.02) + 50;
}

/** The default longest 429 pause a request waits out; the HTTP client's default maxRetryAfterMs is the same. */
export const DEFAULT_MAX_WAIT_MS = 60_000;

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

/** The grant log: records a grant when fewer than `max` are younger than `holdMs`, else says when to ask again. */
export interface GrantLog {
  tryGrant(): Promise<{ granted: true } | { granted: false; retryInMs: number }>;
  /** A new limit from now on (the account's product became known); grants already made keep counting. */
  setLimit(max: number, holdMs: number): void;
}

export class LocalGrantLog implements GrantLog {
  private readonly grants: number[] = [];
  constructor(
    private max: number,
    private holdMs: number,
  ) {}
  setLimit(max: number, holdMs: number): void {
    this.max = max;
    this.holdMs = holdMs;
  }
  async tryGrant(): Promise<{ granted: true } | { granted: false; retryInMs: number }> {
    const now = Date.now();
    while (this.grants.length && this.grants[0]! <= now - this.holdMs) this.grants.shift();
    if (this.grants.length < this.max) {
      this.grants.push(now);
      return { granted: true };
    }
    return { granted: false, retryInMs: this.grants[0]! + this.holdMs - now };
  }
}

export interface RateBudgetOptions extends RateLimit {
  /** Where grants are counted; by default in memory. */
  grantLog?: GrantLog;
  pauseStore?: PauseStore;
  /** For a shared (Redis) budget: an error when the shared store is unusable, so requests fail fast instead of hanging. */
  unavailable?: () => Error | undefined;
  /** The longest 429 pause a request waits out; during a longer one requests fail at once (default 60 s). */
  maxWaitMs?: number;
  /**
   * The longest the queue sleeps before asking the stores again. Another instance of a fleet may free a
   * slot or lengthen a pause without telling us; this bounds how late we notice (and how often we poll).
   */
  recheckMs?: number;
}

interface Waiter {
  resolve(): void;
  fail(error: Error): void;
  settled: boolean;
}

export class RateBudget {
  max: number;
  windowMs: number;
  holdMs: number;
  readonly maxWaitMs: number;
  private readonly grantLog: GrantLog;
  private readonly pauses: PauseStore;
  private readonly unavailable?: () => Error | undefined;
  private readonly recheckMs: number;
  /** Requests waiting for a grant, served strictly in order by one pump. */
  private readonly queue: Waiter[] = [];
  private pumping = false;
  /** Ends the pump's current sleep early, so that a new pause is seen at once. */
  private wake: () => void = () => undefined;
  private stopped = false;
  /** Grants so far (for tests and the benchmark). */
  granted = 0;

  constructor(options: RateBudgetOptions) {
    this.max = options.max;
    this.windowMs = options.windowMs;
    this.holdMs = holdMsFor(options.windowMs);
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
    this.grantLog = options.grantLog ?? new LocalGrantLog(options.max, this.holdMs);
    this.pauses = options.pauseStore ?? new LocalPauseStore();
    this.unavailable = options.unavailable;
    this.recheckMs = options.recheckMs ?? 1_000;
  }

  /**
   * Follows a new limit (the account turned out to be Basecamp 2: 500 per 10 s, or back to Basecamp 3/4/5's 50).
   * Grants already made keep counting for their hold; waiting requests are looked at again at once.
   */
  setLimit(limit: RateLimit): void {
    if (limit.max === this.max && limit.windowMs === this.windowMs) return;
    this.max = limit.max;
    this.windowMs = limit.windowMs;
    this.holdMs = holdMsFor(limit.windowMs);
    this.grantLog.setLimit(this.max, this.holdMs);
    this.wake();
  }

  /** Rejects every request still waiting (e.g. the shared store went away); they were never sent. */
  failWaiting(error: Error): void {
    for (const waiter of this.queue.splice(0)) waiter.fail(error);
  }

  /**
   * Resolves when one request may be sent now. Rejects with CancelledError if `signal` aborts first (a
   * cancelled request gives its place back without using any budget), with RateLimitedError during a
   * pause longer than maxWaitMs, and with the `unavailable` error when the shared store is down.
   */
  async acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw new CancelledError('Cancelled before the request was sent.');
    if (this.stopped) throw new CancelledError('The rate budget has stopped (the server is shutting down); nothing was sent.');
    const down = this.unavailable?.();
    if (down) throw down;
    // Fail fast during a long pause, rather than queue behind it.
    this.throwIfPausedTooLong(await this.pauses.get());
    if (signal?.aborted) throw new CancelledError('Cancelled before the request was sent.'); // while we asked the pause store
    return new Promise<void>((resolve, reject) => {
      // The pump skips a settled waiter when it reaches it; the caller hears at once.
      const onAbort = () => waiter.fail(new CancelledError('Cancelled while waiting for the rate budget; nothing was sent.'));
      const waiter: Waiter = {
        settled: false,
        resolve: () => settle(() => resolve()),
        fail: (error) => settle(() => reject(error)),
      };
      const settle = (finish: () => void) => {
        if (waiter.settled) return;
        waiter.settled = true;
        signal?.removeEventListener('abort', onAbort);
        finish();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      void this.pump();
    });
  }

  /** Holds back every request, queued or future, for `ms`. Queued requests fail at once if that is longer than maxWaitMs. */
  async pause(ms: number): Promise<void> {
    const until = Date.now() + Math.max(0, ms);
    await this.pauses.extend(until);
    this.wake(); // the pump re-reads the pause: it fails the queue if too long, else waits it out
  }

  /** Fails whatever is still queued and refuses new requests. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.failWaiting(new CancelledError('The rate budget has stopped (the server is shutting down); nothing was sent.'));
  }

  /** Serves the queue head by head: wait out a short pause, then ask the log for a grant, sleeping between tries. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length) {
        const head = this.queue[0]!;
        if (head.settled) {
          this.queue.shift();
          continue;
        }
        try {
          const until = await this.pauses.get();
          this.throwIfPausedTooLong(until);
          if (until > Date.now()) {
            await this.sleep(until - Date.now());
            continue;
          }
          const answer = await this.grantLog.tryGrant();
          if (!answer.granted) {
            await this.sleep(answer.retryInMs);
            continue;
          }
          if (head.settled) {
            // Cancelled while the grant was in flight: the slot is spent, but only this once; serve the next.
            this.queue.shift();
            continue;
          }
          this.queue.shift();
          this.granted++;
          head.resolve();
        } catch (error) {
          // A long pause or a broken store concerns everyone queued, not just the head.
          this.failWaiting(error instanceof Error ? error : new Error(String(error)));
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private throwIfPausedTooLong(until: number): void {
    if (until - Date.now() > this.maxWaitMs) throw this.pausedError(until);
  }

  private pausedError(until: number): RateLimitedError {
    const seconds = Math.max(1, Math.ceil((until - Date.now()) / 1000));
    return new RateLimitedError(
      `Basecamp's rate limit is in force for another ${seconds} s (it answered 429 with a long Retry-After); this request was not sent. Try again after that.`,
      seconds,
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(1, Math.min(ms, this.recheckMs)));
      timer.unref?.();
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
