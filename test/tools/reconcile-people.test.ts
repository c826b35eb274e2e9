import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { isClient, type SandboxPerson } from '../../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { call, connectClient, JAN, kindOf, LAUNCH, OWNER, TOMBSTONE, peopleReads, peopleRequests, sandboxService, structured, text, toolHarness, type ToolResult } from '../helpers.js';

/** Issue 21: reconcile_people compares a staff roster with Basecamp's people, reading only the directory's pages. */

const { setup, track } = toolHarness();

interface Compact {
  id: number;
  name: string;
  email_address: string | null;
  owner: boolean | null;
  client: boolean | null;
  personable_type: string;
}
interface Reconciled {
  matched: number;
  roster_addresses: number;
  missing_in_basecamp: { email_address: string; name?: string }[];
  not_on_roster: Compact[];
  name_mismatches: { person: Compact; roster_name: string }[];
  without_address: Compact[];
  next_steps: {
    invite_people?: { people: { email_address: string; name?: string }[]; project_ids?: number[] }[];
    trash_person?: { person_id: number }[];
    update_project_access?: { project_id: number; revoke: number[] }[];
  };
  people_compared: number;
  requests_used: number;
  notes: string[];
}
const out = (r: ToolResult) => {
  if (r.isError) throw new Error(text(r));
  return structured<Reconciled>(r);
};

/** Pages the sandbox serves for a list of n items (geared: 15, 30, 50, then 100). */
function pagesFor(n: number): number {
  const geared = [15, 30, 50];
  let pages = 0;
  for (let read = 0; read < n || pages === 0; pages++) read += geared[pages] ?? 100;
  return pages;
}

const NEVER = ['Tombstone', 'DummyUser', 'Integration', 'Agent'];
/** The seed's client test as a plain boolean (its type guard would narrow a negation to never). */
const clientInSeed = (p: SandboxPerson): boolean => isClient(p);

/**
 * A roster built from the sandbox's team members: every third left off; some addresses in other letter cases;
 * some names changed (mismatches) and some only in case and spacing (not mismatches); plus unknown addresses.
 */
function rosterFor(sb: Sandbox) {
  const team = [...sb.data.people.values()].filter((p) => p.personable_type === 'User' && !clientInSeed(p) && p.email_address);
  const roster: { email_address: string; name?: string }[] = [];
  const renamed = new Map<number, string>();
  team.forEach((p, i) => {
    if (i % 3 === 2 || p.id === OWNER) return; // the owner is not on the roster: listed, never in the removals
    const address = i % 4 === 0 ? p.email_address!.toUpperCase() : p.email_address!;
    let name: string | undefined = p.name;
    if (i % 10 === 1) {
      name = `${p.name} Junior`;
      renamed.set(p.id, name);
    } else if (i % 10 === 3) name = `  ${p.name.toUpperCase().replace(' ', '   ')} `;
    else if (i % 10 === 4) name = undefined;
    roster.push(name === undefined ? { email_address: address } : { email_address: address, name });
  });
  const unknown = [
    { email_address: 'new.hire@acme.example', name: 'New Hire' },
    { email_address: 'Second.Hire@Acme.example' },
    { email_address: 'formula@acme.example', name: '=HYPERLINK("http://evil.example")' },
  ];
  roster.push(...unknown);
  // A repeat of an address in another case counts once.
  roster.push({ email_address: roster[0]!.email_address.toLowerCase() });
  const onRoster = new Set(roster.map((r) => r.email_address.toLowerCase()));
  return { roster, renamed, unknown, onRoster, rosterAddresses: onRoster.size };
}

/** not_on_roster computed from the sandbox's data: compared types, with an address not on the roster, clients only when asked. */
function expectedNotOnRoster(sb: Sandbox, onRoster: Set<string>, includeClients = false): number[] {
  return [...sb.data.people.values()]
    .filter((p) => !NEVER.includes(p.personable_type) && p.email_address && !onRoster.has(p.email_address.toLowerCase()) && (includeClients || !clientInSeed(p)))
    .map((p) => p.id);
}

/** The roster as CSV with a BOM, semicolons, CRLF, an extra column, and quoted fields holding separators and quotes. */
function asCsv(roster: { email_address: string; name?: string }[]): string {
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const lines = ['\uFEFFName;Department;Email', ...roster.map((r, i) => `${r.name === undefined ? '' : quote(r.name)};${i % 2 ? '"Sales; EMEA"' : 'R&D'};${i % 5 ? r.email_address : quote(r.email_address)}`)];
  return lines.join('\r\n') + '\r\n';
}

