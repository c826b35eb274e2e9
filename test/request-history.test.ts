import { describe, expect, it } from 'vitest';
import { backoffMs, FIRST_ATTEMPT, step, type History, type Next, type RequestShape, type Seen } from '../src/basecamp/rules/history.js';

// The request's attempts as data (issue 18 item 1): what each attempt got is folded into the history by `step`,
// which says what to do next. BasecampHttp.request only carries it out, so a whole request is a row here.

const base: RequestShape = { write: false, maxAttempts: 3, canRefresh: true, maxRetryAfterMs: 60_000, retryBaseMs: 1_000, retryMaxMs: 30_000 };
const read = (s: Partial<RequestShape> = {}): RequestShape => ({ ...base, ...s });
const write = (s: Partial<RequestShape> = {}): RequestShape => ({ ...base, write: true, ...s });
const deleteOnce = write({ idempotent: true, goneOn404: true });

const status = (s: number, more: { retryAfterSeconds?: number; reasonHeader?: string; bodyIsJson?: boolean } = {}): Seen => ({ type: 'status', status: s, bodyIsJson: true, ...more });
const reset: Seen = { type: 'connection', code: 'ECONNRESET', timedOut: false, reason: 'connection failed (ECONNRESET)' };
const refused: Seen = { type: 'connection', code: 'ECONNREFUSED', timedOut: false, reason: 'connection failed (ECONNREFUSED)' };
const timeout: Seen = { type: 'connection', code: 'UND_ERR_HEADERS_TIMEOUT', timedOut: true, reason: 'no answer within 30000 ms' };
const cancelled: Seen = { type: 'cancelled' };
const refreshed = (recovered: boolean): Seen => ({ type: 'refreshed', recovered });

const history = (h: Partial<History>): History => ({ ...FIRST_ATTEMPT, ...h });

/** Feeds what each attempt got, in order (jitter 0: the backoff is half the exponential), to `step`. */
function run(shape: RequestShape, seen: Seen[]): { nexts: Next[]; history: History } {
  let h = FIRST_ATTEMPT;
  const nexts: Next[] = [];
  for (const s of seen) {
    const r = step(shape, h, s, 0);
    nexts.push(r.next);
    h = r.history;
  }
  return { nexts, history: h };
}

