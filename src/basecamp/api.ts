import { NotSupportedError } from '../errors.js';
import { NotFoundError, OutcomeUnknownError } from './errors.js';
import { requestIdOf, type BasecampHttp, type Collection } from './http.js';
import { asAccount, asPerson, asProject, isPersonRecord } from './records.js';
import type { AccessChange, AccessResult, Account, Capabilities, Enrolled, Enrollment, Membership, Person, Project, ProjectStatus } from './types.js';

/** What removeFromAccount did: removed now, or (a re-sent DELETE answered 404) already gone after an earlier try. */
export interface Removal {
  removed: true;
  alreadyGone?: boolean;
  requestId?: string;
}

/**
 * The people administration the tools use: reads, and the writes the audit trail records. Basecamp 3/4/5
 * (BasecampApi) and Basecamp 2 (Basecamp2Api, bcx-api.ts) implement it; `capabilities` says what this
 * account's product can do, and a method it cannot do throws NotSupportedError before sending anything.
 */
export interface PeopleApi {
  capabilities(signal?: AbortSignal): Promise<Capabilities>;
  listPeople(signal?: AbortSignal): Promise<Collection<Person>>;
  listProjectPeople(projectId: number, signal?: AbortSignal): Promise<Collection<Person>>;
  getPerson(personId: number, signal?: AbortSignal): Promise<Person>;
  myProfile(signal?: AbortSignal): Promise<Person>;
  getAccount(signal?: AbortSignal): Promise<Account>;
  listProjects(status?: ProjectStatus, signal?: AbortSignal): Promise<Collection<Project>>;
  getProject(projectId: number, signal?: AbortSignal): Promise<Project>;
  updateProjectPeople(projectId: number, change: AccessChange, as?: Membership, signal?: AbortSignal): Promise<AccessResult>;
  setClientsEnabled(projectId: number, enabled: boolean, signal?: AbortSignal): Promise<{ enabled: boolean; requestId?: string }>;
  enrollPeople(enrollment: Enrollment, signal?: AbortSignal): Promise<{ enrolled: Enrolled[]; requestId?: string } | 'unavailable'>;
  /** The people already removed from the account (capabilities.removedPeople). */
  listRemovedPeople(signal?: AbortSignal): Promise<Collection<Person>>;
  /** Every project one person can access, in one request (capabilities.personProjects). */
  personProjects(personId: number, signal?: AbortSignal): Promise<Collection<Project>>;
  /** Removes the person from the whole account (capabilities.removeFromAccount). */
  removeFromAccount(personId: number, signal?: AbortSignal): Promise<Removal>;
  /** How updateProjectPeople sends this change, as the audit trail records it (e.g. `PUT /projects/1/people/users.json`). */
  accessRequest(projectId: number, change: AccessChange, as?: Membership, signal?: AbortSignal): Promise<string>;
}

type ApiMethod = keyof PeopleApi;

/** What a method of PeopleApi must be listed as: a read or a write, if it takes its AbortSignal last. */
type MethodKind<K extends ApiMethod> = Required<Parameters<PeopleApi[K]>> extends [...unknown[], AbortSignal] ? 'read' | 'write' : 'must take its AbortSignal last';

/**
 * Every PeopleApi method, a read or a write: the forwarding layers (account-api.ts, governance/audited-api.ts)
 * are derived from this list, and a write is recorded by its rule in audited-api.ts's WRITE_RULES. A method
 * missing here, or one whose last parameter is not its AbortSignal, does not compile.
 */
export const API_METHODS = {
  capabilities: 'read',
  listPeople: 'read',
  listProjectPeople: 'read',
  getPerson: 'read',
  myProfile: 'read',
  getAccount: 'read',
  listProjects: 'read',
  getProject: 'read',
  listRemovedPeople: 'read',
  personProjects: 'read',
  accessRequest: 'read',
  updateProjectPeople: 'write',
  setClientsEnabled: 'write',
  enrollPeople: 'write',
  removeFromAccount: 'write',
} as const satisfies { [K in ApiMethod]: MethodKind<K> };

export type WriteMethod = { [K in ApiMethod]: (typeof API_METHODS)[K] extends 'write' ? K : never }[ApiMethod];

export function isWrite(method: ApiMethod): method is WriteMethod {
  return API_METHODS[method] === 'write';
}

/** The AbortSignal of one call's arguments (every PeopleApi method takes it last). */
export function signalOf(args: readonly unknown[]): AbortSignal | undefined {
  const last = args[args.length - 1];
  return last instanceof AbortSignal ? last : undefined;
}

