import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { ABANDONED, ADAM, call, connectClient, JAN, LAUNCH, OLD_WEBSITE, OWNER, sandboxService, structured, text, toolHarness, writes, type ToolResult } from '../helpers.js';

const { setup, track } = toolHarness();

describe('trash_person', () => {
  const janProjects = (s: Sandbox) => [...s.data.projects.values()].filter((p) => p.members.has(1000003)).map((p) => p.id);

  it('dry run returns the exact plan and writes nothing', async () => {
    const { sb, client } = await setup();
    const planned = janProjects(sb);
    const r = await call(client, 'trash_person', { email: 'jan@acme.example', dry_run: true });
    const s = structured<{ projects: { id: number }[]; status: string; revoked_from: number[]; account_removed: boolean; note: string; adminland_url: string }>(r);
    expect(s.status).toBe('planned');
    expect(s.projects.map((p) => p.id).sort()).toEqual(planned.sort());
    expect(s.projects.some((p) => sb.data.projects.get(p.id)!.status === 'archived')).toBe(true);
    expect(s.revoked_from).toEqual([]);
    expect(s.account_removed).toBe(false);
    expect(s.note).toMatch(/cannot remove a person from the account/);
    expect(s.adminland_url).toBe(`https://3.basecamp.com/${sb.accountId}/account/people`);
    expect(writes(sb)).toHaveLength(0);
  });

  it('asks the human, then revokes from every project, team and HQ; touches no one else; reports progress', async () => {
    const { sb, client } = await setup({ capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, async (req) => {
      asked.push(req.params.message);
      return { action: 'accept', content: { confirm: true } };
    });
    const others = new Map([...sb.data.projects].map(([id, p]) => [id, [...p.members].filter((m) => m !== 1000003).sort()]));
    const planned = janProjects(sb);
    const progress: number[] = [];
    const r = (await client.callTool({ name: 'trash_person', arguments: { person_id: 1000003 } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    })) as ToolResult;
    const done = structured<{ status: string; revoked_from: number[]; note: string }>(r);
    expect(r.isError).toBeFalsy();
    expect(asked[0]).toMatch(/Revoke Jan Jensen/);
    expect(done.status).toBe('done');
    expect(done.revoked_from.sort()).toEqual(planned.sort());
    expect(janProjects(sb)).toEqual([]);
    expect(done.note).toMatch(/Adminland/);
    // Still on the account: Basecamp 4 has no removal endpoint.
    expect(sb.data.people.has(1000003)).toBe(true);
    for (const [id, p] of sb.data.projects) expect([...p.members].filter((m) => m !== 1000003).sort()).toEqual(others.get(id));
    expect(progress.length).toBeGreaterThan(3);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    for (const w of writes(sb)) expect(JSON.parse(w.body!)).toEqual({ revoke: [1000003] });
  });

  it('changes nothing when the human declines', async () => {
    const { sb, client } = await setup({ capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
    const r = await call(client, 'trash_person', { email: 'jan@acme.example' });
    expect(structured<{ status: string }>(r).status).toBe('cancelled');
    expect(writes(sb)).toHaveLength(0);
  });

  it('refuses the owner and the signed-in person', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'trash_person', { email: 'olivia@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/account owner/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('stops at the first failed revocation and reports exactly what was and was not done', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    let puts = 0;
    sb.intercept((req) => (req.method === 'PUT' && ++puts === 3 ? { status: 403, body: { error: 'not allowed' } } : undefined));
    const r = await call(client, 'trash_person', { email: 'jan@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Partly done: revoked from 2 of \d+/);
    // What was and was not done comes as structuredContent of the isError result, not JSON pasted into the message.
    const done = structured<{ status: string; revoked_from: number[]; failed: { project_id: number; error: string }[]; projects: { id: number }[] }>(r);
    expect(done.status).toBe('partial');
    expect(done.revoked_from).toHaveLength(2);
    expect(done.failed).toEqual([{ project_id: done.projects[2]!.id, error: expect.stringMatching(/403/) }]);
    expect(r.content[0]!.text).not.toContain('"revoked_from"');
    expect(r.content[0]!.text).toMatch(new RegExp(`failed at ${done.projects[2]!.id} \\(.*403.*\\); not attempted: ${done.projects.slice(3).map((p) => p.id).join(', ') || 'none'}\\.`));
    expect(r.content[0]!.text).toMatch(/"error":"forbidden"|"error":"basecamp"/);
    expect(writes(sb)).toHaveLength(3);
  });
});

describe('archived and trashed projects (item 14)', () => {
  it('trash_person plans and sweeps trashed projects too, and labels archived and trashed ones', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    sb.data.projects.get(ABANDONED)!.members.add(JAN);
    const dry = await call(client, 'trash_person', { person_id: JAN, dry_run: true });
    const plan = structured<{ projects: { id: number; status: string }[] }>(dry).projects;
    expect(plan.find((p) => p.id === ABANDONED)?.status).toBe('trashed');
    expect(plan.find((p) => p.id === OLD_WEBSITE)?.status).toBe('archived');
    expect(text(dry)).toMatch(/Abandoned Idea \(trashed\)/);
    expect(text(dry)).toMatch(/Old Website \(archived\)/);
    const r = await call(client, 'trash_person', { person_id: JAN });
    const s = structured<{ status: string; revoked_from: number[] }>(r);
    expect(s.status).toBe('done');
    expect(s.revoked_from).toContain(ABANDONED);
    expect([...sb.data.projects.values()].filter((p) => p.members.has(JAN))).toEqual([]);
  });
});

describe('guards on the promises the README makes', () => {
  it('trash_person plans from fresh reads, not from a cached project list', async () => {
    const { sb, client } = await setup();
    for (const status of ['active', 'archived', 'trashed']) await call(client, 'list_projects', { status });
    // A project Jan is on appears after the lists were cached (made elsewhere).
    const launch = sb.data.projects.get(LAUNCH)!;
    sb.data.projects.set(2999999, { ...launch, id: 2999999, name: 'Made Just Now', members: new Set([OWNER, JAN]) });
    const dry = structured<{ projects: { id: number }[] }>(await call(client, 'trash_person', { person_id: JAN, dry_run: true }));
    expect(dry.projects.map((p) => p.id)).toContain(2999999);
  });

  it('an admin (not the owner) cannot offboard themselves, by id or email', async () => {
    const { sb, client } = await setup({ signInAs: ADAM });
    for (const args of [{ person_id: ADAM }, { email: 'adam@acme.example' }]) {
      const r = await call(client, 'trash_person', args);
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/That is the signed-in person; offboarding yourself would cut this server off/);
    }
    expect(writes(sb)).toHaveLength(0);
  });

  it.each(['cancel', 'decline'] as const)('a confirmation answered %s changes nothing', async (action) => {
    const { sb, client } = await setup({ elicitation: true });
    let asked = 0;
    client.setRequestHandler(ElicitRequestSchema, async () => {
      asked++;
      return { action };
    });
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(asked).toBe(1);
    expect(r.isError).toBeFalsy();
    expect(structured<{ status: string; revoked_from: number[] }>(r)).toMatchObject({ status: 'cancelled', revoked_from: [] });
    expect(text(r)).toMatch(new RegExp(`answered ${action}; nothing was changed`));
    expect(writes(sb)).toHaveLength(0);
  });
});

describe('a trash_person sweep stopped part-way keeps the kind of what stopped it', () => {
  it('a long Retry-After mid-sweep: partial, kind rate_limited with retry_after_seconds, later projects untouched', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    let puts = 0;
    sb.intercept((req) => (req.method === 'PUT' && ++puts === 2 ? { status: 429, headers: { 'Retry-After': '3600' }, body: { error: 'slow down' } } : undefined));
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Partly done: revoked from 1 of \d+/);
    expect(text(r)).toMatch(/"error":"rate_limited","retry_after_seconds":(3600|3599)/);
    expect(writes(sb)).toHaveLength(2);
  });
});

describe('trash_person does not plan from a partial project list', () => {
  it('a project list cut short fails as incomplete, writing nothing', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const launch = sb.data.projects.get(LAUNCH)!;
    for (let i = 1; i <= 20; i++) sb.data.projects.set(2100000 + i, { ...launch, id: 2100000 + i, name: `Extra ${i}`, members: new Set([OWNER]) });
    const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } }));
    const client = track(await connectClient(service));
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Could not read every active project.*nothing was changed/);
    expect(text(r)).toMatch(/"error":"incomplete"/);
    expect(writes(sb)).toHaveLength(0);
  });
});
