import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { call, LAUNCH, structured, text, toolHarness, WEBSITE, writes } from '../helpers.js';

/**
 * Issue 16, item 9: Basecamp's regenerated docs show clientside contacts as `personable_type: "Client"` with
 * `client: false`. They are clients everywhere: filters, access_report, routing through client_users.json,
 * offboarding, the clients-off refusal. The sandbox seeds two (Casey and Carla North, on Launch only).
 */

const { setup } = toolHarness();
const HIRING = 2000007; // clients off
const contacts = (sb: Sandbox) => [...sb.data.people.values()].filter((p) => p.personable_type === 'Client');
const casey = (sb: Sandbox) => contacts(sb).find((p) => p.name === 'Casey North')!;
const path = (r: { path: string }) => r.path.split('?')[0]!.replace(/^\/\d+/, '');
const writePaths = (sb: Sandbox) => writes(sb).map((w) => `${w.method} ${path(w)}`);

describe('clientside contacts (personable_type Client, client false) are clients', () => {
  it('the sandbox seeds them as Basecamp sends them, on a client project only', async () => {
    const { sb } = await setup();
    expect(contacts(sb).map((p) => [p.name, p.email_address, p.client])).toEqual([
      ['Casey North', 'casey.north@client.example', false],
      ['Carla North', 'carla.north@client.example', false],
    ]);
    for (const p of contacts(sb)) expect([...sb.data.projects.values()].filter((project) => project.members.has(p.id)).map((project) => project.id)).toEqual([LAUNCH]);
  });

  it('the sandbox grants them through client_users.json and drops them from users.json, as the API doc says', async () => {
    const { sb } = await setup();
    const id = casey(sb).id;
    const send = async (endpoint: string) => {
      const res = await request(`${sb.url}/${sb.accountId}/projects/${WEBSITE}/people/${endpoint}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 'contacts-test (t@example.test)', 'content-type': 'application/json' },
        body: JSON.stringify({ grant: [id] }),
      });
      return ((await res.body.json()) as { granted: { id: number }[] }).granted.map((p) => p.id);
    };
    expect(await send('users.json')).toEqual([]);
    expect(sb.data.projects.get(WEBSITE)!.members.has(id)).toBe(false);
    expect(await send('client_users.json')).toEqual([id]);
    expect(sb.data.projects.get(WEBSITE)!.members.has(id)).toBe(true);
  });

  it('list_people: client true and role client list them (client: true), client false leaves them out; one tag in the text', async () => {
    const { sb, client } = await setup();
    const ids = contacts(sb).map((p) => p.id);
    const clients = structured<{ people: { id: number; client: boolean; personable_type: string }[] }>(await call(client, 'list_people', { client: true, limit: 500 })).people;
    expect(clients.filter((p) => ids.includes(p.id))).toEqual(ids.map((id) => expect.objectContaining({ id, client: true, personable_type: 'Client' })));
    const byRole = structured<{ people: { id: number }[] }>(await call(client, 'list_people', { role: 'client', limit: 500 })).people.map((p) => p.id);
    expect(byRole).toEqual(expect.arrayContaining(ids));
    const team = structured<{ people: { id: number }[] }>(await call(client, 'list_people', { client: false, limit: 500 })).people.map((p) => p.id);
    expect(team.filter((id) => ids.includes(id))).toEqual([]);
    const line = text(await call(client, 'list_people', { query: 'Casey North' })).split('\n')[1];
    expect(line).toBe(`${casey(sb).id} Casey North <casey.north@client.example> [client] · Northwind Traders`);
  });

  it('access_report clients_only includes them', async () => {
    const { sb, client } = await setup();
    const r = structured<{ people: { id: number; client: boolean; projects: number[] }[] }>(await call(client, 'access_report', { clients_only: true, project_id: LAUNCH }));
    for (const p of contacts(sb)) expect(r.people).toContainEqual(expect.objectContaining({ id: p.id, client: true, projects: [LAUNCH] }));
  });

  it('update_project_access grants and revokes them through client_users.json', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const id = casey(sb).id;
    const granted = await call(client, 'update_project_access', { project_id: WEBSITE, grant: ['casey.north@client.example'] });
    expect(granted.isError).toBeFalsy();
    expect(structured<{ granted: { id: number }[]; ignored: unknown[] }>(granted)).toMatchObject({ granted: [expect.objectContaining({ id })], ignored: [] });
    const revoked = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [id] });
    expect(structured<{ revoked: { id: number }[] }>(revoked).revoked.map((p) => p.id)).toEqual([id]);
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/client_users.json`, `PUT /projects/${LAUNCH}/people/client_users.json`]);
    expect(sb.data.projects.get(WEBSITE)!.members.has(id)).toBe(true);
    expect(sb.data.projects.get(LAUNCH)!.members.has(id)).toBe(false);
  });

  it('granting one where clients are off is refused before any write (enable_clients turns them on)', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'update_project_access', { project_id: HIRING, grant: [casey(sb).id] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Casey North \(id \d+\) is a client, and clients are off on Hiring/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('trash_person plans and revokes them as a client', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const id = casey(sb).id;
    const plan = structured<{ projects: { id: number; role: string }[] }>(await call(client, 'trash_person', { person_id: id, dry_run: true }));
    expect(plan.projects).toEqual([expect.objectContaining({ id: LAUNCH, role: 'client' })]);
    const done = await call(client, 'trash_person', { person_id: id });
    expect(structured<{ status: string; revoked_from: number[] }>(done)).toMatchObject({ status: 'done', revoked_from: [LAUNCH] });
    expect(writePaths(sb)).toEqual([`PUT /projects/${LAUNCH}/people/client_users.json`]);
  });

  it('invitations: as a team member they are refused (a client); as a client they are granted, not created again', async () => {
    const { sb, client } = await setup();
    const asTeam = await call(client, 'invite_person', { name: 'Casey', email_address: 'casey.north@client.example', project_id: LAUNCH });
    expect(asTeam.isError).toBe(true);
    expect(text(asTeam)).toMatch(/Casey North <casey\.north@client\.example> \(id \d+\) is a client on this account; invite them with as_client: true/);
    expect(writes(sb)).toHaveLength(0);
    const asClient = await call(client, 'invite_person', { name: 'Casey', email_address: 'casey.north@client.example', project_id: WEBSITE, as_client: true });
    expect(asClient.isError).toBeFalsy();
    expect(structured(asClient)).toMatchObject({ created: false, project_id: WEBSITE, person: { id: casey(sb).id, client: true } });
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/client_users.json`]);
  });
});
