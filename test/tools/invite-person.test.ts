import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import { call, connectClient, LAUNCH, OLD_WEBSITE, sandboxService, structured, text, toolHarness, WEBSITE, writes } from '../helpers.js';

const { setup, track } = toolHarness();

describe('invite_person', () => {
  it('invites a new person to the account with the HQ by default (one enrollment)', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', title: 'PM', company_name: 'Acme Co' });
    expect(r.isError).toBeFalsy();
    const s = structured<{ created: boolean; project_id: number; person: { id: number; company: { name: string } } }>(r);
    expect(s.created).toBe(true);
    expect(sb.data.projects.get(s.project_id)!.purpose).toBe('company_hq');
    expect(sb.data.projects.get(s.project_id)!.members.has(s.person.id)).toBe(true);
    expect(s.person.company.name).toBe('Acme Co');
    const post = writes(sb)[0]!;
    expect(post.path).toMatch(/\/account\/enrollments\/people\.json$/);
    expect(JSON.parse(post.body!)).toEqual({ people: [{ name: 'Dana Doe', email_address: 'dana@acme.example', title: 'PM', company_name: 'Acme Co' }], project_ids: [s.project_id], notify: true });
    expect(writes(sb)).toHaveLength(1);
  });

  it('grants an existing person instead of creating a duplicate (created: false), to a named project', async () => {
    const { sb, client } = await setup();
    const before = sb.data.people.size;
    const r = await call(client, 'invite_person', { name: 'Jan J', email_address: 'Jan@Acme.example', project_id: 2000006 });
    const s = structured<{ created: boolean; person: { id: number } }>(r);
    expect(s.created).toBe(false);
    expect(s.person.id).toBe(1000003);
    expect(sb.data.people.size).toBe(before);
    expect(sb.data.projects.get(2000006)!.members.has(1000003)).toBe(true);
    // Re-enrolled (Basecamp says "existing"): no duplicate, no second invitation email.
    expect(JSON.parse(writes(sb)[0]!.body!)).toMatchObject({ people: [{ email_address: 'Jan@Acme.example' }], project_ids: [2000006] });
    expect(sb.data.invitationsSent).toEqual([]);
  });

  it('says whether an existing person already had access to the project or was given it now', async () => {
    const { sb, client } = await setup();
    const first = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(text(first)).toMatch(/^Invited Dana Doe <dana@acme\.example> to Launch/);
    const again = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(structured<{ created: boolean }>(again).created).toBe(false);
    expect(text(again)).toMatch(/^Dana Doe was already on the account and already had access to Launch: nothing changed\./);
    // Jan is on the account but not on this project: given access now.
    expect(sb.data.projects.get(2000006)!.members.has(1000003)).toBe(false);
    const jan = await call(client, 'invite_person', { name: 'Jan Jensen', email_address: 'jan@acme.example', project_id: 2000006 });
    expect(text(jan)).toMatch(/^Jan Jensen was already on the account; gave them access to /);
  });

  it('finds someone added elsewhere after the directory was cached', async () => {
    const { sb, client } = await setup();
    await call(client, 'list_people'); // warm the cache
    await call(client, 'invite_person', { name: 'X', email_address: 'x@acme.example' }); // invalidates
    await call(client, 'list_people'); // cache again
    // Someone else adds a person directly in Basecamp:
    const p = { ...sb.data.people.get(1000003)!, id: 1999999, email_address: 'late@acme.example', name: 'Late Comer' };
    sb.data.people.set(p.id, p);
    const r = await call(client, 'invite_person', { name: 'Late Comer', email_address: 'late@acme.example', project_id: 2000004 });
    expect(structured<{ created: boolean }>(r).created).toBe(false);
  });

  it('no HQ: invited to the account alone (project_id null); without enrollments either, it says so and asks for a project', async () => {
    const { sb, client } = await setup();
    for (const [id, p] of sb.data.projects) if (p.purpose === 'company_hq') sb.data.projects.delete(id);
    const alone = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(alone.isError).toBeFalsy();
    expect(structured(alone)).toMatchObject({ created: true, project_id: null, project_name: null });
    expect(JSON.parse(writes(sb)[0]!.body!)).not.toHaveProperty('project_ids');

    const old = track(await startSandbox({ enrollments: false, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    for (const [id, p] of old.data.projects) if (p.purpose === 'company_hq') old.data.projects.delete(id);
    const oldClient = track(await connectClient(track(sandboxService(old))));
    const r = await call(oldClient, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/no HQ project.*Pass project_id/s);
    expect(r.content[0]!.text).toContain('"error":"no_hq_project"');
    // Only the enrollment probe (404: nothing created) was sent.
    expect(writes(old).map((w) => w.status)).toEqual([404]);
  });

  it('reports an unknown project clearly, without writing', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example', project_id: 77 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Project 77 was not found.*list_projects/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('never re-sends the create after a dropped connection, and says the outcome is unknown', async () => {
    const { sb, client } = await setup();
    sb.intercept((req) => (req.method !== 'GET' ? { status: 0, destroy: true } : undefined));
    const r = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/may or may not have applied/);
    expect(r.content[0]!.text).toMatch(/"outcome":"unknown"/);
    expect(writes(sb)).toHaveLength(1);
  });
});

describe('failures are reported as failures', () => {
  it('an email look-up in a directory that could not be read to the end says so instead of "no such person", and writes nothing', async () => {
    const sb = track(await startSandbox({ people: 300, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(sandboxService(sb, { http: { maxPages: 2 } }));
    const client = track(await connectClient(service));
    const listed = structured<{ truncated?: boolean }>(await call(client, 'list_people'));
    expect(listed.truncated).toBe(true);
    const r = await call(client, 'invite_person', { name: 'Z', email_address: 'zed@acme.example', project_id: 2000004 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Could not read the whole people directory.*safety cap of 2 pages.*Nothing was changed/);
    expect(sb.apiRequests().filter((q) => q.method !== 'GET')).toHaveLength(0);
  });
});

describe('concurrent invites for one address make one person (item 13)', () => {
  it('"Dana@x" and "dana@X" at once: one created: true, one created: false, one person', async () => {
    const { sb, client } = await setup();
    const before = sb.data.people.size;
    // A slow create: without serialising, the other invite's directory re-read finishes before it lands.
    sb.intercept((req) => (req.method !== 'GET' ? { delayMs: 300 } : undefined));
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
    // One invitation email: the second invite found the person the first created (Basecamp: "existing").
    expect(sb.data.invitationsSent).toEqual(['Dana@x.example']);
    expect(writes(sb)).toHaveLength(2);
  });
});

describe('archived and trashed projects (item 14)', () => {
  it('inviting into an archived project works and warns', async () => {
    const { client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Eve', email_address: 'eve@acme.example', project_id: OLD_WEBSITE });
    expect(r.isError).toBeFalsy();
    expect(structured<{ warning: string; created: boolean }>(r)).toMatchObject({ created: true, warning: expect.stringMatching(/archived/) });
    expect(text(r)).toMatch(/WARNING: Old Website is archived/);
  });
});
