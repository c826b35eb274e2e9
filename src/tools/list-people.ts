import { z } from 'zod';
import { defineTool } from './define.js';
import { cursor, detail, limit, projectId } from './params.js';
import { compactPerson, personLine, toCompactPerson } from './shapes.js';
import { decodeCursor, matchesText, page } from './listing.js';

const roles = ['admin', 'owner', 'client', 'employee'] as const;

export const listPeople = defineTool({
  name: 'list_people',
  title: 'List people',
  description:
    'List the people on the Basecamp account, or on one project (project_id), reading every page Basecamp has. ' +
    'Filter by a name/email substring (query) or a role (role: admin, owner, client, employee). Use it to answer ' +
    '"who are our admins?", to find a person id, or to see who is on a project. Results are paged by this tool: ' +
    'pass next_cursor back as cursor for more. personable_type tells real users (User) from integrations, sample ' +
    'people (DummyUser), outsiders and people already removed from the account (Tombstone). The text shows one person ' +
    'per line: id, name, <email>, [roles and type when not a plain User], title, company; detail: "full" adds the JSON.',
  inputSchema: {
    project_id: projectId.optional().describe('Only people on this project (from list_projects).'),
    query: z.string().trim().min(1).max(200).optional().describe('Case-insensitive substring of name or email.'),
    role: z.enum(roles).optional().describe('Only people with this role.'),
    limit,
    cursor,
    detail,
  },
  outputSchema: {
    people: z.array(compactPerson),
    total: z.number().describe('People matching the filters, across every page.'),
    next_cursor: z.string().nullable(),
    truncated: z.boolean().optional().describe('True when Basecamp could not be read to the end; the list is incomplete.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, ctx) {
    const { signal } = ctx;
    const key = JSON.stringify(['people', args.project_id ?? null, args.query?.toLowerCase() ?? null, args.role ?? null]);
    const offset = decodeCursor(args.cursor, key);
    const all =
      args.project_id !== undefined
        ? await ctx.directory.projectPeople(args.project_id, { signal })
        : await ctx.directory.people({ signal });
    const matching = all.items
      .filter((p) => matchesText(args.query, p.name, p.email_address))
      .filter((p) => !args.role || p[args.role] === true);
    const { slice, next_cursor } = page(matching, offset, args.limit ?? 100, key);
    const where = args.project_id !== undefined ? `project ${args.project_id}` : 'the account';
    const more = next_cursor ? ' More with next_cursor.' : '';
    const warning = all.truncated ? ` WARNING: incomplete, ${all.truncated}.` : '';
    const people = slice.map(toCompactPerson);
    return {
      structured: { people, total: matching.length, next_cursor, ...(all.truncated ? { truncated: true } : {}) },
      summary: `${matching.length} people match on ${where}; showing ${slice.length} from #${offset + 1}.${more}${warning}`,
      text: args.detail === 'full' ? undefined : [...people.map(personLine), ...(next_cursor ? [`next_cursor: ${next_cursor}`] : [])].join('\n'),
    };
  },
});
