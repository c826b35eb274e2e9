import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { ABANDONED, call, CLIENT, JAN, OWNER, structured, text, toolHarness, type ToolResult } from '../helpers.js';

const { setup } = toolHarness();

describe('get_person', () => {
  it('by id, by email (case-insensitive) and me', async () => {
    const { client } = await setup();
    expect(structured<{ person: { name: string } }>(await call(client, 'get_person', { person_id: 1000003 })).person.name).toBe('Jan Jensen');
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { email: 'JAN@acme.example' })).person.id).toBe(1000003);
    expect(structured<{ person: { owner: boolean } }>(await call(client, 'get_person', { me: true })).person.owner).toBe(true);
  });

  it('says clearly when no one has that email or id', async () => {
    const { client } = await setup();
    const r = await call(client, 'get_person', { email: 'nobody@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/No person with email nobody@acme.example/);
    const r2 = await call(client, 'get_person', { person_id: 42 });
    expect(r2.isError).toBe(true);
    expect(r2.content[0]!.text).toMatch(/404/);
  });

  it('by email answers from the directory: 100 look-ups after a listing send no request', async () => {
    const { sb, client } = await setup({ people: 300 });
    await call(client, 'list_people', {});
    const before = sb.apiRequests().length;
    const emails = [...sb.data.people.values()].map((p) => p.email_address).filter(Boolean).slice(0, 100);
    expect(emails).toHaveLength(100);
    for (const email of emails) {
      const r = await call(client, 'get_person', { email: email!.toUpperCase() });
      expect(r.isError).toBeFalsy();
      expect(structured<{ person: { email_address: string } }>(r).person.email_address).toBe(email);
    }
    expect(sb.apiRequests().length - before).toBe(0);
    // By id Basecamp is asked (the one record that carries out_of_office).
    await call(client, 'get_person', { person_id: 1000003 });
    expect(sb.apiRequests().slice(before).map((r) => r.path)).toEqual([expect.stringMatching(/\/people\/1000003(\.json)?$/)]);
  });

  it('the text is the summary and the record as compact JSON', async () => {
    const { client } = await setup();
    const t = text(await call(client, 'get_person', { person_id: 1000003 }));
    const [summary, json, ...rest] = t.split('\n');
    expect(summary).toMatch(/^Jan Jensen <jan@acme\.example> \(id 1000003/);
    expect(JSON.parse(json!)).toMatchObject({ person: { id: 1000003, name: 'Jan Jensen' } });
    expect(rest).toEqual([]);
  });

  describe('include_projects', () => {
    /** The active and archived projects (those the signed-in owner can see) the person is on, in Basecamp's order. */
    const reach = (sb: Sandbox, id: number) => {
      const visible = [...sb.data.projects.values()].filter((p) => p.members.has(OWNER));
      return [...visible.filter((p) => p.status === 'active'), ...visible.filter((p) => p.status === 'archived')]
        .filter((p) => p.members.has(id))
        .map((p) => ({ id: p.id, name: p.name, status: p.status }));
    };
    const projectsOf = (r: ToolResult) => structured<{ projects?: { id: number; name: string; status: string }[] }>(r).projects;

    it('by id, email and me: the projects match the sandbox\'s membership (active and archived, never trashed)', async () => {
      const { sb, client } = await setup();
      sb.data.projects.get(ABANDONED)!.members.add(JAN);
      const jan = reach(sb, JAN);
      expect(jan.some((p) => p.status === 'archived')).toBe(true);
      const byId = await call(client, 'get_person', { person_id: JAN, include_projects: true });
      expect(byId.isError).toBeFalsy();
      expect(projectsOf(byId)).toEqual(jan);
      expect(structured<{ person: { id: number } }>(byId).person.id).toBe(JAN);
      expect(text(byId).split('\n')[0]).toMatch(new RegExp(`^Jan Jensen <jan@acme\\.example> \\(id ${JAN}\\)\\. On ${jan.length} of the 12 active and archived projects the signed-in person can see\\.$`));
      expect(projectsOf(await call(client, 'get_person', { email: 'jan@acme.example', include_projects: true }))).toEqual(jan);
      expect(projectsOf(await call(client, 'get_person', { me: true, include_projects: true }))).toEqual(reach(sb, OWNER));
      expect(projectsOf(await call(client, 'get_person', { person_id: CLIENT, include_projects: true }))).toEqual(reach(sb, CLIENT));
      // Without it, no scan and no projects field.
      const before = sb.apiRequests().length;
      const plain = await call(client, 'get_person', { person_id: JAN });
      expect(projectsOf(plain)).toBeUndefined();
      expect(sb.apiRequests().length - before).toBe(1);
    });

    it('shares the access report\'s scan and cache: after a report, by email it costs no request', async () => {
      const { sb, client } = await setup();
      await call(client, 'access_report');
      const before = sb.apiRequests().length;
      const r = await call(client, 'get_person', { email: 'jan@acme.example', include_projects: true });
      expect(projectsOf(r)).toEqual(reach(sb, JAN));
      expect(sb.apiRequests().length - before).toBe(0);
    });

    it('reports progress while it reads each project', async () => {
      const { client } = await setup();
      const progress: number[] = [];
      const r = (await client.callTool({ name: 'get_person', arguments: { person_id: JAN, include_projects: true } }, undefined, {
        onprogress: (p) => progress.push(p.progress),
      })) as ToolResult;
      expect(r.isError).toBeFalsy();
      expect(progress).toEqual([...Array(13).keys()]);
    });
  });
});