/** A PeopleApi whose every method (API_METHODS) hands its name and arguments to `forward`. */
export function forwardingApi(forward: (method: ApiMethod, args: unknown[]) => Promise<unknown>): PeopleApi {
  const methods = Object.keys(API_METHODS) as ApiMethod[];
  return Object.fromEntries(methods.map((method) => [method, (...args: unknown[]) => forward(method, args)])) as unknown as PeopleApi;
}

/** Calls one method of `api` by name, as forwardingApi's layers do. */
export function callMethod(api: PeopleApi, method: ApiMethod, args: unknown[]): Promise<unknown> {
  return (api[method] as (...a: unknown[]) => Promise<unknown>).apply(api, args);
}

/** Basecamp 3/4/5's capabilities for an account (its Adminland is at 3.basecamp.com). */
export function basecamp4Capabilities(accountId: number): Capabilities {
  return {
    product: 'bc3',
    productName: 'Basecamp',
    hq: true,
    accountInvitations: true,
    namesInvitees: true,
    removeFromAccount: false,
    removedPeople: false,
    personProjects: false,
    trashedProjects: true,
    clientSwitch: true,
    clientsInDirectory: true,
    ownerKnown: true,
    companiesKnown: true,
    peopleAdminUrl: `https://3.basecamp.com/${accountId}/account/people`,
  };
}

/** Typed Basecamp 3/4/5 calls used by the tools. Knows nothing about MCP. */
/** How long a 404 from the enrollments endpoint is believed (an account may gain them later). */
const NO_ENROLLMENTS_MEMORY_MS = 60 * 60_000;

export class BasecampApi implements PeopleApi {
  private noEnrollmentsUntil = 0;
  private readonly caps: Capabilities;
  constructor(
    private readonly http: BasecampHttp,
    account: { id: number } = { id: 0 },
  ) {
    this.caps = basecamp4Capabilities(account.id);
  }

  async capabilities(): Promise<Capabilities> {
    return this.caps;
  }

  async accessRequest(projectId: number, _change: AccessChange, as: Membership = 'team'): Promise<string> {
    return `PUT /projects/${projectId}/people/${as === 'client' ? 'client_users' : 'users'}.json`;
  }

  async listRemovedPeople(): Promise<Collection<Person>> {
    throw new NotSupportedError(
      'Basecamp\'s API cannot list the people removed from the account. list_people with types ["Tombstone"] shows the removed people it still lists.',
    );
  }

  async personProjects(personId: number): Promise<Collection<Project>> {
    throw new NotSupportedError(`Basecamp 3/4/5 has no endpoint for one person's projects (person ${personId}): each project's people must be read.`);
  }

  async removeFromAccount(personId: number): Promise<Removal> {
    throw new NotSupportedError(
      `Basecamp's API cannot remove a person from the account (person ${personId}); nothing was sent. An admin does it in Adminland: ${this.caps.peopleAdminUrl}.`,
    );
  }

  listPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    return this.list('/people.json', asPerson, { signal });
  }

  listProjectPeople(projectId: number, signal?: AbortSignal): Promise<Collection<Person>> {
    return this.list(`/projects/${projectId}/people.json`, asPerson, { signal });
  }

  async getPerson(personId: number, signal?: AbortSignal): Promise<Person> {
    return this.one(`/people/${personId}.json`, asPerson, signal);
  }

  async myProfile(signal?: AbortSignal): Promise<Person> {
    return this.one('/my/profile.json', asPerson, signal);
  }

  async getAccount(signal?: AbortSignal): Promise<Account> {
    return this.one('/account.json', asAccount, signal);
  }

  listProjects(status: ProjectStatus = 'active', signal?: AbortSignal): Promise<Collection<Project>> {
    return this.list('/projects.json', asProject, { query: status === 'active' ? undefined : { status }, signal });
  }

  async getProject(projectId: number, signal?: AbortSignal): Promise<Project> {
    return this.one(`/projects/${projectId}.json`, asProject, signal);
  }

  private async one<T>(path: string, as: (value: unknown, where: string) => T, signal?: AbortSignal): Promise<T> {
    return as((await this.http.request<unknown>('GET', path, { signal })).data, `GET ${path}`);
  }

  private async list<T>(path: string, as: (value: unknown, where: string) => T, opts: { query?: Record<string, string>; signal?: AbortSignal }): Promise<Collection<T>> {
    const all = await this.http.getAll<unknown>(path, opts);
    return { ...all, items: all.items.map((item) => as(item, `GET ${path}`)) };
  }

  /**
   * PUT /projects/:id/people/users.json (team members) or client_users.json (clients). Basecamp silently drops
   * ids it will not grant there (not a person on the account, a removed person, and on each endpoint the other
   * kind of person). An answer that does not list what changed is OutcomeUnknownError. On client_users.json a
   * 429 without Retry-After means the account has no client seat left: SeatLimitError, never retried.
   */
  async updateProjectPeople(projectId: number, change: AccessChange, as: Membership = 'team', signal?: AbortSignal): Promise<AccessResult> {
    const body: AccessChange = {};
    if (change.grant?.length) body.grant = change.grant;
    if (change.revoke?.length) body.revoke = change.revoke;
    if (change.create?.length) body.create = change.create;
    const path = `/projects/${projectId}/people/${as === 'client' ? 'client_users' : 'users'}.json`;
    const res = await this.http.request<unknown>('PUT', path, { body, signal, seatLimited: as === 'client' });
    const result = parseAccessResult(res.data, { granted: !!(body.grant || body.create), revoked: !!body.revoke });
    if (!result) throw unreadableWrite(res, 'PUT', path, `did not say what it changed on project ${projectId}`, `list_people project_id=${projectId}`);
    return { ...result, requestId: requestIdOf(res) };
  }

  /** POST (on) or DELETE (off) /projects/:id/client_enablement.json; resolves with the project's state after. */
  async setClientsEnabled(projectId: number, enabled: boolean, signal?: AbortSignal): Promise<{ enabled: boolean; requestId?: string }> {
    const path = `/projects/${projectId}/client_enablement.json`;
    const res = await this.http.request<unknown>(enabled ? 'POST' : 'DELETE', path, { signal });
    const state = (res.data as { clients_enabled?: unknown } | null)?.clients_enabled;
    if (typeof state !== 'boolean') throw unreadableWrite(res, enabled ? 'POST' : 'DELETE', path, 'did not say whether clients are now on', `list_projects`);
    return { enabled: state, requestId: requestIdOf(res) };
  }

  /**
   * POST /account/enrollments/people.json: invites a batch to the account (and to the projects it may manage;
   * others are skipped silently, so read membership back). 'unavailable' when the account has no enrollments
   * (404): nothing was created, and the caller falls back to a project's users.json.
   */
  async enrollPeople(enrollment: Enrollment, signal?: AbortSignal): Promise<{ enrolled: Enrolled[]; requestId?: string } | 'unavailable'> {
    const path = '/account/enrollments/people.json';
    // An account without enrollments answered 404 recently: do not spend a request of the budget asking again.
    if (this.noEnrollmentsUntil > Date.now()) return 'unavailable';
    let res;
    try {
      res = await this.http.request<unknown>('POST', path, { body: enrollment, signal });
    } catch (error) {
      if (error instanceof NotFoundError) {
        this.noEnrollmentsUntil = Date.now() + NO_ENROLLMENTS_MEMORY_MS;
        return 'unavailable';
      }
      throw error;
    }
    const rows = Array.isArray(res.data) ? res.data : undefined;
    const enrolled = rows?.length === enrollment.people.length ? rows.map(asEnrolled) : undefined;
    if (!enrolled || enrolled.includes(undefined)) {
      throw unreadableWrite(res, 'POST', path, 'did not list every person of the batch with its status', 'list_people query=<email>');
    }
    return { enrolled: enrolled as Enrolled[], requestId: requestIdOf(res) };
  }
}

/** A 2xx to a write whose answer we cannot read: Basecamp took it, what it did is unknown. */
function unreadableWrite(res: { status: number; headers: Record<string, string | string[] | undefined> }, method: string, path: string, what: string, check: string): OutcomeUnknownError {
  return new OutcomeUnknownError(
    `Basecamp answered ${res.status} but ${what}; it may or may not have applied; it was not re-sent. Check with ${check} before trying again.`,
    { status: res.status, method, path, requestId: requestIdOf(res) },
  );
}

function asEnrolled(row: unknown): Enrolled | undefined {
  const status = (row as { status?: unknown } | null)?.status;
  if ((status !== 'created' && status !== 'existing') || !isPersonRecord(row)) return undefined;
  return { person: asPerson(row, 'the enrollment answer'), status };
}

/** Basecamp's `{granted, revoked}`, or undefined when a list we need to read the outcome is missing or malformed. */
function parseAccessResult(data: unknown, needed: { granted: boolean; revoked: boolean }): AccessResult | undefined {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return undefined;
  const { granted, revoked } = data as { granted?: unknown; revoked?: unknown };
  const people = (list: unknown, required: boolean): Person[] | undefined => {
    if (list === undefined && !required) return [];
    if (!Array.isArray(list) || !list.every(isPersonRecord)) return undefined;
    return list.map((p) => asPerson(p, 'the answer'));
  };
  const grantedPeople = people(granted, needed.granted);
  const revokedPeople = people(revoked, needed.revoked);
  return grantedPeople && revokedPeople ? { granted: grantedPeople, revoked: revokedPeople } : undefined;
}

