import { gearedPage, ids, isEmail, NOT_FOUND, parseBody, Refusal, type Reply, type SandboxRequest } from '../shared/http-kit.js';
import { bc3Route, writableProject } from './context.js';
import { addPerson, personWithEmail } from './people.js';
import { isClient, type SandboxData, type SandboxPerson } from './seed.js';

/** Who is on a project: GET /projects/{id}/people (geared pages) and PUT /projects/{id}/people/users.json. */
export const projectPeopleRoutes = [
  bc3Route('GET', '/projects/:id/people', (c, { id }) => {
    const project = c.visibleProject(id);
    if (!project) return NOT_FOUND;
    return gearedPage(c.req, [...project.members].flatMap((member) => c.data.people.get(member) ?? []).map(c.view));
  }),
  bc3Route('PUT', '/projects/:id/people/users', (c, { id }) => updateProjectPeople(c.data, id, c.me!, c.req)),
];

/**
 * PUT /projects/{id}/people/users.json, with the semantics docs/basecamp-api.md records: grant and revoke
 * by id, create by name and email (new people join the account and the project and come back in
 * `granted`), and ids it will not act on silently dropped.
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
