import { callMethod, isWrite, forwardingApi, signalOf, type PeopleApi, type WriteMethod } from '../basecamp/api.js';
import { KnownError } from '../errors.js';
import { CancelledError, OutcomeUnknownError } from '../basecamp/errors.js';
import type { Person } from '../basecamp/types.js';
import { normalEmail } from '../basecamp/directory.js';
import { log } from '../log.js';
import type { AuditChange, AuditLine, AuditLog, AuditOutcome } from './audit-log.js';

/** Who and what one tool call is: the fields every line of its audit trail carries. */
export interface CallRecord {
  /** Who called (src/caller.ts): a key's name, MCP_HTTP_TOKEN, anonymous or stdio. */
  caller: string;
  tool: string;
  arguments: Record<string, unknown>;
  /** Set once consent was given with a plan token; recorded on the writes that follow. */
  planTokenId?: string;
  identity(signal?: AbortSignal): Promise<{ id: number; email_address: string | null } | null>;
  /** Told of every profile the tool reads, so the identity costs no second request. */
  sawIdentity?(person: { id: number; email_address?: string | null }, signal?: AbortSignal): Promise<void>;
  account(signal?: AbortSignal): Promise<number | null>;
}

/**
 * The API as a tool call sees it: reads pass through; every write appends its intent to the audit trail before it
 * is sent (an intent that cannot be recorded stops the write) and its outcome after, per person and project,
 * with Basecamp's X-Request-Id. Tools cannot write around it: this is the only API they are given. Derived from
 * API_METHODS (api.ts): each write is recorded by its rule in WRITE_RULES.
 */
export function auditedApi(api: PeopleApi, trail: AuditLog | undefined, call: CallRecord): PeopleApi {
  if (!trail) return api;
  return forwardingApi(async (method, args) => {
    if (isWrite(method)) return recordedWrite(api, trail, call, WRITE_RULES[method], method, args);
    const result = await callMethod(api, method, args);
    // The profile read tells the call who is signed in, so its identity costs no second request.
    if (method === 'myProfile') await call.sawIdentity?.(result as Person, signalOf(args));
    return result;
  });
}

/** How the audit trail records one write: its request, the changes it asks for, and what became of them. */
interface WriteRule<K extends WriteMethod = WriteMethod> {
  /** The request as the trail names it (e.g. `PUT /projects/1/people/users.json`). */
  request(api: PeopleApi, ...args: Parameters<PeopleApi[K]>): string | Promise<string>;
  /** The intent: one change per person and project. */
  changes(...args: Parameters<PeopleApi[K]>): AuditChange[];
  /** The outcome of each change, from the write's answer. */
  outcomes(answer: Awaited<ReturnType<PeopleApi[K]>>, changes: AuditChange[], ...args: Parameters<PeopleApi[K]>): AuditChange[];
  /** For a write of several requests: what a failure part-way did (its `result`), change by change. */
  partial?(done: Record<string, unknown>, change: AuditChange): AuditOutcome | undefined;
}

const WRITE_RULES: { [K in WriteMethod]: WriteRule<K> } = {
  updateProjectPeople: {
    request: (api, projectId, change, as = 'team', signal) => api.accessRequest(projectId, change, as, signal),
    changes: (projectId, change) => [
      ...(change.grant ?? []).map((person) => ({ person, project_id: projectId, action: 'grant' })),
      ...(change.revoke ?? []).map((person) => ({ person, project_id: projectId, action: 'revoke' })),
      ...(change.create ?? []).map((p) => ({ person: p.email_address, project_id: projectId, action: 'create' })),
    ],
    outcomes: (r, changes) => {
      const granted = new Set(r.granted.map((p) => p.id));
      const grantedEmails = new Set(r.granted.flatMap((p) => (p.email_address ? [normalEmail(p.email_address)] : [])));
      const revoked = new Set(r.revoked.map((p) => p.id));
      return changes.map((c) => {
        const applied =
          c.action === 'grant' ? granted.has(c.person as number) : c.action === 'revoke' ? revoked.has(c.person as number) : grantedEmails.has(normalEmail(c.person as string));
        return { ...c, outcome: applied ? 'applied' : 'ignored' };
      });
    },
    // Basecamp 2 sends one DELETE per revoke: a failure part-way carries who was already done and who was not tried.
    partial: (done, c) => {
      const ids = (list: unknown) => new Set(Array.isArray(list) ? list.map((p: { id?: unknown } | number) => (typeof p === 'number' ? p : p.id)) : []);
      if (!Array.isArray(done.revoked) && !Array.isArray(done.not_attempted)) return undefined;
      if (c.action === 'revoke' && ids(done.revoked).has(c.person)) return 'applied';
      if (c.action === 'grant' && ids(done.granted).has(c.person)) return 'applied';
      if (c.action === 'revoke' && ids(done.not_attempted).has(c.person)) return 'cancelled';
      return undefined;
    },
  },
  setClientsEnabled: {
    request: (_api, projectId, enabled) => `${enabled ? 'POST' : 'DELETE'} /projects/${projectId}/client_enablement.json`,
    changes: (projectId, enabled) => [{ project_id: projectId, action: enabled ? 'enable_clients' : 'disable_clients' }],
    outcomes: (r, changes, _projectId, enabled) => changes.map((c) => ({ ...c, outcome: r.enabled === enabled ? 'applied' : 'ignored' })),
  },
  removeFromAccount: {
    request: (_api, personId) => `DELETE /people/${personId}.json`,
    changes: (personId) => [{ person: personId, action: 'remove_from_account' }],
    outcomes: (r, changes) => changes.map((c) => ({ ...c, outcome: 'applied' as const, ...(r.alreadyGone ? { detail: 'already gone (a re-sent DELETE answered 404)' } : {}) })),
  },
  enrollPeople: {
    request: () => 'POST /account/enrollments/people.json',
    changes: (enrollment) => enrollment.people.map((p) => ({ person: p.email_address, action: 'enroll' })),
    outcomes: (answer, changes) =>
      answer === 'unavailable'
        ? changes.map((c) => ({ ...c, outcome: 'ignored' as const, error: 'account-level invitations are not available on this account (404); nothing was created' }))
        : changes.map((c, i) => ({ ...c, person: answer.enrolled[i]?.person.id ?? c.person, outcome: 'applied' as const, ...(answer.enrolled[i] ? { detail: answer.enrolled[i].status } : {}) })),
  },
};

