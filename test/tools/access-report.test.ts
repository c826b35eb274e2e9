import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { isClient, makePerson, type SandboxProject } from '../../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { attachmentOf as csvOf, cell, parseCsv } from '../csv.js';
import { ABANDONED, call, CLIENT, connectClient, JAN, LAUNCH, OLD_WEBSITE, OWNER, sandboxService, structured, text, TOMBSTONE, toolHarness, type ToolResult } from '../helpers.js';

const { setup, track } = toolHarness();

const Q3 = 2000005; // Q3 Planning
const SAMPLE = 1000004; // the seed's DummyUser
const ZAPIER = 1000005; // an Integration, on no project

interface Report {
  projects: { id: number; name: string; status: string | null; purpose: string | null; clients_enabled: boolean | null; people_count: number }[];
  people: { id: number; name: string; email_address: string | null; client: boolean; personable_type: string; company?: { name: string }; projects: number[] }[];
  generated_at: string;
  requests_used: number;
  truncated?: boolean;
}
const report = (r: ToolResult) => structured<Report>(r);

/** The projects an access review covers, as the sandbox holds them: active then archived, those the owner is on, in Basecamp's order. */
function reviewed(sb: Sandbox, includeArchived = true): SandboxProject[] {
  const all = [...sb.data.projects.values()].filter((p) => p.members.has(OWNER));
  return [...all.filter((p) => p.status === 'active'), ...(includeArchived ? all.filter((p) => p.status === 'archived') : [])];
}

/** Every person the report shows by default (no Tombstone, no DummyUser) with the ids of the reviewed projects they are on. */
function expectedPeople(sb: Sandbox, projects = reviewed(sb)): { id: number; projects: number[] }[] {
  return [...sb.data.people.values()]
    .filter((p) => p.personable_type !== 'Tombstone' && p.personable_type !== 'DummyUser')
    .map((p) => ({ id: p.id, projects: projects.filter((project) => project.members.has(p.id)).map((project) => project.id) }));
}

/** Pages the sandbox serves for a list of n items (geared: 15, 30, 50, then 100; an empty list is one page). */
function pagesFor(n: number): number {
  const geared = [15, 30, 50];
  let pages = 0;
  let left = n;
  do {
    left -= geared[pages] ?? 100;
    pages++;
  } while (left > 0);
  return pages;
}

const membershipReads = (sb: Sandbox) => sb.apiRequests().filter((r) => /^\/\d+\/projects\/\d+\/people\.json/.test(r.path));

/** Adds `n` active projects the owner is on, each with a deterministic handful of the account's people. */
function addProjects(sb: Sandbox, n: number): void {
  const launch = sb.data.projects.get(LAUNCH)!;
  const ids = [...sb.data.people.keys()];
  for (let i = 1; i <= n; i++) {
    const members = new Set([OWNER, ...ids.filter((_, k) => (k * 7 + i) % 23 === 0)]);
    sb.data.projects.set(2100000 + i, { ...launch, id: 2100000 + i, name: `Extra ${i}`, members });
  }
}

/** The CSV's rows must be exactly the structured report: one per person and project, one with empty project cells for a person on none. */
function expectCsvMatches(r: ToolResult): void {
  const s = report(r);
  const csv = csvOf(r);
  expect(csv.mimeType).toBe('text/csv');
  expect(csv.uri).toBe(`basecamp-people://access-report/${s.generated_at}.csv`);
  const [header, ...rows] = parseCsv(csv.text);
  expect(header).toEqual(['person_id', 'name', 'email_address', 'client', 'project_id', 'project_name', 'project_status']);
  const projects = new Map(s.projects.map((p) => [p.id, p]));
  const expected = s.people.flatMap((p) => {
    const person = [String(p.id), cell(p.name), cell(p.email_address ?? ''), String(p.client)];
    if (!p.projects.length) return [[...person, '', '', '']];
    return p.projects.map((id) => [...person, String(id), cell(projects.get(id)!.name), projects.get(id)!.status ?? '']);
  });
  expect(rows).toEqual(expected);
}

