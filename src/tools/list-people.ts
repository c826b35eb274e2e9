import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import type { Person } from '../basecamp/types.js';
import { defineTool } from './lib/define.js';
import { cursor, detail, limit } from './lib/params.js';
import { compactPerson, personLine, toCompactPerson } from './lib/shapes.js';
import { hiddenNote, peopleFilterParams, peopleMatching, validatePeopleFilters } from './lib/people-filters.js';
import { decodeCursor, listingKey, normalSet, page, sortListing, timeValue } from './lib/listing.js';

const sorts = ['name', 'created_at', 'updated_at'] as const;
export const listPeople = defineTool({
  name: 'list_people',
  title: 'List people',
  description:
    'List the people on the Basecamp account, or on one project (project_id), reading every page Basecamp has. ' +
    'Filters combine: query (name/email), role, company (company name: "our clients from Globex" = company "globex" ' +
    'with client true), client (true: clients only, false: team only), ids (up to 100 known ids at once; unknown ids ' +
    'come back in not_found), types (personable_type: ["User"] for real users only). Without types, people already ' +
    'removed (Tombstone) and sample people (DummyUser) are left out and counted in hidden; pass types (e.g. ' +
    '["Tombstone"]) to see them. sort (name, created_at, updated_at) with order (asc, desc): "the 20 newest people" = ' +
    'sort created_at, order desc, limit 20; default is Basecamp\'s order. Paged by this tool: pass next_cursor back as ' +
    'cursor with the same filters. personable_type tells real users (User) from integrations, sample people, outsiders, ' +
    'agents and removed people. include_removed: true adds the people already removed from the account where the API lists ' +
    'them (Basecamp 2, admins only). On Basecamp 2 who is a client is known only per project (project_id), and owner and ' +
    'employee are not known (null). The text shows one person per line: id, name, <email>, [roles and type when not a plain ' +
    'User], title, company; detail: "full" adds the JSON.',
  inputSchema: {
    project_id: peopleFilterParams.project_id,
    query: peopleFilterParams.query,
    role: peopleFilterParams.role,
    company: peopleFilterParams.company,
    client: peopleFilterParams.client,
    ids: z
      .array(z.number().int().positive())
      .min(1)
      .max(100)
      .optional()
      .describe('Only these person ids (1-100), in the listing\'s order; ids that are not on the account (or project) come back in not_found.'),
    types: peopleFilterParams.types,
    include_removed: peopleFilterParams.include_removed,
    sort: z.enum(sorts).optional().describe('Sort by name (case-insensitive) or by when they were created or last updated. Default: Basecamp\'s order.'),
    order: z.enum(['asc', 'desc']).optional().describe('With sort: asc (default) or desc. People without the sorted field come last.'),
    limit,
    cursor,
    detail,
  },
  outputSchema: {
    people: z.array(compactPerson),
    total: z.number().describe('People matching the filters, across every page.'),
    hidden: z.number().describe('People who matched but were left out as Tombstone or DummyUser because types was not given (0 when it was).'),
    not_found: z.array(z.number()).optional().describe('With ids: the ids that are not people on the account (or the project).'),
    next_cursor: z.string().nullable(),
    truncated: z.boolean().optional().describe('True when Basecamp could not be read to the end; the list is incomplete.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    validatePeopleFilters(args);
    if (args.order !== undefined && args.sort === undefined) {
      throw new InvalidInputError('order needs sort: pass sort (name, created_at or updated_at) too, or leave order out for Basecamp\'s order.');
    }
  },
  async handler(args, ctx) {
    const company = args.company?.toLowerCase();
    const ids = normalSet(args.ids);
    const types = normalSet(args.types?.map((t) => t.toLowerCase()));
    const key = listingKey('people', {
      project_id: args.project_id,
      query: args.query?.toLowerCase(),
      role: args.role,
      company,
      client: args.client,
      ids,
      types,
      include_removed: args.include_removed === true ? true : undefined,
      sort: args.sort,
      order: args.sort ? (args.order ?? 'asc') : undefined,
    });
    const offset = decodeCursor(args.cursor, key);
    const { all, kept, hidden: hiddenPeople } = await peopleMatching(ctx, args, { ids });
    const matching = args.sort ? sortListing(kept, sortValue(args.sort), args.order) : kept;

    const present = new Set(all.items.map((p) => p.id));
    const not_found = args.ids ? [...new Set(args.ids)].filter((id) => !present.has(id)) : undefined;

    const { slice, next_cursor } = page(matching, offset, args.limit ?? 100, key);
    const people = slice.map(toCompactPerson);
    const where = args.project_id !== undefined ? `project ${args.project_id}` : 'the account';
    const more = next_cursor ? ' More with next_cursor.' : '';
    const missing = not_found?.length
      ? ` Not found${args.project_id !== undefined ? ` on project ${args.project_id}` : ''}: ${not_found.join(', ')}${all.truncated ? ' (the list is incomplete: they may exist)' : ''}.`
      : '';
    const warning = all.truncated ? ` WARNING: incomplete, ${all.truncated}.` : '';
    return {
      structured: {
        people,
        total: matching.length,
        hidden: hiddenPeople.length,
        ...(not_found ? { not_found } : {}),
        next_cursor,
        ...(all.truncated ? { truncated: true } : {}),
      },
      summary: `${matching.length === 1 ? '1 person matches' : `${matching.length} people match`} on ${where}; showing ${slice.length} from #${offset + 1}.${more}${hiddenNote(hiddenPeople)}${missing}${warning}`,
      text: args.detail === 'full' ? undefined : [...people.map(personLine), ...(next_cursor ? [`next_cursor: ${next_cursor}`] : [])].join('\n'),
    };
  },
});

function sortValue(sort: (typeof sorts)[number]): (p: Person) => string | number | undefined {
  if (sort === 'name') return (p) => p.name;
  return (p) => timeValue(p[sort]);
}
