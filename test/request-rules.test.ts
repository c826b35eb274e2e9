import { describe, expect, it } from 'vitest';
import { errorForFailure, type FailedRequest } from '../src/basecamp/rules/telling.js';
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

describe('how each failure is told', () => {
  const details = { method: 'PUT', path: '/projects/1/people/users.json', status: 503, requestId: 'req-1' };
  const failed = (f: Partial<FailedRequest>): FailedRequest => ({ failure: 'status', write: true, details, answers: ['503'], ...f });

  it.each([
    ['not-sent', { failure: 'not-sent', reason: 'connection failed (ECONNREFUSED)', details: { method: 'PUT', path: '/x' } }, 'network', /not sent, so nothing changed/],
    ['outcome-unknown (no answer)', { failure: 'outcome-unknown', reason: 'no answer within 30000 ms', details: { method: 'PUT', path: '/x' } }, 'outcome_unknown', /may or may not have applied it\. It was not re-sent\./],
    ['outcome-unknown after re-sends', { failure: 'status', details: { ...details, status: 502 }, answers: ['503', '503', '502'] }, 'outcome_unknown', /re-sent 2 times after answers that mean it was not applied \(503, 503\)/],
    ['cancelled-in-flight', { failure: 'cancelled-in-flight', details: { method: 'PUT', path: '/x' } }, 'outcome_unknown', /Cancelled while PUT \/x was in flight/],
    ['retries-exhausted write', { failure: 'retries-exhausted', answers: ['503', '503', '503'] }, 'upstream', /re-sent 2 times; it was never applied, so nothing changed/],
    ['rate-limited write', { failure: 'rate-limited', retryAfterSeconds: 61, details: { ...details, status: 429 }, answers: ['429'] }, 'rate_limited', /not applied, so nothing changed\. Try again in 61 s/],
    ['read 404 account inactive', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 404 }, reasonHeader: 'Account Inactive' }, 'account_inactive', /inactive/],
    ['read 404 API disabled', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 404 }, reasonHeader: 'API Disabled' }, 'api_disabled', /An admin turned off API access for this Basecamp account .*turn API access back on in Basecamp \(Adminland/],
    ['read 404 api disabled, other spelling', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 404 }, reasonHeader: ' api_disabled ' }, 'api_disabled', /turned off API access/],
    ['write 404 API disabled after an unknown outcome', { failure: 'status', details: { ...details, method: 'DELETE', path: '/people/5.json', status: 404 }, answers: ['no answer', '404'], reasonHeader: 'API Disabled', unknownBefore: true }, 'api_disabled', /was not carried out\. An earlier attempt of DELETE \/people\/5\.json got no clear answer \(no answer\), so whether it was applied then is unknown/],
    ['read 404 with another Reason: not not_found', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 404 }, reasonHeader: 'Account Suspended' }, 'upstream', /with Reason: Account Suspended: a refusal about the account/],
    ['read 404', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 404 } }, 'not_found', /Not found \(404\)/],
    ['401 with advice', { failure: 'status', details: { ...details, status: 401 }, unauthorizedAdvice: 'Run login.' }, 'authentication', /rejected the access token \(401\)\. Run login\./],
    ['403', { failure: 'status', details: { ...details, status: 403 } }, 'forbidden', /not allowed/],
    ['422', { failure: 'status', details: { ...details, status: 422, basecampMessage: 'email bad' } }, 'validation_rejected', /rejected PUT \/projects\/1\/people\/users\.json \(422\): email bad/],
    ['507', { failure: 'status', details: { ...details, status: 507 } }, 'plan_limit', /plan limit/],
    ['seat-limit', { failure: 'seat-limit', details: { ...details, status: 429 } }, 'seat_limit', /no client seat left.*Nothing was created.*waiting will not help/],
    ['read 304 (never asked for)', { failure: 'status', write: false, details: { ...details, method: 'GET', status: 304 } }, 'upstream', /answered 304/],
  ] as [string, Partial<FailedRequest>, string, RegExp][])('%s → %s', (_name, f, kind, message) => {
    const error = errorForFailure(failed(f));
    expect(error.kind).toBe(kind);
    expect(error.message).toMatch(message);
  });
});
