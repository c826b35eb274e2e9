import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { isClient } from '../../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { call, CLIENT, connectClient, sandboxService, JAN, LAUNCH, structured, text, toolHarness, WEBSITE, writes } from '../helpers.js';

const { setup, track } = toolHarness();

/** A client on its own service whose budget records every pause. */
async function withPauseLog() {
  const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
  const budget = new RateBudget({ max: 10_000, windowMs: 10_000 });
  const pauses: number[] = [];
  const pause = budget.pause.bind(budget);
  budget.pause = (ms: number) => {
    pauses.push(ms);
    return pause(ms);
  };
  const client = track(await connectClient(track(sandboxService(sb, { budget }))));
  return { sb, client, pauses };
}
const HIRING = 2000007; // clients off

const path = (r: { path: string }) => r.path.split('?')[0]!.replace(/^\/\d+/, '');
const writePaths = (sb: Sandbox) => writes(sb).map((w) => `${w.method} ${path(w)}`);
/** A team member (a User who is not a client) on the account but not on the project. */
const teamMemberNotOn = (sb: Sandbox, projectId: number) =>
  [...sb.data.people.values()].find((p) => p.personable_type === 'User' && !p.client && !p.owner && !sb.data.projects.get(projectId)!.members.has(p.id))!.id;
const clientNotOn = (sb: Sandbox, projectId: number) =>
  [...sb.data.people.values()].find((p) => p.personable_type === 'User' && p.client && !sb.data.projects.get(projectId)!.members.has(p.id))!.id;

