/**
 * The client's rules, as one pure decision: what one attempt's answer means for a read or a write, and what
 * happens next. `step` (history.ts) asks it with the request's history, and `BasecampHttp.request` only carries
 * out the answer (sleep, pause the budget, refresh, throw), so every rule is here and tested as a table
 * (test/request-rules.test.ts).
 *
 * The write-safety rule in one sentence: a write is re-sent only after an answer that proves Basecamp did not
 * apply it (429, 503) or when it provably never left this machine; anything else that is not a clear answer
 * is an unknown outcome, reported as such and never re-sent. The one exception is an idempotent write (a
 * Basecamp 2 DELETE: sending it twice does what sending it once does): after an unknown outcome it is sent
 * again, and where a 404 means "not there" (`goneOn404`), a 404 to that re-send is the first one's success:
 * already gone (only a 404 without a `Reason` header: one with a reason is about the account, see `refusalOf`).
 */

/** What one attempt got. */
export type Answer =
  | {
      type: 'status';
      status: number;
      retryAfterSeconds?: number;
      bodyIsJson: boolean;
      /** What the answer's `Reason` header says (`refusalOf`); undefined: it has none. */
      refusal?: Refusal;
    }
  | { type: 'connection'; code: string; timedOut: boolean }
  /** The caller cancelled (MCP cancellation) while the request was in flight. */
  | { type: 'cancelled' };

export interface Attempt {
  write: boolean;
  /** 1 for the first attempt. */
  attempt: number;
  maxAttempts: number;
  /** Whether a refresh after a 401 was already tried in this request (it is tried once). */
  refreshedAfter401: boolean;
  /** Whether the credentials can try to recover from a 401 (refresh); a static token cannot. */
  canRefresh: boolean;
  /** The longest wait done inside a call; a longer Retry-After is handed back to the caller. */
  maxRetryAfterMs: number;
  /** The jittered exponential backoff for this attempt, in ms. */
  backoffMs: number;
  /**
   * Set for endpoints where a 429 *without* Retry-After is a verdict, not throttling (client_users.json: the
   * account has no client seat left). Such an answer is never retried and never pauses the budget.
   */
  seatLimited?: boolean;
  /** An idempotent write (a DELETE): re-sent after an outcome that is unknown, as a read would be. */
  idempotent?: boolean;
  /** With `idempotent`: a 404 means the thing is not there, so after an unknown outcome it means already gone. */
  goneOn404?: boolean;
  /** An earlier attempt of this request may have been applied (no answer, or an answer that does not say). */
  unknownBefore?: boolean;
}

/** Why a request failed; `errorForFailure` (telling.ts) turns it into the error with its message. */
export type Failure =
  /** A write that provably never left this machine (connection refused, DNS): nothing changed. */
  | 'not-sent'
  /** A write that may have reached Basecamp without a clear answer. */
  | 'outcome-unknown'
  /** A write cancelled by the caller while in flight: it may or may not have been applied. */
  | 'cancelled-in-flight'
  /** A write answered 2xx with a body that is not JSON: Basecamp took it, what it did is unknown. */
  | 'outcome-unreadable'
  /** A read cancelled by the caller. */
  | 'cancelled'
  /** A read that got no answer on any attempt. */
  | 'network'
  /** A read answered 2xx with a body that is not JSON. */
  | 'not-json'
  /** 429s until the attempts ran out, or a Retry-After longer than we wait. */
  | 'rate-limited'
  /** A retryable status on the last attempt (for a write: one that proves it was not applied). */
  | 'retries-exhausted'
  /** A status that has its own meaning (401, 403, 404, 4xx, 507, other 5xx). */
  | 'status'
  /** 429 without Retry-After where that means "no seat left" (a verdict: nothing changed). */
  | 'seat-limit';

/**
 * What a `Reason` header says, decided here and nowhere else. Basecamp sends it with a 404 that is about the
 * whole account, not the thing asked for: `Account Inactive` (an expired trial, a cancelled or suspended
 * account) and `API Disabled` (an admin turned API access off). Any other value is 'other': still a reason,
 * so still not "this thing is not there".
 */
export type Refusal = 'account-inactive' | 'api-disabled' | 'other';

