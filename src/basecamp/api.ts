import { OutcomeUnknownError } from './errors.js';
import type { BasecampHttp, Collection } from './http.js';
import { asAccount, asPerson, asProject, isPersonRecord } from './records.js';
import type { AccessChange, AccessResult, Account, Person, Project, ProjectStatus } from './types.js';

/** Typed Basecamp 4 calls used by the tools. Knows nothing about MCP. */
export class BasecampApi {
  constructor(private readonly http: BasecampHttp) {}

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
   * PUT /projects/:id/people/users.json. Basecamp silently drops ids it will not grant (not a person on the
   * account, a client, a removed person). An answer that does not list what changed is OutcomeUnknownError.
   */
  async updateProjectPeople(projectId: number, change: AccessChange, signal?: AbortSignal): Promise<AccessResult> {
    const body: AccessChange = {};
    if (change.grant?.length) body.grant = change.grant;
    if (change.revoke?.length) body.revoke = change.revoke;
    if (change.create?.length) body.create = change.create;
    const path = `/projects/${projectId}/people/users.json`;
    const res = await this.http.request<unknown>('PUT', path, { body, signal });
    const result = parseAccessResult(res.data, { granted: !!(body.grant || body.create), revoked: !!body.revoke });
    if (!result) {
      const requestId = res.headers['x-request-id'];
      throw new OutcomeUnknownError(
        `Basecamp answered ${res.status} but did not say what it changed on project ${projectId}; it may or may not have ` +
          `applied; it was not re-sent. Check with list_people project_id=${projectId} before trying again.`,
        { status: res.status, method: 'PUT', path, requestId: typeof requestId === 'string' ? requestId : undefined },
      );
    }
    return result;
  }
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

