/**
 * The one error vocabulary. Every failure a tool can report is one of these classes, and each carries an
 * explicit wire `kind` (the `error` field of an isError result): renaming a class never changes the
 * contract. `toToolError`'s counterpart, `errorResult` (src/results.ts), turns them into results.
 * Anything that is not a BasecampError is reported as kind `internal`: a real bug.
 */

export interface UpstreamDetails {
  status?: number;
  /** Basecamp's own error text (`{"error": ...}` or flattened `{"errors": {...}}`). */
  basecampMessage?: string;
  requestId?: string;
  method?: string;
  path?: string;
}

export class BasecampError extends Error {
  /** The wire name of this failure. Subclasses set their own; never derive it from the class name. */
  readonly kind: string = 'basecamp';
  readonly status?: number;
  readonly basecampMessage?: string;
  readonly requestId?: string;
  readonly method?: string;
  readonly path?: string;

  constructor(message: string, details: UpstreamDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.status = details.status;
    this.basecampMessage = details.basecampMessage;
    this.requestId = details.requestId;
    this.method = details.method;
    this.path = details.path;
  }
}

/** The caller's input is wrong; nothing was sent. */
export class InvalidInputError extends BasecampError {
  override readonly kind = 'invalid_input';
}

/** No credentials are configured. */
export class NotConfiguredError extends BasecampError {
  override readonly kind = 'not_configured';
}

/** The configuration exists but is unusable (a corrupt or unreadable token file, a bad setting). */
export class ConfigurationError extends BasecampError {
  override readonly kind = 'configuration';
}

/** 401: the token is missing, wrong or expired, and could not be refreshed. */
export class AuthenticationError extends BasecampError {
  override readonly kind = 'authentication';
  /** True when signing in again (`basecamp-people-mcp login`) is the only fix. */
  readonly signInAgain: boolean;
  constructor(message: string, details: UpstreamDetails & { signInAgain?: boolean } = {}, options?: { cause?: unknown }) {
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

/** 422 / 400 / 415: Basecamp rejected the content of the request. */
export class ValidationRejectedError extends BasecampError {
  override readonly kind = 'validation_rejected';
}

/** 507: the plan's limit is reached. */
export class PlanLimitError extends BasecampError {
  override readonly kind = 'plan_limit';
}

/** 429 that we did not (or could no longer) wait out, or a budget pause longer than we wait. */
export class RateLimitedError extends BasecampError {
  override readonly kind = 'rate_limited';
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, details: UpstreamDetails = {}) {
    super(message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The shared (Redis) rate budget cannot be used: requests are refused, never sent past the budget. */
export class RateBudgetUnavailableError extends BasecampError {
  override readonly kind = 'rate_budget_unavailable';
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

/** Basecamp 4 has no "invite to the account" endpoint, so the HQ stands in for "the company"; there is none. */
export class NoHqProjectError extends BasecampError {
  override readonly kind = 'no_hq_project';
}

/** A listing could not be read to the end, so an answer that depends on all of it would be a guess. */
export class IncompleteDataError extends BasecampError {
  override readonly kind = 'incomplete';
}

/** Asking the human (elicitation) failed on the client's side: nothing was changed. */
export class ConfirmationFailedError extends BasecampError {
  override readonly kind = 'confirmation_failed';
}

/** Every kind on the wire, pinned by a test: adding one is fine, renaming one breaks clients. */
export const ERROR_KINDS = [
  'basecamp',
  'invalid_input',
  'not_configured',
  'configuration',
  'authentication',
  'token_refresh_unavailable',
  'forbidden',
  'not_found',
  'account_inactive',
  'validation_rejected',
  'plan_limit',
  'rate_limited',
  'rate_budget_unavailable',
  'upstream',
  'network',
  'outcome_unknown',
  'cancelled',
  'no_hq_project',
  'incomplete',
  'confirmation_failed',
  'internal',
] as const;
