import { z } from 'zod';
import { hidesEmails } from '../basecamp/directory.js';
import type { Person } from '../basecamp/types.js';
import { EmailsHiddenError, IncompleteDataError, InvalidInputError } from '../errors.js';
import { oneLine } from '../one-line.js';
import { RequestMeter } from './lib/access-scan.js';
import { csvText } from './lib/csv.js';
import { defineTool } from './lib/define.js';
import { email, projectId } from './lib/params.js';
import { isReconciled, MAX_ROSTER, MAX_ROSTER_NAME, reconcileRoster, rosterFromCsv, type Reconciliation, type RosterEntry } from './lib/roster.js';
import { compactPerson, emailText, personLine, toCompactPerson } from './lib/shapes.js';

/** invite_people takes 1-50 people a call; update_project_access 1-100 people. */
const INVITE_BATCH = 50;
const REVOKE_BATCH = 100;

const rosterEntry = z.object({
  email_address: z.string(),
  name: z.string().optional(),
});

export const CSV_COLUMNS = ['status', 'email_address', 'roster_name', 'person_id', 'basecamp_name', 'personable_type', 'client'] as const;

export const reconcilePeople = defineTool({
  name: 'reconcile_people',
  title: 'Reconcile people with a staff roster',
  description:
    'Compares a staff list (an HR roster) with the people on the Basecamp account, or on one project (project_id): who on ' +
    'the roster is missing in Basecamp, who in Basecamp is not on the roster, and whose name differs. Give the roster as ' +
    'roster ([{email_address, name?}], 1-5,000) or as roster_csv (CSV text whose header names an email or email_address ' +
    'column and optionally name; comma or semicolon separated, quoted fields, a BOM are fine), exactly one. Addresses are ' +
    'compared case-insensitively, names case- and space-insensitively. not_on_roster lists team members (the owner ' +
    'included), clients only with include_clients: true; removed people (Tombstone), sample people (DummyUser), ' +
    'integrations and AI agents are never compared. Reads the people directory once (its pages only; reused within ' +
    'BASECAMP_CACHE_TTL) and changes nothing: next_steps holds ready arguments for invite_people (batches of 50) and ' +
    'trash_person (or, with project_id, update_project_access revoke), which each ask for their own consent. Needs an ' +
    'admin or owner sign-in (Basecamp masks other people\'s addresses for anyone else: refused as emails_hidden). Comes ' +
    'with the whole comparison as a CSV a person can save. The text: a summary, then one line per difference (the first 100 of each kind; all of them in the structured content and the CSV).',
  inputSchema: {
    roster: z
      .array(
        z.object({
          email_address: email.describe('Their email address.'),
          name: z.string().trim().max(MAX_ROSTER_NAME).optional().describe('Their name on the roster (compared with Basecamp\'s, case- and space-insensitively).'),
        }),
      )
      .min(1)
      .max(MAX_ROSTER)
      .optional()
      .describe('The roster: 1-5,000 people. Give roster or roster_csv, not both.'),
    roster_csv: z
      .string()
      .min(1)
      .max(2_000_000)
      .optional()
      .describe(
        'The roster as CSV text: a header naming an email (or email_address) column and optionally name (other columns ' +
          'ignored), then 1-5,000 rows; separated by commas or semicolons (read from the header), fields with a separator, ' +
          'quote or line break in double quotes. A malformed CSV is refused naming its line.',
      ),
    include_clients: z.boolean().optional().describe('true: clients not on the roster are listed too (default false: team members only).'),
    project_id: projectId.optional().describe('Reconcile one project\'s people (from list_projects) instead of the whole account.'),
  },
  outputSchema: {
    matched: z.number().describe('Roster addresses (distinct, case-insensitive) that someone in Basecamp has.'),
    roster_addresses: z.number().describe('Distinct addresses on the roster (a repeated address counts once).'),
    missing_in_basecamp: z.array(rosterEntry).describe('Roster people whose address nobody in Basecamp (or on the project) has.'),
    not_on_roster: z.array(compactPerson).describe('People in Basecamp whose address is not on the roster: team members, and clients with include_clients.'),
    name_mismatches: z
      .array(z.object({ person: compactPerson, roster_name: z.string() }))
      .describe('Matched people whose Basecamp name differs from the roster\'s (case and spaces aside).'),
    without_address: z
      .array(compactPerson)
      .describe('People who would be compared but have no email address in Basecamp: they cannot be matched, and are not in not_on_roster.'),
    next_steps: z
      .object({
        invite_people: z
          .array(z.object({ people: z.array(rosterEntry), project_ids: z.array(z.number()).optional() }))
          .optional()
          .describe('Ready arguments for invite_people, one call per batch of at most 50: the people missing in Basecamp.'),
        trash_person: z
          .array(z.object({ person_id: z.number() }))
          .optional()
          .describe('Ready arguments for trash_person, one call each: the people not on the roster (never the owner). Each asks for its own consent.'),
        update_project_access: z
          .array(z.object({ project_id: z.number(), revoke: z.array(z.number()) }))
          .optional()
          .describe('With project_id: ready arguments to take the project from the people not on the roster (batches of at most 100).'),
      })
      .describe('What would bring Basecamp in line with the roster. Nothing here is done by this tool; each tool keeps its own consent.'),
    people_compared: z.number().describe('Basecamp people the roster was compared with (after leaving out Tombstone, DummyUser, Integration and Agent).'),
    requests_used: z.number().describe('Basecamp requests this cost: one per page of the people directory (or the project\'s people); 0 when it came from the cache.'),
    notes: z.array(z.string()).describe('What the comparison could not tell, e.g. what this Basecamp\'s API does not say.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if ((args.roster === undefined) === (args.roster_csv === undefined)) {
      throw new InvalidInputError('Give the roster as roster or as roster_csv: exactly one of them.');
    }
    if (args.roster_csv !== undefined) rosterFromCsv(args.roster_csv);
  },
  async handler(args, ctx) {
    const rows: RosterEntry[] = args.roster ?? rosterFromCsv(args.roster_csv!);
    const caps = await ctx.api.capabilities(ctx.signal);
    const meter = new RequestMeter();
    const where = args.project_id !== undefined ? `project ${args.project_id}` : 'the account';
    await ctx.progress(0, 2, `Reading the people of ${where}`);
    const { collection } = await meter.read(
      (o) => (args.project_id !== undefined ? ctx.directory.projectPeople(args.project_id, o) : ctx.directory.people(o)),
      ctx.signal,
    );
    if (hidesEmails(collection.items)) {
      throw new EmailsHiddenError(
        'Basecamp shows other people\'s email addresses only to admins and owners, and the signed-in person is neither: a roster ' +
          'cannot be compared with masked addresses (whoever is missing or extra cannot be told). Nothing was compared or changed. ' +
          'Sign in as an admin or owner of the account and call reconcile_people again.',
      );
    }
    if (collection.truncated) {
      throw new IncompleteDataError(
        `Could not read every person on ${where} (${collection.truncated}), so who is missing and who is not on the roster cannot be told. Nothing was changed. Try again later.`,
      );
    }
    await ctx.progress(1, 2, `Comparing ${count(rows.length, 'roster row', 'roster rows')} with ${count(collection.items.length, 'person', 'people')}`);
    const includeClients = args.include_clients ?? false;
    const result = reconcileRoster(rows, collection.items, { includeClients });
    const notes = notesFor(result, collection.items, { includeClients, projectId: args.project_id, clientsKnown: caps.clientsInDirectory || args.project_id !== undefined, productName: caps.productName, companiesKnown: caps.companiesKnown });
    const structured = {
      matched: result.matched.length,
      roster_addresses: result.roster.length,
      missing_in_basecamp: result.missing,
      not_on_roster: result.notOnRoster.map(toCompactPerson),
      name_mismatches: result.mismatches.map((m) => ({ person: toCompactPerson(m.person), roster_name: m.roster_name })),
      without_address: result.withoutAddress.map(toCompactPerson),
      next_steps: nextSteps(result, args.project_id),
      people_compared: collection.items.filter(isReconciled).length,
      requests_used: meter.requests,
      notes,
    };
    await ctx.progress(2, 2, 'Compared');
    const generated_at = new Date().toISOString();
    return {
      structured,
      summary: summarize(structured, where),
      text: textLines(structured).join('\n'),
      attachments: [{ uri: `basecamp-people://reconcile-people/${generated_at}.csv`, mimeType: 'text/csv', text: comparisonCsv(result) }],
    };
  },
});

