import type { PeopleApi, Removal } from './api.js';
import type { Collection } from './http.js';
import type { AccessChange, AccessResult, Account, Capabilities, Enrolled, Enrollment, Membership, Person, Project, ProjectStatus } from './types.js';

/**
 * The PeopleApi of whichever account the server is signed in to: each call finds the account's backend first
 * (Basecamp 3/4/5 or Basecamp 2, by the product Launchpad or the token file names; the sign-in may change while
 * running) and hands the call to it. Nothing else here: the backends do the work, the tools ask `capabilities`.
 */
export class AccountApi implements PeopleApi {
  constructor(private readonly backend: (signal?: AbortSignal) => Promise<PeopleApi>) {}

  private async on<T>(signal: AbortSignal | undefined, call: (api: PeopleApi) => Promise<T>): Promise<T> {
    return call(await this.backend(signal));
  }

  capabilities(signal?: AbortSignal): Promise<Capabilities> {
    return this.on(signal, (api) => api.capabilities(signal));
  }
  accessRequest(projectId: number, change: AccessChange, as?: Membership, signal?: AbortSignal): Promise<string> {
    return this.on(signal, (api) => api.accessRequest(projectId, change, as, signal));
  }
  listPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    return this.on(signal, (api) => api.listPeople(signal));
  }
  listProjectPeople(projectId: number, signal?: AbortSignal): Promise<Collection<Person>> {
    return this.on(signal, (api) => api.listProjectPeople(projectId, signal));
  }
  getPerson(personId: number, signal?: AbortSignal): Promise<Person> {
    return this.on(signal, (api) => api.getPerson(personId, signal));
  }
  myProfile(signal?: AbortSignal): Promise<Person> {
    return this.on(signal, (api) => api.myProfile(signal));
  }
  getAccount(signal?: AbortSignal): Promise<Account> {
    return this.on(signal, (api) => api.getAccount(signal));
  }
  listProjects(status?: ProjectStatus, signal?: AbortSignal): Promise<Collection<Project>> {
    return this.on(signal, (api) => api.listProjects(status, signal));
  }
  getProject(projectId: number, signal?: AbortSignal): Promise<Project> {
    return this.on(signal, (api) => api.getProject(projectId, signal));
  }
  updateProjectPeople(projectId: number, change: AccessChange, as?: Membership, signal?: AbortSignal): Promise<AccessResult> {
    return this.on(signal, (api) => api.updateProjectPeople(projectId, change, as, signal));
  }
  setClientsEnabled(projectId: number, enabled: boolean, signal?: AbortSignal): Promise<{ enabled: boolean; requestId?: string }> {
    return this.on(signal, (api) => api.setClientsEnabled(projectId, enabled, signal));
  }
  enrollPeople(enrollment: Enrollment, signal?: AbortSignal): Promise<{ enrolled: Enrolled[]; requestId?: string } | 'unavailable'> {
    return this.on(signal, (api) => api.enrollPeople(enrollment, signal));
  }
  listRemovedPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    return this.on(signal, (api) => api.listRemovedPeople(signal));
  }
  personProjects(personId: number, signal?: AbortSignal): Promise<Collection<Project>> {
    return this.on(signal, (api) => api.personProjects(personId, signal));
  }
  removeFromAccount(personId: number, signal?: AbortSignal): Promise<Removal> {
    return this.on(signal, (api) => api.removeFromAccount(personId, signal));
  }
}
