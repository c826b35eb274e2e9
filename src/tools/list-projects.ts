import { z } from 'zod';
import { defineTool } from './lib/define.js';
import { cursor, detail, limit } from './lib/params.js';
import { compactProject, projectLine, toCompactProject } from './lib/shapes.js';
import { decodeCursor, matchesText, page } from './lib/listing.js';

export const listProjects = defineTool({
  name: 'list_projects',
  title: 'List projects',
  description:
    'List the Basecamp projects the signed-in person can see (every page), to find a project id for invite_person or ' +
    'update_project_access. purpose tells the company HQ (company_hq), teams (team) and ordinary projects (topic). ' +
    'status: active (default), archived or trashed (Basecamp 2 lists only active and archived ones; there is_client_project ' +
    'says which are client projects). The text shows one project per line: id, name, [purpose and status ' +
    'when not an active ordinary project]; detail: "full" adds the JSON.',
  inputSchema: {
    query: z.string().trim().min(1).max(200).optional().describe('Case-insensitive substring of the project name.'),
    status: z.enum(['active', 'archived', 'trashed']).optional().describe('Which projects (default active).'),
    limit,
    cursor,
    detail,
  },
  outputSchema: {
    projects: z.array(compactProject),
    total: z.number(),
    next_cursor: z.string().nullable(),
    truncated: z.boolean().optional(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, ctx) {
    const { signal } = ctx;
    const status = args.status ?? 'active';
    const key = JSON.stringify(['projects', status, args.query?.toLowerCase() ?? null]);
    const offset = decodeCursor(args.cursor, key);
    const all = await ctx.directory.projects(status, { signal });
    const matching = all.items.filter((p) => matchesText(args.query, p.name));
    const { slice, next_cursor } = page(matching, offset, args.limit ?? 100, key);
    const projects = slice.map(toCompactProject);
    return {
      structured: { projects, total: matching.length, next_cursor, ...(all.truncated ? { truncated: true } : {}) },
      text: args.detail === 'full' ? undefined : [...projects.map(projectLine), ...(next_cursor ? [`next_cursor: ${next_cursor}`] : [])].join('\n'),
      summary: `${matching.length} ${status} ${matching.length === 1 ? 'project matches' : 'projects match'}; showing ${slice.length}.${next_cursor ? ' More with next_cursor.' : ''}${all.truncated ? ` WARNING: incomplete, ${all.truncated}.` : ''}`,
    };
  },
});