function attachment(r: ToolResult): { uri: string; mimeType: string; text: string } {
  const resources = (r.content as unknown as { type: string; resource?: { uri: string; mimeType: string; text: string } }[]).filter((c) => c.type === 'resource');
  expect(resources).toHaveLength(1);
  return resources[0]!.resource!;
}

describe('reconcile_people', () => {
  it('a 200-person account against a roster with case differences, unknown addresses and name mismatches: exact, in the directory\'s pages', async () => {
    const { sb, client } = await setup({ people: 200 });
    // A removed person who still shows an address is never a match; an agent with an address is never listed.
    sb.data.people.get(TOMBSTONE)!.email_address = 'former@acme.example';
    const agent = [...sb.data.people.values()].find((p) => p.personable_type === 'Agent')!;
    agent.email_address = 'agent@acme.example';
    const { roster, renamed, unknown, onRoster, rosterAddresses } = rosterFor(sb);
    roster.push({ email_address: 'former@acme.example', name: 'Former Colleague' });
    unknown.push({ email_address: 'former@acme.example', name: 'Former Colleague' });
    onRoster.add('former@acme.example');
    const r = await call(client, 'reconcile_people', { roster });
    const s = out(r);

    expect(s.roster_addresses).toBe(rosterAddresses + 1);
    expect(s.matched).toBe(rosterAddresses + 1 - unknown.length);
    expect(s.people_compared).toBe([...sb.data.people.values()].filter((p) => !NEVER.includes(p.personable_type)).length);
    expect(s.without_address).toEqual([]);
    expect(s.missing_in_basecamp).toEqual(unknown);
    expect(s.not_on_roster.map((p) => p.id).sort()).toEqual(expectedNotOnRoster(sb, onRoster).sort());
    expect(s.not_on_roster.map((p) => p.id)).toContain(OWNER);
    expect(s.not_on_roster.every((p) => !NEVER.includes(p.personable_type) && p.client === false)).toBe(true);
    expect(new Map(s.name_mismatches.map((m) => [m.person.id, m.roster_name]))).toEqual(renamed);
    expect(renamed.size).toBeGreaterThan(5);

    // Ready arguments for the tools that act, the owner left out of the removals.
    expect(s.next_steps.invite_people).toEqual([{ people: unknown }]);
    expect(s.not_on_roster.map((p) => p.id)).not.toContain(agent.id);
    expect(s.next_steps.trash_person!.map((t) => t.person_id).sort()).toEqual(expectedNotOnRoster(sb, onRoster).filter((id) => id !== OWNER).sort());
    expect(s.next_steps.update_project_access).toBeUndefined();
    expect(s.notes.join(' ')).toMatch(/owner cannot be removed/);

    // Requests: the directory's pages, nothing else.
    expect(s.requests_used).toBe(pagesFor(sb.data.people.size));
    expect(sb.apiRequests()).toHaveLength(pagesFor(sb.data.people.size));
    expect(peopleReads(sb)).toHaveLength(pagesFor(sb.data.people.size));

    expect(text(r)).toMatch(/^Roster of \d+ addresses against the account: \d+ matched, 4 missing in Basecamp/);
    expect(r.content.map((c) => c.text ?? '').join('\n')).toMatch(/\nmissing in Basecamp: New Hire <new.hire@acme.example>/);

    // The whole comparison as CSV, a formula neutralised.
    const csv = attachment(r);
    expect(csv.mimeType).toBe('text/csv');
    expect(csv.uri).toMatch(/^basecamp-people:\/\/reconcile-people\//);
    const lines = csv.text.split('\r\n');
    expect(lines[0]).toBe('status,email_address,roster_name,person_id,basecamp_name,personable_type,client');
    expect(lines).toContain(`missing_in_basecamp,formula@acme.example,"'=HYPERLINK(""http://evil.example"")",,,,`);
    expect(lines.filter((l) => l.startsWith('matched,') || l.startsWith('name_mismatch,'))).toHaveLength(s.matched);
    expect(lines.filter((l) => l.startsWith('name_mismatch,'))).toHaveLength(renamed.size);
    expect(lines.filter((l) => l.startsWith('not_on_roster,'))).toHaveLength(s.not_on_roster.length);

    // A second call within the cache's lifetime costs nothing.
    expect(out(await call(client, 'reconcile_people', { roster })).requests_used).toBe(0);
    expect(sb.apiRequests()).toHaveLength(pagesFor(sb.data.people.size));
  });

  it('the same roster as roster_csv (BOM, semicolons, CRLF, quoted fields) gives the same answer', async () => {
    const { sb, client } = await setup({ people: 200 });
    const { roster } = rosterFor(sb);
    const fromList = out(await call(client, 'reconcile_people', { roster }));
    const fromCsv = out(await call(client, 'reconcile_people', { roster_csv: asCsv(roster) }));
    expect({ ...fromCsv, requests_used: 0 }).toEqual({ ...fromList, requests_used: 0 });
    // Commas and an email_address header, names quoted with commas inside.
    const commas = `email_address,name\r\n${roster.map((r) => `${r.email_address},"${(r.name ?? '').replace(/"/g, '""')}"`).join('\n')}`;
    expect({ ...out(await call(client, 'reconcile_people', { roster_csv: commas })), requests_used: 0 }).toEqual({ ...fromList, requests_used: 0 });
  });

  it('include_clients: clients not on the roster are listed too', async () => {
    const { sb, client } = await setup({ people: 200 });
    const { roster, onRoster } = rosterFor(sb);
    const s = out(await call(client, 'reconcile_people', { roster, include_clients: true }));
    const expected = expectedNotOnRoster(sb, onRoster, true);
    expect(s.not_on_roster.map((p) => p.id).sort()).toEqual(expected.sort());
    expect(expected.length).toBeGreaterThan(expectedNotOnRoster(sb, onRoster).length);
  });

  it('a roster larger than a batch: invite_people arguments in batches of at most 50', async () => {
    const { client } = await setup();
    const roster = Array.from({ length: 120 }, (_, i) => ({ email_address: `hire${i}@new.example` }));
    const r = await call(client, 'reconcile_people', { roster });
    const s = out(r);
    expect(s.next_steps.invite_people!.map((b) => b.people.length)).toEqual([50, 50, 20]);
    expect(s.next_steps.invite_people!.flatMap((b) => b.people)).toEqual(roster);
    // The text shows the first 100 of a kind and says where the rest are.
    const lines = r.content.map((c) => c.text ?? '').join('\n').split('\n');
    expect(lines.filter((l) => l.startsWith('missing in Basecamp: hire'))).toHaveLength(100);
    expect(lines).toContain('missing in Basecamp: 20 more, in the structured content and the attached CSV');
  });

  it('project_id: that project\'s people only, read from its pages; removals as update_project_access revokes', async () => {
    const { sb, client } = await setup();
    const launch = sb.data.projects.get(LAUNCH)!;
    const members = [...launch.members].map((id) => sb.data.people.get(id)!);
    const roster = members.filter((p) => p.email_address && p.id !== JAN).map((p) => ({ email_address: p.email_address! }));
    const s = out(await call(client, 'reconcile_people', { roster, project_id: LAUNCH }));
    expect(s.matched).toBe(roster.length);
    expect(s.missing_in_basecamp).toEqual([]);
    expect(s.not_on_roster.map((p) => p.id)).toEqual([JAN]);
    expect(s.next_steps).toEqual({ update_project_access: [{ project_id: LAUNCH, revoke: [JAN] }] });
    expect(sb.apiRequests().map((q) => q.path.split('?')[0])).toEqual(Array(pagesFor(launch.members.size)).fill(`/${sb.accountId}/projects/${LAUNCH}/people.json`));
  });

  it('reports progress while it reads, and a cancelled call stops reading pages', async () => {
    const { sb, client } = await setup({ people: 1000 });
    const roster = [{ email_address: 'jan@acme.example' }];
    const seen: string[] = [];
    await client.callTool({ name: 'reconcile_people', arguments: { roster } }, undefined, { onprogress: (p) => void seen.push(`${p.progress}/${p.total} ${p.message}`) });
    expect(seen).toEqual(['0/2 Reading the people of the account', `1/2 Comparing 1 roster row with ${sb.data.people.size} people`, '2/2 Compared']);

    const fresh = await setup({ people: 1000 });
    const controller = new AbortController();
    let reads = 0;
    fresh.sb.intercept((req) => {
      if (!req.path.includes('/people.json')) return undefined;
      if (++reads === 3) controller.abort();
      return { delayMs: 30 };
    });
    const pending = fresh.client.callTool({ name: 'reconcile_people', arguments: { roster } }, undefined, { signal: controller.signal });
    await expect(pending).rejects.toThrow(/abort/i);
    await new Promise((r) => setTimeout(r, 300));
    expect(reads).toBe(3);
    expect(peopleReads(fresh.sb)).toHaveLength(3);
    fresh.sb.intercept(undefined);
    expect(out(await call(fresh.client, 'reconcile_people', { roster })).matched).toBe(1);
  });

  it('a sign-in that sees masked addresses is refused (emails_hidden) with what to do', async () => {
    const { sb, client } = await setup({ signInAs: JAN });
    const r = await call(client, 'reconcile_people', { roster: [{ email_address: 'olivia@acme.example' }] });
    expect(r.isError).toBe(true);
    expect(kindOf(r)).toBe('emails_hidden');
    expect(text(r)).toMatch(/Sign in as an admin or owner/);
    expect(peopleRequests(sb)).toHaveLength(pagesFor(sb.data.people.size));
  });

  it('a directory that cannot be read to the end is incomplete, never a guess', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } }));
    const client = track(await connectClient(service));
    const r = await call(client, 'reconcile_people', { roster: [{ email_address: 'jan@acme.example' }] });
    expect(r.isError).toBe(true);
    expect(kindOf(r)).toBe('incomplete');
  });
});

