import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service } from '../src/service.js';
import { tools } from '../src/tools/index.js';
import { call, connectClient, sandboxService, testConfig } from './helpers.js';

let sb: Sandbox | undefined;
let service: Service | undefined;
let client: Client | undefined;
afterEach(async () => {
  await client?.close();
  await service?.close();
  await sb?.close();
  client = service = sb = undefined;
});

async function setup(opts: { people?: number; capabilities?: Record<string, unknown>; readOnly?: boolean; cacheTtlMs?: number } = {}) {
  sb = await startSandbox({ people: opts.people ?? 120, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { config: { cacheTtlMs: opts.cacheTtlMs ?? 60_000 }, budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  client = await connectClient(service, { readOnly: opts.readOnly }, opts.capabilities ?? {});
  return { sb, client };
}

const structured = <T = Record<string, unknown>>(r: { structuredContent?: Record<string, unknown> }) => r.structuredContent as T;
const peopleRequests = (s: Sandbox, path = '/people.json') => s.apiRequests().filter((r) => r.path.split('?')[0]!.endsWith(path));
const writes = (s: Sandbox) => s.apiRequests().filter((r) => r.method !== 'GET');

describe('list_people', () => {
  it('reads every page (500 people, 8 geared pages) and pages the result with an opaque cursor', async () => {
    const { sb, client } = await setup({ people: 500 });
    const first = await call(client, 'list_people', { limit: 200 });
    expect(first.isError).toBeFalsy();
    const s1 = structured<{ people: unknown[]; total: number; next_cursor: string | null }>(first);
    expect(s1.total).toBe(500);
    expect(s1.people).toHaveLength(200);
    expect(peopleRequests(sb)).toHaveLength(8);
    const ids = new Set<number>();
    let cursor: string | null = null;
    do {
      const r = await call(client, 'list_people', { limit: 200, ...(cursor ? { cursor } : {}) });
      const s = structured<{ people: { id: number }[]; next_cursor: string | null }>(r);
      s.people.forEach((p) => ids.add(p.id));
      cursor = s.next_cursor;
    } while (cursor);
    expect(ids.size).toBe(500);
    // The directory cache served the repeats: still 8 requests.
    expect(peopleRequests(sb)).toHaveLength(8);
  });

  it('filters by query and role, and lists a project', async () => {
    const { client } = await setup();
    const admins = structured<{ people: { admin: boolean; name: string }[] }>(await call(client, 'list_people', { role: 'admin' }));
    expect(admins.people.length).toBeGreaterThanOrEqual(2);
    expect(admins.people.every((p) => p.admin)).toBe(true);
    const jan = structured<{ people: { email_address: string }[]; total: number }>(await call(client, 'list_people', { query: 'JAN@acme' }));
    expect(jan.people.map((p) => p.email_address)).toContain('jan@acme.example');
    const launch = structured<{ people: { id: number }[]; total: number }>(await call(client, 'list_people', { project_id: 2000004 }));
    expect(launch.total).toBe(sb!.data.projects.get(2000004)!.members.size);
  });

  it('rejects a cursor from another listing', async () => {
    const { client } = await setup();
    const s = structured<{ next_cursor: string }>(await call(client, 'list_people', { limit: 5 }));
    const r = await call(client, 'list_people', { limit: 5, cursor: s.next_cursor, query: 'a' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/different listing/);
    expect((await call(client, 'list_people', { cursor: 'not-a-cursor' })).isError).toBe(true);
  });

  it('re-reads after the cache expires', async () => {
    const { sb, client } = await setup({ cacheTtlMs: 50 });
    await call(client, 'list_people');
    await new Promise((r) => setTimeout(r, 80));
    await call(client, 'list_people');
    expect(peopleRequests(sb).length).toBe(2 * 4); // 120 people = 4 pages, read twice
  });
});

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

describe('invite_person', () => {
  it('invites a new person through the HQ by default', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', title: 'PM', company_name: 'Acme Co' });
    expect(r.isError).toBeFalsy();
    const s = structured<{ created: boolean; project_id: number; person: { id: number; company: { name: string } } }>(r);
    expect(s.created).toBe(true);
    expect(sb.data.projects.get(s.project_id)!.purpose).toBe('company_hq');
    expect(sb.data.projects.get(s.project_id)!.members.has(s.person.id)).toBe(true);
    expect(s.person.company.name).toBe('Acme Co');
    const put = writes(sb)[0]!;
    expect(JSON.parse(put.body!)).toEqual({ create: [{ name: 'Dana Doe', email_address: 'dana@acme.example', title: 'PM', company_name: 'Acme Co' }] });
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
    expect(JSON.parse(writes(sb)[0]!.body!)).toEqual({ grant: [1000003] });
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

  it('says so when the account has no HQ, and asks for a project', async () => {
    const { sb, client } = await setup();
    for (const [id, p] of sb.data.projects) if (p.purpose === 'company_hq') sb.data.projects.delete(id);
    const r = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/no HQ project.*Pass project_id/s);
    expect(writes(sb)).toHaveLength(0);
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
    sb.intercept((req) => (req.method === 'PUT' ? { status: 0, destroy: true } : undefined));
    const r = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/may or may not have applied/);
    expect(r.content[0]!.text).toMatch(/"outcome":"unknown"/);
    expect(writes(sb)).toHaveLength(1);
  });
});

describe('update_project_access', () => {
  it('grants and revokes by id and email; unknown ids come back in ignored', async () => {
    const { sb, client } = await setup();
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
    const { sb, client } = await setup();
    const r = await call(client, 'update_project_access', { project_id: 2000006, grant: ['jan@acme.example', 'ghost@acme.example'] });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/ghost@acme.example.*Nothing was changed/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('refuses the same person in grant and revoke (also via id + email)', async () => {
    const { sb, client } = await setup();
    const r = await call(client, 'update_project_access', { project_id: 2000006, grant: [1000003], revoke: ['jan@acme.example'] });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/both grant and revoke/);
    expect(writes(sb)).toHaveLength(0);
  });
});

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
    })) as unknown as { structuredContent: { status: string; revoked_from: number[]; note: string }; isError?: boolean };
    expect(r.isError).toBeFalsy();
    expect(asked[0]).toMatch(/Revoke Jan Jensen/);
    expect(r.structuredContent.status).toBe('done');
    expect(r.structuredContent.revoked_from.sort()).toEqual(planned.sort());
    expect(janProjects(sb)).toEqual([]);
    expect(r.structuredContent.note).toMatch(/Adminland/);
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
    const { sb, client } = await setup();
    let puts = 0;
    sb.intercept((req) => (req.method === 'PUT' && ++puts === 3 ? { status: 403, body: { error: 'not allowed' } } : undefined));
    const r = await call(client, 'trash_person', { email: 'jan@acme.example' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Partly done: revoked from 2 of \d+/);
    expect(r.content[0]!.text).toMatch(/"status":"partial"/);
    expect(writes(sb)).toHaveLength(3);
  });
});