describe('clients through the same tools as team members', () => {
  it('update_project_access grants and revokes a client through client_users.json', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    expect(sb.data.projects.get(WEBSITE)!.clients_enabled).toBe(true);
    const granted = await call(client, 'update_project_access', { project_id: WEBSITE, grant: ['rosa.petrov@client.example'] });
    expect(granted.isError).toBeFalsy();
    expect(structured<{ granted: { id: number; client: boolean }[] }>(granted).granted).toEqual([expect.objectContaining({ id: CLIENT, client: true })]);
    expect(sb.data.projects.get(WEBSITE)!.members.has(CLIENT)).toBe(true);
    const revoked = await call(client, 'update_project_access', { project_id: WEBSITE, revoke: [CLIENT] });
    expect(structured<{ revoked: { id: number }[] }>(revoked).revoked.map((p) => p.id)).toEqual([CLIENT]);
    expect(sb.data.projects.get(WEBSITE)!.members.has(CLIENT)).toBe(false);
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/client_users.json`, `PUT /projects/${WEBSITE}/people/client_users.json`]);
  });

  it('a mixed grant makes two writes, each to its endpoint, and reports both people', async () => {
    const { sb, client } = await setup();
    const team = teamMemberNotOn(sb, WEBSITE);
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [team, CLIENT] });
    expect(r.isError).toBeFalsy();
    expect(structured<{ granted: { id: number }[]; ignored: unknown[] }>(r)).toMatchObject({ ignored: [] });
    expect(structured<{ granted: { id: number }[] }>(r).granted.map((p) => p.id).sort()).toEqual([team, CLIENT].sort());
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/users.json`, `PUT /projects/${WEBSITE}/people/client_users.json`]);
    expect(writes(sb).map((w) => JSON.parse(w.body!))).toEqual([{ grant: [team] }, { grant: [CLIENT] }]);
  });

  it('clients off: granting a client is refused before any write; enable_clients turns them on, then grants', async () => {
    const { sb, client } = await setup();
    expect(sb.data.projects.get(HIRING)!.clients_enabled).toBe(false);
    const refused = await call(client, 'update_project_access', { project_id: HIRING, grant: [CLIENT] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/Rosa Petrov \(id 1000009\) is a client, and clients are off on .*Nothing was changed\. Pass enable_clients: true/);
    expect(text(refused)).toContain('"error":"invalid_input"');
    expect(writes(sb)).toHaveLength(0);

    const done = await call(client, 'update_project_access', { project_id: HIRING, grant: [CLIENT], enable_clients: true });
    expect(done.isError).toBeFalsy();
    expect(structured<{ clients_enabled_now: boolean }>(done).clients_enabled_now).toBe(true);
    expect(writePaths(sb)).toEqual([`POST /projects/${HIRING}/client_enablement.json`, `PUT /projects/${HIRING}/people/client_users.json`]);
    expect(sb.data.projects.get(HIRING)!.clients_enabled).toBe(true);
    expect(sb.data.projects.get(HIRING)!.members.has(CLIENT)).toBe(true);
  });

  it('invite_person as_client invites a client to the project through client_users.json', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Cara Client', email_address: 'cara@globex.example', project_id: WEBSITE, as_client: true });
    expect(r.isError).toBeFalsy();
    expect(structured(r)).toMatchObject({ created: true, project_id: WEBSITE, person: { name: 'Cara Client', client: true } });
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/client_users.json`]);
    const cara = [...sb.data.people.values()].find((p) => p.email_address === 'cara@globex.example')!;
    expect(cara.client).toBe(true);
    expect(sb.data.projects.get(WEBSITE)!.members.has(cara.id)).toBe(true);
    // Again: the existing client is granted, not created twice.
    const again = await call(client, 'invite_person', { name: 'Cara Client', email_address: 'CARA@globex.example', project_id: LAUNCH, as_client: true });
    expect(structured(again)).toMatchObject({ created: false, project_id: LAUNCH });
    expect([...sb.data.people.values()].filter((p) => p.email_address === 'cara@globex.example')).toHaveLength(1);
  });

  it('invite_person as_client refuses a team member and needs a project', async () => {
    const { sb, client } = await setup();
    const teamMember = await call(client, 'invite_person', { name: 'Jan', email_address: 'jan@acme.example', project_id: WEBSITE, as_client: true });
    expect(teamMember.isError).toBe(true);
    expect(text(teamMember)).toMatch(/team member on this account; Basecamp never turns a team member into a client/);
    const noProject = await call(client, 'invite_person', { name: 'Cara', email_address: 'cara@globex.example', as_client: true });
    expect(noProject.isError).toBe(true);
    expect(text(noProject)).toMatch(/as_client: true needs project_id/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('trash_person offboards a client through client_users.json, and its plan says so', async () => {
    const { sb, client } = await setup({ capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    const on = [...sb.data.projects.values()].filter((p) => p.members.has(CLIENT)).map((p) => p.id);
    expect(on.length).toBeGreaterThan(0);
    const plan = await call(client, 'trash_person', { person_id: CLIENT, dry_run: true });
    expect(structured<{ projects: { id: number; role: string }[] }>(plan).projects.map((p) => [p.id, p.role])).toEqual(on.map((id) => [id, 'client']));
    expect(writes(sb)).toHaveLength(0);
    const r = await call(client, 'trash_person', { person_id: CLIENT });
    expect(r.isError).toBeFalsy();
    expect(structured<{ status: string; revoked_from: number[] }>(r)).toMatchObject({ status: 'done' });
    expect(structured<{ revoked_from: number[] }>(r).revoked_from.sort()).toEqual(on.sort());
    expect(writePaths(sb)).toEqual(on.map((id) => `PUT /projects/${id}/people/client_users.json`));
    expect([...sb.data.projects.values()].filter((p) => p.members.has(CLIENT))).toEqual([]);
  });

  it('list_projects says where clients are on', async () => {
    const { client } = await setup();
    const r = await call(client, 'list_projects', {});
    const projects = structured<{ projects: { id: number; clients_enabled: boolean | null }[] }>(r).projects;
    expect(projects.find((p) => p.id === WEBSITE)!.clients_enabled).toBe(true);
    expect(projects.find((p) => p.id === HIRING)!.clients_enabled).toBe(false);
    expect(text(r)).toMatch(new RegExp(`${WEBSITE} [^\\n]*\\[clients\\]`));
  });
});

describe('the client seat limit (429 without Retry-After on client_users.json)', () => {
  it('is a verdict: one request, kind seat_limit, no retry, no pause (the next call goes straight out)', async () => {
    const { sb, client, pauses } = await withPauseLog();
    sb.data.clientSeats = [...sb.data.people.values()].filter(isClient).length;
    const r = await call(client, 'invite_person', { name: 'One Too Many', email_address: 'late@globex.example', project_id: WEBSITE, as_client: true });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('"error":"seat_limit"');
    expect(text(r)).toMatch(/no client seat left/);
    expect(writes(sb)).toHaveLength(1);
    // No pause of the budget: the next request is not held back.
    expect(pauses).toEqual([]);
    const next = await call(client, 'get_person', { person_id: JAN });
    expect(next.isError).toBeFalsy();
    // An existing client takes no seat: granting one still works.
    const other = clientNotOn(sb, WEBSITE);
    const grant = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [other] });
    expect(grant.isError).toBeFalsy();
  });

  it('a 429 with Retry-After there is ordinary throttling: the budget pauses, then it is re-sent', async () => {
    const { sb, client, pauses } = await withPauseLog();
    let first = true;
    sb.intercept((req) => {
      if (req.method === 'PUT' && req.path.includes('client_users') && first) {
        first = false;
        return { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'slow down' } };
      }
      return undefined;
    });
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [CLIENT] });
    expect(r.isError).toBeFalsy();
    expect(writes(sb)).toHaveLength(2);
    expect(pauses).toEqual([1000]);
  });
});
