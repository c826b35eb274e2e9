import { NoHqProjectError, NotFoundError } from '../basecamp/errors.js';
import type { Project } from '../basecamp/types.js';
import type { Service } from '../service.js';

export async function projectById(service: Service, id: number, signal: AbortSignal): Promise<Project> {
  try {
    return await service.api.getProject(id, signal);
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

export async function hqProject(service: Service, signal: AbortSignal): Promise<Project> {
  const projects = await service.directory.projects('active', { signal });
  const hq = projects.items.find((p) => p.purpose === 'company_hq');
  if (!hq) {
    throw new NoHqProjectError(
      'This account has no HQ project (it is turned off, or the signed-in person cannot see it), and Basecamp 4 can add ' +
        'people only through a project. Pass project_id (find one with list_projects).',
    );
  }
  return hq;
}
