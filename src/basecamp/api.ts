import type { BasecampHttp, Collection } from './http.js';
import type { AccessChange, AccessResult, Account, Person, Project, ProjectStatus } from './types.js';

/** Typed Basecamp 4 calls used by the tools. Knows nothing about MCP. */
export class BasecampApi {
  constructor(readonly http: BasecampHttp) {}

  listPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    return this.http.getAll<Person>('/people.json', { signal });
  }

  listProjectPeople(projectId: number, signal?: AbortSignal): Promise<Collection<Person>> {
    return this.http.getAll<Person>(`/projects/${projectId}/people.json`, { signal });
  }

  async getPerson(personId: number, signal?: AbortSignal): Promise<Person> {
    return (await this.http.request<Person>('GET', `/people/${personId}.json`, { signal })).data;
  }

  async myProfile(signal?: AbortSignal): Promise<Person> {
    return (await this.http.request<Person>('GET', '/my/profile.json', { signal })).data;
  }

  async getAccount(signal?: AbortSignal): Promise<Account> {
    return (await this.http.request<Account>('GET', '/account.json', { signal })).data;
  }

  listProjects(status: ProjectStatus = 'active', signal?: AbortSignal): Promise<Collection<Project>> {
    return this.http.getAll<Project>('/projects.json', {
      query: status === 'active' ? undefined : { status },
      signal,
    });
  }

  async getProject(projectId: number, signal?: AbortSignal): Promise<Project> {
    return (await this.http.request<Project>('GET', `/projects/${projectId}.json`, { signal })).data;
  }

  /** PUT /projects/:id/people/users.json. Basecamp silently drops ids that are not people on the account. */
  async updateProjectPeople(projectId: number, change: AccessChange, signal?: AbortSignal): Promise<AccessResult> {
    const body: AccessChange = {};
    if (change.grant?.length) body.grant = change.grant;
    if (change.revoke?.length) body.revoke = change.revoke;
    if (change.create?.length) body.create = change.create;
    const res = await this.http.request<Partial<AccessResult>>('PUT', `/projects/${projectId}/people/users.json`, {
      body,
      signal,
    });
    return { granted: res.data?.granted ?? [], revoked: res.data?.revoked ?? [] };
  }
}