describe('reconcile_people: a malformed CSV is invalid_input naming the line, before any request', () => {
  const many = `email\n${Array.from({ length: 5001 }, (_, i) => `p${i}@acme.example`).join('\n')}`;
  it.each([
    ['no email column', 'name,mail\nJan,jan@acme.example', /line 1: .*names no email or email_address column/],
    ['two email columns', 'email;email_address\na@acme.example;b@acme.example', /line 1: more than one email column/],
    ['unbalanced quotes', 'email,name\njan@acme.example,Jan\n"ann@acme.example,Ann\nbob@acme.example,Bob', /line 3: a quoted field is never closed/],
    ['text after a closing quote', 'email,name\njan@acme.example,"Jan" Jensen', /line 2: text after the closing quote/],
    ['a quote inside an unquoted field', 'email,name\njan@acme.example,Jan "JJ" Jensen', /line 2: a quote inside an unquoted field/],
    ['a row with too many fields', 'email,name\njan@acme.example,Jan\nann@acme.example,Ann,Extra', /line 3: 3 fields where the header has 2/],
    ['a row with too few fields (after a quoted line break)', 'email;name\njan@acme.example;"Jan\nJensen"\nann@acme.example', /line 4: 1 fields where the header has 2/],
    ['an invalid address', 'email\njan@acme.example\n\nnot-an-address', /line 4: "not-an-address" is not an email address/],
    ['a masked address', 'email\nj••••@•••••••••.•••', /line 2: .*masked/],
    ['an empty address', 'email,name\n,Jan', /line 2: no email address/],
    ['no rows', '\uFEFFemail,name\r\n', /line 1: a header but no rows/],
    ['more than 5,000 rows', many, /line 5002: more than 5,000 rows \(5001\)/],
  ])('%s', async (_name, csv, message) => {
    const { sb, client } = await setup();
    const r = await call(client, 'reconcile_people', { roster_csv: csv });
    expect(r.isError).toBe(true);
    expect(kindOf(r)).toBe('invalid_input');
    expect(text(r)).toMatch(message);
    expect(sb.apiRequests()).toHaveLength(0);
  });
});

