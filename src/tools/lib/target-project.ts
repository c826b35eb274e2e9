import { InvalidInputError } from '../../errors.js';
import { NotFoundError } from '../../basecamp/errors.js';
import type { Project } from '../../basecamp/types.js';
import type { ToolServices } from './define.js';

export async function projectById(ctx: ToolServices, id: number, signal: AbortSignal): Promise<Project> {
  try {
    return await ctx.api.getProject(id, signal);
  } catch (error) {
    if (error instanceof NotFoundError) {
      throw new NotFoundError(
        `Project ${id} was not found, or the signed-in person is not on it. Use list_projects to find the right id.`,
        error,
      );
    }
    throw error;
  }
}

/** The account's HQ project, if it has one the signed-in person can see. */
export async function findHq(ctx: ToolServices, signal: AbortSignal): Promise<Project | undefined> {
  const projects = await ctx.directory.projects('active', { signal });
  return projects.items.find((p) => p.purpose === 'company_hq');
}

/**
 * Granting into a trashed project is refused: it gives access to something on its way to deletion, and is
 * almost always a wrong id. Revoking from one is allowed (offboarding must reach restorable projects too).
 */
export function refuseGrantIntoTrash(project: Project): void {
  if (project.status === 'trashed') {
    throw new InvalidInputError(
      `${project.name} (project ${project.id}) is in the trash: nobody should be given access to it. Nothing was changed. ` +
        'Restore it in Basecamp first, or pick another project (list_projects).',
    );
  }
}

/** Basecamp accepts a grant into an archived project silently; the person then sees it read-only. */
export function grantWarning(project: Project): string | undefined {
  return project.status === 'archived'
    ? `${project.name} is archived: they can see it, but it is read-only until someone unarchives it.`
    : undefined;
}
