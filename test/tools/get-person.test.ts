import { describe, expect, it } from 'vitest';
import { call, structured, text, toolHarness } from '../helpers.js';

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
});
