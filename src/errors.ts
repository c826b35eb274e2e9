/**
 * The project's error vocabulary. Every failure a tool can report is a KnownError, and each carries an explicit
 * wire `kind` (the `error` field of an isError result): renaming a class never changes the contract.
 * `errorResult` (src/results.ts) turns them into results; anything that is not a KnownError is reported as kind
 * `internal`: a real bug. ToolError: a failure found here (bad input, configuration, a guess refused), by any
 * layer. Basecamp's answers are BasecampErrors (src/basecamp/errors.ts), told by src/basecamp/rules/telling.ts.
 */

/** Options every known failure takes: the cause, and for a write that was partly done, its structured result. */
export interface FailureOptions {
  cause?: unknown;
  /** What was and was not done (a sweep stopped part-way): the isError result carries it as structuredContent. */
  result?: Record<string, unknown>;
  /**
   * What a write of several requests had done when it failed (Basecamp 2 revokes one request at a time), set by the
   * layer that sent them. Data for the layers above (the audit trail, the tool that builds its `result` from it);
   * never shown as it is.
   */
  partial?: Record<string, unknown>;
  /**
   * Lines shown after the message (a plan, say): the message itself is always shown on one line. Whoever builds
   * them escapes each field put in a line with `oneLine` (src/one-line.ts).
   */
  text?: string;
}

/** Every failure this server knows how to tell. Anything else that reaches a tool result is a bug (`internal`). */
export abstract class KnownError extends Error {
  /** The wire name of this failure. Subclasses set their own; never derive it from the class name. */
  abstract readonly kind: string;
  /** Set at construction, or by withResult where a write stopped part-way: the tool's own partial result. */
  result?: Record<string, unknown>;
  /** FailureOptions.partial, or set by withPartial: what the write that failed had done, as its sender knows it. */
  partial?: Record<string, unknown>;
  /** Lines after the one-line message (FailureOptions.text). */
  readonly text?: string;
  constructor(message: string, options?: FailureOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.result = options?.result;
    this.partial = options?.partial;
    this.text = options?.text;
  }
}

/** The same failure, now also carrying what was and was not done before it (anything else passes unchanged). */
export function withResult(error: unknown, result: Record<string, unknown>): unknown {
  if (error instanceof KnownError) error.result = result;
  return error;
}

/** The same failure, now also carrying what the write that failed had done (anything else passes unchanged). */
export function withPartial(error: unknown, partial: Record<string, unknown>): unknown {
  if (error instanceof KnownError) error.partial = partial;
  return error;
}

/** The same failure, its message followed by what else had been done before it (anything else passes unchanged). */
export function withNote(error: unknown, note: string): unknown {
  if (error instanceof KnownError) error.message = `${error.message} ${note}`;
  return error;
}

/** A failure found here, before or without Basecamp: bad input, missing or broken configuration, a guess refused. */
export abstract class ToolError extends KnownError {
  constructor(message: string, options?: FailureOptions) {
    super(message, options);
  }
}

/** The caller's input is wrong; nothing was sent. */
export class InvalidInputError extends ToolError {
  override readonly kind = 'invalid_input';
}

/** No credentials are configured. */
export class NotConfiguredError extends ToolError {
  override readonly kind = 'not_configured';
}

/** One account a sign-in reaches, for choosing (Basecamp 3/4/5: `bc3`, Basecamp 2: `bcx`). */
export interface AccountChoice {
  id: number;
  name: string;
  product: string;
}

/** Where a sign-in from inside the client stands (src/auth/in-client-sign-in.ts). */
export type SignInState =
  | { state: 'idle' }
  /** Waiting for the browser at `url` until `expiresAt` (epoch ms). */
  | { state: 'pending'; url: string; expiresAt: number }
  /** Signed in (the token file is written, without an account) and the sign-in reaches several accounts: choose one. */
  | { state: 'choose'; accounts: AccountChoice[]; identity?: string }
  | { state: 'done'; account: AccountChoice; identity?: string }
  /** Refused, failed or timed out; nothing was saved. The next sign-in starts afresh. */
  | { state: 'failed'; reason: string };

/** What the protocol layer needs of a sign-in in progress: await it, and finish it with the account the person chose. */
export interface SignInFlow {
  state(): SignInState;
  /** Resolves with the state once it is no longer `pending`, or with the current state when `signal` aborts first. */
  wait(signal?: AbortSignal): Promise<SignInState>;
  /** In state `choose`: writes the chosen account into the token file. Throws InvalidInputError for an id not offered. */
  choose(accountId: number): Promise<AccountChoice>;
}

/**
 * No token, and this server can sign in from inside the client (BASECAMP_CLIENT_ID and BASECAMP_CLIENT_SECRET set):
 * the person opens `signInUrl` (also in the message and as structuredContent `sign_in_url`), and the next call
 * works. Or the sign-in is done and reaches several accounts: `accounts` lists them (structuredContent too), to be
 * chosen. Raised where the token is needed, before any request to Basecamp.
 */
