import { IncompleteDataError } from '../../errors.js';
import type { Person } from '../../basecamp/types.js';
import type { ToolServices } from './define.js';

/**
 * Who of these people is a client, where the account's people listing does not say (`client: null`; on
 * Basecamp 2 only a project's accesses carry `is_client`). A client's access exists only on client projects, so
 * their people (active and archived, from the directory's cache) are read, and someone who is a client on any
 * of them is a client. Without this, a client granted or invited as a team member would see what is hidden
 * from clients. A list that cannot be read to the end is `incomplete`: a guess here could leak.
 */
export async function withClientStatus(ctx: ToolServices, people: Person[], signal: AbortSignal): Promise<Person[]> {
  if (people.every((p) => typeof p.client === 'boolean' || p.client === undefined)) return people;
  const clients = await clientIds(ctx, signal);
  return people.map((p) => (p.client === null ? { ...p, client: clients.has(p.id) } : p));
}

async function clientIds(ctx: ToolServices, signal: AbortSignal): Promise<Set<number>> {
  const ids = new Set<number>();
  for (const status of ['active', 'archived'] as const) {
    const projects = await ctx.directory.projects(status, { signal });
    if (projects.truncated) throw new IncompleteDataError(`Could not read every ${status} project (${projects.truncated}), so cannot tell who is a client; nothing was changed.`);
    for (const project of projects.items.filter((p) => p.clients_enabled === true)) {
      const members = await ctx.directory.projectPeople(project.id, { signal });
      if (members.truncated) {
        throw new IncompleteDataError(`Could not read every person on ${project.name} (${members.truncated}), so cannot tell who is a client; nothing was changed.`);
      }
      for (const m of members.items) if (m.client === true) ids.add(m.id);
    }
  }
  return ids;
}