describe('access_report', () => {
  it('matches the sandbox\'s membership exactly; one membership read per project page; requests_used is what it cost', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'access_report');
    expect(r.isError).toBeFalsy();
    const s = report(r);
    const projects = reviewed(sb);
    expect(s.projects.map((p) => p.id)).toEqual(projects.map((p) => p.id));
    expect(s.projects.map((p) => p.status)).toContain('archived');
    expect(s.projects.map((p) => p.id)).not.toContain(ABANDONED); // trashed: not part of a review
    for (const [i, p] of s.projects.entries()) {
      expect(p).toMatchObject({ name: projects[i]!.name, status: projects[i]!.status, purpose: projects[i]!.purpose, clients_enabled: projects[i]!.clients_enabled });
      expect(p.people_count).toBe(s.people.filter((person) => person.projects.includes(p.id)).length);
    }
    expect(s.people.map(({ id, projects: on }) => ({ id, projects: on }))).toEqual(expectedPeople(sb));
    expect(s.truncated).toBeUndefined();
    expect(Date.parse(s.generated_at)).toBeGreaterThan(Date.now() - 60_000);

    // One read of every page of every project's membership, and nothing else besides the two lists and the directory.
    const reads = membershipReads(sb);
    const expectedPages = projects.map((p) => pagesFor(p.members.size));
    expect(reads).toHaveLength(expectedPages.reduce((a, b) => a + b, 0));
    expect(Math.max(...expectedPages)).toBeGreaterThan(1); // the HQ takes several pages
    for (const [i, project] of projects.entries()) {
      expect(reads.filter((q) => q.path.includes(`/projects/${project.id}/people.json`)), project.name).toHaveLength(expectedPages[i]!);
    }
    expect(new Set(reads.map((q) => q.path)).size).toBe(reads.length);
    expect(s.requests_used).toBe(sb.apiRequests().length);
    expect(s.requests_used).toBe(reads.length + pagesFor(sb.data.people.size) + 2);
    expectCsvMatches(r);
  });

  it('a second report within the cache TTL costs 0 requests, and so does asking about one person then; after the TTL it reads again', async () => {
    const { sb, client } = await setup({ cacheTtlMs: 1500 });
    const first = report(await call(client, 'access_report'));
    const sent = sb.apiRequests().length;
    expect(first.requests_used).toBe(sent);
    const again = await call(client, 'access_report');
    expect(report(again).requests_used).toBe(0);
    expect(text(again).split('\n')[0]).toMatch(/0 Basecamp requests \(all from the cache\)/);
    expect({ ...report(again), generated_at: '' }).toEqual({ ...first, generated_at: '', requests_used: 0 });
    expect(report(await call(client, 'access_report', { email: 'jan@acme.example' })).requests_used).toBe(0);
    expect(report(await call(client, 'access_report', { project_id: Q3, clients_only: true })).requests_used).toBe(0);
    expect(sb.apiRequests()).toHaveLength(sent);
    await new Promise((r) => setTimeout(r, 1600));
    const later = report(await call(client, 'access_report'));
    expect(later.requests_used).toBe(sent);
    expect(sb.apiRequests()).toHaveLength(2 * sent);
  });

  it('project_id: who can see Q3 Planning (one membership read, no directory read), with those people in the text', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'access_report', { project_id: Q3 });
    const s = report(r);
    const q3 = sb.data.projects.get(Q3)!;
    expect(s.projects).toEqual([{ id: Q3, name: 'Q3 Planning', status: 'active', purpose: 'topic', clients_enabled: true, people_count: q3.members.size }]);
    expect(s.people.map((p) => p.id)).toEqual([...q3.members]);
    expect(s.people.every((p) => p.projects.length === 1 && p.projects[0] === Q3)).toBe(true);
    expect(membershipReads(sb).map((q) => q.path.split('?')[0])).toEqual(Array(pagesFor(q3.members.size)).fill(`/${sb.accountId}/projects/${Q3}/people.json`));
    expect(sb.apiRequests().filter((q) => /\/people\.json/.test(q.path) && !q.path.includes('/projects/'))).toHaveLength(0);
    const [summary, projectLine, ...people] = text(r).split('\n');
    expect(summary).toMatch(new RegExp(`^${q3.members.size} people can reach ${Q3} Q3 Planning\\.`));
    expect(projectLine).toBe(`${Q3} Q3 Planning: ${q3.members.size} people`);
    expect(people).toHaveLength(q3.members.size);
    for (const [i, p] of s.people.entries()) expect(people[i]!.startsWith(`${p.id} ${p.name}`)).toBe(true);
    expectCsvMatches(r);

    // A trashed or unknown project is refused, saying why.
    for (const project_id of [ABANDONED, 2999999]) {
      const bad = await call(client, 'access_report', { project_id });
      expect(bad.isError).toBe(true);
      expect(text(bad)).toMatch(new RegExp(`Project ${project_id} is not an active or archived project the signed-in person can see \\(trashed projects are not part of an access review\\)`));
    }
    const archivedOut = await call(client, 'access_report', { project_id: OLD_WEBSITE, include_archived: false });
    expect(text(archivedOut)).toMatch(/archived ones need include_archived: true/);
  });

  it('person_id and email: what Jan can reach (not the trashed project he is on), his projects in the text', async () => {
    const { sb, client } = await setup();
    sb.data.projects.get(ABANDONED)!.members.add(JAN);
    const janOn = reviewed(sb).filter((p) => p.members.has(JAN));
    expect(janOn.some((p) => p.status === 'archived')).toBe(true);
    for (const args of [{ person_id: JAN }, { email: 'JAN@acme.example' }]) {
      const r = await call(client, 'access_report', args);
      expect(r.isError).toBeFalsy();
      const s = report(r);
      expect(s.people).toHaveLength(1);
      expect(s.people[0]).toMatchObject({ id: JAN, name: 'Jan Jensen', projects: janOn.map((p) => p.id) });
      expect(s.projects.map((p) => p.id)).toEqual(reviewed(sb).map((p) => p.id));
      expect(s.projects.map((p) => p.people_count)).toEqual(reviewed(sb).map((p) => (p.members.has(JAN) ? 1 : 0)));
      const lines = text(r).split('\n');
      expect(lines[0]).toMatch(new RegExp(`^Jan Jensen can reach ${janOn.length} of the ${reviewed(sb).length} projects reviewed \\(\\d+ active, 2 archived\\)\\.`));
      expect(lines).toHaveLength(1 + reviewed(sb).length + 1);
      expect(lines.at(-1)).toBe(`${JAN} Jan Jensen <jan@acme.example> · Designer · Acme Co is on ${janOn.map((p) => `${p.id} ${p.name}${p.status === 'archived' ? ' (archived)' : ''}`).join(', ')}`);
      expectCsvMatches(r);
    }
    // With project_id too: is Jan on it?
    const onLaunch = await call(client, 'access_report', { person_id: JAN, project_id: LAUNCH });
    expect(text(onLaunch).split('\n')[0]).toMatch(/^Jan Jensen is on 2000004 Launch\./);
    const website = await call(client, 'access_report', { email: 'jan@acme.example', project_id: 2000006 });
    expect(report(website).people[0]!.projects).toEqual([]);
    expect(text(website).split('\n')[0]).toMatch(/^Jan Jensen is NOT on 2000006 Website Redesign\./);
    // Asked for by id, a removed person is shown (on no project).
    expect(report(await call(client, 'access_report', { person_id: TOMBSTONE })).people).toMatchObject([{ id: TOMBSTONE, projects: [] }]);
    // Nobody with that id or email: not found, before any membership read.
    const before = membershipReads(sb).length;
    for (const args of [{ person_id: 42 }, { email: 'nobody@acme.example' }]) {
      const r = await call(client, 'access_report', args);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/No person with (id 42|email nobody@acme\.example) is on this account/);
    }
    expect(membershipReads(sb)).toHaveLength(before);
  });

  it('clients_only: which clients see which projects; company: a company-name substring; they combine', async () => {
    const { sb, client } = await setup();
    const clients = expectedPeople(sb).filter((p) => isClient(sb.data.people.get(p.id)));
    expect(clients.length).toBeGreaterThan(5);
    const r = await call(client, 'access_report', { clients_only: true });
    const s = report(r);
    expect(s.people.map(({ id, projects }) => ({ id, projects }))).toEqual(clients);
    expect(s.people.map((p) => p.id)).toContain(CLIENT);
    expect(s.people.every((p) => p.client)).toBe(true);
    const launch = s.projects.find((p) => p.id === LAUNCH)!;
    expect(launch.people_count).toBe(clients.filter((p) => p.projects.includes(LAUNCH)).length);
    expect(launch.people_count).toBeGreaterThan(0);
    expect(text(r).split('\n')[0]).toMatch(/\(clients only\)/);
    expectCsvMatches(r);

    const acme = report(await call(client, 'access_report', { company: 'ACME' }));
    expect(acme.people.map((p) => p.id)).toEqual(expectedPeople(sb).filter((p) => sb.data.people.get(p.id)!.company?.name === 'Acme Co').map((p) => p.id));
    expect(acme.people.map((p) => p.id)).toEqual(expect.arrayContaining([OWNER, JAN]));
    const northwindClients = report(await call(client, 'access_report', { company: 'northwind', clients_only: true }));
    expect(northwindClients.people.map((p) => p.id)).toEqual(clients.map((p) => p.id)); // every seeded client is at Northwind
    expect(report(await call(client, 'access_report', { company: 'northwind', clients_only: true, project_id: Q3 })).people.map((p) => p.id)).toEqual(
      clients.filter((p) => p.projects.includes(Q3)).map((p) => p.id),
    );
    expect(report(await call(client, 'access_report', { company: 'Globex' })).people).toEqual([]);
    // A person who does not match the filters: nothing to report.
    const janAsClient = await call(client, 'access_report', { person_id: JAN, clients_only: true });
    expect(report(janAsClient).people).toEqual([]);
    expect(text(janAsClient).split('\n')[0]).toMatch(/person 1000003 does not match the filters \(clients only\)/);
  });

  it('include_archived: false reviews active projects only, and reads no archived project', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'access_report', { include_archived: false });
    const s = report(r);
    const active = reviewed(sb, false);
    expect(s.projects.map((p) => p.id)).toEqual(active.map((p) => p.id));
    expect(s.projects.every((p) => p.status === 'active')).toBe(true);
    expect(s.people.map(({ id, projects }) => ({ id, projects }))).toEqual(expectedPeople(sb, active));
    expect(membershipReads(sb).some((q) => q.path.includes(`/projects/${OLD_WEBSITE}/`))).toBe(false);
    expect(sb.apiRequests().some((q) => q.path.includes('status=archived'))).toBe(false);
    expect(text(r).split('\n')[0]).toMatch(/\(active only\)/);
  });

  it('who is on no project at all: every person of the account, those on none with [] (Tombstone and DummyUser left out)', async () => {
    const { sb, client } = await setup();
    const loner = sb.data.nextPersonId++;
    sb.data.people.set(loner, makePerson(loner, { name: 'Lone Ranger', email_address: 'lone@acme.example', company: { id: 800001, name: 'Acme Co' } }));
    const r = await call(client, 'access_report');
    const s = report(r);
    const none = s.people.filter((p) => p.projects.length === 0).map((p) => p.id);
    expect(none).toEqual(expectedPeople(sb).filter((p) => p.projects.length === 0).map((p) => p.id));
    expect(none).toEqual(expect.arrayContaining([loner, ZAPIER]));
    expect(s.people.map((p) => p.id)).not.toContain(TOMBSTONE);
    expect(s.people.map((p) => p.id)).not.toContain(SAMPLE);
    const [summary, ...lines] = text(r).split('\n');
    expect(summary).toMatch(new RegExp(`^Access report: ${s.people.length} people across ${s.projects.length} projects \\(\\d+ active, 2 archived\\); ${none.length} on no project\\. 2 left out \\(Tombstone, DummyUser\\)\\.`));
    expect(summary).toMatch(/Only projects the signed-in person is on are visible; trashed ones are not reviewed\..*CSV attached\.$/);
    // Compact: one line per project, then who is on no project; never the JSON.
    expect(lines).toHaveLength(s.projects.length + 1);
    for (const [i, p] of s.projects.entries()) {
      expect(lines[i]).toBe(`${p.id} ${p.name}${p.status === 'archived' ? ' (archived)' : ''}: ${p.people_count} ${p.people_count === 1 ? 'person' : 'people'}`);
    }
    expect(lines).toContain(`${OLD_WEBSITE} Old Website (archived): ${s.projects.find((p) => p.id === OLD_WEBSITE)!.people_count} people`);
    expect(lines.at(-1)).toBe(`On no project: ${s.people.filter((p) => !p.projects.length).map((p) => `${p.id} ${p.name}`).join(', ')}`);
    expect(text(r)).not.toContain('{');
    expectCsvMatches(r);
  });

  it('the CSV round-trips: quoting per RFC 4180, formulas neutralised, a person on no project as one row', async () => {
    const { sb, client } = await setup();
    const tricky = '=HYPERLINK("http://evil.example"), "Bobby", Jr.\nthe 2nd';
    sb.data.people.get(JAN)!.name = tricky;
    sb.data.people.get(CLIENT)!.email_address = '+rosa@client.example';
    sb.data.projects.get(Q3)!.name = '@Q3, "Planning"';
    const r = await call(client, 'access_report');
    const s = report(r);
    expect(s.people.find((p) => p.id === JAN)!.name).toBe(tricky);
    expectCsvMatches(r);
    const csv = csvOf(r).text;
    expect(csv).toContain(`${JAN},"'=HYPERLINK(""http://evil.example""), ""Bobby"", Jr.\nthe 2nd",jan@acme.example,false,`);
    expect(csv).toContain(`,'+rosa@client.example,true,`);
    expect(csv).toContain(`,${Q3},"'@Q3, ""Planning""",active\r\n`);
    expect(csv).toContain(`\r\n${ZAPIER},Zapier Integration,,false,,,\r\n`);
    const rows = parseCsv(csv);
    expect(rows.length - 1).toBe(s.people.reduce((n, p) => n + Math.max(1, p.projects.length), 0));
    // The text stays one line per project, whatever the names hold.
    expect(text(r).split('\n')).toContain(`${Q3} @Q3, "Planning": ${s.projects.find((p) => p.id === Q3)!.people_count} people`);
    const jan = text(await call(client, 'access_report', { person_id: JAN })).split('\n');
    // The newline in the name is shown escaped (issue 16 item 10), on the person's one line.
    expect(jan.at(-1)).toMatch(new RegExp(`^${JAN} =HYPERLINK\\("http://evil\\.example"\\), "Bobby", Jr\\.\\\\nthe 2nd <jan@acme\\.example>.* is on `));
    expect(jan[0]).toMatch(/^=HYPERLINK\("http:\/\/evil\.example"\), "Bobby", Jr\.\\nthe 2nd can reach /);
  });

  it('300 projects within the rate limit: progress notifications rise and keep a client with a short timeout waiting', async () => {
    const rateLimit = { max: 50, windowMs: 500 };
    const sb = track(await startSandbox({ rateLimit }));
    addProjects(sb, 300 - reviewed(sb).length);
    expect(reviewed(sb)).toHaveLength(300);
    const service = track(sandboxService(sb, { config: { rateLimit } }));
    const client = track(await connectClient(service));
    const progress: { progress: number; total?: number }[] = [];
    const started = Date.now();
    const r = (await client.callTool({ name: 'access_report', arguments: {} }, undefined, {
      onprogress: (p) => progress.push({ progress: p.progress, total: p.total }),
      resetTimeoutOnProgress: true,
      timeout: 1500,
    })) as ToolResult;
    const elapsed = Date.now() - started;
    expect(r.isError).toBeFalsy();
    const s = report(r);
    expect(s.projects).toHaveLength(300);
    expect(s.people.map(({ id, projects }) => ({ id, projects }))).toEqual(expectedPeople(sb));
    expect(s.requests_used).toBe(sb.apiRequests().length);
    expect(s.requests_used).toBeGreaterThan(300);
    // Far longer than the client's timeout: only the progress notifications kept it waiting; never a 429.
    expect(elapsed).toBeGreaterThan(1500);
    expect(sb.throttled).toBe(0);
    expect(progress.length).toBeGreaterThanOrEqual(300);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
    expect(progress.at(-1)).toEqual({ progress: 300, total: 300 });
    expect(progress.every((p) => p.total === 300)).toBe(true);
  });

  it('cancelled mid-report (the client aborts its request): no further membership reads', async () => {
    const { sb, client } = await setup();
    addProjects(sb, 40);
    const controller = new AbortController();
    let reads = 0;
    sb.intercept((req) => {
      if (!/\/projects\/\d+\/people\.json/.test(req.path)) return undefined;
      if (++reads === 5) controller.abort();
      return { delayMs: 30 };
    });
    const pending = client.callTool({ name: 'access_report', arguments: {} }, undefined, { signal: controller.signal, onprogress: () => undefined });
    await expect(pending).rejects.toThrow(/abort/i);
    await new Promise((r) => setTimeout(r, 400));
    expect(reads).toBe(5);
    expect(membershipReads(sb)).toHaveLength(5);
    expect(reviewed(sb).length).toBeGreaterThan(40);
    // The next report starts over (nothing half-read is cached as if complete) and is whole.
    sb.intercept(undefined);
    const after = report(await call(client, 'access_report'));
    expect(after.people.map(({ id, projects }) => ({ id, projects }))).toEqual(expectedPeople(sb));
  });

  it('a list cut short is reported: truncated true and a warning in the summary', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } }));
    const client = track(await connectClient(service));
    const r = await call(client, 'access_report');
    expect(r.isError).toBeFalsy();
    expect(report(r).truncated).toBe(true);
    expect(text(r).split('\n')[0]).toMatch(/WARNING: incomplete, could not read the people directory: stopped after the safety cap of 1 pages; the members of Acme Co HQ \(2000001\)/);
  });

  it.each([
    [{ person_id: JAN, email: 'jan@acme.example' }, /person_id or email, not both/],
    [{ company: '' }, /company/],
    [{ company: '   ' }, /company/],
    [{ email: 'not-an-email' }, /email/],
    [{ person_id: 0 }, /person_id/],
    [{ project_id: 'Q3' }, /project_id/],
    [{ clients_only: 'yes' }, /clients_only/],
    [{ include_archived: 1 }, /include_archived/],
  ])('bad input %j: an error, and not one request', async (args, message) => {
    const { sb, client } = await setup();
    const r = await call(client, 'access_report', args);
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(message);
    expect(sb.apiRequests()).toHaveLength(0);
  });
});
