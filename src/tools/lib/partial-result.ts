import { KnownError, ToolError } from '../../errors.js';
import { BasecampError, CancelledError, OutcomeUnknownError, RateLimitedError } from '../../basecamp/errors.js';

/**
 * The one place a tool's partial result is put on a failure: a write that stopped part-way is told by the
 * failure that stopped it, carrying what was and was not done (its `result`, the isError result's structured
 * content). Tools and engines call this once, where the tool's result is known; nothing rewrites it afterwards.
 */

/**
 * The failure that stopped a sweep part-way, told with `message` and carrying `result`. It keeps the kind of what
 * stopped it where the client acts on it (outcome unknown, wait and retry).
 */
export function stoppedPartway(cause: unknown, told: { message: string; result: Record<string, unknown> }): KnownError {
  const { message, result } = told;
  // Failures found here (the audit trail could not be written, the call was cancelled) keep their own kind, and
  // say what was done before them, not only what was not.
  if (cause instanceof ToolError || cause instanceof CancelledError) {
    cause.message = message;
    cause.result = result;
    return cause;
  }
  if (cause instanceof OutcomeUnknownError) return new OutcomeUnknownError(message, {}, { cause, result });
  if (cause instanceof RateLimitedError) return new RateLimitedError(message, cause.retryAfterSeconds, {}, { cause, result });
  return new BasecampError(message, {}, { cause, result });
}
