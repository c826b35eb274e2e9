import { describe, expect, it } from 'vitest';
import { decide, type Answer, type Attempt, type Decision, type Refusal } from '../src/basecamp/rules/decide.js';

const base: Attempt = { write: false, attempt: 1, maxAttempts: 3, refreshedAfter401: false, canRefresh: true, maxRetryAfterMs: 60_000, backoffMs: 800 };
const status = (s: number, retryAfterSeconds?: number, bodyIsJson = true): Answer => ({ type: 'status', status: s, retryAfterSeconds, bodyIsJson });
/** A 404 with a `Reason` header. */
const refused = (refusal: Refusal): Answer => ({ type: 'status', status: 404, bodyIsJson: true, refusal });
const conn = (code: string, timedOut = false): Answer => ({ type: 'connection', code, timedOut });
const cancelled: Answer = { type: 'cancelled' };
const read = (a: Partial<Attempt> = {}): Attempt => ({ ...base, ...a });
const write = (a: Partial<Attempt> = {}): Attempt => ({ ...base, write: true, ...a });
const last = { attempt: 3 };

/** The client's rules as a table: an answer, for a read or a write, on an attempt → what happens next. */
const table: [string, Answer, Attempt, Decision][] = [
  // success
  ['read 200', status(200), read(), { do: 'return' }],
  ['write 200', status(200), write(), { do: 'return' }],
  ['read 204 with an empty body (null is JSON)', status(204), read(), { do: 'return' }],
  ['read 200 not JSON', status(200, undefined, false), read(), { do: 'fail', failure: 'not-json' }],
  ['write 200 not JSON: Basecamp took it, outcome unknown', status(200, undefined, false), write(), { do: 'fail', failure: 'outcome-unreadable' }],
  // 429: pause everyone, then retry; give up past the attempts or a long Retry-After (still pausing)
  ['read 429 Retry-After 5', status(429, 5), read(), { do: 'pause-and-retry', pauseMs: 5000 }],
  ['write 429 Retry-After 5 (proves not applied)', status(429, 5), write(), { do: 'pause-and-retry', pauseMs: 5000 }],
  ['read 429 without Retry-After: the backoff, whole seconds', status(429), read({ backoffMs: 1500 }), { do: 'pause-and-retry', pauseMs: 2000 }],
  ['read 429 on the last attempt', status(429, 5), read(last), { do: 'fail', failure: 'rate-limited', pauseMs: 5000, retryAfterSeconds: 5 }],
  ['read 429 Retry-After 3600', status(429, 3600), read(), { do: 'fail', failure: 'rate-limited', pauseMs: 3_600_000, retryAfterSeconds: 3600 }],
  ['write 429 Retry-After 61', status(429, 61), write(), { do: 'fail', failure: 'rate-limited', pauseMs: 61_000, retryAfterSeconds: 61 }],
  // client_users.json: a 429 without Retry-After is the seat limit, a verdict (no retry, no pause); with one, throttling
  ['seat-limited write 429 without Retry-After', status(429), write({ seatLimited: true }), { do: 'fail', failure: 'seat-limit' }],
  ['seat-limited write 429 with Retry-After', status(429, 5), write({ seatLimited: true }), { do: 'pause-and-retry', pauseMs: 5000 }],
  ['other write 429 without Retry-After: throttling', status(429), write({ backoffMs: 1500 }), { do: 'pause-and-retry', pauseMs: 2000 }],
  // 503 proves a write was not applied; 502/504 do not
  ['read 503', status(503), read(), { do: 'retry', delayMs: 800 }],
  ['read 503 Retry-After 2', status(503, 2), read(), { do: 'retry', delayMs: 2000 }],
  ['read 503 Retry-After 3600: waits the longest wait only', status(503, 3600), read(), { do: 'retry', delayMs: 60_000 }],
  ['write 503: re-sent', status(503), write(), { do: 'retry', delayMs: 800 }],
  ['read 502', status(502), read(), { do: 'retry', delayMs: 800 }],
  ['read 504', status(504), read(), { do: 'retry', delayMs: 800 }],
  ['read 503 on the last attempt', status(503), read(last), { do: 'fail', failure: 'retries-exhausted' }],
  ['write 503 on the last attempt', status(503), write(last), { do: 'fail', failure: 'retries-exhausted' }],
  ['write 502: never re-sent', status(502), write(), { do: 'fail', failure: 'status' }],
  ['write 504: never re-sent', status(504), write(), { do: 'fail', failure: 'status' }],
  ['write 500: never re-sent', status(500), write(), { do: 'fail', failure: 'status' }],
  ['read 500: not retried', status(500), read(), { do: 'fail', failure: 'status' }],
  // 401: one refresh per request, when the credentials can
  ['read 401', status(401), read(), { do: 'refresh' }],
  ['write 401', status(401), write(), { do: 'refresh' }],
  ['401 after a refresh', status(401), read({ refreshedAfter401: true }), { do: 'fail', failure: 'status' }],
  ['401 with a static token', status(401), read({ canRefresh: false }), { do: 'fail', failure: 'status' }],
  ['401 on the last attempt still refreshes (a refresh is not an attempt)', status(401), read(last), { do: 'refresh' }],
  // statuses with their own meaning
  ...[400, 403, 404, 415, 422, 507, 304].map((s): [string, Answer, Attempt, Decision] => [`read ${s}`, status(s), read(), { do: 'fail', failure: 'status' }]),
  // no answer at all
  ['read connection reset', conn('ECONNRESET'), read(), { do: 'retry', delayMs: 800 }],
  ['read timeout', conn('UND_ERR_HEADERS_TIMEOUT', true), read(), { do: 'retry', delayMs: 800 }],
  ['read connection reset on the last attempt', conn('ECONNRESET'), read(last), { do: 'fail', failure: 'network' }],
  ['write refused: never left this machine', conn('ECONNREFUSED'), write(), { do: 'fail', failure: 'not-sent' }],
  ['write DNS failure', conn('ENOTFOUND'), write(), { do: 'fail', failure: 'not-sent' }],
  ['write connect timeout', conn('UND_ERR_CONNECT_TIMEOUT', true), write(), { do: 'fail', failure: 'not-sent' }],
  ['write connection reset: may have arrived', conn('ECONNRESET'), write(), { do: 'fail', failure: 'outcome-unknown' }],
  ['write answer timeout', conn('UND_ERR_HEADERS_TIMEOUT', true), write(), { do: 'fail', failure: 'outcome-unknown' }],
  // an idempotent write (a Basecamp 2 DELETE) is re-sent after an unknown outcome; a 404 to the re-send: already gone
  ['idempotent write connection reset: re-sent', conn('ECONNRESET'), write({ idempotent: true }), { do: 'retry', delayMs: 800 }],
  ['idempotent write timeout: re-sent', conn('UND_ERR_HEADERS_TIMEOUT', true), write({ idempotent: true }), { do: 'retry', delayMs: 800 }],
  ['idempotent write 502: re-sent', status(502), write({ idempotent: true }), { do: 'retry', delayMs: 800 }],
  ['idempotent write 500: re-sent', status(500), write({ idempotent: true }), { do: 'retry', delayMs: 800 }],
  ['idempotent write 504 on the last attempt', status(504), write({ idempotent: true, ...last }), { do: 'fail', failure: 'status' }],
  ['idempotent write reset on the last attempt', conn('ECONNRESET'), write({ idempotent: true, unknownBefore: true, ...last }), { do: 'fail', failure: 'outcome-unknown' }],
  ['idempotent write refused on the last attempt, nothing unknown before', conn('ECONNREFUSED'), write({ idempotent: true, ...last }), { do: 'fail', failure: 'not-sent' }],
  ['idempotent write refused on the last attempt after an unknown one', conn('ECONNREFUSED'), write({ idempotent: true, unknownBefore: true, ...last }), { do: 'fail', failure: 'outcome-unknown' }],
  ['goneOn404 write 404 after an unknown outcome: already gone', status(404), write({ idempotent: true, goneOn404: true, unknownBefore: true }), { do: 'already-gone' }],
  // A 404 with any Reason is about the account, not the person: never "already gone" (issue 16 item 5)
  ['goneOn404 write 404 Account Inactive after an unknown outcome: the account, not the person', refused('account-inactive'), write({ idempotent: true, goneOn404: true, unknownBefore: true }), { do: 'fail', failure: 'status' }],
  ['goneOn404 write 404 API Disabled after an unknown outcome: nothing was removed', refused('api-disabled'), write({ idempotent: true, goneOn404: true, unknownBefore: true }), { do: 'fail', failure: 'status' }],
  ['goneOn404 write 404 with an unknown Reason after an unknown outcome', refused('other'), write({ idempotent: true, goneOn404: true, unknownBefore: true }), { do: 'fail', failure: 'status' }],
  ['goneOn404 write 404 on the first attempt: not found', status(404), write({ idempotent: true, goneOn404: true }), { do: 'fail', failure: 'status' }],
  ['idempotent write 404 after an unknown outcome, where 404 is not "gone"', status(404), write({ idempotent: true, unknownBefore: true }), { do: 'fail', failure: 'status' }],
  ['idempotent write 403: a verdict', status(403), write({ idempotent: true, unknownBefore: true }), { do: 'fail', failure: 'status' }],
  ['read cancelled', cancelled, read(), { do: 'fail', failure: 'cancelled' }],
  ['write cancelled in flight', cancelled, write(), { do: 'fail', failure: 'cancelled-in-flight' }],
];

describe('the request rules (status or connection error × read or write × attempt)', () => {
  it.each(table)('%s', (_name, answer, attempt, expected) => {
    expect(decide(answer, attempt)).toEqual(expected);
  });
});