export class NotSignedInError extends ToolError {
  override readonly kind = 'not_signed_in';
  readonly signInUrl?: string;
  readonly accounts?: AccountChoice[];
  /** The sign-in this error is about (undefined only when built by hand). */
  readonly flow?: SignInFlow;
  constructor(message: string, options?: FailureOptions & { signInUrl?: string; accounts?: AccountChoice[]; flow?: SignInFlow; expiresAt?: number }) {
    super(message, {
      ...options,
      result: options?.result ?? {
        ...(options?.signInUrl ? { sign_in_url: options.signInUrl } : {}),
        ...(options?.expiresAt ? { expires_at: new Date(options.expiresAt).toISOString() } : {}),
        ...(options?.accounts ? { accounts: options.accounts } : {}),
      },
    });
    this.signInUrl = options?.signInUrl;
    this.accounts = options?.accounts;
    this.flow = options?.flow;
  }
}

/** The configuration exists but is unusable (a corrupt or unreadable token file, a bad setting). */
export class ConfigurationError extends ToolError {
  override readonly kind = 'configuration';
}

/** The shared (Redis) rate budget cannot be used: requests are refused, never sent past the budget. */
export class RateBudgetUnavailableError extends ToolError {
  override readonly kind = 'rate_budget_unavailable';
}

/** Basecamp 3/4/5 has no "invite to the account" endpoint, so the HQ stands in for "the company"; there is none. */
export class NoHqProjectError extends ToolError {
  override readonly kind = 'no_hq_project';
}

/** This account's Basecamp (its product) has no API for what was asked: nothing was sent. */
export class NotSupportedError extends ToolError {
  override readonly kind = 'not_supported';
}

/** A listing could not be read to the end, so an answer that depends on all of it would be a guess. */
export class IncompleteDataError extends ToolError {
  override readonly kind = 'incomplete';
}

/**
 * An email address cannot be looked up: Basecamp masks other people's addresses for this sign-in (it shows them
 * only to admins and owners), so "nobody has it" would be a guess. Use ids, or sign in as an admin or owner.
 */
export class EmailsHiddenError extends ToolError {
  override readonly kind = 'emails_hidden';
  /** The addresses that could not be looked up. */
  readonly addresses: string[];
  constructor(message: string, options?: FailureOptions & { addresses?: string[] }) {
    super(message, options);
    this.addresses = options?.addresses ?? [];
  }
}

/** Asking the human (elicitation) failed on the client's side: nothing was changed. */
export class ConfirmationFailedError extends ToolError {
  override readonly kind = 'confirmation_failed';
}

/** The audit trail cannot be written: the write was not sent (every write is recorded first). */
export class AuditUnavailableError extends ToolError {
  override readonly kind = 'audit_unavailable';
}

/** A destructive write needs a human's answer or an exact plan (a plan_token from a dry run); nothing was changed. */
export class ConfirmationRequiredError extends ToolError {
  override readonly kind = 'confirmation_required';
}

/** The plan_token no longer matches (expired, altered, someone else, or the account changed): nothing was changed. */
export class PlanChangedError extends ToolError {
  override readonly kind = 'plan_changed';
}

/** The fleet's record of used plan tokens (Redis) cannot be reached, so a plan_token cannot be claimed: nothing was changed. */
export class PlanClaimUnavailableError extends ToolError {
  override readonly kind = 'plan_claim_unavailable';
}

/** people_changes cannot read or write its snapshots of the people directory (file or Redis): it cannot compare. */
export class SnapshotsUnavailableError extends ToolError {
  override readonly kind = 'snapshots_unavailable';
}

/** BASECAMP_CONFIRM=human and the client cannot ask a human: nothing was changed. */
export class HumanRequiredError extends ToolError {
  override readonly kind = 'human_required';
}

/**
 * The caller's role (its key, MCP_HTTP_CLIENTS) does not allow this call: an operator asking to revoke, say. Refused
 * before anything is read or sent. Not `forbidden`, which is Basecamp's own 403.
 */
export class RoleForbiddenError extends ToolError {
  override readonly kind = 'role_forbidden';
}

/** Every kind on the wire, pinned by a test: adding one is fine, renaming one breaks clients. */
export const ERROR_KINDS = [
  'basecamp',
  'invalid_input',
  'not_configured',
  'not_signed_in',
  'configuration',
  'authentication',
  'token_refresh_unavailable',
  'forbidden',
  'not_found',
  'account_inactive',
  'api_disabled',
  'validation_rejected',
  'plan_limit',
  'seat_limit',
  'rate_limited',
  'rate_budget_unavailable',
  'upstream',
  'network',
  'outcome_unknown',
  'cancelled',
  'no_hq_project',
  'not_supported',
  'incomplete',
  'emails_hidden',
  'confirmation_failed',
  'confirmation_required',
  'plan_changed',
  'human_required',
  'audit_unavailable',
  'plan_claim_unavailable',
  'snapshots_unavailable',
  'role_forbidden',
  'internal',
] as const;
