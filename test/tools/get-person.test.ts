import { describe, expect, it } from 'vitest';
import { call, structured, toolHarness } from '../helpers.js';

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
});
