import { z } from 'zod';
import { defineTool } from './define.js';
import { compactProject, cursor, decodeCursor, limit, matchesText, page, toCompactProject } from './shared.js';

export const listProjects = defineTool({
  name: 'list_projects',
  title: 'List projects',
  description:
    'List the Basecamp projects the signed-in person can see (every page), to find a project id for invite_person or ' +
    'update_project_access. purpose tells the company HQ (company_hq), teams (team) and ordinary projects (topic). ' +
    'status: active (default), archived or trashed.',
  inputSchema: {
    query: z.string().trim().min(1).max(200).optional().describe('Case-insensitive substring of the project name.'),
    status: z.enum(['active', 'archived', 'trashed']).optional().describe('Which projects (default active).'),
    limit,
    cursor,
  },
  outputSchema: {
    projects: z.array(compactProject),
    total: z.number(),
    next_cursor: z.string().nullable(),
    truncated: z.boolean().optional(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, { service, signal }) {
    const status = args.status ?? 'active';
    const key = JSON.stringify(['projects', status, args.query?.toLowerCase() ?? null]);
    const offset = decodeCursor(args.cursor, key);
    const all = await service.directory.projects(status, { signal });
    const matching = all.items.filter((p) => matchesText(args.query, p.name));
    const { slice, next_cursor } = page(matching, offset, args.limit ?? 100, key);
    return {
      structured: {
        projects: slice.map(toCompactProject),
        total: matching.length,
        next_cursor,
        ...(all.truncated ? { truncated: true } : {}),
      },
      summary: `${matching.length} ${status} projects match; showing ${slice.length}.${next_cursor ? ' More with next_cursor.' : ''}${all.truncated ? ` WARNING: incomplete, ${all.truncated}.` : ''}`,
    };
  },
});
