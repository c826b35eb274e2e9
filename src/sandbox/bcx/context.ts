import type { SandboxRequest } from '../shared/http-kit.js';
import { routesFor } from '../shared/router.js';
import type { BcxData, BcxPerson, BcxProject } from './seed.js';

/**
 * One request to the Basecamp 2 API as its route handlers see it: the account, the caller, what the caller
 * may see, and people and projects as Basecamp 2's JSON. A project is visible to the people who have access
 * to it (the owner has access to every seeded project); people on the account are visible to everyone,
 * deleted people to admins only.
 */
export class BcxContext {
  /** The account's API base on this sandbox, for the absolute URLs in answers. */
  readonly apiBase: string;

  constructor(
    readonly data: BcxData,
    readonly req: SandboxRequest,
    readonly me: BcxPerson,
  ) {
    this.apiBase = `${req.baseUrl}/${data.accountId}/api/v1`;
  }

  visibleProject(id: number): BcxProject | undefined {
    const project = this.data.projects.get(id);
    return project?.accesses.has(this.me.id) ? project : undefined;
  }

  visibleProjects(filter: (p: BcxProject) => boolean): BcxProject[] {
    return [...this.data.projects.values()].filter((p) => p.accesses.has(this.me.id) && filter(p));
  }

  /** People on the account are visible to everyone; deleted people to admins only. */
  visiblePerson(id: number): BcxPerson | undefined {
    return this.data.people.get(id) ?? (this.me.admin ? this.data.trashedPeople.get(id) : undefined);
  }

  personJson(p: BcxPerson): Record<string, unknown> {
    return {
      id: p.id,
      identity_id: p.identity_id,
      name: p.name,
      email_address: p.email_address,
      admin: p.admin,
      trashed: p.trashed,
      avatar_url: p.avatar_url,
      created_at: p.created_at,
      updated_at: p.updated_at,
      url: `${this.apiBase}/people/${p.id}.json`,
      app_url: `https://basecamp.com/${this.data.accountId}/people/${p.id}`,
    };
  }

  projectJson(p: BcxProject): Record<string, unknown> {
    const url = `${this.apiBase}/projects/${p.id}.json`;
    const app_url = `https://basecamp.com/${this.data.accountId}/projects/${p.id}`;
    return {
      id: p.id,
      name: p.name,
      description: p.description,
      archived: p.archived,
      trashed: p.trashed,
      is_client_project: p.is_client_project,
      draft: false,
      template: false,
      created_at: p.created_at,
      updated_at: p.updated_at,
      url,
      app_url,
      accesses: {
        count: [...p.accesses.keys()].filter((id) => this.data.people.has(id)).length,
        updated_at: p.updated_at,
        url: `${this.apiBase}/projects/${p.id}/accesses.json`,
        app_url: `${app_url}/accesses`,
      },
    };
  }
}

/** A route of the Basecamp 2 API (../shared/router.ts). */
export const bcxRoute = routesFor<BcxContext>();
