import { gearedPage, NOT_FOUND, withEtag } from '../shared/http-kit.js';
import { bc3Route } from './context.js';
import type { SandboxProject } from './seed.js';

/** The projects the caller is on: GET /projects (`?status=` active, archived or trashed) and /projects/{id}. */
export const projectRoutes = [
  bc3Route('GET', '/projects', (c) => {
    const status = c.req.url.searchParams.get('status') ?? 'active';
    if (!['active', 'archived', 'trashed'].includes(status)) return { status: 400, body: { error: `Invalid status ${status}` } };
    const list = [...c.data.projects.values()].filter((p) => p.status === status && p.members.has(c.meId));
    return gearedPage(c.req, list.map((p) => projectJson(p, c.accountUrl)));
  }),
  bc3Route('GET', '/projects/:id', (c, { id }) => {
    const project = c.visibleProject(id);
    return project ? withEtag(c.req, projectJson(project, c.accountUrl)) : NOT_FOUND;
  }),
];

/** A project as Basecamp sends it: no member list, and API URLs on this sandbox. */
function projectJson(p: SandboxProject, accountUrl: string): Record<string, unknown> {
  const { members: _members, app_url, ...rest } = p;
  return { ...rest, bookmark_url: `${accountUrl}/my/bookmarks/${p.id}.json`, url: `${accountUrl}/projects/${p.id}.json`, app_url };
}
