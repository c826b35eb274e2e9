import { describe, expect, it } from 'vitest';
import { ADAM, call, CLIENT, HQ, JAN, OLD_WEBSITE, OWNER, peopleReads, structured, text, TOMBSTONE, toolHarness, WEBSITE, writes } from '../helpers.js';

const { setup } = toolHarness();

describe('update_project_access', () => {
  it('grants and revokes by id and email; unknown ids come back in ignored', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const project = sb.data.projects.get(2000006)!;
    project.members.add(1000002);
    const r = await call(client, 'update_project_access', { project_id: 2000006, grant: ['jan@acme.example', 31337], revoke: [1000002] });
    expect(r.isError).toBeFalsy();
    const s = structured<{ granted: { id: number }[]; revoked: { id: number }[]; ignored: { person: number; action: string }[] }>(r);
    expect(s.granted.map((p) => p.id)).toEqual([1000003]);
    expect(s.revoked.map((p) => p.id)).toEqual([1000002]);
    expect(s.ignored).toEqual([{ person: 31337, action: 'grant', reason: expect.stringMatching(/not a person/) }]);
    expect(project.members.has(1000003)).toBe(true);
    expect(project.members.has(1000002)).toBe(false);
  });

  it('fails on an unknown email before any write', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const r = await call(client, 'update_project_access', { project_id: 2000006, grant: ['jan@acme.example', 'ghost@acme.example'] });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/ghost@acme.example.*Nothing was changed/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('refuses the same person in grant and revoke (also via id + email)', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const r = await call(client, 'update_project_access', { project_id: 2000006, grant: [1000003], revoke: ['jan@acme.example'] });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/both grant and revoke/);
    expect(writes(sb)).toHaveLength(0);
  });
});

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
    const { sb, client } = await setup({ autoConfirm: true });
    sb.intercept((req) => (req.method === 'PUT' ? { status: 200, body } : undefined));
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [JAN], revoke: [ADAM] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/answered 200 but did not say what it changed.*may or may not have applied.*not re-sent.*list_people project_id=2000006/s);
    expect(text(r)).toMatch(/"error":"outcome_unknown"/);
    expect(text(r)).toMatch(/"outcome":"unknown"/);
    expect(text(r)).not.toMatch(/not a person on this account/);
    expect(writes(sb)).toHaveLength(1);
  });

  it('someone Basecamp left out is not "not a person" when the directory knows them: says why', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const r = await call(client, 'update_project_access', {
      project_id: WEBSITE,
      grant: [TOMBSTONE, CLIENT, 31337, 'rosa.petrov@client.example', JAN],
    });
    expect(r.isError).toBeFalsy();
    const s = structured<{ granted: { id: number }[]; ignored: { person: number | string; reason: string }[] }>(r);
    // The client goes through client_users.json (clients are on here), the rest through users.json.
    expect(s.granted.map((p) => p.id).sort()).toEqual([JAN, CLIENT].sort());
    const reason = new Map(s.ignored.map((i) => [i.person, i.reason]));
    expect(reason.get(TOMBSTONE)).toMatch(/^Not granted: Former Colleague was removed from the account/);
    expect(reason.get(31337)).toMatch(/not a person on this account/);
    expect([...reason.keys()].sort()).toEqual([TOMBSTONE, 31337].sort());
    expect(text(r)).toMatch(/Former Colleague was removed/);
    expect(sb.data.projects.get(WEBSITE)!.members.has(CLIENT)).toBe(true);
  });
  it('a known team member left out without a reason is "left out", not "not a person"', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    sb.intercept((req) => (req.method === 'PUT' ? { status: 200, body: { granted: [], revoked: [] } } : undefined));
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [JAN] });
    expect(structured<{ ignored: { reason: string }[] }>(r).ignored[0]!.reason).toMatch(
      /^Not granted: Basecamp left Jan Jensen out of its answer without saying why\. Check with list_people project_id=2000006/,
    );
  });

  it('when the directory cannot be read after the write, the result stands and says it cannot tell why', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
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
    const { sb, client } = await setup({ signInAs, autoConfirm: true });
    const r = await call(client, 'update_project_access', { project_id: HQ, revoke: [JAN, me] });
    expect(r.isError).toBe(true);
    expect(text(r)).toMatch(/is the signed-in person: revoking them from Acme Co HQ would cut this server off.*Nothing was changed/s);
    expect(text(r)).toMatch(/"error":"invalid_input"/);
    expect(writes(sb)).toHaveLength(0);
    expect(sb.data.projects.get(HQ)!.members.has(JAN)).toBe(true);
  });

  it('an admin may still revoke someone else', async () => {
    const { sb, client } = await setup({ signInAs: ADAM, autoConfirm: true });
    const r = await call(client, 'update_project_access', { project_id: HQ, revoke: [JAN] });
    expect(r.isError).toBeFalsy();
    expect(sb.data.projects.get(HQ)!.members.has(JAN)).toBe(false);
  });
});

describe('archived and trashed projects (item 14)', () => {
  it('granting into an archived project works and warns that it is read-only', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const r = await call(client, 'update_project_access', { project_id: OLD_WEBSITE, grant: [ADAM] });
    expect(r.isError).toBeFalsy();
    expect(structured<{ warning: string }>(r).warning).toMatch(/Old Website is archived: they can see it, but it is read-only/);
    expect(text(r)).toMatch(/WARNING: Old Website is archived/);
    expect(sb.data.projects.get(OLD_WEBSITE)!.members.has(ADAM)).toBe(true);
    const revokeOnly = await call(client, 'update_project_access', { project_id: OLD_WEBSITE, revoke: [ADAM] });
    expect(structured<{ warning?: string }>(revokeOnly).warning).toBeUndefined();
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
