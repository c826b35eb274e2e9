import { withEtag, type Authenticate } from '../basecamp.js';
import { isEmail, parseBody, Refusal, requireJson } from '../project-people.js';
import { type Reply, type SandboxRequest, unauthorized } from '../reply.js';
import { makeBcxPerson, type BcxData, type BcxPerson, type BcxProject } from './seed.js';

/**
 * A fake Basecamp 2 ("bcx") API for one account, `/{account_id}/api/v1/...`, as docs/basecamp-api.md's
 * "Basecamp 2" section describes it: people (with the trashed people and a real DELETE), projects (active,
 * archived, one by id) and accesses (50 per page, `?page=N`, no Link; grants by id or email, as team members
 * or clients; revoke). ETag/304 on reads, 401 for a bad or expired token, 404 for everything else (every
 * Basecamp 3/4/5 route included). User-Agent and rate limiting are checked in front of it, by the server.
 *
 * Who may do what: a project is visible to the people who have access to it (the owner has access to every
 * seeded project); people on the account are visible to everyone, deleted people to admins only; only admins
 * may delete people or change accesses, and nobody may delete the owner.
 */

const NOT_FOUND: Reply = { status: 404, body: { error: 'Not found' } };
const ACCESSES_PER_PAGE = 50;

/** The person on this account a token's grant stands for (the same Launchpad identity), if any. */
export type ResolvePerson = (personId: number) => BcxPerson | undefined;

export function bcxApi(data: BcxData, authenticate: Authenticate, resolve: ResolvePerson = (id) => data.people.get(id)): (req: SandboxRequest) => Reply {
  return (req) => {
    const auth = authenticate(req.headers.authorization);
    if (auth === 'expired' || !auth) return unauthorized(auth);
    const m = /^\/(\d+)\/api\/v1(\/.*)$/.exec(req.url.pathname);
    if (!m || Number(m[1]) !== data.accountId) return NOT_FOUND;
    // A token whose identity is not (or no longer) on this account sees nothing of it.
    const me = resolve(auth.personId);
    if (!me || !data.people.has(me.id)) return NOT_FOUND;
    const api = new BcxAccount(data, req, me);
    const path = m[2]!.replace(/\.json$/, '');
    if (req.method === 'GET') return api.read(path) ?? NOT_FOUND;
    let w = /^\/people\/(\d+)$/.exec(path);
    if (req.method === 'DELETE' && w) return api.deletePerson(Number(w[1]));
    w = /^\/projects\/(\d+)\/(accesses|client_accesses)$/.exec(path);
    if (req.method === 'POST' && w) return api.grant(Number(w[1]), w[2] === 'client_accesses');
    w = /^\/projects\/(\d+)\/accesses\/(\d+)$/.exec(path);
    if (req.method === 'DELETE' && w) return api.revoke(Number(w[1]), Number(w[2]));
    return NOT_FOUND;
  };
}

class BcxAccount {
  private readonly apiBase: string;

  constructor(
    private readonly data: BcxData,
    private readonly req: SandboxRequest,
    private readonly me: BcxPerson,
  ) {
    this.apiBase = `${req.baseUrl}/${data.accountId}/api/v1`;
  }

  read(path: string): Reply | undefined {
    const { data, me, req } = this;
    if (path === '/people') return withEtag(req, [...data.people.values()].map((p) => this.personJson(p)));
    if (path === '/people/me') return withEtag(req, this.personJson(me));
    if (path === '/people/trashed') {
      if (!me.admin) return { status: 403, body: { error: 'Only admins can see deleted people' } };
      return withEtag(req, [...data.trashedPeople.values()].map((p) => this.personJson(p)));
    }
    if (path === '/projects') return withEtag(req, this.visibleProjects((p) => !p.archived && !p.trashed).map((p) => this.projectJson(p)));
    if (path === '/projects/archived') return withEtag(req, this.visibleProjects((p) => p.archived && !p.trashed).map((p) => this.projectJson(p)));
    let m = /^\/people\/(\d+)$/.exec(path);
    if (m) {
      const person = this.visiblePerson(Number(m[1]));
      return person ? withEtag(req, this.personJson(person)) : undefined;
    }
    m = /^\/people\/(\d+)\/projects$/.exec(path);
    if (m) {
      const person = this.visiblePerson(Number(m[1]));
      if (!person) return undefined;
      // Every project the person can access, archived and trashed ones too, as far as the caller can see.
      return withEtag(req, this.visibleProjects((p) => p.accesses.has(person.id)).map((p) => this.projectJson(p)));
    }
    m = /^\/projects\/(\d+)$/.exec(path);
    if (m) {
      const project = this.visibleProject(Number(m[1]));
      return project ? withEtag(req, this.projectJson(project)) : undefined;
    }
    m = /^\/projects\/(\d+)\/accesses$/.exec(path);
    if (m) {
      const project = this.visibleProject(Number(m[1]));
      if (!project) return undefined;
      const accesses = [...project.accesses].flatMap(([id, access]) => {
        const person = data.people.get(id);
        return person ? [{ ...this.personJson(person), is_client: access.is_client }] : [];
      });
      const page = requestedPage(req.url.searchParams.get('page'));
      const start = (page - 1) * ACCESSES_PER_PAGE;
      return withEtag(req, accesses.slice(start, start + ACCESSES_PER_PAGE));
    }
    return undefined;
  }