type Result = {
  matched: number;
  roster_addresses: number;
  missing_in_basecamp: RosterEntry[];
  not_on_roster: z.infer<typeof compactPerson>[];
  name_mismatches: { person: z.infer<typeof compactPerson>; roster_name: string }[];
  without_address: z.infer<typeof compactPerson>[];
  requests_used: number;
  notes: string[];
};

const batches = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

function nextSteps(r: Reconciliation, projectId: number | undefined) {
  const steps: {
    invite_people?: { people: RosterEntry[]; project_ids?: number[] }[];
    trash_person?: { person_id: number }[];
    update_project_access?: { project_id: number; revoke: number[] }[];
  } = {};
  if (r.missing.length) {
    steps.invite_people = batches(r.missing, INVITE_BATCH).map((people) => ({ people, ...(projectId !== undefined ? { project_ids: [projectId] } : {}) }));
  }
  // The owner cannot be removed; everyone else not on the roster can be, each with its own consent.
  const removable = r.notOnRoster.filter((p) => p.owner !== true).map((p) => p.id);
  if (removable.length && projectId === undefined) steps.trash_person = removable.map((person_id) => ({ person_id }));
  if (removable.length && projectId !== undefined) steps.update_project_access = batches(removable, REVOKE_BATCH).map((revoke) => ({ project_id: projectId, revoke }));
  return steps;
}

