import { NOT_FOUND, withEtag } from '../shared/http-kit.js';
import { bcxRoute } from './context.js';

/** The projects the caller has access to: GET /projects, /projects/archived, /projects/{id}, /people/{id}/projects. */
export const projectRoutes = [
  bcxRoute('GET', '/projects', (c) => withEtag(c.req, c.visibleProjects((p) => !p.archived && !p.trashed).map((p) => c.projectJson(p)))),
  bcxRoute('GET', '/projects/archived', (c) => withEtag(c.req, c.visibleProjects((p) => p.archived && !p.trashed).map((p) => c.projectJson(p)))),
  bcxRoute('GET', '/projects/:id', (c, { id }) => {
    const project = c.visibleProject(id);
    return project ? withEtag(c.req, c.projectJson(project)) : NOT_FOUND;
  }),
  bcxRoute('GET', '/people/:id/projects', (c, { id }) => {
    const person = c.visiblePerson(id);
    if (!person) return NOT_FOUND;
    // Every project the person can access, archived and trashed ones too, as far as the caller can see.
    return withEtag(c.req, c.visibleProjects((p) => p.accesses.has(person.id)).map((p) => c.projectJson(p)));
  }),
];