/** A request as a row: its shape, what each attempt got → what was done after each, and the history it leaves. */
const table: [string, RequestShape, Seen[], Next[], History][] = [
  ['read 200', read(), [status(200)], [{ do: 'return' }], history({ answers: ['200'] })],
  [
    'read 503 × 3: re-sent after a growing backoff, then told with every answer',
    read(),
    [status(503), status(503), status(503)],
    [{ do: 'retry', delayMs: 500 }, { do: 'retry', delayMs: 1000 }, { do: 'fail', failed: { failure: 'retries-exhausted', write: false, idempotent: false, answers: ['503', '503', '503'], unknownBefore: false } }],
    history({ attempt: 3, answers: ['503', '503', '503'] }),
  ],
  [
    'read 429 Retry-After 5, then 200: the budget paused, the next attempt counted',
    read(),
    [status(429, { retryAfterSeconds: 5 }), status(200)],
    [{ do: 'pause-and-retry', pauseMs: 5000 }, { do: 'return' }],
    history({ attempt: 2, answers: ['429', '200'] }),
  ],
  [
    'read 429 Retry-After 3600: fails at once, still pausing everyone',
    read(),
    [status(429, { retryAfterSeconds: 3600 })],
    [{ do: 'fail', pauseMs: 3_600_000, failed: { failure: 'rate-limited', write: false, idempotent: false, answers: ['429'], retryAfterSeconds: 3600, unknownBefore: false } }],
    history({ answers: ['429'] }),
  ],
  [
    'read reset, then cancelled: the cancelled attempt is not an answer',
    read(),
    [reset, cancelled],
    [{ do: 'retry', delayMs: 500 }, { do: 'fail', failed: { failure: 'cancelled', write: false, idempotent: false, answers: ['connection failed'], unknownBefore: true } }],
    history({ attempt: 2, answers: ['connection failed'], unknownBefore: true }),
  ],
  [
    'write reset: never re-sent; the history now knows it may have been applied',
    write(),
    [reset],
    [{ do: 'fail', failed: { failure: 'outcome-unknown', write: true, idempotent: false, answers: ['connection failed'], reason: 'connection failed (ECONNRESET)', unknownBefore: false } }],
    history({ answers: ['connection failed'], unknownBefore: true }),
  ],
  [
    'write refused: never left this machine',
    write(),
    [refused],
    [{ do: 'fail', failed: { failure: 'not-sent', write: true, idempotent: false, answers: ['connection failed'], reason: 'connection failed (ECONNREFUSED)', unknownBefore: false } }],
    history({ answers: ['connection failed'] }),
  ],
  [
    'write 503 then 502: re-sent once (503 proves not applied), then unknown',
    write(),
    [status(503), status(502)],
    [{ do: 'retry', delayMs: 500 }, { do: 'fail', failed: { failure: 'status', write: true, idempotent: false, answers: ['503', '502'], unknownBefore: false } }],
    history({ attempt: 2, answers: ['503', '502'], unknownBefore: true }),
  ],
  [
    'write cancelled in flight',
    write(),
    [cancelled],
    [{ do: 'fail', failed: { failure: 'cancelled-in-flight', write: true, idempotent: false, answers: [], unknownBefore: false } }],
    FIRST_ATTEMPT,
  ],
  [
    'Basecamp 2 DELETE: 502, then 404 to the re-send: already gone',
    deleteOnce,
    [status(502), status(404)],
    [{ do: 'retry', delayMs: 500 }, { do: 'already-gone' }],
    history({ attempt: 2, answers: ['502', '404'], unknownBefore: true }),
  ],
  [
    'Basecamp 2 DELETE: no answer, then 404 API Disabled: the account, not the person; told with the unknown first attempt',
    deleteOnce,
    [timeout, status(404, { reasonHeader: 'API Disabled' })],
    [{ do: 'retry', delayMs: 500 }, { do: 'fail', failed: { failure: 'status', write: true, idempotent: true, answers: ['no answer', '404'], reasonHeader: 'API Disabled', unknownBefore: true } }],
    history({ attempt: 2, answers: ['no answer', '404'], unknownBefore: true }),
  ],
  [
    'Basecamp 2 DELETE: 404 on the first attempt: not found, not already gone',
    deleteOnce,
    [status(404)],
    [{ do: 'fail', failed: { failure: 'status', write: true, idempotent: true, answers: ['404'], unknownBefore: false } }],
    history({ answers: ['404'] }),
  ],
  [
    'idempotent write: reset, refused, refused: unknown since the first, so not "not sent"',
    write({ idempotent: true }),
    [reset, refused, refused],
    [{ do: 'retry', delayMs: 500 }, { do: 'retry', delayMs: 1000 }, { do: 'fail', failed: { failure: 'outcome-unknown', write: true, idempotent: true, answers: ['connection failed', 'connection failed', 'connection failed'], reason: 'connection failed (ECONNREFUSED)', unknownBefore: true } }],
    history({ attempt: 3, answers: ['connection failed', 'connection failed', 'connection failed'], unknownBefore: true }),
  ],
  [
    'idempotent write: refused × 3: never left this machine',
    write({ idempotent: true }),
    [refused, refused, refused],
    [{ do: 'retry', delayMs: 500 }, { do: 'retry', delayMs: 1000 }, { do: 'fail', failed: { failure: 'not-sent', write: true, idempotent: true, answers: ['connection failed', 'connection failed', 'connection failed'], reason: 'connection failed (ECONNREFUSED)', unknownBefore: false } }],
    history({ attempt: 3, answers: ['connection failed', 'connection failed', 'connection failed'] }),
  ],
  [
    '401, refreshed, 200: the refresh is not an attempt',
    read(),
    [status(401), refreshed(true), status(200)],
    [{ do: 'refresh' }, { do: 'send' }, { do: 'return' }],
    history({ refreshedAfter401: true, answers: ['401', '200'] }),
  ],
  [
    '401, refreshed, 401: refreshed once only',
    read(),
    [status(401), refreshed(true), status(401)],
    [{ do: 'refresh' }, { do: 'send' }, { do: 'fail', failed: { failure: 'status', write: false, idempotent: false, answers: ['401', '401'], unknownBefore: false } }],
    history({ refreshedAfter401: true, answers: ['401', '401'] }),
  ],
  [
    '401, and the credentials could not refresh',
    write(),
    [status(401), refreshed(false)],
    [{ do: 'refresh' }, { do: 'fail', failed: { failure: 'status', write: true, idempotent: false, answers: ['401'], unknownBefore: false } }],
    history({ refreshedAfter401: true, answers: ['401'] }),
  ],
  [
    '503, 503, then 401 on the last attempt: still refreshed, then 200',
    read(),
    [status(503), status(503), status(401), refreshed(true), status(200)],
    [{ do: 'retry', delayMs: 500 }, { do: 'retry', delayMs: 1000 }, { do: 'refresh' }, { do: 'send' }, { do: 'return' }],
    history({ attempt: 3, refreshedAfter401: true, answers: ['503', '503', '401', '200'] }),
  ],
  [
    '401 with a static token',
    read({ canRefresh: false }),
    [status(401)],
    [{ do: 'fail', failed: { failure: 'status', write: false, idempotent: false, answers: ['401'], unknownBefore: false } }],
    history({ answers: ['401'] }),
  ],
  [
    'seat-limited write 429 without Retry-After: a verdict, no pause',
    write({ seatLimited: true }),
    [status(429)],
    [{ do: 'fail', failed: { failure: 'seat-limit', write: true, idempotent: false, answers: ['429'], unknownBefore: false } }],
    history({ answers: ['429'] }),
  ],
  [
    'write 200 that is not JSON: taken, outcome unreadable',
    write(),
    [status(200, { bodyIsJson: false })],
    [{ do: 'fail', failed: { failure: 'outcome-unreadable', write: true, idempotent: false, answers: ['200'], unknownBefore: false } }],
    history({ answers: ['200'] }),
  ],
];

describe('a request as its history (what each attempt got → what is done next)', () => {
  it.each(table)('%s', (_name, shape, seen, nexts, after) => {
    expect(run(shape, seen)).toEqual({ nexts, history: after });
  });
});

describe('the backoff between attempts', () => {
  it.each([
    [1, 0, 500],
    [1, 0.5, 750],
    [2, 0, 1000],
    [3, 0.5, 3000],
    [6, 0, 15_000],
    [6, 0.999, 29_985],
  ])('attempt %i, jitter %f → %i ms', (attempt, jitter, ms) => {
    expect(backoffMs(base, attempt, jitter)).toBe(ms);
  });
});
