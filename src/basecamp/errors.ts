/**
 * Every failure the Basecamp client can produce. Tools never see raw HTTP: they catch these and
 * `toToolError` (src/tools/result.ts) turns each one into a message a model can act on.
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
export class InvalidInputError extends BasecampError {}

/** No credentials are configured, or the configuration is unusable. */
export class NotConfiguredError extends BasecampError {}

/** 401: the token is missing, wrong or expired, and could not be refreshed. */
export class AuthenticationError extends BasecampError {
  /** True when signing in again (`basecamp-people-mcp login`) is the only fix. */
  readonly signInAgain: boolean;
  constructor(message: string, details: UpstreamDetails & { signInAgain?: boolean } = {}, options?: { cause?: unknown }) {
    super(message, details, options);
    this.signInAgain = details.signInAgain ?? true;
  }
}

/** 403: the token's person may not do this (usually: not an admin, or cannot manage the project). */
export class ForbiddenError extends BasecampError {}

/** 404: deleted, missing, or invisible to this token. */
export class NotFoundError extends BasecampError {}

/** 404 with `Reason: Account Inactive`. */
export class AccountInactiveError extends BasecampError {}

/** 422 / 400: Basecamp rejected the content of the request. */
export class ValidationRejectedError extends BasecampError {}

/** 507: the plan's limit is reached. */
export class PlanLimitError extends BasecampError {}

/** 429 that we did not (or could no longer) wait out. */
export class RateLimitedError extends BasecampError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, details: UpstreamDetails = {}) {
    super(message, details);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** 5xx after the retries allowed, or a response we cannot use. */
export class UpstreamError extends BasecampError {}

/** No response at all (connection refused, DNS, timeout) for a read, after retries. */
export class NetworkError extends BasecampError {}

/**
 * A write whose outcome we cannot know: the request may have reached Basecamp, but the answer did not
 * reach us (timeout, dropped connection, 5xx from a gateway). It is never re-sent automatically.
 */
export class OutcomeUnknownError extends BasecampError {}

/** The request was cancelled by the caller (MCP cancellation). */
export class CancelledError extends BasecampError {}
