/**
 * One request's attempts as data, and the one pure step that folds the next attempt into them:
 * (what the attempts so far left behind, what this one got) → (what they leave behind now, what to do next).
 * `BasecampHttp.request` is a thin loop around it: it sends an attempt, feeds what it got to `step`, and carries
 * out the `Next` (return, wait and re-send, pause the budget, refresh the credentials, or throw the failure as
 * telling.ts tells it). What an answer means is `decide` (decide.ts); this file keeps the count: which attempt
 * this is, whether a refresh was tried, whether an earlier attempt may have been applied, and what each got.
 * Tested as a table (test/request-history.test.ts).
 */

import { decide, NOT_SENT_CODES, refusalOf, WRITE_UNKNOWN_STATUS, type Answer, type Decision } from './decide.js';
import type { FailedRequest } from './telling.js';

/** What stays the same over one request's attempts. */
export interface RequestShape {
  write: boolean;
  /** Attempts for a retryable answer (the first one included). */
  maxAttempts: number;
  /** Whether the credentials can try to recover from a 401 (refresh); a static token cannot. */
  canRefresh: boolean;
  /** The longest wait done inside a call; a longer Retry-After is handed back to the caller. */
  maxRetryAfterMs: number;
  /** The backoff: `retryBaseMs` doubled per attempt, at most `retryMaxMs`, half of it jittered. */
  retryBaseMs: number;
  retryMaxMs: number;
  /** See `Attempt` in decide.ts. */
  seatLimited?: boolean;
  idempotent?: boolean;
  goneOn404?: boolean;
}

/** What the attempts so far left behind. */
export interface History {
  /** The attempt to send next; 1 for the first. A refresh after a 401 is not an attempt. */
  attempt: number;
  /** Whether a refresh after a 401 was already tried (it is tried once). */
  refreshedAfter401: boolean;
  /** Whether an attempt so far may have been applied without a clear answer (an idempotent write is then re-sent). */
  unknownBefore: boolean;
  /** What each attempt got, in order: a status, 'no answer' or 'connection failed' (a cancelled one: nothing). */
  answers: readonly string[];
}

export const FIRST_ATTEMPT: History = { attempt: 1, refreshedAfter401: false, unknownBefore: false, answers: [] };

/** What one attempt got, as the loop saw it: what `decide` reads, and the words a failure is told with. */
export type Seen =
  | { type: 'status'; status: number; retryAfterSeconds?: number; bodyIsJson: boolean; /** The `Reason` header, as sent. */ reasonHeader?: string }
  /** No answer: `reason` says what happened ("no answer within 30000 ms", "connection failed (ECONNRESET)"). */
  | { type: 'connection'; code: string; timedOut: boolean; reason: string }
  | { type: 'cancelled' }
  /** What the credentials did after `refresh`: `recovered` when there is a different token to send again with. */
  | { type: 'refreshed'; recovered: boolean };

/** The failure as the attempts tell it; the loop adds where it went and what Basecamp said (`details`), the advice after a 401 and the cause. */
export type Told = Omit<FailedRequest, 'details' | 'cause' | 'unauthorizedAdvice'>;

/**
 * What the request loop does next: what `decide` says of one answer (`refresh`: ask the credentials for a different
 * token, and feed what they did back as `{ type: 'refreshed' }`), or the history's own steps.
 */
export type Next =
  | Exclude<Decision, { do: 'fail' }>
  /** Send again at once (a refresh brought a different token; not a new attempt). */
  | { do: 'send' }
  /** Fail with `failed`; `pauseMs`: pause the budget first (a 429 must hold back everyone, even when this call gives up). */
  | { do: 'fail'; failed: Told; pauseMs?: number };

/** The jittered exponential backoff ("equal jitter") before re-sending after `attempt`; `jitter` in [0, 1). */
export function backoffMs(shape: Pick<RequestShape, 'retryBaseMs' | 'retryMaxMs'>, attempt: number, jitter: number): number {
  const exp = Math.min(shape.retryMaxMs, shape.retryBaseMs * 2 ** (attempt - 1));
  return Math.round(exp / 2 + jitter * (exp / 2));
}

/** How an attempt is named in the history of a failure; a cancelled one is not. */
function labelOf(seen: Seen): string | undefined {
  if (seen.type === 'status') return String(seen.status);
  if (seen.type === 'connection') return seen.timedOut ? 'no answer' : 'connection failed';
  return undefined;
}

function answerOf(seen: Exclude<Seen, { type: 'refreshed' }>): Answer {
  if (seen.type === 'status') {
    return { type: 'status', status: seen.status, retryAfterSeconds: seen.retryAfterSeconds, bodyIsJson: seen.bodyIsJson, refusal: refusalOf(seen.reasonHeader) };
  }
  if (seen.type === 'connection') return { type: 'connection', code: seen.code, timedOut: seen.timedOut };
  return seen;
}

/** Whether this attempt may have been applied without saying so (no answer after it left, or a gateway's 5xx to a write). */
function leftUnknown(seen: Seen, write: boolean): boolean {
  if (seen.type === 'connection') return !NOT_SENT_CODES.has(seen.code);
  return seen.type === 'status' && write && WRITE_UNKNOWN_STATUS.has(seen.status);
}

/**
 * Folds one attempt (or the refresh `refresh` asked for) into the history: the history after it, and what to do
 * next. Pure; `jitter` (in [0, 1)) is the only chance in it, given by the caller.
 */
export function step(shape: RequestShape, history: History, seen: Seen, jitter: number): { history: History; next: Next } {
  const { write } = shape;
  const idempotent = shape.idempotent === true;
  if (seen.type === 'refreshed') {
    if (seen.recovered) return { history, next: { do: 'send' } };
    return { history, next: { do: 'fail', failed: { failure: 'status', write, idempotent, answers: history.answers, unknownBefore: history.unknownBefore } } };
  }

  const label = labelOf(seen);
  const answers = label === undefined ? history.answers : [...history.answers, label];
  const decision = decide(answerOf(seen), {
    write,
    attempt: history.attempt,
    maxAttempts: shape.maxAttempts,
    refreshedAfter401: history.refreshedAfter401,
    canRefresh: shape.canRefresh,
    maxRetryAfterMs: shape.maxRetryAfterMs,
    backoffMs: backoffMs(shape, history.attempt, jitter),
    seatLimited: shape.seatLimited,
    idempotent,
    goneOn404: shape.goneOn404 === true,
    unknownBefore: history.unknownBefore,
  });
  const after: History = { ...history, answers, unknownBefore: history.unknownBefore || leftUnknown(seen, write) };

  switch (decision.do) {
    case 'retry':
    case 'pause-and-retry':
      return { history: { ...after, attempt: history.attempt + 1 }, next: decision };
    case 'refresh':
      return { history: { ...after, refreshedAfter401: true }, next: decision };
    case 'return':
    case 'already-gone':
      return { history: after, next: decision };
    case 'fail': {
      const failed: Told = {
        failure: decision.failure,
        write,
        idempotent,
        answers,
        reason: seen.type === 'connection' ? seen.reason : undefined,
        retryAfterSeconds: decision.retryAfterSeconds,
        reasonHeader: seen.type === 'status' ? seen.reasonHeader : undefined,
        // What was unknown before this attempt: the telling of a refusal says whether an earlier one may have been applied.
        unknownBefore: history.unknownBefore,
      };
      return { history: after, next: decision.pauseMs === undefined ? { do: 'fail', failed } : { do: 'fail', failed, pauseMs: decision.pauseMs } };
    }
  }
}
