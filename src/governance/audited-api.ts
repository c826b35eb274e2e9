import type { PeopleApi } from '../basecamp/api.js';
import { CancelledError, KnownError, OutcomeUnknownError } from '../basecamp/errors.js';
import type { AccessChange, AccessResult, Enrollment, Membership } from '../basecamp/types.js';
import { normalEmail } from '../basecamp/directory.js';
import { log } from '../log.js';
import type { AuditChange, AuditLine, AuditLog, AuditOutcome } from './audit-log.js';

/** Who and what one tool call is: the fields every line of its audit trail carries. */
export interface CallRecord {
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
 * with Basecamp's X-Request-Id. Tools cannot write around it: this is the only API they are given.
 */
export function auditedApi(api: PeopleApi, trail: AuditLog | undefined, call: CallRecord): PeopleApi {
  if (!trail) return api;
  const write = async <T extends { requestId?: string }>(
    request: string,
    changes: AuditChange[],
    signal: AbortSignal | undefined,
    send: () => Promise<T>,
    outcomes: (result: T) => AuditChange[],
    /** For a write of several requests: what a failure part-way did (its `result`), change by change. */
    partial?: (done: Record<string, unknown>, change: AuditChange) => AuditOutcome | undefined,
  ): Promise<T> => {
    const id = trail.newId();
    const base = await lineBase(call, signal);
    await trail.append({ ...base, time: new Date().toISOString(), id, phase: 'intent', request, changes });
    let result: T;
    try {
      result = await send();
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
          const done = partial && error instanceof KnownError && error.result ? partial(error.result, c) : undefined;
          return done ? { ...c, outcome: done, ...(done === 'applied' ? {} : { error: 'not sent: an earlier request of this write failed' }) } : { ...c, outcome, error: error instanceof Error ? error.message : String(error) };
        }),
      });
      throw error;
    }
    await appendOutcome(trail, { ...base, time: new Date().toISOString(), id, phase: 'outcome', request, ...(result.requestId ? { request_id: result.requestId } : {}), changes: outcomes(result) });
    return result;
  };

  return {
    capabilities: (signal) => api.capabilities(signal),
    accessRequest: (projectId, change, as, signal) => api.accessRequest(projectId, change, as, signal),
    listRemovedPeople: (signal) => api.listRemovedPeople(signal),
    personProjects: (personId, signal) => api.personProjects(personId, signal),
    listPeople: (signal) => api.listPeople(signal),
    listProjectPeople: (projectId, signal) => api.listProjectPeople(projectId, signal),
    getPerson: (personId, signal) => api.getPerson(personId, signal),
    myProfile: async (signal) => {
      const me = await api.myProfile(signal);
      await call.sawIdentity?.(me, signal);
      return me;
    },
    getAccount: (signal) => api.getAccount(signal),
    listProjects: (status, signal) => api.listProjects(status, signal),
    getProject: (projectId, signal) => api.getProject(projectId, signal),

    async updateProjectPeople(projectId: number, change: AccessChange, as: Membership = 'team', signal?: AbortSignal) {
      const request = await api.accessRequest(projectId, change, as, signal);
      const changes: AuditChange[] = [
        ...(change.grant ?? []).map((person) => ({ person, project_id: projectId, action: 'grant' })),
        ...(change.revoke ?? []).map((person) => ({ person, project_id: projectId, action: 'revoke' })),
        ...(change.create ?? []).map((p) => ({ person: p.email_address, project_id: projectId, action: 'create' })),
      ];
      // Basecamp 2 sends one DELETE per revoke: a failure part-way carries who was already done and who was not tried.
      const partial = (done: Record<string, unknown>, c: AuditChange): AuditOutcome | undefined => {
        const ids = (list: unknown) => new Set(Array.isArray(list) ? list.map((p: { id?: unknown } | number) => (typeof p === 'number' ? p : p.id)) : []);
        if (!Array.isArray(done.revoked) && !Array.isArray(done.not_attempted)) return undefined;
        if (c.action === 'revoke' && ids(done.revoked).has(c.person)) return 'applied';
        if (c.action === 'grant' && ids(done.granted).has(c.person)) return 'applied';
        if (c.action === 'revoke' && ids(done.not_attempted).has(c.person)) return 'cancelled';
        return undefined;
      };
      return write(request, changes, signal, () => api.updateProjectPeople(projectId, change, as, signal), (r: AccessResult) => {
        const granted = new Set(r.granted.map((p) => p.id));
        const grantedEmails = new Set(r.granted.flatMap((p) => (p.email_address ? [normalEmail(p.email_address)] : [])));
        const revoked = new Set(r.revoked.map((p) => p.id));
        return changes.map((c) => {
          const applied =
            c.action === 'grant' ? granted.has(c.person as number) : c.action === 'revoke' ? revoked.has(c.person as number) : grantedEmails.has(normalEmail(c.person as string));
          return { ...c, outcome: applied ? 'applied' : 'ignored' };
        });
      }, partial);
    },

    setClientsEnabled(projectId: number, enabled: boolean, signal?: AbortSignal) {
      const changes: AuditChange[] = [{ project_id: projectId, action: enabled ? 'enable_clients' : 'disable_clients' }];
      return write(`${enabled ? 'POST' : 'DELETE'} /projects/${projectId}/client_enablement.json`, changes, signal, () => api.setClientsEnabled(projectId, enabled, signal), (r) =>
        changes.map((c) => ({ ...c, outcome: r.enabled === enabled ? 'applied' : 'ignored' })),
      );
    },

    removeFromAccount(personId: number, signal?: AbortSignal) {
      const changes: AuditChange[] = [{ person: personId, action: 'remove_from_account' }];
      return write(`DELETE /people/${personId}.json`, changes, signal, () => api.removeFromAccount(personId, signal), (r) =>
        changes.map((c) => ({ ...c, outcome: 'applied' as const, ...(r.alreadyGone ? { detail: 'already gone (a re-sent DELETE answered 404)' } : {}) })),
      );
    },

    async enrollPeople(enrollment: Enrollment, signal?: AbortSignal) {
      const changes: AuditChange[] = enrollment.people.map((p) => ({ person: p.email_address, action: 'enroll' }));
      const request = 'POST /account/enrollments/people.json';
      type Answer = Awaited<ReturnType<PeopleApi['enrollPeople']>>;
      const answered = await write<{ answer: Answer; requestId?: string }>(
        request,
        changes,
        signal,
        async () => {
          const answer = await api.enrollPeople(enrollment, signal);
          return { answer, requestId: answer === 'unavailable' ? undefined : answer.requestId };
        },
        ({ answer }) =>
          answer === 'unavailable'
            ? changes.map((c) => ({ ...c, outcome: 'ignored' as const, error: 'account-level invitations are not available on this account (404); nothing was created' }))
            : changes.map((c, i) => ({ ...c, person: answer.enrolled[i]?.person.id ?? c.person, outcome: 'applied' as const, ...(answer.enrolled[i] ? { detail: answer.enrolled[i].status } : {}) })),
      );
      return answered.answer;
    },
  };
}

async function lineBase(call: CallRecord, signal?: AbortSignal): Promise<Pick<AuditLine, 'tool' | 'identity' | 'account' | 'arguments' | 'plan_token_id'>> {
  const [identity, account] = await Promise.all([call.identity(signal), call.account(signal)]);
  return { tool: call.tool, identity, account, arguments: call.arguments, ...(call.planTokenId ? { plan_token_id: call.planTokenId } : {}) };
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
  const base = await lineBase(call, signal).catch(() => ({ tool: call.tool, identity: null, account: null, arguments: call.arguments }));
  const line: AuditLine = { ...base, time: new Date().toISOString(), id: trail.newId(), phase: 'decision', changes: changes.map((c) => ({ ...c, outcome })), note };
  // Required (a plan that hands out a token): a failure to record it fails the call. Otherwise best-effort, logged.
  if (options.required) await trail.append(line);
  else await appendOutcome(trail, line);
}
