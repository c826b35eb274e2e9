import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { StaticCredentials, type Service } from '../src/service.js';
import { call, connectClient, sandboxService, type ToolResult } from './helpers.js';

/** What the write tools promise: outcomes told truthfully, the operator protected, the cache and the budget respected. */

let sb: Sandbox | undefined;
let service: Service | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await service?.close();
  await sb?.close();
  client = service = sb = undefined;
});

const OWNER = 1000001;
const ADAM = 1000002; // an admin who is not the owner
const JAN = 1000003;
const TOMBSTONE = 1000007;
const CLIENT = 1000009; // rosa.petrov@client.example
const HQ = 2000001;
const LAUNCH = 2000004;
const WEBSITE = 2000006;
const OLD_WEBSITE = 2000011; // archived
const ABANDONED = 2000013; // trashed

async function setup(opts: { people?: number; signInAs?: number; elicitation?: boolean } = {}) {
  sb = await startSandbox({ people: opts.people ?? 120, rateLimit: { max: 10_000, windowMs: 10_000 } });
  const credentials = opts.signInAs ? new StaticCredentials(sb.issueToken(opts.signInAs).access_token, 'test token') : undefined;
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), ...(credentials ? { credentials } : {}) });
  client = await connectClient(service, {}, opts.elicitation ? { elicitation: {} } : {});
  return { sb, client };
}

const structured = <T>(r: ToolResult) => r.structuredContent as T;
const writes = (s: Sandbox) => s.apiRequests().filter((r) => r.method !== 'GET');
const peopleReads = (s: Sandbox) => s.apiRequests().filter((r) => r.path.split('?')[0]!.endsWith('/people.json') && !r.path.includes('/projects/'));
const text = (r: ToolResult) => r.content[0]!.text;

describe('a 200 that does not say what changed is an unknown outcome (item 11)', () => {
  const answers: [string, unknown][] = [
    ['an empty body', undefined],
    ['an empty object', {}],
    ['an array', []],
    ['a string', 'ok'],
    ['granted that is not a list', { granted: 'yes', revoked: [] }],
    ['granted without ids', { granted: [{ name: 'Jan' }], revoked: [] }],
    ['no revoked list when revoking', { granted: [{ id: JAN, name: 'Jan Jensen' }] }],
  ];
  it.each(answers)('update_project_access, %s: outcome unknown, not re-sent, says where to check', async (_what, body) => {
    const { sb, client } = await setup();
    sb.intercept((req) => (req.method === 'PUT' ? { status: 200, body } : undefined));
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [JAN], revoke: [ADAM] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/answered 200 but did not say what it changed.*may or may not have applied.*not re-sent.*list_people project_id=2000006/s);
    expect(text(r)).toMatch(/"error":"outcome_unknown"/);
    expect(text(r)).toMatch(/"outcome":"unknown"/);
    expect(text(r)).not.toMatch(/not a person on this account/);
    expect(writes(sb)).toHaveLength(1);
  });

  it('invite_person and trash_person get the same verdict (parsed once, in the API client)', async () => {
    const { sb, client } = await setup();
    sb.intercept((req) => (req.method === 'PUT' ? { status: 200 } : undefined));
    const invite = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(invite.isError).toBe(true);
    expect(text(invite)).toMatch(/"error":"outcome_unknown"/);
    const trash = await call(client, 'trash_person', { person_id: JAN });
    expect(trash.isError).toBe(true);
    expect(text(trash)).toMatch(/did not say what it changed/);
    expect(text(trash)).toMatch(/"error":"outcome_unknown"/);
    expect(text(trash)).toMatch(/"status":"partial"/);
    expect(writes(sb)).toHaveLength(2); // one invite, then trash stopped at its first unknown
  });

  it('someone Basecamp left out is not "not a person" when the directory knows them: says why', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'update_project_access', {
      project_id: WEBSITE,
      grant: [TOMBSTONE, CLIENT, 31337, 'rosa.petrov@client.example', JAN],
    });
    expect(r.isError).toBeFalsy();
    const s = structured<{ granted: { id: number }[]; ignored: { person: number | string; reason: string }[] }>(r);
    expect(s.granted.map((p) => p.id)).toEqual([JAN]);
    const reason = new Map(s.ignored.map((i) => [i.person, i.reason]));
    expect(reason.get(TOMBSTONE)).toMatch(/^Not granted: Former Colleague was removed from the account/);
    expect(reason.get(CLIENT)).toMatch(/^Not granted: Rosa Petrov is a client.*team members only/);
    expect(reason.get('rosa.petrov@client.example')).toMatch(/is a client/);
    expect(reason.get(31337)).toMatch(/not a person on this account/);
    expect(text(r)).toMatch(/Former Colleague was removed/);
    expect(sb.data.projects.get(WEBSITE)!.members.has(CLIENT)).toBe(false);
  });
  it('a known team member left out without a reason is "left out", not "not a person"', async () => {
    const { sb, client } = await setup();
    sb.intercept((req) => (req.method === 'PUT' ? { status: 200, body: { granted: [], revoked: [] } } : undefined));
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [JAN] });
    expect(structured<{ ignored: { reason: string }[] }>(r).ignored[0]!.reason).toMatch(
      /^Not granted: Basecamp left Jan Jensen out of its answer without saying why\. Check with list_people project_id=2000006/,
    );
  });

  it('when the directory cannot be read after the write, the result stands and says it cannot tell why', async () => {
    const { sb, client } = await setup();
    sb.intercept((req) =>
      req.method === 'PUT' ? { status: 200, body: { granted: [], revoked: [] } } : req.path.includes('/people.json') ? { status: 403, body: { error: 'no' } } : undefined,
    );
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [31337] });
    expect(r.isError).toBeFalsy();
    expect(structured<{ ignored: { reason: string }[] }>(r).ignored[0]!.reason).toMatch(/directory could not be read to say why/);
  });
});

