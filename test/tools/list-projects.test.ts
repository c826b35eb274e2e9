import { describe, expect, it } from 'vitest';
import { call, structured, toolHarness } from '../helpers.js';

const { setup } = toolHarness();

describe('get_account and list_projects', () => {
  it('lists projects by status and query, with a cursor', async () => {
    const { client } = await setup();
    const active = structured<{ projects: { purpose: string }[]; total: number }>(await call(client, 'list_projects'));
    expect(active.projects.some((p) => p.purpose === 'company_hq')).toBe(true);
    const archived = structured<{ projects: { status: string }[] }>(await call(client, 'list_projects', { status: 'archived' }));
    expect(archived.projects.length).toBeGreaterThan(0);
    expect(archived.projects.every((p) => p.status === 'archived')).toBe(true);
    const q3 = structured<{ projects: { name: string }[] }>(await call(client, 'list_projects', { query: 'q3' }));
    expect(q3.projects.map((p) => p.name)).toEqual(['Q3 Planning']);
    const p1 = structured<{ projects: { id: number }[]; next_cursor: string }>(await call(client, 'list_projects', { limit: 3 }));
    const p2 = structured<{ projects: { id: number }[] }>(await call(client, 'list_projects', { limit: 3, cursor: p1.next_cursor }));
    expect(p2.projects[0]!.id).not.toBe(p1.projects[0]!.id);
  });
});
