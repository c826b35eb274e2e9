import { describe, expect, it } from 'vitest';
import { isClient, makePerson, type SandboxPerson } from '../../src/sandbox/bc3/seed.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { ADAM, call, JAN, OWNER, peopleRequests, structured, text, TOMBSTONE, toolHarness, WEBSITE } from '../helpers.js';

const { setup } = toolHarness();

const SAMPLE = 1000004; // the seed's DummyUser

interface Listed {
  people: { id: number; name: string; client: boolean; admin: boolean; personable_type: string; company?: { name: string }; created_at: string | null }[];
  total: number;
  hidden: number;
  not_found?: number[];
  next_cursor: string | null;
}
const listed = (r: Parameters<typeof structured>[0]) => structured<Listed>(r);

/** The sandbox's people as the default listing shows them: Basecamp's order, without Tombstone and DummyUser. */
const visible = (sb: Sandbox) => [...sb.data.people.values()].filter((p) => p.personable_type !== 'Tombstone' && p.personable_type !== 'DummyUser');

/**
 * Adds a person to the sandbox account (before the first listing: the directory is cached), without the fields in
 * `drop`; `first` puts them first in Basecamp's order, so the listing's input is not in id order.
 */
function addPerson(
  sb: Sandbox,
  fields: Partial<Record<keyof SandboxPerson, unknown>> & { name: string },
  { drop = [], first = false }: { drop?: (keyof SandboxPerson)[]; first?: boolean } = {},
): number {
  const id = sb.data.nextPersonId++;
  const p: Record<string, unknown> = { ...makePerson(id, { email_address: null, ...fields } as Parameters<typeof makePerson>[1]) };
  for (const k of drop) delete p[k];
  const rest = [...sb.data.people.entries()];
  sb.data.people.clear();
  for (const [k, v] of first ? [[id, p as unknown as SandboxPerson] as const, ...rest] : [...rest, [id, p as unknown as SandboxPerson] as const]) sb.data.people.set(k, v);
  return id;
}