describe('update_project_access never cuts the server off (item 12)', () => {
  it.each([
    ['the owner, by id', undefined, OWNER],
    ['the owner, by email', undefined, 'OLIVIA@acme.example'],
    ['an admin, by id', ADAM, ADAM],
    ['an admin, by email', ADAM, 'adam@acme.example'],
  ] as const)('refuses revoking the signed-in person (%s) before any write', async (_who, signInAs, me) => {
    const { sb, client } = await setup({ signInAs });
    const r = await call(client, 'update_project_access', { project_id: HQ, revoke: [JAN, me] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/is the signed-in person: revoking them from Acme Co HQ would cut this server off.*Nothing was changed/s);
    expect(text(r)).toMatch(/"error":"invalid_input"/);
    expect(writes(sb)).toHaveLength(0);
    expect(sb.data.projects.get(HQ)!.members.has(JAN)).toBe(true);
  });

  it('an admin may still revoke someone else', async () => {
    const { sb, client } = await setup({ signInAs: ADAM });
    const r = await call(client, 'update_project_access', { project_id: HQ, revoke: [JAN] });
    expect(r.isError).toBeFalsy();
    expect(sb.data.projects.get(HQ)!.members.has(JAN)).toBe(false);
  });
});

describe('concurrent invites for one address make one person (item 13)', () => {
  it('"Dana@x" and "dana@X" at once: one created: true, one created: false, one person', async () => {
    const { sb, client } = await setup();
    const before = sb.data.people.size;
    // A slow create: without serialising, the other invite's directory re-read finishes before it lands.
    sb.intercept((req) => (req.method === 'PUT' ? { delayMs: 300 } : undefined));
    const results = await Promise.all([
      call(client, 'invite_person', { name: 'Dana Doe', email_address: 'Dana@x.example', project_id: LAUNCH }),
      call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@X.EXAMPLE', project_id: WEBSITE }),
    ]);
    for (const r of results) expect(r.isError, text(r)).toBeFalsy();
    const created = results.map((r) => structured<{ created: boolean; person: { id: number } }>(r));
    expect(created.map((c) => c.created).sort()).toEqual([false, true]);
    expect(created[0]!.person.id).toBe(created[1]!.person.id);
    expect(sb.data.people.size).toBe(before + 1);
    const danas = [...sb.data.people.values()].filter((p) => p.email_address?.toLowerCase() === 'dana@x.example');
    expect(danas).toHaveLength(1);
    expect(sb.data.projects.get(LAUNCH)!.members.has(danas[0]!.id)).toBe(true);
    expect(sb.data.projects.get(WEBSITE)!.members.has(danas[0]!.id)).toBe(true);
    // Exactly one create was sent; the second invite granted the person the first created.
    const bodies = writes(sb).map((w) => JSON.parse(w.body!) as Record<string, unknown>);
    expect(bodies.filter((b) => b.create)).toHaveLength(1);
    expect(bodies.filter((b) => b.grant)).toEqual([{ grant: [danas[0]!.id] }]);
  });
});

describe('archived and trashed projects (item 14)', () => {
  it('trash_person plans and sweeps trashed projects too, and labels archived and trashed ones', async () => {
    const { sb, client } = await setup();
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

  it('granting into an archived project works and warns that it is read-only', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'update_project_access', { project_id: OLD_WEBSITE, grant: [ADAM] });
    expect(r.isError).toBeFalsy();
    expect(structured<{ warning: string }>(r).warning).toMatch(/Old Website is archived: they can see it, but it is read-only/);
    expect(text(r)).toMatch(/WARNING: Old Website is archived/);
    expect(sb.data.projects.get(OLD_WEBSITE)!.members.has(ADAM)).toBe(true);
    const revokeOnly = await call(client, 'update_project_access', { project_id: OLD_WEBSITE, revoke: [ADAM] });
    expect(structured<{ warning?: string }>(revokeOnly).warning).toBeUndefined();
  });

  it('inviting into an archived project works and warns', async () => {
    const { client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Eve', email_address: 'eve@acme.example', project_id: OLD_WEBSITE });
    expect(r.isError).toBeFalsy();
    expect(structured<{ warning: string; created: boolean }>(r)).toMatchObject({ created: true, warning: expect.stringMatching(/archived/) });
    expect(text(r)).toMatch(/WARNING: Old Website is archived/);
  });

  it('granting or inviting into a trashed project is refused before any write; revoking from one is allowed', async () => {
    const { sb, client } = await setup();
    const grant = await call(client, 'update_project_access', { project_id: ABANDONED, grant: [JAN] });
    expect(grant.isError).toBe(true);
    expect(text(grant)).toMatch(/Abandoned Idea \(project 2000013\) is in the trash.*Nothing was changed.*Restore it/s);
    const invite = await call(client, 'invite_person', { name: 'Eve', email_address: 'eve@acme.example', project_id: ABANDONED });
    expect(invite.isError).toBe(true);
    expect(text(invite)).toMatch(/is in the trash/);
    expect(writes(sb)).toHaveLength(0);
    sb.data.projects.get(ABANDONED)!.members.add(JAN);
    const revoke = await call(client, 'update_project_access', { project_id: ABANDONED, revoke: [JAN] });
    expect(revoke.isError).toBeFalsy();
    expect(sb.data.projects.get(ABANDONED)!.members.has(JAN)).toBe(false);
  });
});

describe('one fresh directory read per call, whatever the number of emails (item 15)', () => {
  const unknown = Array.from({ length: 10 }, (_, i) => `ghost${i}@acme.example`);

  it('10 unknown emails on 1,000 people, cache warm: one fresh re-read (13 requests), not ten', async () => {
    const { sb, client } = await setup({ people: 1000 });
    await call(client, 'list_people'); // the cached read
    const fullRead = peopleReads(sb).length;
    expect(fullRead).toBe(13);
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: ['jan@acme.example', ...unknown] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/ghost0@acme.example, .*ghost9@acme.example\. Nothing was changed/);
    expect(peopleReads(sb).length).toBe(2 * fullRead);
    expect(writes(sb)).toHaveLength(0);
  });

  it('cache cold: the first read is fresh, so no second one', async () => {
    const { sb, client } = await setup({ people: 1000 });
    await call(client, 'update_project_access', { project_id: WEBSITE, revoke: unknown });
    expect(peopleReads(sb).length).toBe(13);
  });
});

describe('guards on the promises the README makes', () => {
  it('each write tool clears the cache: the next listing shows what it changed', async () => {
    const { client } = await setup();
    const onLaunch = async () => structured<{ people: { id: number }[] }>(await call(client, 'list_people', { project_id: LAUNCH })).people.map((p) => p.id);
    const named = async (q: string) => structured<{ total: number }>(await call(client, 'list_people', { query: q })).total;

    expect(await named('dana@acme')).toBe(0);
    await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(await named('dana@acme')).toBe(1);

    expect(await onLaunch()).not.toContain(ADAM);
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(await onLaunch()).toContain(ADAM);

    expect(await onLaunch()).toContain(JAN);
    const trash = await call(client, 'trash_person', { person_id: JAN });
    expect(structured<{ status: string }>(trash).status).toBe('done');
    expect(await onLaunch()).not.toContain(JAN);
  });

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
    const { sb, client } = await setup();
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
    sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
    const launch = sb.data.projects.get(LAUNCH)!;
    for (let i = 1; i <= 20; i++) sb.data.projects.set(2100000 + i, { ...launch, id: 2100000 + i, name: `Extra ${i}`, members: new Set([OWNER]) });
    service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } });
    client = await connectClient(service);
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Could not read every active project.*nothing was changed/);
    expect(text(r)).toMatch(/"error":"incomplete"/);
    expect(writes(sb)).toHaveLength(0);
  });
});
