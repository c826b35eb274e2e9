import { NOT_FOUND, type Reply, withEtag } from '../shared/http-kit.js';
import { type BcxContext, bcxRoute } from './context.js';

/**
 * The people of the account: GET /people, /people/me, /people/trashed (admins only), /people/{id}; and
 * DELETE /people/{id} (admins only, never the owner).
 */
export const peopleRoutes = [
  bcxRoute('GET', '/people', (c) => withEtag(c.req, [...c.data.people.values()].map((p) => c.personJson(p)))),
  bcxRoute('GET', '/people/me', (c) => withEtag(c.req, c.personJson(c.me))),
  bcxRoute('GET', '/people/trashed', (c) => {
    if (!c.me.admin) return { status: 403, body: { error: 'Only admins can see deleted people' } };
    return withEtag(c.req, [...c.data.trashedPeople.values()].map((p) => c.personJson(p)));
  }),
  bcxRoute('GET', '/people/:id', (c, { id }) => {
    const person = c.visiblePerson(id);
    return person ? withEtag(c.req, c.personJson(person)) : NOT_FOUND;
  }),
  bcxRoute('DELETE', '/people/:id', (c, { id }) => deletePerson(c, id)),
];

/** DELETE /people/{id}: the person leaves the account, and with it every project. */
function deletePerson({ data, me }: BcxContext, id: number): Reply {
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
