import { IncompleteDataError, InvalidInputError } from '../../errors.js';
import { NotFoundError } from '../../basecamp/errors.js';
import { normalEmail } from '../../basecamp/directory.js';
import type { Capabilities, Person, Project } from '../../basecamp/types.js';
import type { ToolContext, ToolServices } from './define.js';
import { label } from './offboarding-strategies.js';
import { toCompactPerson } from './shapes.js';

/**
 * Offboarding one person, before any strategy runs: who they are (or that they are already removed), who may
 * never be offboarded, and the plan (every project they are on). What is then sent is the product's strategy
 * (offboarding-strategies.ts).
 */

/** Trashed projects too: they can be restored, and the person would be back on them. */
const statuses = ['active', 'archived', 'trashed'] as const;

export async function findOffboardee(ctx: ToolServices, caps: Capabilities, args: { person_id?: number; email?: string }, signal: AbortSignal): Promise<Person> {
  if (args.email === undefined) return ctx.api.getPerson(args.person_id!, signal);
  const found = await ctx.directory.findByEmail(args.email, signal);
  if (found) return found;
  // Removed already (a retry after an unclear answer)? Where the removed people can be listed, they say so.
  if (caps.removedPeople) {
    const wanted = normalEmail(args.email);
    const removed = await ctx.directory.removedPeople({ signal, fresh: true }).catch(() => undefined);
    const gone = removed?.items.find((p) => typeof p.email_address === 'string' && normalEmail(p.email_address) === wanted);
    if (gone) return { ...gone, personable_type: 'Tombstone' };
  }
  throw new NotFoundError(`No person with email ${args.email} is on this account. Nothing was changed.`);
}

/** The owner cannot be removed, and offboarding the signed-in person would cut this server off. */
export async function refuseProtected(ctx: ToolServices, person: Person, signal: AbortSignal): Promise<void> {
  if (person.owner) {
    throw new InvalidInputError(`${person.name} is the account owner and cannot be offboarded. Transfer ownership in Adminland first. Nothing was changed.`);
  }
  const me = await ctx.api.myProfile(signal);
  if (me.id === person.id) {
    throw new InvalidInputError('That is the signed-in person; offboarding yourself would cut this server off. Nothing was changed.');
  }
}

/**
 * Every visible project, team and HQ the person is on. Fresh reads: a plan must not come from a stale cache.
 * Where the product lists one person's projects (Basecamp 2), that one request is the plan.
 */
export async function planOffboarding(
  ctx: ToolServices,
  caps: Capabilities,
  person: Person,
  signal: AbortSignal,
  progress: ToolContext['progress'],
): Promise<{ plan: Project[]; checked: number }> {
  if (caps.personProjects) {
    const projects = await ctx.api.personProjects(person.id, signal);
    if (projects.truncated) throw new IncompleteDataError(`Could not read every project of ${person.name} (${projects.truncated}); nothing was changed.`);
    return { plan: projects.items, checked: 0 };
  }
  const candidates: Project[] = [];
  for (const status of statuses) {
    const projects = await ctx.directory.projects(status, { signal, fresh: true });
    if (projects.truncated) {
      throw new IncompleteDataError(`Could not read every ${status} project (${projects.truncated}); nothing was changed.`);
    }
    candidates.push(...projects.items);
  }
  const plan: Project[] = [];
  for (const [i, project] of candidates.entries()) {
    await progress(i, candidates.length * 2, `Checking ${label(project)}`);
    const members = await ctx.api.listProjectPeople(project.id, signal);
    if (members.truncated) {
      throw new IncompleteDataError(`Could not read every member of ${project.name} (${members.truncated}); nothing was changed.`);
    }
    if (members.items.some((p) => p.id === person.id)) plan.push(project);
  }
  return { plan, checked: candidates.length };
}

/** Offboarding someone already removed from the account (a retry after an unclear answer, or a second call): nothing to do. */
export function alreadyRemoved(person: Person, caps: Capabilities, dryRun: boolean) {
  const note = `${person.name} was already removed from the ${caps.productName} account (they are among the removed people); nothing to do, nothing was changed.`;
  return {
    structured: {
      person: toCompactPerson(person),
      dry_run: dryRun,
      status: 'done' as const,
      projects: [],
      revoked_from: [],
      failed: [],
      account_removed: true,
      adminland_url: caps.peopleAdminUrl,
      note,
    },
    summary: note,
  };
}