function notesFor(
  r: Reconciliation,
  people: Person[],
  o: { includeClients: boolean; projectId?: number; clientsKnown: boolean; productName: string; companiesKnown: boolean },
): string[] {
  const notes: string[] = [];
  if (r.withoutAddress.length) {
    notes.push(`${r.withoutAddress.length} ${r.withoutAddress.length === 1 ? 'person has' : 'people have'} no email address in Basecamp and cannot be matched with the roster: see without_address.`);
  }
  if (!o.clientsKnown && !o.includeClients && people.some((p) => p.client === null)) {
    notes.push(`${o.productName}'s people listing does not say who is a client, so not_on_roster may include clients; reconcile a client project's people with project_id to tell them apart.`);
  }
  if (!o.companiesKnown) notes.push(`${o.productName}'s API has no company or employee fields: people are matched by email address alone.`);
  if (r.notOnRoster.some((p) => p.owner === true)) notes.push('The account owner is not on the roster; the owner cannot be removed, so next_steps leaves them out.');
  return notes;
}

const count = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

function summarize(s: Result, where: string): string {
  const diffs = s.missing_in_basecamp.length + s.not_on_roster.length + s.name_mismatches.length;
  const what =
    `Roster of ${count(s.roster_addresses, 'address', 'addresses')} against ${where}: ${s.matched} matched, ` +
    `${s.missing_in_basecamp.length} missing in Basecamp, ${s.not_on_roster.length} not on the roster, ${count(s.name_mismatches.length, 'name mismatch', 'name mismatches')}.`;
  const next = diffs ? ' next_steps holds ready arguments for invite_people and trash_person (each asks for its own consent); nothing was changed.' : ' Basecamp matches the roster; nothing to do.';
  const cost = ` ${count(s.requests_used, 'Basecamp request', 'Basecamp requests')}${s.requests_used === 0 ? ' (from the cache)' : ''}. CSV attached.`;
  return `${what}${next}${cost}${s.notes.length ? ` Note: ${s.notes.join(' ')}` : ''}`;
}

const rosterLine = (e: RosterEntry) => `${e.name ? `${oneLine(e.name)}${emailText(e)}` : oneLine(e.email_address)}`;

/** Lines of text per kind of difference; the rest are in the structured content and the CSV (a model reads the text). */
export const TEXT_LINES_EACH = 100;

function textLines(s: Result): string[] {
  const section = <T>(items: T[], line: (item: T) => string, what: string) => [
    ...items.slice(0, TEXT_LINES_EACH).map(line),
    ...(items.length > TEXT_LINES_EACH ? [`${what}: ${items.length - TEXT_LINES_EACH} more, in the structured content and the attached CSV`] : []),
  ];
  return [
    ...section(s.missing_in_basecamp, (e) => `missing in Basecamp: ${rosterLine(e)}`, 'missing in Basecamp'),
    ...section(s.not_on_roster, (p) => `not on the roster: ${personLine(p)}`, 'not on the roster'),
    ...section(s.name_mismatches, (m) => `name differs: ${personLine(m.person)} · roster: ${oneLine(m.roster_name)}`, 'name differs'),
    ...section(s.without_address, (p) => `no address: ${personLine(p)}`, 'no address'),
  ];
}

/** The whole comparison as CSV (RFC 4180, CRLF, formulas neutralised): one row per roster address and per person not on it. */
export function comparisonCsv(r: Reconciliation): string {
  const personCells = (p: Person) => [String(p.id), p.name, p.personable_type ?? 'User', p.client === null ? '' : String(p.client ?? false)];
  const rows: string[][] = [[...CSV_COLUMNS]];
  const mismatched = new Set(r.mismatches.map((m) => m.person.id));
  for (const { entry, people } of r.matched) {
    for (const p of people) rows.push([mismatched.has(p.id) ? 'name_mismatch' : 'matched', entry.email_address, entry.name ?? '', ...personCells(p)]);
  }
  for (const e of r.missing) rows.push(['missing_in_basecamp', e.email_address, e.name ?? '', '', '', '', '']);
  for (const p of r.notOnRoster) rows.push(['not_on_roster', p.email_address ?? '', '', ...personCells(p)]);
  for (const p of r.withoutAddress) rows.push(['no_address', '', '', ...personCells(p)]);
  return csvText(rows);
}