describe('list_people', () => {
  it('reads every page (500 people, 8 geared pages) and pages the result with an opaque cursor', async () => {
    const { sb, client } = await setup({ people: 500 });
    const first = await call(client, 'list_people', { limit: 200 });
    expect(first.isError).toBeFalsy();
    const s1 = structured<{ people: unknown[]; total: number; hidden: number; next_cursor: string | null }>(first);
    // Everyone but the sample person (DummyUser) and the removed one (Tombstone), hidden by default.
    expect(s1.total).toBe(visible(sb).length);
    expect(s1.hidden).toBe(2);
    expect(s1.people).toHaveLength(200);
    expect(peopleRequests(sb)).toHaveLength(8);
    const ids = new Set<number>();
    let cursor: string | null = null;
    do {
      const r = await call(client, 'list_people', { limit: 200, ...(cursor ? { cursor } : {}) });
      const s = structured<{ people: { id: number }[]; next_cursor: string | null }>(r);
      s.people.forEach((p) => ids.add(p.id));
      cursor = s.next_cursor;
    } while (cursor);
    expect(ids.size).toBe(498);
    // The directory cache served the repeats: still 8 requests.
    expect(peopleRequests(sb)).toHaveLength(8);
  });

  it('filters by query and role, and lists a project', async () => {
    const { sb, client } = await setup();
    const admins = structured<{ people: { admin: boolean; name: string }[] }>(await call(client, 'list_people', { role: 'admin' }));
    expect(admins.people.length).toBeGreaterThanOrEqual(2);
    expect(admins.people.every((p) => p.admin)).toBe(true);
    const jan = structured<{ people: { email_address: string }[]; total: number }>(await call(client, 'list_people', { query: 'JAN@acme' }));
    expect(jan.people.map((p) => p.email_address)).toContain('jan@acme.example');
    const launch = structured<{ people: { id: number }[]; total: number }>(await call(client, 'list_people', { project_id: 2000004 }));
    expect(launch.total).toBe(sb.data.projects.get(2000004)!.members.size);
  });

  it('rejects a cursor from another listing', async () => {
    const { client } = await setup();
    const s = structured<{ next_cursor: string }>(await call(client, 'list_people', { limit: 5 }));
    const r = await call(client, 'list_people', { limit: 5, cursor: s.next_cursor, query: 'a' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/different listing/);
    expect((await call(client, 'list_people', { cursor: 'not-a-cursor' })).isError).toBe(true);
  });

  it('re-reads after the cache expires', async () => {
    const { sb, client } = await setup({ cacheTtlMs: 50 });
    await call(client, 'list_people');
    await new Promise((r) => setTimeout(r, 80));
    await call(client, 'list_people');
    expect(peopleRequests(sb).length).toBe(2 * 4); // 120 people = 4 pages, read twice
  });

  it('the text is compact: one line per person (at most 120 characters on average) with what a model acts on', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'list_people', { limit: 100 });
    const s = structured<{ people: { id: number; name: string; email_address: string | null; admin: boolean; client: boolean; personable_type: string }[]; next_cursor: string }>(r);
    const [summary, ...lines] = text(r).split('\n');
    expect(summary).toMatch(/people match on the account; showing 100 from #1\. More with next_cursor\./);
    expect(lines.at(-1)).toBe(`next_cursor: ${s.next_cursor}`);
    const personLines = lines.slice(0, -1);
    expect(personLines).toHaveLength(100);
    expect(text(r).length / 100).toBeLessThanOrEqual(120);
    expect(text(r)).not.toContain('{');
    for (const [i, p] of s.people.entries()) {
      const line = personLines[i]!;
      expect(line.startsWith(`${p.id} ${p.name}`)).toBe(true);
      if (p.email_address) expect(line).toContain(`<${p.email_address}>`);
      expect(line.includes('admin')).toBe(p.admin);
      if (p.client) expect(line).toMatch(/\[[^\]]*client/);
      if (p.personable_type !== 'User') expect(line).toContain(p.personable_type);
    }
    expect(sb.data.people.size).toBeGreaterThan(100);
  });

  it('detail: "full" puts the structured JSON in the text too', async () => {
    const { client } = await setup();
    const r = await call(client, 'list_people', { role: 'admin', detail: 'full' });
    const [, json] = text(r).split('\n');
    expect(JSON.parse(json!)).toEqual(r.structuredContent);
  });

  it('company: a case-insensitive substring of the company name; people without a company never match', async () => {
    const { sb, client } = await setup();
    const northwind = listed(await call(client, 'list_people', { company: 'NORTHwind', limit: 500 }));
    const inNorthwind = visible(sb).filter((p) => p.company?.name.toLowerCase().includes('northwind'));
    expect(inNorthwind.length).toBeGreaterThan(5);
    expect(northwind.people.map((p) => p.id)).toEqual(inNorthwind.map((p) => p.id));
    expect(northwind.total).toBe(inNorthwind.length);
    // "Co" is in "Acme Co" only: everyone without a company is left out.
    const co = listed(await call(client, 'list_people', { company: 'co', limit: 500 }));
    expect(co.people.length).toBeGreaterThan(0);
    expect(co.people.every((p) => p.company?.name === 'Acme Co')).toBe(true);
    expect(co.total).toBe(visible(sb).filter((p) => p.company?.name === 'Acme Co').length);
    expect(listed(await call(client, 'list_people', { company: 'Globex' })).total).toBe(0);
  });

  it('client: true lists only clients, false only the people who are not clients', async () => {
    const { sb, client } = await setup();
    const clients = listed(await call(client, 'list_people', { client: true, limit: 500 }));
    expect(clients.people.map((p) => p.id)).toEqual(visible(sb).filter(isClient).map((p) => p.id));
    expect(clients.people.length).toBeGreaterThan(5);
    const team = listed(await call(client, 'list_people', { client: false, limit: 500 }));
    const clientOf = (p: SandboxPerson): boolean => isClient(p);
    expect(team.people.map((p) => p.id)).toEqual(visible(sb).filter((p) => !clientOf(p)).map((p) => p.id));
    expect(team.people.some((p) => p.client)).toBe(false);
    expect(team.people.some((p) => p.client)).toBe(false);
  });

  it('the new filters combine with each other and with role and query', async () => {
    const { sb, client } = await setup();
    // Combined: the Acme admins; no team members at Northwind; the Northwind clients called Petrov.
    const acmeAdmins = listed(await call(client, 'list_people', { company: 'acme', role: 'admin', client: false }));
    expect(acmeAdmins.people.map((p) => p.id)).toEqual(visible(sb).filter((p) => p.admin && !p.client && p.company?.name === 'Acme Co').map((p) => p.id));
    expect(acmeAdmins.people.map((p) => p.id)).toEqual(expect.arrayContaining([OWNER, ADAM]));
    expect(listed(await call(client, 'list_people', { company: 'northwind', client: false })).total).toBe(0);
    const rosa = listed(await call(client, 'list_people', { company: 'northwind', client: true, query: 'petrov' }));
    expect(rosa.people.length).toBeGreaterThan(0);
    expect(rosa.people.every((p) => p.client && p.company?.name === 'Northwind Traders' && /petrov/i.test(p.name))).toBe(true);
  });

  it('hides Tombstone and DummyUser by default, counts them in hidden and says how to see them', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'list_people', { limit: 500 });
    const s = listed(r);
    const shown = visible(sb).length;
    const hidden = sb.data.people.size - shown;
    expect(hidden).toBeGreaterThanOrEqual(2);
    expect(s.hidden).toBe(hidden);
    expect(s.people.map((p) => p.id)).toEqual(visible(sb).map((p) => p.id));
    const ids = s.people.map((p) => p.id);
    expect(ids).not.toContain(TOMBSTONE);
    expect(ids).not.toContain(SAMPLE);
    expect(s.people.map((p) => p.personable_type)).toEqual(expect.arrayContaining(['User', 'Integration', 'Outsider']));
    expect(text(r).split('\n')[0]).toBe(`${shown} people match on the account; showing ${shown} from #1. ${hidden} hidden (Tombstone, DummyUser): pass types to include them.`);

    // Counted among the people the other filters match.
    const former = await call(client, 'list_people', { query: 'former' });
    expect(listed(former)).toMatchObject({ total: 0, hidden: 1 });
    expect(text(former)).toMatch(/^0 people match on the account; showing 0 from #1\. 1 hidden \(Tombstone\): pass types to include them\.$/m);
    const jan = await call(client, 'list_people', { query: 'jan@acme' });
    expect(listed(jan).hidden).toBe(0);
    expect(text(jan)).not.toMatch(/hidden/);
  });

  it("types: ['Tombstone'] shows the removed people; types match case-insensitively, and hidden is 0 when types is given", async () => {
    const { sb, client } = await setup();
    const removed = await call(client, 'list_people', { types: ['Tombstone'] });
    expect(removed.isError).toBeFalsy();
    expect(listed(removed)).toMatchObject({ total: 1, hidden: 0, people: [{ id: TOMBSTONE, personable_type: 'Tombstone' }] });
    expect(text(removed)).not.toMatch(/hidden/);
    const some = listed(await call(client, 'list_people', { types: ['dummyuser', 'TOMBSTONE', 'Integration'], limit: 500 }));
    expect(some.people.map((p) => p.personable_type).sort()).toEqual(['DummyUser', 'Integration', 'Tombstone']);
    const users = listed(await call(client, 'list_people', { types: ['User'], limit: 500 }));
    expect(users.people.map((p) => p.id)).toEqual([...sb.data.people.values()].filter((p) => p.personable_type === 'User').map((p) => p.id));
    expect(users.hidden).toBe(0);
  });

  it('types is an open set: an unknown value matches nobody, a person of a new type is listed, a missing type counts as User', async () => {
    const { sb, client } = await setup();
    const agent = addPerson(sb, { name: 'Helper Agent', personable_type: 'Agent' });
    const untyped = addPerson(sb, { name: 'No Type Given' }, { drop: ['personable_type'] });
    const none = await call(client, 'list_people', { types: ['NoSuchType'] });
    expect(none.isError).toBeFalsy();
    expect(listed(none)).toMatchObject({ total: 0, hidden: 0, people: [] });
    const agents = listed(await call(client, 'list_people', { types: ['Agent'] }));
    expect(agents.people.map((p) => p.id)).toContain(agent);
    expect(agents.people.every((p) => p.personable_type === 'Agent')).toBe(true);
    const everyone = listed(await call(client, 'list_people', { limit: 500 }));
    expect(everyone.people.map((p) => p.id)).toEqual(expect.arrayContaining([agent, untyped]));
    const users = listed(await call(client, 'list_people', { types: ['User'], limit: 500 }));
    expect(users.people.find((p) => p.id === untyped)).toMatchObject({ personable_type: 'User' });
    expect(users.people.map((p) => p.id)).not.toContain(agent);
  });

  it('ids: those people in the listing order, de-duplicated; ids not found in not_found and the summary', async () => {
    const { client } = await setup();
    const r = await call(client, 'list_people', { ids: [JAN, 999, OWNER, JAN, ADAM] });
    expect(listed(r)).toMatchObject({ total: 3, not_found: [999], people: [{ id: OWNER }, { id: ADAM }, { id: JAN }] });
    expect(text(r).split('\n')[0]).toBe('3 people match on the account; showing 3 from #1. Not found: 999.');
    const found = listed(await call(client, 'list_people', { ids: [ADAM] }));
    expect(found).toMatchObject({ total: 1, not_found: [], people: [{ id: ADAM }] });
    expect(listed(await call(client, 'list_people', {})).not_found).toBeUndefined();
    // A removed person is found, but hidden by default like any other Tombstone.
    const removed = listed(await call(client, 'list_people', { ids: [TOMBSTONE, OWNER] }));
    expect(removed).toMatchObject({ total: 1, hidden: 1, not_found: [], people: [{ id: OWNER }] });
    expect(listed(await call(client, 'list_people', { ids: [TOMBSTONE], types: ['Tombstone'] })).people.map((p) => p.id)).toEqual([TOMBSTONE]);
    // On a project: not on it is not found there. Jan is kept off the website project by the seed.
    const onWebsite = await call(client, 'list_people', { project_id: WEBSITE, ids: [JAN, OWNER] });
    expect(listed(onWebsite)).toMatchObject({ total: 1, not_found: [JAN], people: [{ id: OWNER }] });
    expect(text(onWebsite)).toContain(`Not found on project ${WEBSITE}: ${JAN}.`);
    // With the other filters: found but not matching is not "not found".
    expect(listed(await call(client, 'list_people', { ids: [JAN, OWNER], role: 'owner' }))).toMatchObject({ total: 1, not_found: [], people: [{ id: OWNER }] });
  });

  it('sort: name (case-insensitive, ties by id), asc and desc', async () => {
    const { sb, client } = await setup();
    const lower = addPerson(sb, { name: 'aaron lowercase' });
    const twin = addPerson(sb, { name: 'JAN JENSEN' }, { first: true }); // ties with Jan Jensen, whose id is lower
    const asc = listed(await call(client, 'list_people', { sort: 'name', limit: 500 }));
    const desc = listed(await call(client, 'list_people', { sort: 'name', order: 'desc', limit: 500 }));
    const collate = (a: string, b: string) => a.localeCompare(b, undefined, { sensitivity: 'accent', numeric: true });
    const expected = (dir: 1 | -1) => visible(sb).sort((a, b) => dir * collate(a.name, b.name) || a.id - b.id).map((p) => p.id);
    expect(asc.people.map((p) => p.id)).toEqual(expected(1));
    expect(desc.people.map((p) => p.id)).toEqual(expected(-1));
    expect(asc.people[0]!.id).toBe(lower); // a code-point sort would put it after every capital
    expect(desc.people.at(-1)!.id).toBe(lower);
    const jans = asc.people.filter((p) => p.name.toLowerCase() === 'jan jensen').map((p) => p.id);
    expect(jans).toEqual([JAN, twin]);
    expect(desc.people.filter((p) => p.name.toLowerCase() === 'jan jensen').map((p) => p.id)).toEqual([JAN, twin]);
    expect(asc.total).toBe(visible(sb).length);
  });

  it('sort: created_at and updated_at, asc and desc; people without the field last whatever the order; ties by id', async () => {
    const { sb, client } = await setup();
    const undated = addPerson(sb, { name: 'Undated Person' }, { drop: ['created_at', 'updated_at'] });
    // Created the same moment as the owner, and first in Basecamp's order: the tie goes by id, the owner first.
    const sameTime = addPerson(sb, { name: 'Same Time', created_at: sb.data.people.get(OWNER)!.created_at }, { first: true });
    sb.data.people.get(JAN)!.updated_at = '2030-01-01T00:00:00.000Z';
    const newest = listed(await call(client, 'list_people', { sort: 'created_at', order: 'desc', limit: 20 }));
    const dated = visible(sb).filter((p) => p.id !== undated);
    const byCreated = (dir: 1 | -1) =>
      [...dated].sort((a, b) => dir * (Date.parse(a.created_at) - Date.parse(b.created_at)) || a.id - b.id).map((p) => p.id);
    expect(newest.people.map((p) => p.id)).toEqual(byCreated(-1).slice(0, 20));
    expect(newest.total).toBe(visible(sb).length);
    const allDesc = listed(await call(client, 'list_people', { sort: 'created_at', order: 'desc', limit: 500 }));
    expect(allDesc.people.map((p) => p.id)).toEqual([...byCreated(-1), undated]);
    const allAsc = listed(await call(client, 'list_people', { sort: 'created_at', limit: 500 }));
    expect(allAsc.people.map((p) => p.id)).toEqual([...byCreated(1), undated]);
    expect(allAsc.people.at(-1)!.created_at).toBeNull();
    // The seed has people created the same day: ties go by id.
    expect(new Set(dated.map((p) => p.created_at)).size).toBeLessThan(dated.length);
    for (const list of [allAsc, allDesc]) {
      const ids = list.people.map((p) => p.id);
      expect(ids.indexOf(OWNER)).toBe(ids.indexOf(sameTime) - 1);
    }

    const byUpdated = [...dated].sort((a, b) => Date.parse(b.updated_at) - Date.parse(a.updated_at) || a.id - b.id).map((p) => p.id);
    expect(byUpdated).not.toEqual(byCreated(-1));
    const updated = listed(await call(client, 'list_people', { sort: 'updated_at', order: 'desc', limit: 500 }));
    expect(updated.people.map((p) => p.id)).toEqual([...byUpdated, undated]);
    expect(updated.people[0]!.id).toBe(JAN);
  });

  it('a cursor is refused when any filter changes, and accepted for the same filters written differently', async () => {
    const { sb, client } = await setup();
    const acme = visible(sb)
      .filter((p) => p.company?.name === 'Acme Co' && !p.client)
      .map((p) => p.id)
      .slice(0, 6);
    expect(acme).toHaveLength(6);
    const base = { limit: 3, ids: [...acme].reverse().concat(acme[0]!), company: 'ACME', client: false, sort: 'name' };
    const first = listed(await call(client, 'list_people', base));
    expect(first.total).toBe(6);
    const cursor = first.next_cursor!;
    expect(cursor).toBeTruthy();
    const changed: Record<string, unknown>[] = [
      { company: 'acm' },
      { company: undefined },
      { client: true },
      { client: undefined },
      { ids: acme.slice(1) },
      { types: ['User'] },
      { sort: 'created_at' },
      { sort: 'name', order: 'desc' },
      { sort: undefined },
      { role: 'admin' },
      { query: 'a' },
      { project_id: 2000001 },
    ];
    for (const change of changed) {
      const r = await call(client, 'list_people', { ...base, ...change, cursor });
      expect(r.isError, JSON.stringify(change)).toBe(true);
      expect(text(r)).toMatch(/different listing/);
    }
    // The same filters: ids in another order and repeated, company in another case, the default order spelled out.
    const same = await call(client, 'list_people', { ...base, ids: acme, company: 'acme', order: 'asc', cursor });
    expect(same.isError).toBeFalsy();
    expect(text(same)).toMatch(/^6 people match on the account; showing 3 from #4\./);
  });

  it('bad input is refused before any request: ids empty or over 100, order without sort, an empty company, bad types or sort', async () => {
    const { sb, client } = await setup();
    const cases: Record<string, unknown>[] = [
      { ids: [] },
      { ids: Array.from({ length: 101 }, (_, i) => 1000001 + i) },
      { ids: [0] },
      { ids: [1.5] },
      { order: 'desc' },
      { company: '' },
      { company: '   ' },
      { types: [] },
      { types: [''] },
      { types: ['x'.repeat(51)] },
      { types: Array.from({ length: 21 }, (_, i) => `T${i}`) },
      { sort: 'email' },
      { client: 'yes' },
    ];
    for (const args of cases) {
      const r = await call(client, 'list_people', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(text(r).length).toBeGreaterThan(20);
    }
    const order = await call(client, 'list_people', { order: 'asc' });
    expect(text(order)).toMatch(/order needs sort/);
    expect(text(order)).toContain('"error":"invalid_input"');
    expect(sb.apiRequests()).toHaveLength(0);
    // The limits themselves are accepted.
    expect((await call(client, 'list_people', { ids: Array.from({ length: 100 }, (_, i) => 1000001 + i) })).isError).toBeFalsy();
  });
});
