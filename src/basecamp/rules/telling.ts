/**
 * How each way a request can fail is told: which error (errors.ts) and in which words, attempt by attempt. The
 * decision that a request failed, and why, is decide.ts; what the attempts left behind is history.ts.
 */

import {
  AccountInactiveError,
  ApiDisabledError,
  AuthenticationError,
  type BasecampError,
  CancelledError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  OutcomeUnknownError,
  PlanLimitError,
  RateLimitedError,
  SeatLimitError,
  UpstreamError,
  type UpstreamDetails,
  ValidationRejectedError,
} from '../errors.js';
import { refusalOf, type Failure } from './decide.js';
import { shellCommand } from '../../cli-command.js';

/** What a failed request had: where it went, what each attempt got, and what Basecamp said last. */
export interface FailedRequest {
  failure: Failure;
  write: boolean;
  details: UpstreamDetails;
  /** What each attempt got, in order: a status, 'no answer' or 'connection failed'. */
  answers: readonly string[];
  /** For a connection failure: what happened ("no answer within 30000 ms", "connection failed (ECONNRESET)"). */
  reason?: string;
  retryAfterSeconds?: number;
  /** The `Reason` header, as sent (what it means: `refusalOf`). */
  reasonHeader?: string;
  /** A write an earlier attempt of which may have been applied (no answer, or an answer that did not say). */
  unknownBefore?: boolean;
  /** What to tell the user after a 401 that could not be recovered. */
  unauthorizedAdvice?: string;
  /** The connection error, kept as the error's cause. */
  cause?: unknown;
  /** An idempotent write (a Basecamp 2 DELETE), which is re-sent after answers that leave its outcome unknown. */
  idempotent?: boolean;
}

export function errorForFailure(f: FailedRequest): BasecampError {
  const { details, answers } = f;
  const method = details.method ?? 'GET';
  const path = details.path?.split('?')[0] ?? '';
  const what = `${method} ${path}`;
  const said = details.basecampMessage ? `: ${details.basecampMessage}` : '';
  const cause = f.cause === undefined ? undefined : { cause: f.cause };
  switch (f.failure) {
    case 'cancelled':
      return new CancelledError('Cancelled.', details, cause);
    case 'cancelled-in-flight':
      return new OutcomeUnknownError(`Cancelled while ${what} was in flight: Basecamp may or may not have applied it. Check before trying again.`, details, cause);
    case 'outcome-unknown':
      if (details.status === undefined) {
        return new OutcomeUnknownError(`${what}: ${f.reason} after the request was sent. Basecamp may or may not have applied it. ${resendHistory(answers, f.idempotent)} Check the current state before trying again.`, details, cause);
      }
      return new OutcomeUnknownError(`Basecamp answered ${details.status} to ${what}${said}. It may or may not have applied the change. ${resendHistory(answers, f.idempotent)} Check the current state before trying again.`, details);
    case 'not-sent':
      return new NetworkError(
        `Could not reach Basecamp (${f.reason}); the change was not sent${answers.length > 1 ? ` this time, and the earlier answers (${answers.slice(0, -1).join(', ')}) mean it was not applied before` : ''}, so nothing changed. Try again later.`,
        details,
        cause,
      );
    case 'network':
      return new NetworkError(`Could not read from Basecamp: ${f.reason}${attemptsNote(answers)}.`, details, cause);
    case 'outcome-unreadable':
      return new OutcomeUnknownError(
        `Basecamp answered ${details.status} to ${what} with a body that is not JSON, so what it changed is unknown (it most likely applied it). ${resendHistory(answers, f.idempotent)} Check the current state before trying again.`,
        details,
      );
    case 'not-json':
      return new UpstreamError(`Basecamp answered ${details.status} with a body that is not JSON.`, details);
    case 'rate-limited': {
      const attempts = answers.length > 1 ? attemptsNote(answers) : ' (429)';
      const notApplied = f.write ? ` ${notAppliedHistory(answers)}.` : '';
      const s = f.retryAfterSeconds ?? 0;
      return new RateLimitedError(`Basecamp's rate limit was reached${attempts}.${notApplied} Try again in ${s} s.`, s, details);
    }
    case 'retries-exhausted':
      // Only statuses that prove "not applied" are retried for a write, so this one was never applied.
      return new UpstreamError(
        `Basecamp answered ${details.status} to ${what}${said}${attemptsNote(answers)}.${f.write ? ` ${notAppliedHistory(answers)}.` : ''} Try again later.`,
        details,
      );
    case 'seat-limit':
      return new SeatLimitError(
        `Basecamp refused ${what}: the account has no client seat left (429 without Retry-After)${said}. Nothing was created or changed, and waiting will not help. Free a seat (remove a client from the account in Adminland) or upgrade the plan, then try again.`,
        details,
      );
    case 'status':
      return errorForStatus(f, what, said);
  }
}