/** One write by its rule: the intent appended (or the write stopped), the write sent, its outcome appended. */
async function recordedWrite(api: PeopleApi, trail: AuditLog, call: CallRecord, rule: WriteRule, method: WriteMethod, args: unknown[]): Promise<unknown> {
  const ruleArgs = args as Parameters<PeopleApi[WriteMethod]>;
  const signal = signalOf(args);
  const request = await rule.request(api, ...ruleArgs);
  const changes = rule.changes(...ruleArgs);
  const id = trail.newId();
  const base = await lineBase(call, signal);
  await trail.append({ ...base, time: new Date().toISOString(), id, phase: 'intent', request, changes });
  let result: Awaited<ReturnType<PeopleApi[WriteMethod]>>;
  try {
    result = (await callMethod(api, method, args)) as typeof result;
  } catch (error) {
    const outcome = outcomeOfFailure(error);
    await appendOutcome(trail, {
      ...base,
      time: new Date().toISOString(),
      id,
      phase: 'outcome',
      request,
      ...(error instanceof KnownError && 'requestId' in error && typeof error.requestId === 'string' ? { request_id: error.requestId } : {}),
      changes: changes.map((c) => {
        const done = rule.partial && error instanceof KnownError && error.partial ? rule.partial(error.partial, c) : undefined;
        return done ? { ...c, outcome: done, ...(done === 'applied' ? {} : { error: 'not sent: an earlier request of this write failed' }) } : { ...c, outcome, error: error instanceof Error ? error.message : String(error) };
      }),
    });
    throw error;
  }
  const requestId = typeof result === 'object' ? result.requestId : undefined;
  await appendOutcome(trail, { ...base, time: new Date().toISOString(), id, phase: 'outcome', request, ...(requestId ? { request_id: requestId } : {}), changes: rule.outcomes(result, changes, ...ruleArgs) });
  return result;
}

async function lineBase(call: CallRecord, signal?: AbortSignal): Promise<Pick<AuditLine, 'caller' | 'tool' | 'identity' | 'account' | 'arguments' | 'plan_token_id'>> {
  const [identity, account] = await Promise.all([call.identity(signal), call.account(signal)]);
  return { caller: call.caller, tool: call.tool, identity, account, arguments: call.arguments, ...(call.planTokenId ? { plan_token_id: call.planTokenId } : {}) };
}

function outcomeOfFailure(error: unknown): AuditOutcome {
  if (error instanceof OutcomeUnknownError) return 'unknown';
  if (error instanceof CancelledError) return 'cancelled';
  return 'failed';
}

/**
 * The write happened (or was tried): a failure to record its outcome must not turn its result into a failure. The
 * error says what was sent and that its outcome is not recorded.
 */
async function appendOutcome(trail: AuditLog, line: AuditLine): Promise<void> {
  await trail.append(line).catch((error: unknown) => log.error(error instanceof Error ? error.message : String(error)));
}

/** A decision made before any write (a dry run's plan, a refusal, a human's no), as one audit line. */
export async function recordDecision(
  trail: AuditLog | undefined,
  call: CallRecord,
  outcome: AuditOutcome,
  changes: AuditChange[],
  note: string,
  signal?: AbortSignal,
  options: { required?: boolean } = {},
): Promise<void> {
  if (!trail) return;
  const base = await lineBase(call, signal).catch(() => ({ caller: call.caller, tool: call.tool, identity: null, account: null, arguments: call.arguments }));
  const line: AuditLine = { ...base, time: new Date().toISOString(), id: trail.newId(), phase: 'decision', changes: changes.map((c) => ({ ...c, outcome })), note };
  // Required (a plan that hands out a token): a failure to record it fails the call. Otherwise best-effort, logged.
  if (options.required) await trail.append(line);
  else await appendOutcome(trail, line);
}
