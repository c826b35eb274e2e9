import type { PeopleApi, Removal } from './api.js';
import { NotSupportedError, withPartial } from '../errors.js';
import { ForbiddenError, OutcomeUnknownError, UpstreamError } from './errors.js';
import { requestIdOf, type BasecampHttp, type Collection } from './http.js';
import { asPerson, asProject } from './records.js';
import type { AccessChange, AccessResult, Account, Capabilities, Enrolled, Enrollment, Membership, Person, Project, ProjectStatus } from './types.js';

/**
 * Typed Basecamp 2 ("bcx") calls behind the same PeopleApi as Basecamp 3/4/5 (docs/basecamp-api.md, "Basecamp 2").
 * `http`'s accountBase is the account's API base (`https://basecamp.com/{account_id}/api/v1`, Launchpad's `href`).
 * Basecamp 2 JSON is mapped to the shared types: a person gets `personable_type` 'User' ('Tombstone' when
 * `trashed`), `owner` and `employee` null (Basecamp 2 does not say), and `client` only where Basecamp 2 knows it
 * (a project's accesses: `is_client`; null elsewhere).
 * A project gets `status` from `archived`/`trashed`, `purpose: 'topic'` and `clients_enabled: is_client_project`.
 * Knows nothing about MCP; retries and write safety are the client's (src/basecamp/rules/).
 */

/** Basecamp 2 serves a project's accesses 50 to a page (`?page=N`, no Link header). */
export const BCX_ACCESSES_PER_PAGE = 50;

/** What Launchpad's authorization.json says about the account (Basecamp 2 has no account endpoint). */
export interface BcxAccountInfo {
  id: number;
  name: string;
}

/** Basecamp 2's capabilities for an account: no HQ, no account-level invitations, but a real removal. */
export function basecamp2Capabilities(accountId: number): Capabilities {
  return {
    product: 'bcx',
    productName: 'Basecamp 2',
    hq: false,
    accountInvitations: false,
    namesInvitees: false,
    removeFromAccount: true,
    removedPeople: true,
    personProjects: true,
    trashedProjects: false,
    clientSwitch: false,
    clientsInDirectory: false,
    ownerKnown: false,
    companiesKnown: false,
    peopleAdminUrl: `https://basecamp.com/${accountId}/people`,
  };
}

export class Basecamp2Api implements PeopleApi {
  private readonly caps: Capabilities;
  constructor(
    private readonly http: BasecampHttp,
    private readonly account: BcxAccountInfo,
  ) {
    this.caps = basecamp2Capabilities(account.id);
  }

  async capabilities(): Promise<Capabilities> {
    return this.caps;
  }

  async accessRequest(projectId: number, change: AccessChange, as: Membership = 'team'): Promise<string> {
    const parts = [];
    if (change.grant?.length || change.create?.length) parts.push(`POST /projects/${projectId}/${as === 'client' ? 'client_accesses' : 'accesses'}.json`);
    if (change.revoke?.length) parts.push(`DELETE /projects/${projectId}/accesses/{person_id}.json ×${change.revoke.length}`);
    return parts.join(' + ');
  }

