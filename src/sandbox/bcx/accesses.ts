import { isEmail, NOT_FOUND, numberedPage, parseBody, Refusal, type Reply, requireJson } from '../shared/http-kit.js';
import { type BcxContext, bcxRoute } from './context.js';
import { makeBcxPerson, type BcxPerson, type BcxProject } from './seed.js';

const ACCESSES_PER_PAGE = 50;

/**
 * Who has access to a project: GET /projects/{id}/accesses (50 per page, `?page=N`, no Link); POST
 * accesses.json / client_accesses.json (grant by id or email, as team members or clients) and DELETE
 * /projects/{id}/accesses/{person_id}. Only admins may change accesses.
 */
export const accessRoutes = [
  bcxRoute('GET', '/projects/:id/accesses', (c, { id }) => {
    const project = c.visibleProject(id);
    if (!project) return NOT_FOUND;
    const accesses = [...project.accesses].flatMap(([personId, access]) => {
      const person = c.data.people.get(personId);
      return person ? [{ ...c.personJson(person), is_client: access.is_client }] : [];
    });
    return numberedPage(c.req, accesses, ACCESSES_PER_PAGE);
  }),
  bcxRoute('POST', '/projects/:id/accesses', (c, { id }) => grant(c, id, false)),
  bcxRoute('POST', '/projects/:id/client_accesses', (c, { id }) => grant(c, id, true)),
  bcxRoute('DELETE', '/projects/:id/accesses/:person', (c, { id, person }) => revoke(c, id, person)),
];

/** POST accesses.json / client_accesses.json: grant people by id, invite others by email (new people). */
function grant(c: BcxContext, projectId: number, asClient: boolean): Reply {
  const project = writableProject(c, projectId, true);
  if (project instanceof Refusal) return project.reply;
  const body = parseBody(c.req);
  if (body instanceof Refusal) return body.reply;
  const idsGiven = Array.isArray(body.ids) ? body.ids.map(Number).filter((n) => Number.isInteger(n)) : [];
  const emails = Array.isArray(body.email_addresses) ? (body.email_addresses as unknown[]) : [];
  if (!idsGiven.length && !emails.length) return { status: 422, body: { errors: { base: ['ids or email_addresses must list someone'] } } };
  if (emails.some((e) => typeof e !== 'string' || !isEmail(e.trim()))) {
    return { status: 422, body: { errors: { email_addresses: ['must be valid email addresses'] } } };
  }
  const { data } = c;
  const granted: BcxPerson[] = [];
  // Ids that are not a person on the account (deleted people included) are silently dropped.
  for (const id of idsGiven) {
    const p = data.people.get(id);
    if (p) granted.push(p);
  }
  for (const email of emails as string[]) granted.push(personWithEmail(c, email) ?? invite(c, email));
  for (const p of granted) project.accesses.set(p.id, { is_client: asClient });
  if (granted.length) project.updated_at = new Date().toISOString();
  return { status: 204 };
}

/** DELETE /projects/{id}/accesses/{person_id}: 204 whether or not the person had access. */
function revoke(c: BcxContext, projectId: number, personId: number): Reply {
  const project = writableProject(c, projectId, false);
  if (project instanceof Refusal) return project.reply;
  project.accesses.delete(personId);
  return { status: 204 };
}

/** 415 without JSON (for a write with a body), 404 for a project the caller cannot see, 403 for non-admins. */
function writableProject(c: BcxContext, projectId: number, hasBody: boolean): BcxProject | Refusal {
  const notJson = hasBody ? requireJson(c.req) : undefined;
  if (notJson) return new Refusal(notJson);
  const project = c.visibleProject(projectId);
  if (!project) return new Refusal(NOT_FOUND);
  if (!c.me.admin) return new Refusal({ status: 403, body: { error: 'You are not allowed to change who has access to this project' } });
  return project;
}

function personWithEmail({ data }: BcxContext, email: string): BcxPerson | undefined {
  const wanted = email.trim().toLowerCase();
  return [...data.people.values()].find((p) => p.email_address.toLowerCase() === wanted);
}

/** A new person on the account, invited by email (named by the address until they accept). */
function invite({ data }: BcxContext, email: string): BcxPerson {
  const address = email.trim();
  const p = makeBcxPerson(data.nextPersonId++, { name: address, email_address: address }, new Date().toISOString());
  data.people.set(p.id, p);
  return p;
}
