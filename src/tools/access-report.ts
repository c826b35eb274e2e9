import { z } from 'zod';
import { hidesEmails, normalEmail, peopleWithEmails, refuseUnknowable } from '../basecamp/directory.js';
import { IncompleteDataError, InvalidInputError } from '../errors.js';
import { NotFoundError } from '../basecamp/errors.js';
import type { Collection } from '../basecamp/http.js';
import type { Person } from '../basecamp/types.js';
import { oneLine } from '../one-line.js';
import { defineTool, type ToolContext } from './lib/define.js';
import { RequestMeter, scanAccess } from './lib/access-scan.js';
import { fromCompany, hiddenByDefault, isHiddenByDefault, refuseCompanyFilter, typeOf } from './lib/people-filters.js';
import { company, email, personId, projectId } from './lib/params.js';
import { compactPerson, personLine, toCompactPerson } from './lib/shapes.js';
import { csvField } from './lib/csv.js';

/**
 * The person with this id or email in the people directory; a miss in a cached copy is looked for once more in a
 * fresh read. By email, as every tool looks addresses up (directory.ts): two people with one address are refused,
 * and a miss where Basecamp hides addresses from this sign-in is said to be that, never "no such person".
 */
async function findPerson(ctx: ToolContext, meter: RequestMeter, by: { person_id?: number; email?: string }): Promise<Person> {
  const match = (all: Collection<Person>) =>
    by.email === undefined ? all.items.find((p) => p.id === by.person_id) : peopleWithEmails(all.items, [by.email]).get(normalEmail(by.email));
  let read = await meter.read((o) => ctx.directory.people(o), ctx.signal);
  let found = match(read.collection);
  if (!found && read.cached && !hidesEmails(read.collection.items)) {
    read = await meter.read((o) => ctx.directory.people(o), ctx.signal, true);
    found = match(read.collection);
  }
  if (found) return found;
  if (by.email !== undefined) refuseUnknowable(read.collection, [by.email]);
  const who = by.email === undefined ? `id ${by.person_id}` : `email ${by.email}`;
  if (read.collection.truncated) {
    throw new IncompleteDataError(`Could not read the whole people directory (${read.collection.truncated}), so cannot tell whether a person with ${who} is on the account.`);
  }
  throw new NotFoundError(`No person with ${who} is on this account (or visible to this token). Find people with list_people.`);
}

const reportProject = z.object({
  id: z.number(),
  name: z.string(),
  status: z.string().nullable().describe('active or archived.'),
  purpose: z.string().nullable().describe('company_hq (the HQ), team, or topic (an ordinary project).'),
  clients_enabled: z.boolean().nullable().describe('Whether clients can be given access; null when Basecamp did not say.'),
  people_count: z.number().describe('How many of this report\'s people (after the filters) are on it.'),
});

const reportPerson = compactPerson.extend({
  projects: z.array(z.number()).describe('Ids of the report\'s projects this person is on; [] when none.'),
});
type ReportPerson = z.infer<typeof reportPerson>;

export const CSV_COLUMNS = ['person_id', 'name', 'email_address', 'client', 'project_id', 'project_name', 'project_status'] as const;

