import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { BCX_BIG_PROJECT, BCX_BIG_PROJECT_SIZE, BCX_CLIENT, BCX_DELETED, BCX_OWNER } from '../../src/sandbox/bcx/seed.js';
import { isClient, type SandboxPerson } from '../../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { attachmentOf, cell, parseCsv } from '../csv.js';
import { ADAM, call, connectClient, JAN, LAUNCH, OWNER, peopleReads, sandboxService, structured, text, toolHarness, type ToolResult } from '../helpers.js';

/** Issue 21: export_people, everyone (list_people's filters) as a CSV or JSON Lines attachment for a directory sync. */

const { setup, track } = toolHarness();

/** The export's columns as its users read them, written out here on purpose: a change to EXPORT_COLUMNS must show up as a failing test. */
const COLUMNS = [
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
];

interface Exported {
  format: 'csv' | 'jsonl';
  count: number;
  hidden: number;
  columns: string[];
  truncated?: boolean;
}
type Row = Record<string, string | number | boolean | null>;
interface Listed {
  people: { id: number; name: string; email_address: string | null; email_hidden?: boolean; title: string | null; admin: boolean; owner: boolean | null; client: boolean | null; employee: boolean | null; personable_type: string; company?: { id: number; name: string }; created_at: string | null }[];
  total: number;
  hidden: number;
}

/** The CSV attachment as rows of cells keyed by the header (which must be the columns). */
function csvRows(r: ToolResult): Record<string, string>[] {
  const attachment = attachmentOf(r);
  expect(attachment.mimeType).toBe('text/csv');
  expect(attachment.uri).toMatch(/^basecamp-people:\/\/export-people\/.+\.csv$/);
  const [header, ...rows] = parseCsv(attachment.text);
  expect(header).toEqual(COLUMNS);
  for (const row of rows) expect(row).toHaveLength(COLUMNS.length);
  return rows.map((row) => Object.fromEntries(COLUMNS.map((c, i) => [c, row[i]!])));
}

/** The JSON Lines attachment, one object per line, each with exactly the columns as keys (in order). */
function jsonlRows(r: ToolResult): Row[] {
  const attachment = attachmentOf(r);
  expect(attachment.mimeType).toBe('application/jsonl');
  expect(attachment.uri).toMatch(/^basecamp-people:\/\/export-people\/.+\.jsonl$/);
  expect(attachment.text.endsWith('\n')).toBe(true);
  const rows = attachment.text
    .slice(0, -1)
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Row);
  for (const row of rows) expect(Object.keys(row)).toEqual(COLUMNS);
  return rows;
}

/** What a row must hold for a person of list_people's structured output, plus the two fields only the export has. */
function rowFor(p: Listed['people'][number], more: { updated_at: string | null; time_zone: string | null }): Row {
  return {
    id: p.id,
    name: p.name,
    email_address: p.email_address,
    email_hidden: p.email_hidden === true,
    title: p.title,
    company_id: p.company?.id ?? null,
    company_name: p.company?.name ?? null,
    admin: p.admin,
    owner: p.owner,
    client: p.client,
    employee: p.employee,
    personable_type: p.personable_type,
    created_at: p.created_at,
    ...more,
  };
}

/** A row as its CSV cells: null empty, booleans and numbers as text, formulas neutralised. */
const asCells = (row: Row): Record<string, string> => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v === null ? '' : cell(String(v))]));

/** The bc3 sandbox's record of a person: the fields only the export has. */
function bc3Extra(sb: Sandbox, id: number): { updated_at: string | null; time_zone: string | null } {
  const p = sb.data.people.get(id)!;
  return { updated_at: p.updated_at ?? null, time_zone: p.time_zone ?? null };
}

const listAll = async (client: Parameters<typeof call>[0], args: Record<string, unknown> = {}) => structured<Listed>(await call(client, 'list_people', { limit: 500, ...args }));