describe('get_account and list_projects', () => {
  it('returns the account', async () => {
    const { sb, client } = await setup();
    const s = structured<{ account: { id: number; name: string; limits: unknown } }>(await call(client, 'get_account'));
    expect(s.account.id).toBe(sb.accountId);
    expect(s.account.limits).toBeTruthy();
  });

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

describe('bad input: a clear error and no request', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['list_people', { limit: 0 }],
    ['list_people', { limit: 501 }],
    ['list_people', { project_id: -1 }],
    ['list_people', { role: 'king' }],
    ['get_person', {}],
    ['get_person', { person_id: 1, email: 'a@b.example' }],
    ['get_person', { email: 'not-an-email' }],
    ['get_person', { me: false }],
    ['invite_person', { name: '', email_address: 'a@b.example' }],
    ['invite_person', { name: 'A', email_address: 'nope' }],
    ['invite_person', { name: 'A', email_address: 'a@b.example', project_id: 'x' }],
    ['update_project_access', { project_id: 1 }],
    ['update_project_access', { project_id: 1, grant: [] }],
    ['update_project_access', { project_id: 1, grant: ['not-an-email'] }],
    ['update_project_access', { project_id: 1, grant: [1], revoke: [1] }],
    ['update_project_access', { grant: [1] }],
    ['trash_person', {}],
    ['trash_person', { person_id: 1, email: 'a@b.example' }],
    ['trash_person', { person_id: 1.5 }],
    ['list_projects', { status: 'deleted' }],
    ['list_projects', { limit: -3 }],
  ];
  it.each(cases)('%s %j', async (name, args) => {
    const { sb, client } = await setup();
    const r = await call(client, name, args);
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text.length).toBeGreaterThan(20);
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('covers every tool in the registry that takes arguments', () => {
    const withArguments = tools.filter((t) => Object.keys(t.inputSchema).length > 0).map((t) => t.name);
    expect([...new Set(cases.map(([n]) => n))].sort()).toEqual(withArguments.sort());
  });
});

describe('failures are reported as failures', () => {
  it('an email look-up in a directory that could not be read to the end says so instead of "no such person", and writes nothing', async () => {
    sb = await startSandbox({ people: 300, rateLimit: { max: 10_000, windowMs: 10_000 } });
    service = sandboxService(sb, { http: { maxPages: 2 } });
    client = await connectClient(service);
    const listed = structured<{ truncated?: boolean }>(await call(client, 'list_people'));
    expect(listed.truncated).toBe(true);
    const r = await call(client, 'invite_person', { name: 'Z', email_address: 'zed@acme.example', project_id: 2000004 });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/Could not read the whole people directory.*safety cap of 2 pages.*Nothing was changed/);
    expect(sb.apiRequests().filter((q) => q.method !== 'GET')).toHaveLength(0);
  });

  it('a rate limit that cannot be waited out gives retry_after_seconds', async () => {
    const { sb, client } = await setup();
    sb.intercept(() => ({ status: 429, headers: { 'Retry-After': '120' }, body: { error: 'slow down' } }));
    const r = await call(client, 'get_account');
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/"retry_after_seconds":120/);
  });

  it('without credentials, every tool answers with how to sign in and sends nothing', async () => {
    const config = testConfig({ accessToken: undefined, tokenSource: 'none' });
    service = createService(config);
    client = await connectClient(service);
    for (const name of ['list_people', 'get_account', 'list_projects']) {
      const r = await call(client, name);
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/basecamp-people-mcp login/);
    }
  });

  it('--read-only registers only read-only tools (derived from readOnlyHint)', async () => {
    const { client } = await setup({ readOnly: true });
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['get_account', 'get_person', 'list_people', 'list_projects']);
  });
});

describe('never trips the rate limit', () => {
  it('40 parallel lookups against a 10-per-second sandbox: zero 429s, all answered', async () => {
    sb = await startSandbox({ rateLimit: { max: 10, windowMs: 1000 } });
    service = sandboxService(sb, { config: { rateLimit: { max: 10, windowMs: 1000 } } });
    client = await connectClient(service);
    const ids = [...sb.data.people.keys()].slice(0, 40);
    const results = await Promise.all(ids.map((id) => call(client!, 'get_person', { person_id: id })));
    expect(results.filter((r) => r.isError)).toHaveLength(0);
    expect(sb.throttled).toBe(0);
  });
});
