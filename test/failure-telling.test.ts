import { describe, expect, it } from 'vitest';
import { errorForFailure, type FailedRequest } from '../src/basecamp/rules/telling.js';

/** How each way a request can fail is told (src/basecamp/rules/telling.ts): which error kind, in which words. */
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