  /** DELETE /people/{id}: the person leaves the account, and with it every project. */
  deletePerson(id: number): Reply {
    const { data, me } = this;
    if (!me.admin) return { status: 403, body: { error: 'Only admins can remove people from the account' } };
    const person = data.people.get(id);
    if (!person) return NOT_FOUND;
    if (id === data.ownerId) return { status: 403, body: { error: 'The account owner cannot be removed' } };
    data.people.delete(id);
    person.trashed = true;
    person.updated_at = new Date().toISOString();
    data.trashedPeople.set(id, person);
    for (const project of data.projects.values()) project.accesses.delete(id);
    return { status: 204 };
  }

  /** POST accesses.json / client_accesses.json: grant people by id, invite others by email (new people). */
  grant(projectId: number, asClient: boolean): Reply {
    const project = this.writableProject(projectId, true);
    if (project instanceof Refusal) return project.reply;
    const body = parseBody(this.req);
    if (body instanceof Refusal) return body.reply;
    const idsGiven = Array.isArray(body.ids) ? body.ids.map(Number).filter((n) => Number.isInteger(n)) : [];
    const emails = Array.isArray(body.email_addresses) ? (body.email_addresses as unknown[]) : [];
    if (!idsGiven.length && !emails.length) return { status: 422, body: { errors: { base: ['ids or email_addresses must list someone'] } } };
    if (emails.some((e) => typeof e !== 'string' || !isEmail(e.trim()))) {
      return { status: 422, body: { errors: { email_addresses: ['must be valid email addresses'] } } };
    }
    const { data } = this;
    const granted: BcxPerson[] = [];
    // Ids that are not a person on the account (deleted people included) are silently dropped.
    for (const id of idsGiven) {
      const p = data.people.get(id);
      if (p) granted.push(p);
    }
    for (const email of emails as string[]) granted.push(this.personWithEmail(email) ?? this.invite(email));
    for (const p of granted) project.accesses.set(p.id, { is_client: asClient });
    if (granted.length) project.updated_at = new Date().toISOString();
    return { status: 204 };
  }

  /** DELETE /projects/{id}/accesses/{person_id}: 204 whether or not the person had access. */
  revoke(projectId: number, personId: number): Reply {
    const project = this.writableProject(projectId, false);
    if (project instanceof Refusal) return project.reply;
    project.accesses.delete(personId);
    return { status: 204 };
  }

  /** 415 without JSON (for a write with a body), 404 for a project the caller cannot see, 403 for non-admins. */
  private writableProject(projectId: number, hasBody: boolean): BcxProject | Refusal {
    const notJson = hasBody ? requireJson(this.req) : undefined;
    if (notJson) return new Refusal(notJson);
    const project = this.visibleProject(projectId);
    if (!project) return new Refusal(NOT_FOUND);
    if (!this.me.admin) return new Refusal({ status: 403, body: { error: 'You are not allowed to change who has access to this project' } });
    return project;
  }

  private visibleProject(id: number): BcxProject | undefined {
    const project = this.data.projects.get(id);
    return project?.accesses.has(this.me.id) ? project : undefined;
  }

  private visibleProjects(filter: (p: BcxProject) => boolean): BcxProject[] {
    return [...this.data.projects.values()].filter((p) => p.accesses.has(this.me.id) && filter(p));
  }

  /** People on the account are visible to everyone; deleted people to admins only. */
  private visiblePerson(id: number): BcxPerson | undefined {
    return this.data.people.get(id) ?? (this.me.admin ? this.data.trashedPeople.get(id) : undefined);
  }

  private personWithEmail(email: string): BcxPerson | undefined {
    const wanted = email.trim().toLowerCase();
    return [...this.data.people.values()].find((p) => p.email_address.toLowerCase() === wanted);
  }

  /** A new person on the account, invited by email (named by the address until they accept). */
  private invite(email: string): BcxPerson {
    const address = email.trim();
    const p = makeBcxPerson(this.data.nextPersonId++, { name: address, email_address: address }, new Date().toISOString());
    this.data.people.set(p.id, p);
    return p;
  }

  private personJson(p: BcxPerson): Record<string, unknown> {
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

  private projectJson(p: BcxProject): Record<string, unknown> {
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

/** `?page=N` for a positive whole N; anything else is the first page (past the end: an empty page). */
function requestedPage(param: string | null): number {
  if (param === null || !/^\s*\+?\d+\s*$/.test(param)) return 1;
  const page = Number(param);
  return page >= 1 ? Math.min(page, Number.MAX_SAFE_INTEGER) : 1;
}
