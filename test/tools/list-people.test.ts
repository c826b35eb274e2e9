import { describe, expect, it } from 'vitest';
import { call, peopleRequests, structured, text, toolHarness } from '../helpers.js';

const { setup } = toolHarness();

describe('list_people', () => {
  it('reads every page (500 people, 8 geared pages) and pages the result with an opaque cursor', async () => {
    const { sb, client } = await setup({ people: 500 });
    const first = await call(client, 'list_people', { limit: 200 });
    expect(first.isError).toBeFalsy();
    const s1 = structured<{ people: unknown[]; total: number; next_cursor: string | null }>(first);
    expect(s1.total).toBe(500);
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
    expect(ids.size).toBe(500);
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
});