export const accessReport = defineTool({
  name: 'access_report',
  title: 'Access report (who can reach what)',
  description:
    'An access review: who can reach which projects, teams and the HQ. Answers "who can see Q3 Planning?" (project_id), ' +
    '"what can Jan reach?" (person_id or email), "which clients see which projects?" (clients_only: true), "what can ' +
    'Northwind\'s people reach?" (company: a company-name substring) and "who is on no project at all?" (no filter: every ' +
    'person of the account is listed, those on no project with projects: []). Covers active projects and archived ones ' +
    '(include_archived: false for active only); trashed projects are NOT part of an access review (their people cannot ' +
    'reach them until restored), and only projects the signed-in person is on are visible to Basecamp\'s API. Like ' +
    'list_people it leaves out removed people (Tombstone) and sample people (DummyUser), unless asked for by id or email. ' +
    'Reads every page of every project\'s membership (one read per project: on a large account about a minute for 300 ' +
    'projects, within the rate limit, with progress notifications); what was read within BASECAMP_CACHE_TTL is reused, ' +
    'and requests_used says what the report cost. Changes nothing. Comes with the same report as a CSV a person can save ' +
    '(one row per person and project). The text: a summary, one line per project (id name: N people, archived ones ' +
    'marked "(archived)"), then the ' +
    'person\'s projects (with a person), who is on the project (with project_id), or who is on no project.',
  inputSchema: {
    person_id: personId.optional().describe('Only this person (from list_people).'),
    email: email.optional().describe('Only the person with this email address.'),
    project_id: projectId.optional().describe('Only this project (from list_projects): who can see it.'),
    clients_only: z.boolean().optional().describe('true: only clients.'),
    company,
    include_archived: z.boolean().optional().describe('Include archived projects (default true). Trashed projects are never included.'),
  },
  outputSchema: {
    projects: z.array(reportProject).describe('The projects reviewed, in Basecamp\'s order: active first, then archived.'),
    people: z
      .array(reportPerson)
      .describe(
        'The people of the report, each with the projects they are on. Without project_id or a person: every person on the ' +
          'account matching the filters (those on no project with []); with project_id: the people on it.',
      ),
    generated_at: z.string().describe('When the report was made (ISO 8601). What was read within BASECAMP_CACHE_TTL before came from the cache.'),
    requests_used: z
      .number()
      .describe('Basecamp requests this report cost: one per page read (a request retried after a 429 or 503 counts once); 0 when everything came from the cache.'),
    truncated: z.boolean().optional().describe('True when a list could not be read to the end: the report is incomplete (the summary says which).'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (args.person_id !== undefined && args.email !== undefined) {
      throw new InvalidInputError('Give person_id or email, not both (or neither, for everyone).');
    }
  },
  async handler(args, ctx) {
    refuseCompanyFilter(args.company, await ctx.api.capabilities(ctx.signal));
    const meter = new RequestMeter();
    const includeArchived = args.include_archived ?? true;
    const byPerson = args.person_id !== undefined || args.email !== undefined;
    const truncated: string[] = [];

    // The person first (a wrong id or email fails before the scan), then the account's people when everyone is wanted.
    const person = byPerson ? await findPerson(ctx, meter, args) : undefined;
    let directory: Person[] = [];
    if (!byPerson && args.project_id === undefined) {
      const { collection } = await meter.read((o) => ctx.directory.people(o), ctx.signal);
      directory = collection.items;
      if (collection.truncated) truncated.push(`the people directory: ${collection.truncated}`);
    }
    const scan = await scanAccess(ctx, meter, { includeArchived, projectId: args.project_id });
    truncated.push(...scan.truncated);

    // Everyone the report could list: the person asked for; or the account's people and anyone else found on a project.
    const candidates = new Map<number, Person>();
    if (person) candidates.set(person.id, person);
    else {
      for (const p of directory) if (!candidates.has(p.id)) candidates.set(p.id, p);
      for (const project of scan.projects) for (const p of scan.members.get(project.id) ?? []) if (!candidates.has(p.id)) candidates.set(p.id, p);
    }
    // Where the people listing does not say who is a client (null: Basecamp 2), the projects' people do.
    const memberClient = new Map<number, boolean>();
    for (const list of scan.members.values()) for (const m of list) if (typeof m.client === 'boolean') memberClient.set(m.id, (memberClient.get(m.id) ?? false) || m.client);
    for (const [id, p] of candidates) if (p.client === null && memberClient.has(id)) candidates.set(id, { ...p, client: memberClient.get(id)! });
    const company = args.company?.toLowerCase();
    const matching = [...candidates.values()].filter(
      (p) => (!args.clients_only || p.client === true) && fromCompany(p, company),
    );
    const hidden = person ? [] : matching.filter(isHiddenByDefault);
    const kept = person ? matching : matching.filter((p) => !isHiddenByDefault(p));

    const onProject = new Map(scan.projects.map((project) => [project.id, new Set((scan.members.get(project.id) ?? []).map((p) => p.id))]));
    const people: ReportPerson[] = kept.map((p) => ({
      ...toCompactPerson(p),
      projects: scan.projects.filter((project) => onProject.get(project.id)!.has(p.id)).map((project) => project.id),
    }));
    const projects = scan.projects.map((project) => ({
      id: project.id,
      name: project.name,
      status: project.status ?? null,
      purpose: project.purpose ?? null,
      clients_enabled: project.clients_enabled ?? null,
      people_count: people.filter((p) => p.projects.includes(project.id)).length,
    }));

    const generated_at = new Date().toISOString();
    const structured = {
      projects,
      people,
      generated_at,
      requests_used: meter.requests,
      ...(truncated.length ? { truncated: true } : {}),
    };
    const summary = summarize({ args, person: people.find((p) => p.id === person?.id), projects, people, hidden, includeArchived, requests: meter.requests, truncated });
    return {
      structured,
      summary,
      text: textLines({ byPerson, projectId: args.project_id, projects, people }).join('\n'),
      attachments: [{ uri: `basecamp-people://access-report/${generated_at}.csv`, mimeType: 'text/csv', text: reportCsv(projects, people) }],
    };
  },
});

type ReportProject = z.infer<typeof reportProject>;

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
const projectRef = (p: ReportProject) => `${p.id} ${oneLine(p.name)}${p.status && p.status !== 'active' ? ` (${oneLine(p.status)})` : ''}`;

function summarize(r: {
  args: { person_id?: number; email?: string; project_id?: number; clients_only?: boolean; company?: string };
  person: ReportPerson | undefined;
  projects: ReportProject[];
  people: ReportPerson[];
  hidden: Person[];
  includeArchived: boolean;
  requests: number;
  truncated: string[];
}): string {
  const archived = r.projects.filter((p) => p.status === 'archived').length;
  const scope = r.includeArchived ? `${r.projects.length - archived} active, ${archived} archived` : 'active only';
  const filters = [r.args.clients_only && 'clients only', r.args.company !== undefined && `company contains "${r.args.company}"`].filter(Boolean).join(', ');
  const filterNote = filters ? ` (${filters})` : '';
  let what: string;
  if (r.args.person_id !== undefined || r.args.email !== undefined) {
    const who = r.args.email ?? `person ${r.args.person_id}`;
    if (!r.person) what = `${who} does not match the filters${filterNote}; nothing to report`;
    else if (r.args.project_id !== undefined) {
      what = `${oneLine(r.person.name)} ${r.person.projects.length ? 'is' : 'is NOT'} on ${projectRef(r.projects[0]!)}`;
    } else what = `${oneLine(r.person.name)} can reach ${r.person.projects.length} of the ${count(r.projects.length, 'project', 'projects')} reviewed (${scope})`;
  } else if (r.args.project_id !== undefined) {
    what = `${count(r.people.length, 'person', 'people')}${filterNote} can reach ${projectRef(r.projects[0]!)}`;
  } else {
    const none = r.people.filter((p) => p.projects.length === 0).length;
    what = `Access report: ${count(r.people.length, 'person', 'people')}${filterNote} across ${count(r.projects.length, 'project', 'projects')} (${scope}); ${none} on no project`;
  }
  const hiddenTypes = hiddenByDefault.filter((t) => r.hidden.some((p) => typeOf(p).toLowerCase() === t.toLowerCase()));
  const hiddenNote = r.hidden.length ? ` ${r.hidden.length} left out (${hiddenTypes.join(', ')}).` : '';
  const cost = ` ${count(r.requests, 'Basecamp request', 'Basecamp requests')}${r.requests === 0 ? ' (all from the cache)' : ''}.`;
  const warning = r.truncated.length ? ` WARNING: incomplete, could not read ${r.truncated.join('; ')}.` : '';
  return `${what}.${hiddenNote} Only projects the signed-in person is on are visible; trashed ones are not reviewed.${cost} CSV attached.${warning}`;
}

function textLines(r: { byPerson: boolean; projectId?: number; projects: ReportProject[]; people: ReportPerson[] }): string[] {
  const lines = r.projects.map((p) => `${projectRef(p)}: ${count(p.people_count, 'person', 'people')}`);
  const names = new Map(r.projects.map((p) => [p.id, p]));
  if (r.byPerson) {
    for (const p of r.people) {
      lines.push(`${personLine(p)} is on ${p.projects.length ? p.projects.map((id) => projectRef(names.get(id)!)).join(', ') : 'no project'}`);
    }
  } else if (r.projectId !== undefined) {
    lines.push(...r.people.map((p) => personLine(p)));
  } else {
    const none = r.people.filter((p) => p.projects.length === 0);
    if (none.length) lines.push(`On no project: ${none.map((p) => `${p.id} ${oneLine(p.name)}`).join(', ')}`);
  }
  return lines;
}

/** The report as CSV (RFC 4180, CRLF): a header, then one row per person and project; a person on no project has one row with empty project cells. */
export function reportCsv(projects: ReportProject[], people: ReportPerson[]): string {
  const byId = new Map(projects.map((p) => [p.id, p]));
  const rows: string[][] = [[...CSV_COLUMNS]];
  for (const p of people) {
    const personCells = [String(p.id), p.name, p.email_address ?? '', String(p.client)];
    if (!p.projects.length) rows.push([...personCells, '', '', '']);
    for (const id of p.projects) {
      const project = byId.get(id)!;
      rows.push([...personCells, String(project.id), project.name, project.status ?? '']);
    }
  }
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}
