import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { NotFoundError } from '../basecamp/errors.js';
import { RequestMeter, scanAccess } from './lib/access-scan.js';
import { defineTool } from './lib/define.js';
import { email, personId } from './lib/params.js';
import { fullPerson, nameWithEmail } from './lib/shapes.js';

export const getPerson = defineTool({
  name: 'get_person',
  title: 'Get a person',
  description:
    'Get one person\'s full Basecamp record (roles, permissions, company, time zone). Give exactly one of ' +
    'person_id, email, or me: true (the signed-in person). By email the record comes from the people directory (cached ' +
    'for BASECAMP_CACHE_TTL, re-read when the email is not in it); out_of_office, which Basecamp sends only for one ' +
    'person read by id, needs person_id. include_projects: true adds the projects, teams and HQ the person can reach ' +
    '(active and archived; trashed ones are not counted), as access_report finds them: one membership read per project ' +
    'the signed-in person can see, with progress, reused within BASECAMP_CACHE_TTL.',
  inputSchema: {
    person_id: personId.optional(),
    email: email
      .optional()
      .describe('Look the person up by email address (needs an admin or owner sign-in: Basecamp hides other people\'s addresses from anyone else; use person_id then).'),
    me: z.literal(true).optional().describe('true: the person this server is signed in as.'),
    include_projects: z
      .boolean()
      .optional()
      .describe('true: also list the projects the person can reach (active and archived). Reads every project\'s membership (cached).'),
  },
  outputSchema: {
    person: fullPerson,
    projects: z
      .array(z.object({ id: z.number(), name: z.string(), status: z.string().nullable() }))
      .optional()
      .describe('With include_projects: the projects, teams and HQ the person is on (active and archived), in Basecamp\'s order.'),
    projects_truncated: z
      .boolean()
      .optional()
      .describe('With include_projects: true when a project list or membership could not be read to the end, so projects may be incomplete.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    const given = [args.person_id !== undefined, args.email !== undefined, args.me === true].filter(Boolean).length;
    if (given !== 1) throw new InvalidInputError('Give exactly one of person_id, email, or me: true.');
  },
  async handler(args, ctx) {
    const { signal } = ctx;
    // By email, the directory's record is the answer (the listing carries the same fields): looking up many
    // people by email costs no request while the directory is fresh. By id and `me`, Basecamp is asked.
    let person;
    if (args.me) person = await ctx.api.myProfile(signal);
    else if (args.person_id !== undefined) person = await ctx.api.getPerson(args.person_id, signal);
    else {
      person = await ctx.directory.findByEmail(args.email!, signal);
      if (!person) {
        throw new NotFoundError(
          `No person with email ${args.email} is on this account (or visible to this token). Check the spelling, or use list_people with query.`,
        );
      }
    }
    const roles = [person.owner && 'owner', person.admin && 'admin', person.client && 'client'].filter(Boolean).join(', ');
    const summary = `${nameWithEmail(person)} (id ${person.id}${roles ? `; ${roles}` : ''}).`;
    if (!args.include_projects) return { structured: { person }, summary };

    const id = person.id;
    if ((await ctx.api.capabilities(signal)).personProjects) {
      // One request lists every project the person can access (deleted ones too: left out, as below).
      const all = await ctx.api.personProjects(id, signal);
      const projects = all.items.filter((p) => p.status !== 'trashed').map((p) => ({ id: p.id, name: p.name, status: p.status ?? null }));
      return {
        structured: { person, projects, ...(all.truncated ? { projects_truncated: true } : {}) },
        summary: `${summary} On ${projects.length} active and archived project(s) the signed-in person can see.`,
      };
    }
    const scan = await scanAccess(ctx, new RequestMeter(), { includeArchived: true });
    const projects = scan.projects
      .filter((p) => scan.members.get(p.id)?.some((m) => m.id === id))
      .map((p) => ({ id: p.id, name: p.name, status: p.status ?? null }));
    const reach = ` On ${projects.length} of the ${scan.projects.length} active and archived projects the signed-in person can see.`;
    const warning = scan.truncated.length ? ` WARNING: incomplete, could not read ${scan.truncated.join('; ')}.` : '';
    return {
      structured: { person, projects, ...(scan.truncated.length ? { projects_truncated: true } : {}) },
      summary: `${summary}${reach}${warning}`,
    };
  },
});