describe('reconcile_people on Basecamp 2', () => {
  it('matches by address in the one listing request, and says what Basecamp 2 does not tell', async () => {
    const { sb, client } = await setup({ product: 'bcx' });
    const people = [...sb.bcx!.people.values()];
    const roster = people.filter((_, i) => i % 2 === 0).map((p) => ({ email_address: p.email_address.toUpperCase(), name: p.name }));
    roster.push({ email_address: 'nobody@new.example', name: 'No Body' });
    const s = out(await call(client, 'reconcile_people', { roster }));
    expect(s.matched).toBe(roster.length - 1);
    expect(s.missing_in_basecamp).toEqual([{ email_address: 'nobody@new.example', name: 'No Body' }]);
    expect(s.name_mismatches).toEqual([]);
    const onRoster = new Set(roster.map((r) => r.email_address.toLowerCase()));
    expect(s.not_on_roster.map((p) => p.id).sort()).toEqual(people.filter((p) => !onRoster.has(p.email_address.toLowerCase())).map((p) => p.id).sort());
    expect(s.notes.join(' ')).toMatch(/no company or employee fields/);
    expect(s.notes.join(' ')).toMatch(/does not say who is a client/);
    expect(s.requests_used).toBe(1);
    expect(sb.apiRequests().filter((q) => q.method === 'GET' && q.path.split('?')[0]!.endsWith('/people.json'))).toHaveLength(1);
  });
});
