import type { Reply, SandboxRequest } from './reply.js';
import { findOrAddCompany, makePerson, type SandboxData, type SandboxPerson } from './seed.js';

/**
 * PUT /projects/{id}/people/users.json, with the semantics docs/basecamp-api.md records: grant and revoke
 * by id, create by name and email (new people join the account and the project and come back in
 * `granted`), and ids it will not act on silently dropped.
 */
export function updateProjectPeople(data: SandboxData, projectId: number, me: SandboxPerson, req: SandboxRequest): Reply {
  if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
    return { status: 415, body: { error: 'Content-Type must be application/json' } };
  }
  const project = data.projects.get(projectId);
  if (!project || !project.members.has(me.id)) return { status: 404, body: { error: 'Not found' } };
  if (!me.admin && !me.can_manage_people) {
    return { status: 403, body: { error: 'You are not allowed to manage people on this project' } };
  }
  let parsed: { grant?: unknown; revoke?: unknown; create?: unknown };
  try {
    parsed = JSON.parse(req.body) as typeof parsed;
  } catch {
    return { status: 400, body: { error: 'Malformed JSON' } };
  }
  // `null`, a number or a list is JSON too, but not a request body Basecamp can read.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { status: 400, body: { error: 'Malformed JSON' } };
  const ids = (v: unknown) => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n)) : []);
  const grant = ids(parsed.grant);
  const revoke = ids(parsed.revoke);
  const create = Array.isArray(parsed.create) ? (parsed.create as Record<string, unknown>[]) : [];
  if (!grant.length && !revoke.length && !create.length) {
    return { status: 422, body: { errors: { base: ['must include at least one of grant, revoke or create'] } } };
  }
  for (const c of create) {
    if (typeof c?.name !== 'string' || !c.name.trim() || typeof c.email_address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(c.email_address)) {
      return { status: 422, body: { errors: { create: ['each person needs a name and a valid email_address'] } } };
    }
  }

  const granted: SandboxPerson[] = [];
  const revoked: SandboxPerson[] = [];
  // users.json manages team members only: removed people and clients are silently dropped, like Basecamp.
  const teamMember = (p: SandboxPerson | undefined): p is SandboxPerson => !!p && p.personable_type !== 'Tombstone' && !p.client;
  for (const id of grant) {
    const p = data.people.get(id);
    if (!teamMember(p)) continue;
    project.members.add(p.id);
    granted.push(p);
  }
  for (const c of create) {
    const p = personWithEmail(data, String(c.email_address)) ?? addPerson(data, c);
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

/** `create` with an address already on the account grants that person rather than adding a second one. */
function personWithEmail(data: SandboxData, email: string): SandboxPerson | undefined {
  const wanted = email.toLowerCase();
  return [...data.people.values()].find((p) => p.email_address?.toLowerCase() === wanted);
}

function addPerson(data: SandboxData, c: Record<string, unknown>): SandboxPerson {
  const companyName = typeof c.company_name === 'string' ? c.company_name.trim() : '';
  const company = companyName ? findOrAddCompany(data.companies, companyName) : undefined;
  const p = makePerson(data.nextPersonId++, {
    name: String(c.name).trim(),
    email_address: String(c.email_address),
    title: typeof c.title === 'string' ? c.title : null,
    ...(company ? { company } : {}),
  });
  p.created_at = p.updated_at = new Date().toISOString();
  data.people.set(p.id, p);
  return p;
}
