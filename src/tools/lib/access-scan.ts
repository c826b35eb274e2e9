import type { ReadOptions } from '../../basecamp/directory.js';
import { IncompleteDataError } from '../../errors.js';
import { CancelledError, NotFoundError } from '../../basecamp/errors.js';
import type { Collection } from '../../basecamp/http.js';
import type { Person, Project } from '../../basecamp/types.js';
import type { ToolContext } from './define.js';

/** An access review covers what a person can reach today: active projects, and archived ones (which can be opened). */
type ReviewStatus = 'active' | 'archived';

/**
 * Counts what a tool's directory reads cost in Basecamp requests: a read that went to Basecamp costs its pages
 * (one request each), a read served by the directory's cache or by a read already under way costs 0.
 */
export class RequestMeter {
  requests = 0;

  async read<T>(read: (opts: ReadOptions) => Promise<Collection<T>>, signal: AbortSignal, fresh = false): Promise<{ collection: Collection<T>; cached: boolean }> {
    let loaded = false;
    const collection = await read({
      signal,
      fresh,
      onLoad: () => {
        loaded = true;
      },
    });
    if (loaded) this.requests += collection.pages;
    return { collection, cached: !loaded };
  }
}

/** The projects an access review covers, each with who is on it, and what could not be read to the end. */
export interface AccessScan {
  projects: Project[];
  members: Map<number, Person[]>;
  /** One reason per list that could not be read to the end. */
  truncated: string[];
}

/**
 * The projects of the review: active ones, and archived ones unless `includeArchived` is false, as the signed-in
 * person sees them (Basecamp lists only the projects they are on). With `projectId`, that one project; a project
 * missing from a cached list is looked for once more in a fresh read (it may have been made a moment ago).
 */
export async function reviewProjects(
  ctx: ToolContext,
  meter: RequestMeter,
  opts: { includeArchived: boolean; projectId?: number },
): Promise<{ projects: Project[]; truncated: string[] }> {
  const statuses: ReviewStatus[] = opts.includeArchived ? ['active', 'archived'] : ['active'];
  const readAll = async (fresh: boolean) => {
    const projects: Project[] = [];
    const truncated: string[] = [];
    let cached = false;
    for (const status of statuses) {
      const read = await meter.read((o) => ctx.directory.projects(status, o), ctx.signal, fresh);
      cached ||= read.cached;
      const seen = new Set(projects.map((p) => p.id));
      // The review's status is the list it came from (a record without status is still on that list).
      projects.push(...read.collection.items.filter((p) => !seen.has(p.id)).map((p) => ({ ...p, status: p.status ?? status })));
      if (read.collection.truncated) truncated.push(`the ${status} projects: ${read.collection.truncated}`);
    }
    return { projects, truncated, cached };
  };
  let all = await readAll(false);
  if (opts.projectId === undefined) return { projects: all.projects, truncated: all.truncated };
  let found = all.projects.find((p) => p.id === opts.projectId);
  if (!found && all.cached) {
    all = await readAll(true);
    found = all.projects.find((p) => p.id === opts.projectId);
  }
  if (found) return { projects: [found], truncated: [] };
  const where = `an active${opts.includeArchived ? ' or archived' : ''} project the signed-in person can see`;
  if (all.truncated.length) {
    throw new IncompleteDataError(`Could not read every project (${all.truncated.join('; ')}), so cannot tell whether ${opts.projectId} is ${where}.`);
  }
  throw new NotFoundError(
    `Project ${opts.projectId} is not ${where} (trashed projects are not part of an access review${opts.includeArchived ? '' : '; archived ones need include_archived: true'}). Find ids with list_projects.`,
  );
}

/**
 * Who is on each project: one membership read per project (every page), through the directory's cache (fresh for
 * BASECAMP_CACHE_TTL), paced by the rate budget below the API. Reports progress before each project (what keeps a
 * client that resets its timeout on progress waiting through a long scan) and stops when the call is cancelled.
 */
export async function scanMembership(ctx: ToolContext, meter: RequestMeter, projects: Project[]): Promise<{ members: Map<number, Person[]>; truncated: string[] }> {
  const members = new Map<number, Person[]>();
  const truncated: string[] = [];
  for (const [i, project] of projects.entries()) {
    if (ctx.signal.aborted) throw new CancelledError(`Cancelled after reading the members of ${i} of ${projects.length} projects.`);
    await ctx.progress(i, projects.length, `Reading who is on ${project.name} (${i + 1} of ${projects.length})`);
    const { collection } = await meter.read((o) => ctx.directory.projectPeople(project.id, o), ctx.signal);
    members.set(project.id, collection.items);
    if (collection.truncated) truncated.push(`the members of ${project.name} (${project.id}): ${collection.truncated}`);
  }
  await ctx.progress(projects.length, projects.length, `Read who is on ${projects.length} project(s)`);
  return { members, truncated };
}

/** Every project of the review and who is on it. */
export async function scanAccess(ctx: ToolContext, meter: RequestMeter, opts: { includeArchived: boolean; projectId?: number }): Promise<AccessScan> {
  const scope = await reviewProjects(ctx, meter, opts);
  const scan = await scanMembership(ctx, meter, scope.projects);
  return { projects: scope.projects, members: scan.members, truncated: [...scope.truncated, ...scan.truncated] };
}
