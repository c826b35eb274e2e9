import { z } from 'zod';
import { CancelledError } from '../basecamp/errors.js';
import type { PagesRead } from '../basecamp/http.js';
import type { Capabilities, Person } from '../basecamp/types.js';
import { csvText } from './lib/csv.js';
import { defineTool } from './lib/define.js';
import { hiddenNote, peopleFilterParams, peopleMatching, validatePeopleFilters } from './lib/people-filters.js';
import { personLine, toCompactPerson } from './lib/shapes.js';

/** The export's columns, in order: the CSV's header, and the keys of each JSON line. */
export const EXPORT_COLUMNS = [
  'id',
  'name',
  'email_address',
  'email_hidden',
  'title',
  'company_id',
  'company_name',
  'admin',
  'owner',
  'client',
  'employee',
  'personable_type',
  'created_at',
  'updated_at',
  'time_zone',
] as const;
type ExportRow = Record<(typeof EXPORT_COLUMNS)[number], string | number | boolean | null>;

/** How many people the text previews (the whole export is in the attachment). */
const PREVIEW = 5;

const formats = ['csv', 'jsonl'] as const;
type Format = (typeof formats)[number];

export const exportPeople = defineTool({
  name: 'export_people',
  title: 'Export people (CSV or JSON Lines)',
  description:
    'Export the account\'s people (or one project\'s, project_id) for a directory sync or a spreadsheet: every person ' +
    'matching the filters, sorted by id, as ONE attachment: CSV (format csv, the default; RFC 4180, cells a spreadsheet ' +
    'would run as a formula are prefixed with \') or JSON Lines (format jsonl: one JSON object per person). Columns: ' +
    `${EXPORT_COLUMNS.join(', ')} (empty/null where Basecamp does not say). The filters are list_people's (query, role, ` +
    'company, client, types, include_removed, project_id); without types, removed people (Tombstone) and sample people ' +
    '(DummyUser) are left out and counted in hidden. Reads the people directory once (every page, reused within ' +
    'BASECAMP_CACHE_TTL); changes nothing. The text previews the first people; the full export is only in the attachment. ' +
    'On Basecamp 2 the company, owner and employee columns are empty (its API does not say them), and client is known ' +
    'only with project_id. Addresses Basecamp hides from a sign-in that is not an admin come out empty with email_hidden ' +
    'true: sign in as an admin for a complete export.',
  inputSchema: {
    ...peopleFilterParams,
    format: z.enum(formats).optional().describe('csv (default): a CSV file; jsonl: JSON Lines, one JSON object per person.'),
  },
  outputSchema: {
    format: z.enum(formats),
    count: z.number().describe('People in the export (rows after the CSV header, or lines of the JSON Lines).'),
    hidden: z.number().describe('People who matched but were left out as Tombstone or DummyUser because types was not given (0 when it was).'),
    columns: z.array(z.string()).describe('The columns of the export, in order (the CSV header; the keys of each JSON line).'),
    truncated: z.boolean().optional().describe('True when Basecamp could not be read to the end: the export is incomplete (the summary says why).'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    validatePeopleFilters(args);
  },
  async handler(args, ctx) {
    const format: Format = args.format ?? 'csv';
    await ctx.progress(0, undefined, 'Reading the people directory');
    // Progress after each page Basecamp sends (none when the cached directory answers): people read, of how many.
    const onPage = ({ pages, items, total }: PagesRead) => {
      if (!ctx.signal.aborted) void ctx.progress(items, total, `Read ${items}${total !== undefined ? ` of ${total}` : ''} people (${pages} ${pages === 1 ? 'page' : 'pages'})`);
    };
    const { all, kept, hidden } = await peopleMatching(ctx, args, { onPage });
    if (ctx.signal.aborted) throw new CancelledError('Cancelled after reading the people directory; nothing was exported.');
    const people = [...kept].sort((a, b) => a.id - b.id);
    const rows = people.map(exportRow);
    const generated_at = new Date().toISOString();
    const attachment =
      format === 'csv'
        ? { uri: `basecamp-people://export-people/${generated_at}.csv`, mimeType: 'text/csv', text: exportCsv(rows) }
        : { uri: `basecamp-people://export-people/${generated_at}.jsonl`, mimeType: 'application/jsonl', text: rows.map((r) => `${JSON.stringify(r)}\n`).join('') };

    const caps = await ctx.api.capabilities(ctx.signal);
    const where = args.project_id !== undefined ? `project ${args.project_id}` : 'the account';
    const masked = people.filter((p) => p.email_hidden === true).length;
    const maskedNote = masked
      ? ` ${masked} ${masked === 1 ? 'address is' : 'addresses are'} hidden from this sign-in (Basecamp shows addresses in full only to admins and owners): email_address empty, email_hidden true; sign in as an admin for a complete export.`
      : '';
    const warning = all.truncated ? ` WARNING: incomplete, ${all.truncated}.` : '';
    const more = people.length > PREVIEW ? [`…${people.length - PREVIEW} more in the attachment`] : [];
    return {
      structured: { format, count: rows.length, hidden: hidden.length, columns: [...EXPORT_COLUMNS], ...(all.truncated ? { truncated: true } : {}) },
      summary:
        `Exported ${rows.length === 1 ? '1 person' : `${rows.length} people`} of ${where} as ${format === 'csv' ? 'CSV' : 'JSON Lines'}, sorted by id (attached).` +
        `${hiddenNote(hidden)}${unknownColumnsNote(caps, args.project_id)}${maskedNote}${warning}`,
      text: [...people.slice(0, PREVIEW).map((p) => personLine(toCompactPerson(p))), ...more].join('\n'),
      attachments: [attachment],
    };
  },
});

/** One person as an export row: list_people's compact record (the same values), flattened, with updated_at and time_zone. */
function exportRow(p: Person): ExportRow {
  const c = toCompactPerson(p);
  return {
    id: c.id,
    name: c.name,
    email_address: c.email_address,
    email_hidden: c.email_hidden === true,
    title: c.title,
    company_id: c.company?.id ?? null,
    company_name: c.company?.name ?? null,
    admin: c.admin,
    owner: c.owner,
    client: c.client,
    employee: c.employee,
    personable_type: c.personable_type,
    created_at: c.created_at,
    updated_at: p.updated_at ?? null,
    time_zone: p.time_zone ?? null,
  };
}

/** The rows as CSV: the header, then one row per person; null (not known) is an empty cell, booleans true/false. */
function exportCsv(rows: ExportRow[]): string {
  return csvText([[...EXPORT_COLUMNS], ...rows.map((r) => EXPORT_COLUMNS.map((k) => (r[k] === null ? '' : String(r[k]))))]);
}

/** Which columns this product leaves empty, said so ('' when it says them all). */
function unknownColumnsNote(caps: Capabilities, projectId: number | undefined): string {
  const empty = [
    !caps.companiesKnown && 'company_id, company_name',
    !caps.ownerKnown && 'owner, employee',
    !caps.clientsInDirectory && projectId === undefined && 'client',
  ].filter(Boolean);
  if (!empty.length) return '';
  const clientHint = !caps.clientsInDirectory && projectId === undefined ? ' (client is known per project: pass project_id)' : '';
  return ` ${caps.productName}'s API does not say ${empty.join(', ')}: those columns are empty${clientHint}.`;
}
