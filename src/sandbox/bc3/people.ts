import { gearedPage, NOT_FOUND, withEtag } from '../shared/http-kit.js';
import { bc3Route } from './context.js';
import { findOrAddCompany, makePerson, type SandboxData, type SandboxPerson } from './seed.js';

/** The people of the account: GET /people (geared pages), /people/{id}, /my/profile; and adding a person. */
export const peopleRoutes = [
  bc3Route('GET', '/people', (c) => gearedPage(c.req, [...c.data.people.values()].map(c.view))),
  bc3Route('GET', '/my/profile', (c) => withEtag(c.req, c.me)),
  bc3Route('GET', '/people/:id', (c, { id }) => {
    const person = c.data.people.get(id);
    return person ? withEtag(c.req, c.view(person)) : NOT_FOUND;
  }),
];

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
