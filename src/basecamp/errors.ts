/**
 * Basecamp's failures: what Basecamp (or Launchpad) answered, or that it could not be reached, each a
 * BasecampError with its status and request id and an explicit wire `kind`. The project-wide vocabulary
 * (KnownError, ToolError, ERROR_KINDS) is src/errors.ts. Which of these a failed request becomes, and in which
 * words: rules/telling.ts.
 */
import { KnownError, type FailureOptions } from '../errors.js';

export interface UpstreamDetails {
  status?: number;
  /** Basecamp's own error text (`{"error": ...}` or flattened `{"errors": {...}}`). */
  basecampMessage?: string;
  /** A per-row 422 (`{"errors": [...]}`) as data: each row Basecamp refused, and why. */
  rows?: RowRefusal[];
  requestId?: string;
  method?: string;
  path?: string;
}

/** One row of a per-row 422: its 0-based position in the request (enrollments) or its address (client_users.json; a blank row: null). */
export interface RowRefusal {
  index?: number;
  email_address?: string | null;
  message: string;
}

/** Basecamp (or Launchpad) answered with a failure, or could not be reached; carries what it said. */
export class BasecampError extends KnownError {
  readonly kind: string = 'basecamp';
  readonly status?: number;
  readonly basecampMessage?: string;
  readonly rows?: RowRefusal[];
  readonly requestId?: string;
  readonly method?: string;
  readonly path?: string;

  constructor(message: string, details: UpstreamDetails = {}, options?: FailureOptions) {
    super(message, options);
    this.status = details.status;
    this.basecampMessage = details.basecampMessage;
    this.rows = details.rows;
    this.requestId = details.requestId;
    this.method = details.method;
    this.path = details.path;
  }

  /** What this answer was (status, Basecamp's words, request id, where), for a failure that retells it. */
  get upstream(): UpstreamDetails {
    return { status: this.status, basecampMessage: this.basecampMessage, rows: this.rows, requestId: this.requestId, method: this.method, path: this.path };
  }
}

/** 401: the token is missing, wrong or expired, and could not be refreshed. */
export class AuthenticationError extends BasecampError {
  override readonly kind = 'authentication';
  /** True when signing in again (`basecamp-people-mcp login`) is the only fix. */
  readonly signInAgain: boolean;
  constructor(message: string, details: UpstreamDetails & { signInAgain?: boolean } = {}, options?: FailureOptions) {
    super(message, details, options);
    this.signInAgain = details.signInAgain ?? true;
  }
}

/** A refresh that failed for a passing reason (network, Launchpad 5xx): the stored sign-in is kept; try again. */
export class TokenRefreshUnavailableError extends BasecampError {
  override readonly kind = 'token_refresh_unavailable';
}

/** 403: the token's person may not do this (usually: not an admin, or cannot manage the project). */
export class ForbiddenError extends BasecampError {
  override readonly kind = 'forbidden';
}

/** 404: deleted, missing, or invisible to this token. */
export class NotFoundError extends BasecampError {
  override readonly kind = 'not_found';
}

/** 404 with `Reason: Account Inactive`. */
export class AccountInactiveError extends BasecampError {
  override readonly kind = 'account_inactive';
}

/** 404 with `Reason: API Disabled`: an admin turned API access off for the whole account. Nothing there is reachable. */
export class ApiDisabledError extends BasecampError {
  override readonly kind = 'api_disabled';
}

/** 422 / 400 / 415: Basecamp rejected the content of the request. */
export class ValidationRejectedError extends BasecampError {
  override readonly kind = 'validation_rejected';
}

/** 507: the plan's limit is reached. */
export class PlanLimitError extends BasecampError {
  override readonly kind = 'plan_limit';
}

/** A 429 without Retry-After on client_users.json: the account has no client seat left. A verdict, not throttling. */
export class SeatLimitError extends BasecampError {
  override readonly kind = 'seat_limit';
}

/** 429 that we did not (or could no longer) wait out, or a budget pause longer than we wait. */
export class RateLimitedError extends BasecampError {
  override readonly kind = 'rate_limited';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, details: UpstreamDetails = {}, options?: FailureOptions) {
    super(message, details, options);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 5xx after the retries allowed, or a response we cannot use. */
export class UpstreamError extends BasecampError {
  override readonly kind = 'upstream';
}

/** No response at all (connection refused, DNS, timeout) for a read after retries, or a write never sent. */
export class NetworkError extends BasecampError {
  override readonly kind = 'network';
}

/**
 * A write whose outcome we cannot know: the request may have reached Basecamp, but the answer did not
 * reach us (timeout, dropped connection, 5xx from a gateway, an answer that does not say). Never re-sent.
 */
export class OutcomeUnknownError extends BasecampError {
  override readonly kind = 'outcome_unknown';
}

/** The request was cancelled by the caller (MCP cancellation). */
export class CancelledError extends BasecampError {
  override readonly kind = 'cancelled';
}
