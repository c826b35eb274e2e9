import type { Reply, SandboxRequest } from './reply.js';
import { findOrAddCompany, isClient, makePerson, type SandboxData, type SandboxPerson, type SandboxProject } from './seed.js';

/**
 * PUT /projects/{id}/people/users.json, with the semantics docs/basecamp-api.md records: grant and revoke
 * by id, create by name and email (new people join the account and the project and come back in
 * `granted`), and ids it will not act on silently dropped. Also the rules every people write shares
 * (JSON content type, who may write where, reading the body), used by ./clients.ts and ./enrollments.ts.
 */
export function updateProjectPeople(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest): Reply {
  const project = writableProject(data, projectId, me, req);
  if (project instanceof Refusal) return project.reply;
  const parsed = parseBody(req);
  if (parsed instanceof Refusal) return parsed.reply;
  const grant = ids(parsed.grant);
  const revoke = ids(parsed.revoke);
  const create = Array.isArray(parsed.create) ? (parsed.create as Record<string, unknown>[]) : [];
  if (!grant.length && !revoke.length && !create.length) {
    return { status: 422, body: { errors: { base: ['must include at least one of grant, revoke or create'] } } };
  }
  for (const c of create) {
    if (typeof c?.name !== 'string' || !c.name.trim() || typeof c.email_address !== 'string' || !isEmail(c.email_address)) {
      return { status: 422, body: { errors: { create: ['each person needs a name and a valid email_address'] } } };
    }
  }

  const granted: SandboxPerson[] = [];
  const revoked: SandboxPerson[] = [];
  // users.json manages team members only: removed people and clients are silently dropped, like Basecamp.
  // A clientside contact (personable_type Client, client false) is a client too: dropped here.
  const teamMember = (p: SandboxPerson | undefined): p is SandboxPerson => !!p && p.personable_type !== 'Tombstone' && !p.client && !isClient(p);
  for (const id of grant) {
    const p = data.people.get(id);
    if (!teamMember(p)) continue;
    project.members.add(p.id);
    granted.push(p);
  }
  for (const c of create) {
    const p = personWithEmail(data, String(c.email_address)) ?? addPerson(data, c);
    // An address that belongs to a client is dropped too: a client is never granted through users.json.
    if (!teamMember(p)) continue;
    project.members.add(p.id);
    granted.push(p);
  }
  for (const id of revoke) {
    const p = data.people.get(id);
    if (!teamMember(p)) continue;
    project.members.delete(p.id);
    revoked.push(p);
  }
  return { status: 200, body: { granted, revoked } };
}

/** A write turned down before it did anything: the reply to send instead. */
export class Refusal {
  constructor(readonly reply: Reply) {}
}

/** Basecamp reads a write's body only when it is declared JSON (415 otherwise). */
export function requireJson(req: SandboxRequest): Reply | undefined {
  if (/^application\/json/i.test(req.headers['content-type'] ?? '')) return undefined;
  return { status: 415, body: { error: 'Content-Type must be application/json' } };
}

/** Admins and people allowed to manage people may change who is where; nobody else. */
export const canManagePeople = (me: SandboxPerson): boolean => me.admin || me.can_manage_people;

/**
 * The project a people write on it may change, or the reply refusing it: 415 without JSON (when the write
 * has a body), 404 for a project the caller is not on (or that does not exist), 403 when the caller may not
 * manage people.
 */
export function writableProject(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest, hasBody = true): SandboxProject | Refusal {
  const notJson = hasBody ? requireJson(req) : undefined;
  if (notJson) return new Refusal(notJson);
  const project = data.projects.get(projectId);
  if (!project || !project.members.has(me.id)) return new Refusal({ status: 404, body: { error: 'Not found' } });
  if (!canManagePeople(me)) return new Refusal({ status: 403, body: { error: 'You are not allowed to manage people on this project' } });
  return project;
}

/** The body as a JSON object, or 400: `null`, a number or a list is JSON too, but not a body Basecamp can read. */
export function parseBody(req: SandboxRequest): Record<string, unknown> | Refusal {
  const malformed = new Refusal({ status: 400, body: { error: 'Malformed JSON' } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body);
  } catch {
    return malformed;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return malformed;
  return parsed as Record<string, unknown>;
}

/** The whole numbers of a list of ids; anything else is no id at all. */
export const ids = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n)) : []);

export const isEmail = (s: string): boolean => /^[^@\s]+@[^@\s]+$/.test(s);

/** `create` with an address already on the account grants that person rather than adding a second one. */
export function personWithEmail(data: SandboxData, email: string): SandboxPerson | undefined {
  const wanted = email.trim().toLowerCase();
  return [...data.people.values()].find((p) => p.email_address?.toLowerCase() === wanted);
}

/** A new person on the account (a team member unless `client`), with the next id. */
export function addPerson(data: SandboxData, c: Record<string, unknown>, client = false): SandboxPerson {
  const companyName = typeof c.company_name === 'string' ? c.company_name.trim() : '';
  const company = companyName ? findOrAddCompany(data.companies, companyName) : undefined;
  const email = String(c.email_address).trim();
  const name = typeof c.name === 'string' && c.name.trim() ? c.name.trim() : email;
  const p = makePerson(data.nextPersonId++, {
    name,
    email_address: email,
    title: typeof c.title === 'string' ? c.title : null,
    ...(client ? { client: true, employee: false, can_manage_projects: false } : {}),
    ...(company ? { company } : {}),
  });
  p.created_at = p.updated_at = new Date().toISOString();
  data.people.set(p.id, p);
  return p;
}
