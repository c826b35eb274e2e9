import { describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { call, connectClient, HQ, JAN, LAUNCH, sandboxService, structured, text, toolHarness, WEBSITE, writes } from '../helpers.js';

const { setup, track } = toolHarness();

const path = (r: { path: string }) => r.path.split('?')[0]!.replace(/^\/\d+/, '');
const writePaths = (sb: Sandbox) => writes(sb).map((w) => `${w.method} ${path(w)}`);
const byEmail = (sb: Sandbox, email: string) => [...sb.data.people.values()].filter((p) => p.email_address?.toLowerCase() === email.toLowerCase());

interface Out {
  results: { email_address: string; status: string; person?: { id: number; client: boolean }; error?: string }[];
  projects: { id: number; name: string; granted: number[]; not_granted: number[] }[];
  via: string;
  notes: string[];
}

/** 20 rows: 16 new addresses, 2 of them repeated in other letter case, and 2 people already on the account. */
function batchOf20() {
  const people: { email_address: string; name?: string }[] = [];
  for (let i = 1; i <= 16; i++) people.push({ email_address: `new${i}@acme.example`, name: `New Person ${i}` });
  people.push({ email_address: 'NEW1@acme.example' }, { email_address: 'new2@ACME.example' });
  people.push({ email_address: 'jan@acme.example', name: 'Jan' }, { email_address: 'Olivia@acme.example' });
  return people;
}

async function noEnrollments() {
  const sb = track(await startSandbox({ enrollments: false, rateLimit: { max: 10_000, windowMs: 10_000 } }));
  return { sb, client: track(await connectClient(track(sandboxService(sb)))) };
}

describe('invite_people', () => {
  it('a 20-person batch with duplicates and existing people: one enrollment POST, truthful per-person statuses', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const r = await call(client, 'invite_people', { people: batchOf20(), project_ids: [LAUNCH] });
    expect(r.isError).toBeFalsy();
    const out = structured<Out>(r);
    expect(writePaths(sb)).toEqual(['POST /account/enrollments/people.json']);
    expect(JSON.parse(writes(sb)[0]!.body!).people).toHaveLength(18); // 16 new + 2 existing, each once
    expect(out.via).toBe('enrollment');
    expect(out.results.map((x) => x.status)).toEqual([...Array(16).fill('created'), 'created', 'created', 'existing', 'existing']);
    expect(out.results.map((x) => x.email_address)).toEqual(batchOf20().map((p) => p.email_address));
    // The repeated addresses are the same person as their first spelling; nobody exists twice.
    expect(out.results[16]!.person!.id).toBe(out.results[0]!.person!.id);
    for (let i = 1; i <= 16; i++) expect(byEmail(sb, `new${i}@acme.example`)).toHaveLength(1);
    expect(out.results[18]!.person!.id).toBe(JAN);
    // Invitations: once per new person, none to people already on the account.
    expect(sb.data.invitationsSent.sort()).toEqual(Array.from({ length: 16 }, (_, i) => `new${i + 1}@acme.example`).sort());
    // Access read back from Basecamp.
    const ids = [...new Set(out.results.map((x) => x.person!.id))];
    expect(out.projects).toEqual([{ id: LAUNCH, name: expect.any(String), granted: ids, not_granted: [] }]);
    for (const id of ids) expect(sb.data.projects.get(LAUNCH)!.members.has(id)).toBe(true);
    expect(text(r)).toMatch(/^16 invited, 2 already on the account\./);
  });

  it('a project Basecamp skipped (trashed meanwhile) is reported in not_granted, read back, never assumed', async () => {
    const { sb, client } = await setup();
    // Between our check and the write the project goes to the trash: Basecamp skips it without a word.
    sb.intercept((req) => {
      if (req.method === 'POST' && req.path.includes('/enrollments/')) sb.data.projects.get(WEBSITE)!.status = 'trashed';
      return undefined;
    });
    const r = await call(client, 'invite_people', { people: [{ email_address: 'skip@acme.example' }], project_ids: [LAUNCH, WEBSITE] });
    expect(r.isError).toBeFalsy();
    const out = structured<Out>(r);
    const id = out.results[0]!.person!.id;
    expect(out.projects).toEqual([
      { id: LAUNCH, name: expect.any(String), granted: [id], not_granted: [] },
      { id: WEBSITE, name: expect.any(String), granted: [], not_granted: [id] },
    ]);
    expect(text(r)).toMatch(/1 NOT granted/);
  });

  it('without enrollments (404): creates through the first project, grants the others, existing people granted not duplicated', async () => {
    const { sb, client } = await noEnrollments();
    const r = await call(client, 'invite_people', { people: [{ email_address: 'a1@acme.example', name: 'A One' }, { email_address: 'jan@acme.example' }, { email_address: 'A1@acme.example' }], project_ids: [LAUNCH, WEBSITE] });
    expect(r.isError).toBeFalsy();
    const out = structured<Out>(r);
    expect(out.via).toBe('project');
    expect(out.results.map((x) => x.status)).toEqual(['created', 'existing', 'created']);
    expect(writePaths(sb)).toEqual(['POST /account/enrollments/people.json', `PUT /projects/${LAUNCH}/people/users.json`, `PUT /projects/${WEBSITE}/people/users.json`]);
    const [, first, second] = writes(sb).map((w) => JSON.parse(w.body!) as { grant?: number[]; create?: { email_address: string }[] });
    expect(first).toEqual({ grant: [JAN], create: [{ name: 'A One', email_address: 'a1@acme.example' }] });
    const a1 = byEmail(sb, 'a1@acme.example');
    expect(a1).toHaveLength(1);
    expect(second!.grant!.sort()).toEqual([JAN, a1[0]!.id].sort());
    expect(out.projects.map((p) => [p.id, p.granted.sort(), p.not_granted])).toEqual([
      [LAUNCH, [JAN, a1[0]!.id].sort(), []],
      [WEBSITE, [JAN, a1[0]!.id].sort(), []],
    ]);
  });

  it('without enrollments and without a project: through the HQ', async () => {
    const { sb, client } = await noEnrollments();
    const r = await call(client, 'invite_people', { people: [{ email_address: 'hq1@acme.example' }], notify: false });
    const out = structured<Out>(r);
    expect(out.results[0]!.status).toBe('created');
    expect(out.projects.map((p) => p.id)).toEqual([HQ]);
    expect(writePaths(sb)).toEqual(['POST /account/enrollments/people.json', `PUT /projects/${HQ}/people/users.json`]);
    expect(out.notes.join(' ')).toMatch(/notify: false could not be honoured/);
  });

  it('one bad row: Basecamp refuses the batch (422), every row says what happened, nobody was invited', async () => {
    const { sb, client } = await setup();
    sb.intercept((req) =>
      req.method === 'POST' && req.path.includes('/enrollments/') ? { status: 422, body: { errors: [{ index: 1, messages: ['Email address is taken by a deactivated person'] }] } } : undefined,
    );
    const r = await call(client, 'invite_people', { people: [{ email_address: 'ok@acme.example' }, { email_address: 'bad@acme.example' }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('"error":"validation_rejected"');
    const out = structured<Out>(r);
    expect(out.results).toEqual([
      { email_address: 'ok@acme.example', status: 'failed', error: expect.stringMatching(/^Not invited: Basecamp rejected/) },
      { email_address: 'bad@acme.example', status: 'failed', error: expect.stringMatching(/Refused by Basecamp: Email address is taken.*Nobody in the batch was invited/) },
    ]);
    expect(byEmail(sb, 'ok@acme.example')).toHaveLength(0);
  });

  it('the user limit (507) is plan_limit, nobody invited', async () => {
    const sb = track(await startSandbox({ userLimit: 1, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const client = track(await connectClient(track(sandboxService(sb))));
    const r = await call(client, 'invite_people', { people: [{ email_address: 'over@acme.example' }] });
    expect(r.isError).toBe(true);
    expect(text(r)).toContain('"error":"plan_limit"');
    expect(structured<Out>(r).results[0]!.status).toBe('failed');
    expect(byEmail(sb, 'over@acme.example')).toHaveLength(0);
  });

  it('as clients: client_users.json on each project', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_people', { people: [{ email_address: 'c1@globex.example' }, { email_address: 'c2@globex.example' }], project_ids: [WEBSITE], as_client: true });
    expect(r.isError, text(r)).toBeFalsy();
    const out = structured<Out>(r);
    expect(out.results.map((x) => x.status)).toEqual(['created', 'created']);
    expect(out.results.every((x) => x.person!.client)).toBe(true);
    expect(writePaths(sb)).toEqual([`PUT /projects/${WEBSITE}/people/client_users.json`]);
    expect(out.projects).toEqual([{ id: WEBSITE, name: expect.any(String), granted: out.results.map((x) => x.person!.id), not_granted: [] }]);
  });

  // Changed with issue 16 (item 6): a team member in a client batch used to fail alone while the rest went out;
  // now the whole call is refused before anything is sent (or anyone asked), naming who to take out.
  it('a team member in a client batch (or a client in a team batch) refuses the whole call: nothing sent', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_people', { people: [{ email_address: 'c1@globex.example' }, { email_address: 'jan@acme.example' }], project_ids: [WEBSITE], as_client: true });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/Jan [^\n]*<jan@acme\.example> \(id 1000003\) is a team member on this account; Basecamp never turns a team member into a client\. Nothing was changed: take them out of the batch/);
    const asTeam = await call(client, 'invite_people', { people: [{ email_address: 'new@acme.example' }, { email_address: 'rosa.petrov@client.example' }] });
    expect(asTeam.isError).toBe(true);
    expect(text(asTeam)).toMatch(/\(id 1000009\) is a client on this account; invite them with as_client: true/);
    expect(writes(sb)).toHaveLength(0);
    expect(byEmail(sb, 'c1@globex.example')).toHaveLength(0);
  });

  it('bad input changes nothing and sends nothing', async () => {
    const { sb, client } = await setup();
    const before = sb.apiRequests().length;
    const many = Array.from({ length: 51 }, (_, i) => ({ email_address: `p${i}@acme.example` }));
    for (const args of [
      { people: [] },
      { people: many },
      { people: [{ email_address: 'not-an-email' }] },
      { people: [{ email_address: 'a@acme.example' }], project_ids: ['2000004'] },
      { people: [{ email_address: 'a@acme.example' }], as_client: true },
      { people: [{ email_address: 'a@acme.example' }], enable_clients: true },
    ]) {
      const r = await call(client, 'invite_people', args);
      expect(r.isError, JSON.stringify(args).slice(0, 80)).toBe(true);
    }
    expect(sb.apiRequests().length).toBe(before);
  });
});

describe('invite_person without a project uses the account-level path', () => {
  it('one enrollment with the HQ, membership read back; output keeps its fields', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example' });
    expect(r.isError).toBeFalsy();
    expect(structured(r)).toMatchObject({ created: true, project_id: HQ, project_name: expect.any(String), person: { name: 'Dana Doe' } });
    expect(writePaths(sb)).toEqual(['POST /account/enrollments/people.json']);
    expect(JSON.parse(writes(sb)[0]!.body!)).toMatchObject({ project_ids: [HQ] });
  });

  it('falls back to the HQ users.json when the account has no enrollments, and does not ask again for an hour', async () => {
    const { sb, client } = await noEnrollments();
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example' });
    expect(structured(r)).toMatchObject({ created: true, project_id: HQ });
    expect(writePaths(sb)).toEqual(['POST /account/enrollments/people.json', `PUT /projects/${HQ}/people/users.json`]);
    const second = await call(client, 'invite_person', { name: 'Eli Doe', email_address: 'eli@acme.example' });
    expect(structured(second)).toMatchObject({ created: true, project_id: HQ });
    expect(writePaths(sb).slice(2)).toEqual([`PUT /projects/${HQ}/people/users.json`]);
  });
});