  /** GET /people.json: every person on the account, in one response (no paging). */
  async listPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    return this.people('/people.json', signal);
  }

  /** GET /projects/:id/accesses.json, 50 a page: page N+1 is asked while page N is full. `is_client` → client. */
  async listProjectPeople(projectId: number, signal?: AbortSignal): Promise<Collection<Person>> {
    const path = `/projects/${projectId}/accesses.json`;
    const all = await this.http.getAllByPage<unknown>(path, BCX_ACCESSES_PER_PAGE, { signal });
    return { ...all, items: all.items.map((item) => bcxPerson(item, `GET ${path}`, true)) };
  }

  async getPerson(personId: number, signal?: AbortSignal): Promise<Person> {
    return this.one(`/people/${personId}.json`, (v, where) => bcxPerson(v, where), signal);
  }

  /** GET /people/me.json. */
  async myProfile(signal?: AbortSignal): Promise<Person> {
    return this.one('/people/me.json', (v, where) => bcxPerson(v, where), signal);
  }

  /**
   * Basecamp 2 has no account endpoint: the id and name are Launchpad's. The people and project counts are
   * cheap there (each list is one response), so they come along: three requests.
   */
  async getAccount(signal?: AbortSignal): Promise<Account> {
    const [people, projects, archived] = await Promise.all([this.listPeople(signal), this.listProjects('active', signal), this.listProjects('archived', signal)]);
    return {
      id: this.account.id,
      name: this.account.name,
      product: 'bcx',
      people_count: people.items.length,
      projects_count: projects.items.length,
      archived_projects_count: archived.items.length,
    };
  }

  /** 'active' → GET /projects.json, 'archived' → GET /projects/archived.json; 'trashed' is refused, nothing sent. */
  async listProjects(status: ProjectStatus = 'active', signal?: AbortSignal): Promise<Collection<Project>> {
    if (status === 'trashed') {
      throw new NotSupportedError(
        'Basecamp 2\'s API cannot list trashed projects, only active and archived ones (status active or archived). Look in the Trash in Basecamp; a person\'s projects (get_person include_projects) include deleted ones.',
      );
    }
    const path = status === 'archived' ? '/projects/archived.json' : '/projects.json';
    return this.projects(path, signal);
  }

  async getProject(projectId: number, signal?: AbortSignal): Promise<Project> {
    return this.one(`/projects/${projectId}.json`, bcxProject, signal);
  }

  /**
   * grant + create → ONE `POST /projects/:id/accesses.json` (client_accesses.json for clients) with `{ids,
   * email_addresses}`; its 204 says nothing, so `granted` is read back from the project's accesses (the people
   * asked for, by id or address, now on it as that kind of member). revoke → the project's accesses are read
   * first (who is on it), then one `DELETE /projects/:id/accesses/:person_id.json` per person: a 204 for someone
   * who was on it is `revoked`; a 204 for someone who was not is in neither list; a 404 (the project is no
   * longer visible) fails the rest. Basecamp 2 revokes
   * either kind of member there, whatever `as` says. A failure part-way carries what was already done.
   */
  async updateProjectPeople(projectId: number, change: AccessChange, as: Membership = 'team', signal?: AbortSignal): Promise<AccessResult> {
    const grant = change.grant ?? [];
    const create = change.create ?? [];
    const revoke = change.revoke ?? [];
    const before = revoke.length ? await this.accessesOrFail(projectId, signal) : undefined;
    let requestId: string | undefined;
    let granted: Person[] = [];
    const revoked: Person[] = [];

    if (grant.length || create.length) {
      const path = `/projects/${projectId}/${as === 'client' ? 'client_accesses' : 'accesses'}.json`;
      const body = { ids: grant, email_addresses: create.map((p) => p.email_address) };
      const res = await this.http.request<unknown>('POST', path, { body, signal });
      requestId = requestIdOf(res);
      let after: Collection<Person>;
      try {
        after = await this.listProjectPeople(projectId, signal);
        if (after.truncated) throw new UpstreamError(`the project's people could not be read to the end (${after.truncated})`);
      } catch (error) {
        throw new OutcomeUnknownError(
          `Basecamp accepted POST ${path} (${res.status}), but the project's people could not be read back to see who was granted (${(error as Error).message}). Check with list_people project_id=${projectId} before trying again; it was not re-sent.${revoke.length ? ' The revocations were not sent.' : ''}`,
          { status: res.status, method: 'POST', path, requestId },
          { cause: error, partial: { granted: [], revoked: [], not_attempted: revoke } },
        );
      }
      const ids = new Set(grant);
      const emails = new Set(create.map((p) => p.email_address.trim().toLowerCase()));
      granted = after.items.filter(
        (p) => (p.client ?? false) === (as === 'client') && (ids.has(p.id) || (typeof p.email_address === 'string' && emails.has(p.email_address.trim().toLowerCase()))),
      );
    }

    const wasOn = new Map((before?.items ?? []).map((p) => [p.id, p]));
    for (const personId of revoke) {
      const path = `/projects/${projectId}/accesses/${personId}.json`;
      try {
        // Idempotent: re-sent after an unknown outcome (a 204 again is still "revoked").
        const res = await this.http.request<unknown>('DELETE', path, { signal, idempotent: true });
        requestId = requestIdOf(res) ?? requestId;
        const person = wasOn.get(personId);
        if (person) revoked.push(person);
      } catch (error) {
        // 404 is "the project is not visible" (it was a moment ago): a failure like any other, with what was done.
        throw withPartial(error, { granted, revoked, not_attempted: revoke.slice(revoke.indexOf(personId) + 1) });
      }
    }
    return { granted, revoked, requestId };
  }

  /** Basecamp 2 has no such endpoint: whether a project has clients is set in Basecamp (a client project). */
  async setClientsEnabled(projectId: number, _enabled?: boolean, _signal?: AbortSignal): Promise<{ enabled: boolean; requestId?: string }> {
    throw new NotSupportedError(
      `Basecamp 2's API cannot turn clients on or off (project ${projectId}): a project is made a client project in Basecamp itself. Nothing was sent.`,
    );
  }

  /** Basecamp 2 has no account-level invitations: invite by email on a project (updateProjectPeople create). */
  async enrollPeople(_enrollment: Enrollment): Promise<{ enrolled: Enrolled[]; requestId?: string } | 'unavailable'> {
    throw new NotSupportedError("Basecamp 2's API has no account-level invitations: people are invited by email on a project. Nothing was sent.");
  }

  // ---- Basecamp 2 only ----

  /** GET /people/trashed.json: people deleted from the account (Tombstones). Admins only. */
  async listRemovedPeople(signal?: AbortSignal): Promise<Collection<Person>> {
    try {
      return await this.people('/people/trashed.json', signal);
    } catch (error) {
      if (error instanceof ForbiddenError) {
        throw new ForbiddenError(
          'Only admins of this Basecamp 2 account can see the people removed from it (403). Sign in as an admin.',
          error.upstream,
          { cause: error },
        );
      }
      throw error;
    }
  }

  /** GET /people/:id/projects.json: every project the person can access (archived and deleted ones too), as far as the caller sees. */
  async personProjects(personId: number, signal?: AbortSignal): Promise<Collection<Project>> {
    return this.projects(`/people/${personId}/projects.json`, signal);
  }

  /**
   * DELETE /people/:id.json: removes the person from the account (and every project). 204; 403 if not allowed.
   * Idempotent: re-sent after an unknown outcome, and a 404 to the re-send means the first one removed them.
   */
  async removeFromAccount(personId: number, signal?: AbortSignal): Promise<Removal> {
    const res = await this.http.request<unknown>('DELETE', `/people/${personId}.json`, { signal, idempotent: true, goneOn404: true });
    return { removed: true, ...(res.alreadyGone ? { alreadyGone: true } : {}), requestId: requestIdOf(res) };
  }

  // ---- helpers ----

  private async one<T>(path: string, as: (value: unknown, where: string) => T, signal?: AbortSignal): Promise<T> {
    return as((await this.http.request<unknown>('GET', path, { signal })).data, `GET ${path}`);
  }

  /**
   * A list Basecamp 2 sends in one response. Read as any list (one request when the answer has no `Link`), so a
   * next page it announces after all is followed, or the list reported truncated, never silently cut.
   */
  private async people(path: string, signal?: AbortSignal): Promise<Collection<Person>> {
    const all = await this.http.getAll<unknown>(path, { signal });
    return { ...all, items: all.items.map((p) => bcxPerson(p, `GET ${path}`)) };
  }

  private async projects(path: string, signal?: AbortSignal): Promise<Collection<Project>> {
    const all = await this.http.getAll<unknown>(path, { signal });
    return { ...all, items: all.items.map((p) => bcxProject(p, `GET ${path}`)) };
  }

  /** The project's accesses, read to the end before a revoke (a listing cut short would make `revoked` a guess). */
  private async accessesOrFail(projectId: number, signal?: AbortSignal): Promise<Collection<Person>> {
    const all = await this.listProjectPeople(projectId, signal);
    if (all.truncated) {
      throw new UpstreamError(`The people of project ${projectId} could not be read to the end (${all.truncated}); nothing was revoked. Try again later.`);
    }
    return all;
  }
}

/** A Basecamp 2 person as the shared Person: 'User', or 'Tombstone' when deleted; `client` from an access's `is_client`. */
export function bcxPerson(value: unknown, where: string, fromAccess = false): Person {
  const person = asPerson(value, where);
  const raw = value as { trashed?: unknown; is_client?: unknown };
  const mapped: Person = { ...person, personable_type: raw.trashed === true ? 'Tombstone' : 'User', owner: null, employee: null, client: null };
  delete mapped.is_client;
  if (fromAccess && typeof raw.is_client === 'boolean') mapped.client = raw.is_client;
  return mapped;
}

/** A Basecamp 2 project as the shared Project: status from `trashed`/`archived`, purpose 'topic', clients from `is_client_project`. */
export function bcxProject(value: unknown, where: string): Project {
  const raw = (value ?? {}) as { archived?: unknown; trashed?: unknown; is_client_project?: unknown };
  const status: ProjectStatus = raw.trashed === true ? 'trashed' : raw.archived === true ? 'archived' : 'active';
  const project = asProject({ ...(value as object), status, purpose: 'topic', clients_enabled: raw.is_client_project === true }, where);
  return project;
}
