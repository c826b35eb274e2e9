import { afterEach, describe, expect, it } from 'vitest';
import * as basecampErrors from '../src/basecamp/errors.js';
import * as projectErrors from '../src/errors.js';
import { ERROR_KINDS } from '../src/errors.js';
import { BasecampError } from '../src/basecamp/errors.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { errorResult } from '../src/results.js';
import { call, connectClient, sandboxService } from './helpers.js';

/** Every error class: the project's vocabulary (src/errors.ts) and Basecamp's answers (src/basecamp/errors.ts). */
const errors = { ...projectErrors, ...basecampErrors };

/** The wire contract: each class and the `error` kind clients see. Renaming a class must not change these. */
const PINNED: Record<string, string> = {
  BasecampError: 'basecamp',
  InvalidInputError: 'invalid_input',
  NotConfiguredError: 'not_configured',
  NotSignedInError: 'not_signed_in',
  ConfigurationError: 'configuration',
  AuthenticationError: 'authentication',
  TokenRefreshUnavailableError: 'token_refresh_unavailable',
  ForbiddenError: 'forbidden',
  NotFoundError: 'not_found',
  AccountInactiveError: 'account_inactive',
  ApiDisabledError: 'api_disabled',
  ValidationRejectedError: 'validation_rejected',
  PlanLimitError: 'plan_limit',
  SeatLimitError: 'seat_limit',
  RateLimitedError: 'rate_limited',
  RateBudgetUnavailableError: 'rate_budget_unavailable',
  UpstreamError: 'upstream',
  NetworkError: 'network',
  OutcomeUnknownError: 'outcome_unknown',
  CancelledError: 'cancelled',
  NoHqProjectError: 'no_hq_project',
  NotSupportedError: 'not_supported',
  IncompleteDataError: 'incomplete',
  EmailsHiddenError: 'emails_hidden',
  ConfirmationFailedError: 'confirmation_failed',
  ConfirmationRequiredError: 'confirmation_required',
  PlanChangedError: 'plan_changed',
  HumanRequiredError: 'human_required',
  AuditUnavailableError: 'audit_unavailable',
  PlanClaimUnavailableError: 'plan_claim_unavailable',
  SnapshotsUnavailableError: 'snapshots_unavailable',
  RoleForbiddenError: 'role_forbidden',
};

const wireKind = (error: unknown): string => {
  const text = errorResult('some_tool', error).content[0]!.text;
  return (JSON.parse(text.slice(text.lastIndexOf('\n\n') + 2)) as { error: string }).error;
};

describe('error kinds on the wire', () => {
  it('every error class has its pinned kind, and errorResult puts exactly that kind on the wire', () => {
    // Every concrete class (KnownError and ToolError are abstract bases with no kind of their own).
    const classes = Object.entries(errors).filter(
      (e): e is [string, typeof BasecampError] =>
        typeof e[1] === 'function' && e[1].prototype instanceof errors.KnownError && e[1] !== errors.ToolError,
    );
    expect(classes.map(([name]) => name).sort()).toEqual(Object.keys(PINNED).sort());
    for (const [name, Cls] of classes) {
      const error = name === 'RateLimitedError' ? new errors.RateLimitedError('x', 5) : new Cls('x');
      expect(error.kind, name).toBe(PINNED[name]);
      expect(wireKind(error), name).toBe(PINNED[name]);
    }
    expect([...Object.values(PINNED), 'internal'].sort()).toEqual([...ERROR_KINDS].sort());
  });

  it('failures found here are ToolErrors, Basecamp\'s answers BasecampErrors; only the latter carry status and request id', () => {
    for (const Cls of [errors.InvalidInputError, errors.NotConfiguredError, errors.ConfigurationError, errors.NoHqProjectError, errors.NotSupportedError, errors.IncompleteDataError, errors.ConfirmationFailedError, errors.RateBudgetUnavailableError]) {
      expect(new Cls('x')).toBeInstanceOf(errors.ToolError);
      expect(new Cls('x')).not.toBeInstanceOf(BasecampError);
    }
    const upstream = new errors.NotFoundError('gone', { status: 404, requestId: 'r-9' });
    expect(upstream).not.toBeInstanceOf(errors.ToolError);
    const text = errorResult('some_tool', upstream).content[0]!.text;
    expect(JSON.parse(text.slice(text.lastIndexOf('\n\n') + 2))).toEqual({ error: 'not_found', status: 404, request_id: 'r-9' });
  });

  it('a kind does not depend on the class name (a renamed subclass keeps it)', () => {
    class RenamedNotFound extends errors.NotFoundError {}
    expect(wireKind(new RenamedNotFound('gone'))).toBe('not_found');
  });

  it('anything that is not one of ours is "internal", a bug', () => {
    expect(wireKind(new TypeError('boom'))).toBe('internal');
    expect(wireKind('a string')).toBe('internal');
  });

  it('details travel with the kind: retry_after_seconds, outcome, status and request id', () => {
    const text = errorResult('t', new errors.RateLimitedError('slow', 42, { status: 429, requestId: 'r-1' })).content[0]!.text;
    const wire = JSON.parse(text.slice(text.lastIndexOf('\n\n') + 2)) as Record<string, unknown>;
    expect(wire).toMatchObject({ error: 'rate_limited', retry_after_seconds: 42, status: 429, request_id: 'r-1' });
    const unknown = errorResult('t', new errors.OutcomeUnknownError('?')).content[0]!.text;
    expect(unknown).toContain('"outcome":"unknown"');
  });
});

describe('error kinds through a real MCP client', () => {
  let sb: Sandbox | undefined;
  let service: Service | undefined;
  afterEach(async () => {
    await service?.close();
    await sb?.close();
    sb = service = undefined;
  });

  it('not_found and invalid_input arrive as isError results with their kinds', async () => {
    sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
    service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
    const client = await connectClient(service);
    const missing = await call(client, 'get_person', { person_id: 424242 });
    expect(missing.isError).toBe(true);
    expect(missing.content[0]!.text).toContain('"error":"not_found"');
    const bad = await call(client, 'trash_person', { person_id: 1, email: 'a@b.example' });
    expect(bad.isError).toBe(true);
    expect(bad.content[0]!.text).toContain('"error":"invalid_input"');
    await client.close();
  });
});