function errorForStatus(f: FailedRequest, what: string, said: string): BasecampError {
  const { details } = f;
  switch (details.status) {
    case 401:
      return new AuthenticationError(
        `Basecamp rejected the access token (401)${said}. ${f.unauthorizedAdvice ?? `Sign in again with \`${shellCommand('login')}\`, or set a valid BASECAMP_ACCESS_TOKEN.`}`,
        details,
      );
    case 403:
      return new ForbiddenError(
        `Basecamp refused ${what} (403)${said}. The signed-in person is not allowed to do this (usually: not an admin, or cannot manage that project).`,
        details,
      );
    case 404:
      return errorFor404(f, what);
    case 400:
    case 415:
    case 422:
      return new ValidationRejectedError(`Basecamp rejected ${what} (${details.status})${said}.`, details);
    case 507:
      return new PlanLimitError(`Basecamp's plan limit is reached (507)${said}. Upgrade the plan or free up room first.`, details);
    default:
      if (f.write) return errorForFailure({ ...f, failure: 'outcome-unknown' });
      return new UpstreamError(`Basecamp answered ${details.status} to ${what}${said}${attemptsNote(f.answers)}. Try again later.`, details);
  }
}

/**
 * A 404: about the thing asked for, or (with a `Reason` header) about the whole account. An account-wide
 * refusal of a write that an earlier attempt may have carried out says so: this answer proves nothing about it.
 */
function errorFor404(f: FailedRequest, what: string): BasecampError {
  const { details } = f;
  const earlier = f.write && f.unknownBefore ? ` An earlier attempt of ${what} got no clear answer (${f.answers.slice(0, -1).join(', ')}), so whether it was applied then is unknown: check before trying again.` : '';
  switch (refusalOf(f.reasonHeader)) {
    case 'account-inactive':
      return new AccountInactiveError(
        `This Basecamp account is inactive (expired trial, cancelled or suspended); Basecamp answers 404 for everything in it, so ${what} was not carried out.${earlier} Reactivate it in Basecamp, or select another account.`,
        details,
      );
    case 'api-disabled':
      return new ApiDisabledError(
        `An admin turned off API access for this Basecamp account (404, Reason: API Disabled), so no app can read or change anything in it; ${what} was not carried out.${earlier} ` +
          'Ask an admin or the owner of the account to turn API access back on in Basecamp (Adminland, the account settings), then try again.',
        details,
      );
    case 'other':
      // Not not_found: a reason is about the account, and callers read not_found as "that thing is not there".
      return new UpstreamError(
        `Basecamp answered 404 to ${what} with Reason: ${f.reasonHeader}: a refusal about the account, not proof that what was asked for is missing; it was not carried out.${earlier} Check the account in Basecamp.`,
        details,
      );
    case undefined:
      return new NotFoundError(`Not found (404): ${what}. It does not exist, was deleted, or this token cannot see it.${earlier}`, details);
  }
}

/** " (after 3 attempts: 503, 502, 504)" when there was more than one request; "" otherwise. */
function attemptsNote(answers: readonly string[]): string {
  return answers.length > 1 ? ` (after ${answers.length} attempts: ${answers.join(', ')})` : '';
}

const times = (n: number) => (n === 1 ? 'once' : `${n} times`);

/** A write whose every answer proved it was not applied (only such answers lead to a re-send). */
function notAppliedHistory(answers: readonly string[]): string {
  const resent = answers.length - 1;
  return resent === 0
    ? 'That answer means the change was not applied, so nothing changed'
    : `Each of those answers means the change was not applied, so it was re-sent ${times(resent)}; it was never applied, so nothing changed`;
}

/**
 * For a write whose last attempt has an unknown outcome: whether it had been re-sent before (only after
 * answers that prove "not applied"), and that it was not re-sent after this one.
 */
function resendHistory(answers: readonly string[], idempotent = false): string {
  const earlier = answers.slice(0, -1);
  if (earlier.length === 0) return 'It was not re-sent.';
  if (idempotent) return `It is safe to send twice, so it had been re-sent ${times(earlier.length)} after answers that left its outcome unknown (${earlier.join(', ')}); it was not re-sent after this last attempt.`;
  return `It had been re-sent ${times(earlier.length)} after answers that mean it was not applied (${earlier.join(', ')}); it was not re-sent after this last attempt.`;
}