export function refusalOf(reasonHeader: string | undefined): Refusal | undefined {
  if (reasonHeader === undefined) return undefined;
  const said = reasonHeader.trim().toLowerCase().replace(/[\s_-]+/g, ' ');
  if (said === 'account inactive') return 'account-inactive';
  if (said === 'api disabled') return 'api-disabled';
  return 'other';
}

export type Decision =
  | { do: 'return' }
  /** An idempotent DELETE re-sent after an unknown outcome found the thing gone (404): the first one did it. */
  | { do: 'already-gone' }
  /** Wait, then send again. */
  | { do: 'retry'; delayMs: number }
  /** Pause every queued request of the budget (a 429), then send again once the pause is over. */
  | { do: 'pause-and-retry'; pauseMs: number }
  /** Refresh the credentials, then send again; a refresh does not use up an attempt. */
  | { do: 'refresh' }
  /** Fail. `pauseMs`: pause the budget first (a 429 must hold back everyone, even when this call gives up). */
  | { do: 'fail'; failure: Failure; pauseMs?: number; retryAfterSeconds?: number };

const RETRYABLE_READ_STATUS = new Set([429, 502, 503, 504]);
/** Statuses that prove Basecamp did not apply a write, so re-sending it is safe. */
export const WRITE_NOT_APPLIED_STATUS = new Set([429, 503]);
/** Statuses that leave a write's outcome unknown (an idempotent one is then re-sent, as a read is). */
export const WRITE_UNKNOWN_STATUS = new Set([500, 502, 504]);
/** Connection errors that prove the request never left this machine. */
export const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

export function decide(answer: Answer, a: Attempt): Decision {
  const lastAttempt = a.attempt >= a.maxAttempts;
  if (answer.type === 'cancelled') return { do: 'fail', failure: a.write ? 'cancelled-in-flight' : 'cancelled' };
  if (answer.type === 'connection') {
    if (a.write && !a.idempotent) return { do: 'fail', failure: NOT_SENT_CODES.has(answer.code) ? 'not-sent' : 'outcome-unknown' };
    if (a.write && lastAttempt) return { do: 'fail', failure: NOT_SENT_CODES.has(answer.code) && !a.unknownBefore ? 'not-sent' : 'outcome-unknown' };
    return lastAttempt ? { do: 'fail', failure: 'network' } : { do: 'retry', delayMs: a.backoffMs };
  }

  const { status, retryAfterSeconds } = answer;
  if (status >= 200 && status < 300) {
    if (answer.bodyIsJson) return { do: 'return' };
    return { do: 'fail', failure: a.write ? 'outcome-unreadable' : 'not-json' };
  }
  if (status === 429 && retryAfterSeconds === undefined && a.seatLimited) return { do: 'fail', failure: 'seat-limit' };
  // Already gone only when the 404 is about the thing: one with any `Reason` is about the account, and removed nothing.
  if (status === 404 && answer.refusal === undefined && a.write && a.idempotent && a.goneOn404 && a.unknownBefore) return { do: 'already-gone' };
  if (a.write && a.idempotent && WRITE_UNKNOWN_STATUS.has(status)) {
    return lastAttempt ? { do: 'fail', failure: 'status' } : { do: 'retry', delayMs: a.backoffMs };
  }
  const retryable = a.write ? WRITE_NOT_APPLIED_STATUS.has(status) : RETRYABLE_READ_STATUS.has(status);
  if (retryable && status === 429) {
    const pauseMs = (retryAfterSeconds ?? Math.ceil(a.backoffMs / 1000)) * 1000;
    if (lastAttempt || pauseMs > a.maxRetryAfterMs) {
      return { do: 'fail', failure: 'rate-limited', pauseMs, retryAfterSeconds: Math.ceil(pauseMs / 1000) };
    }
    return { do: 'pause-and-retry', pauseMs };
  }
  if (retryable) {
    if (lastAttempt) return { do: 'fail', failure: 'retries-exhausted' };
    const delayMs = retryAfterSeconds !== undefined ? Math.min(retryAfterSeconds * 1000, a.maxRetryAfterMs) : a.backoffMs;
    return { do: 'retry', delayMs };
  }
  if (status === 401 && a.canRefresh && !a.refreshedAfter401) return { do: 'refresh' };
  return { do: 'fail', failure: 'status' };
}