describe('export_people', () => {
  it('round-trips: the CSV and the JSON Lines parse back to list_people\'s people and the sandbox\'s records, sorted by id; requests = the directory\'s pages', async () => {
    const { sb, client } = await setup({ people: 500 });
    // Basecamp's order is not the ids' order: the export's is.
    const reversed = [...sb.data.people.entries()].reverse();
    sb.data.people.clear();
    for (const [id, p] of reversed) sb.data.people.set(id, p);
    const r = await call(client, 'export_people', {});
    expect(r.isError).toBeFalsy();
    const s = structured<Exported>(r);
    // The directory's 8 pages, and nothing else.
    expect(peopleReads(sb)).toHaveLength(8);
    expect(sb.apiRequests()).toHaveLength(8);

    const listed = await listAll(client);
    const jsonl = await call(client, 'export_people', { format: 'jsonl' });
    // Both served by the cached directory.
    expect(sb.apiRequests()).toHaveLength(8);

    expect(listed.people[0]!.id).toBeGreaterThan(listed.people.at(-1)!.id);
    const byId = [...listed.people].sort((a, b) => a.id - b.id);
    const expected = byId.map((p) => rowFor(p, bc3Extra(sb, p.id)));
    expect(s).toEqual({ format: 'csv', count: listed.total, hidden: listed.hidden, columns: COLUMNS });
    expect(s.count).toBe(498); // 500 less the Tombstone and the DummyUser
    expect(csvRows(r)).toEqual(expected.map(asCells));
    expect(structured<Exported>(jsonl)).toEqual({ format: 'jsonl', count: listed.total, hidden: listed.hidden, columns: COLUMNS });
    expect(jsonlRows(jsonl)).toEqual(expected);

    // The sandbox's own records, field by field, for every exported person.
    for (const row of jsonlRows(jsonl)) {
      const p = sb.data.people.get(row.id as number)!;
      expect(row).toMatchObject({ name: p.name, email_address: p.email_address ?? null, title: p.title ?? null, admin: p.admin, created_at: p.created_at });
      expect(row.company_id).toBe(p.company?.id ?? null);
      expect(row.company_name).toBe(p.company?.name ?? null);
    }
    // Sorted by id (Basecamp's order is not).
    const ids = expected.map((e) => e.id as number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('the text previews the first people by id as person lines, "…N more"; the export is only in the attachment', async () => {
    const { client } = await setup();
    const r = await call(client, 'export_people', {});
    const s = structured<Exported>(r);
    const lines = text(r).split('\n');
    expect(lines[0]).toBe(`Exported ${s.count} people of the account as CSV, sorted by id (attached). 2 hidden (Tombstone, DummyUser): pass types to include them.`);
    const listed = [...(await listAll(client)).people].sort((a, b) => a.id - b.id);
    expect(lines.slice(1)).toEqual([
      ...listed.slice(0, 5).map((p) => expect.stringMatching(new RegExp(`^${p.id} `))),
      `…${s.count - 5} more in the attachment`,
    ]);
    expect(lines[1]).toMatch(new RegExp(`^${OWNER} Olivia Owner <olivia@acme\\.example> \\[owner,admin\\]`));
    // The structured content holds no people: the export is the attachment.
    expect(Object.keys(r.structuredContent!).sort()).toEqual(['columns', 'count', 'format', 'hidden']);
  });

  /** Who each filter must select, straight from the sandbox's records (not from the shared filter engine). */
  const visible = (p: SandboxPerson) => p.personable_type !== 'Tombstone' && p.personable_type !== 'DummyUser';
  const named = (p: SandboxPerson, q: string) => `${p.name}\n${p.email_address ?? ''}`.toLowerCase().includes(q);
  it.each<[string, Record<string, unknown>, (p: SandboxPerson, sb: Sandbox) => boolean]>([
    ['query', { query: 'ACME.example' }, (p) => visible(p) && named(p, 'acme.example')],
    ['role admin', { role: 'admin' }, (p) => visible(p) && p.admin],
    ['role owner', { role: 'owner' }, (p) => visible(p) && p.owner],
    ['company', { company: 'acme' }, (p) => visible(p) && !!p.company?.name.toLowerCase().includes('acme')],
    ['clients only', { client: true }, (p) => visible(p) && isClient(p)],
    ['team only', { client: false }, (p) => visible(p) && !isClient(p)],
    ['types', { types: ['Tombstone', 'DummyUser', 'integration'] }, (p) => ['Tombstone', 'DummyUser', 'Integration'].includes(p.personable_type)],
    ['a project', { project_id: LAUNCH }, (p, sb) => visible(p) && sb.data.projects.get(LAUNCH)!.members.has(p.id)],
    ['combined', { query: 'a', role: 'employee', client: false }, (p) => visible(p) && named(p, 'a') && p.employee && !isClient(p)],
  ])('filters as list_people does: %s', async (_name, args, selects) => {
    const { sb, client } = await setup();
    const listed = await listAll(client, args);
    const r = await call(client, 'export_people', { ...args, format: 'jsonl' });
    expect(r.isError).toBeFalsy();
    const rows = jsonlRows(r);
    const expected = [...sb.data.people.values()].filter((p) => selects(p, sb)).map((p) => p.id).sort((a, b) => a - b);
    expect(rows.map((row) => row.id)).toEqual(expected);
    expect(rows.map((row) => row.id)).toEqual(listed.people.map((p) => p.id).sort((a, b) => a - b));
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.length).toBeLessThan(sb.data.people.size);
    expect(structured<Exported>(r)).toMatchObject({ count: listed.total, hidden: listed.hidden });
  });

  it('quoting and formula neutralisation: a name starting with = holding quotes, commas and a newline; a title starting with +; a company starting with @', async () => {
    const { sb, client } = await setup();
    const NAME = '=HYPERLINK("http://evil.example"), "Bobby", Jr.\nthe 2nd';
    const TITLE = '+1 cmd|\' /C calc\'!A0';
    const COMPANY = '@Evil, "Ltd"\r\nrevoked: everyone';
    Object.assign(sb.data.people.get(JAN)!, { name: NAME, title: TITLE, company: { id: 77, name: COMPANY } });
    Object.assign(sb.data.people.get(ADAM)!, { name: '-2+3', title: '\tTabbed' });

    const r = await call(client, 'export_people', {});
    const csv = attachmentOf(r).text;
    expect(csv).toContain(`\r\n${JAN},"'=HYPERLINK(""http://evil.example""), ""Bobby"", Jr.\nthe 2nd",jan@acme.example,false,'+1 cmd|' /C calc'!A0,77,"'@Evil, ""Ltd""\r\nrevoked: everyone",`);
    expect(csv).toContain(`\r\n${ADAM},'-2+3,`);
    const rows = csvRows(r);
    expect(rows.find((row) => row.id === String(JAN))).toMatchObject({ name: `'${NAME}`, title: `'${TITLE}`, company_id: '77', company_name: `'${COMPANY}` });
    expect(rows.find((row) => row.id === String(ADAM))).toMatchObject({ name: "'-2+3", title: "'\tTabbed" });
    // No cell a spreadsheet would run as a formula.
    for (const row of rows) for (const value of Object.values(row)) expect(value).not.toMatch(/^[=+\-@\t\r]/);

    // JSON Lines keep the values as they are (nothing runs them), escaped by JSON.
    const jsonl = await call(client, 'export_people', { format: 'jsonl' });
    expect(jsonlRows(jsonl).find((row) => row.id === JAN)).toMatchObject({ name: NAME, title: TITLE, company_id: 77, company_name: COMPANY });
    // The preview lines escape them: no line of the text is forged.
    for (const result of [r, jsonl]) {
      const t = text(result);
      expect(t).not.toMatch(/\r/);
      expect(t.split('\n').some((line) => line.startsWith('revoked') || line.startsWith('the 2nd'))).toBe(false);
      expect(t).toContain(`${JAN} =HYPERLINK("http://evil.example"), "Bobby", Jr.\\nthe 2nd <jan@acme.example>`);
    }
  });

  it('a sign-in that sees masked addresses: email_hidden true and no address (never the mask), and the summary says how to get them', async () => {
    const { client } = await setup({ signInAs: JAN });
    const r = await call(client, 'export_people', {});
    const rows = csvRows(r);
    expect(rows.find((row) => row.id === String(OWNER))).toMatchObject({ email_address: '', email_hidden: 'true' });
    expect(rows.find((row) => row.id === String(JAN))).toMatchObject({ email_address: 'jan@acme.example', email_hidden: 'false' });
    expect(attachmentOf(r).text).not.toContain('•');
    const hidden = rows.filter((row) => row.email_hidden === 'true').length;
    expect(hidden).toBeGreaterThan(10);
    expect(text(r).split('\n')[0]).toContain(`${hidden} addresses are hidden from this sign-in (Basecamp shows addresses in full only to admins and owners): email_address empty, email_hidden true; sign in as an admin for a complete export.`);

    const jsonl = jsonlRows(await call(client, 'export_people', { format: 'jsonl' }));
    expect(jsonl.find((row) => row.id === OWNER)).toMatchObject({ email_address: null, email_hidden: true });
    expect(jsonl.filter((row) => row.email_hidden === true)).toHaveLength(hidden);
  });

  it('a directory cut short: truncated true and a warning', async () => {
    const sb = track(await startSandbox({ people: 300, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } }));
    const client = track(await connectClient(service));
    const r = await call(client, 'export_people', {});
    expect(r.isError).toBeFalsy();
    expect(structured<Exported>(r).truncated).toBe(true);
    expect(text(r).split('\n')[0]).toMatch(/WARNING: incomplete, stopped after the safety cap of 1 pages\.$/);
    expect(csvRows(r).length).toBe(structured<Exported>(r).count);
  });

  it('progress after each page of a long read (people read, of the total Basecamp announced) keeps a client with a short timeout waiting; none from the cache', async () => {
    const { sb, client } = await setup({ people: 500 });
    // Slow pages: the read takes far longer than the client's timeout, which only progress resets.
    sb.intercept((req) => (req.path.split('?')[0]!.endsWith('/people.json') ? { delayMs: 150 } : undefined));
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const exportWithProgress = async () =>
      (await client.callTool({ name: 'export_people', arguments: {} }, undefined, {
        onprogress: (p) => progress.push({ progress: p.progress, total: p.total, message: p.message }),
        resetTimeoutOnProgress: true,
        timeout: 600,
      })) as ToolResult;
    const r = await exportWithProgress();
    expect(r.isError).toBeFalsy();
    expect(structured<Exported>(r).count).toBe(498);
    expect(peopleReads(sb)).toHaveLength(8);
    // One before the read, then one per page (8).
    expect(progress).toHaveLength(9);
    expect(progress[0]).toMatchObject({ progress: 0, message: 'Reading the people directory' });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    expect(progress.slice(1).every((p) => p.total === 500)).toBe(true);
    expect(progress.at(-1)).toEqual({ progress: 500, total: 500, message: 'Read 500 of 500 people (8 pages)' });

    // From the cache: no page is read, so only the first notification.
    progress.length = 0;
    expect((await exportWithProgress()).isError).toBeFalsy();
    expect(progress.map((p) => p.progress)).toEqual([0]);
    expect(peopleReads(sb)).toHaveLength(8);
  });

  it('cancelled mid-read (the client aborts): no further pages, and the next export starts over and is whole', async () => {
    const { sb, client } = await setup({ people: 500 });
    const controller = new AbortController();
    let reads = 0;
    sb.intercept((req) => {
      if (!req.path.split('?')[0]!.endsWith('/people.json')) return undefined;
      if (++reads === 3) controller.abort();
      return { delayMs: 30 };
    });
    const pending = client.callTool({ name: 'export_people', arguments: {} }, undefined, { signal: controller.signal, onprogress: () => undefined });
    await expect(pending).rejects.toThrow(/abort/i);
    await new Promise((r) => setTimeout(r, 400));
    expect(reads).toBe(3);
    expect(peopleReads(sb)).toHaveLength(3);
    sb.intercept(undefined);
    const after = await call(client, 'export_people', { format: 'jsonl' });
    expect(jsonlRows(after)).toHaveLength(498);
    expect(peopleReads(sb)).toHaveLength(3 + 8);
  });
});

describe('export_people on Basecamp 2', () => {
  it('the same columns, company, owner, employee and client empty, and the summary says why; one request', async () => {
    const { sb, client } = await setup({ product: 'bcx' });
    const r = await call(client, 'export_people', {});
    expect(r.isError).toBeFalsy();
    const rows = csvRows(r);
    const listed = await listAll(client);
    expect(rows.map((row) => Number(row.id))).toEqual(listed.people.map((p) => p.id).sort((a, b) => a - b));
    expect(rows).toHaveLength(sb.bcx!.people.size);
    for (const row of rows) expect([row.company_id, row.company_name, row.owner, row.employee, row.client]).toEqual(['', '', '', '', '']);
    expect(rows.find((row) => row.id === String(BCX_OWNER))).toMatchObject({ admin: 'true', email_address: sb.bcx!.people.get(BCX_OWNER)!.email_address });
    expect(text(r).split('\n')[0]).toContain(
      'Basecamp 2\'s API does not say company_id, company_name, owner, employee, client: those columns are empty (client is known per project: pass project_id).',
    );
    expect(sb.apiRequests().map((q) => `${q.method} ${q.path}`)).toEqual([expect.stringMatching(/^GET \/\d+\/api\/v1\/people\.json$/)]);

    // JSON Lines: the same, as nulls.
    const jsonl = jsonlRows(await call(client, 'export_people', { format: 'jsonl' }));
    expect(jsonl.find((row) => row.id === BCX_OWNER)).toMatchObject({ company_id: null, company_name: null, owner: null, employee: null, client: null, admin: true });
  });

  it('with project_id the client column is known; include_removed adds the removed people as Tombstone', async () => {
    const { client } = await setup({ product: 'bcx' });
    const launch = await call(client, 'export_people', { project_id: 4000002, format: 'jsonl' });
    const rows = jsonlRows(launch);
    expect(rows.find((row) => row.id === BCX_CLIENT)).toMatchObject({ client: true });
    expect(rows.find((row) => row.id === BCX_OWNER)).toMatchObject({ client: false, owner: null });
    expect(text(launch).split('\n')[0]).toContain('does not say company_id, company_name, owner, employee: those columns are empty.');
    const removed = jsonlRows(await call(client, 'export_people', { include_removed: true, format: 'jsonl' }));
    expect(removed.find((row) => row.id === BCX_DELETED)).toMatchObject({ personable_type: 'Tombstone' });
  });

  it('a project\'s accesses paged by number (60: two pages of 50): progress after each page', async () => {
    const { client } = await setup({ product: 'bcx' });
    const progress: { progress: number; total?: number; message?: string }[] = [];
    const r = (await client.callTool({ name: 'export_people', arguments: { project_id: BCX_BIG_PROJECT } }, undefined, {
      onprogress: (p) => progress.push({ progress: p.progress, total: p.total, message: p.message }),
    })) as ToolResult;
    expect(structured<Exported>(r).count).toBe(BCX_BIG_PROJECT_SIZE);
    expect(progress).toEqual([
      { progress: 0, message: 'Reading the people directory' },
      { progress: 50, message: 'Read 50 people (1 page)' },
      { progress: 60, message: 'Read 60 people (2 pages)' },
    ]);
  });
});
