import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it, vi } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { BCX_ADMIN, makeBcxPerson, BCX_BIG_PROJECT, BCX_BIG_PROJECT_SIZE, BCX_CLIENT, BCX_DELETED, BCX_OWNER, BCX_PLAIN } from '../../src/sandbox/bcx/seed.js';
import { createService } from '../../src/service.js';
import { BAD_INPUT } from './bad-input.js';
import { call, connectClient, freePort, json, maxInWindow, sandboxService, scriptedServer, structured, testConfig, text, toolHarness, type ToolResult } from '../helpers.js';

/**
 * Every tool through a real MCP client on the sandbox's Basecamp 2 ("bcx") account, found through its
 * Launchpad (its API base is Launchpad's href). Fixed points: src/sandbox/bcx/seed.ts.
 */

const { setup, track } = toolHarness();
const bcx = (opts: Parameters<typeof setup>[0] = {}) => setup({ product: 'bcx', ...opts });

const ALL_HANDS = BCX_BIG_PROJECT; // 60 accesses: two pages of 50
const LAUNCH = 4000002; // a client project, Carla is a client on it
const WEBSITE = 4000003; // not a client project; Adam is not on it
const HIRING = 4000004; // Jan is not on it
const OLD_WEBSITE = 4000005; // archived
const ABANDONED = 4000007; // trashed

/** The first DELETE is applied (`apply`), then its connection drops before the answer: an unknown outcome. */
function loseFirstDeleteAnswer(sb: Sandbox, apply: () => void): void {
  let lost = false;
  sb.intercept((req) => {
    if (req.method !== 'DELETE' || lost) return undefined;
    lost = true;
    apply();
    return { destroy: true };
  });
}

/** A Basecamp 2 sandbox, a service with an audit trail in a temporary folder, and a client whose human says yes. */
async function withAuditTrail() {
  const dir = mkdtempSync(join(tmpdir(), 'bpm-bcx-audit-'));
  track({ close: () => rmSync(dir, { recursive: true, force: true }) });
  const file = join(dir, 'audit.jsonl');
  const sb = track(await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } }));
  const client = track(await connectClient(track(sandboxService(sb, { config: { auditLog: file } })), {}, { elicitation: {} }));
  client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
  return { sb, client, file };
}

/** The Basecamp 2 API requests the sandbox saw (path after /{account}/api/v1), as "METHOD /path". */
const bcxRequests = (sb: Sandbox) =>
  sb.apiRequests().flatMap((r) => {
    const m = /^\/\d+\/api\/v1(\/.*)$/.exec(r.path);
    return m ? [`${r.method} ${m[1]}`] : [];
  });
const bcxWrites = (sb: Sandbox) => bcxRequests(sb).filter((r) => !r.startsWith('GET '));
const errorKind = (r: ToolResult) => /"error":"([a-z_]+)"/.exec(text(r))?.[1];

describe('Basecamp 2: bad input gets a clear error and no request', () => {
  it.each(BAD_INPUT)('%s %j', async (name, args) => {
    const { sb, client } = await bcx();
    const r = await call(client, name, args);
    expect(r.isError).toBe(true);
    expect(text(r).length).toBeGreaterThan(20);
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['invite_person', { name: 'Dana', email_address: 'dana@acme.example' }, 'no_hq_project', /Basecamp 2 has no HQ.*Give project_id \(list_projects/],
    ['invite_people', { people: [{ email_address: 'dana@acme.example' }] }, 'no_hq_project', /no HQ/],
    ['list_people', { role: 'owner' }, 'not_supported', /does not say who owns the account/],
    ['list_people', { role: 'employee' }, 'not_supported', /is an employee/],
    ['list_people', { client: true }, 'not_supported', /client only for a project's people: pass project_id/],
    ['list_people', { role: 'client' }, 'not_supported', /pass project_id/],
    ['list_projects', { status: 'trashed' }, 'not_supported', /cannot list trashed projects/],
    ['list_people', { company: 'globex' }, 'not_supported', /does not say which company a person is from/],
    ['access_report', { company: 'globex' }, 'not_supported', /does not say which company/],
    ['export_people', { company: 'globex' }, 'not_supported', /does not say which company/],
    ['export_people', { role: 'owner' }, 'not_supported', /does not say who owns the account/],
    ['export_people', { client: false }, 'not_supported', /pass project_id/],
  ])('what Basecamp 2 cannot do is said, before any Basecamp request: %s %j', async (name, args, kind, message) => {
    const { sb, client } = await bcx();
    const r = await call(client, name, args);
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe(kind);
    expect(text(r)).toMatch(message);
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('a client invited to a project that is not a client project is refused before any write (Basecamp 2 cannot make one)', async () => {
    const { sb, client } = await bcx();
    for (const enable of [undefined, true]) {
      const r = await call(client, 'invite_person', { name: 'Gwen', email_address: 'gwen@globex.example', project_id: WEBSITE, as_client: true, ...(enable ? { enable_clients: true } : {}) });
      expect(r.isError).toBe(true);
      expect(text(r)).toMatch(/not a client project.*cannot make one/);
    }
    expect(bcxWrites(sb)).toEqual([]);
  });
});

describe('Basecamp 2: reading people and projects', () => {
  it('list_people: everyone in one request, paged by the tool with cursors; owner and employee unknown (null), not false', async () => {
    const { sb, client } = await bcx();
    const first = await call(client, 'list_people', { limit: 50 });
    const s = structured<{ people: { id: number; owner: boolean | null; employee: boolean | null; client: boolean | null }[]; total: number; next_cursor: string | null }>(first);
    expect(s.total).toBe(sb.bcx!.people.size);
    expect(s.people).toHaveLength(50);
    expect(s.people.find((p) => p.id === BCX_OWNER)).toMatchObject({ owner: null, employee: null, client: null });
    const seen = new Set(s.people.map((p) => p.id));
    let cursor = s.next_cursor;
    while (cursor) {
      const next = structured<typeof s>(await call(client, 'list_people', { limit: 50, cursor }));
      for (const p of next.people) seen.add(p.id);
      cursor = next.next_cursor;
    }
    expect(seen.size).toBe(sb.bcx!.people.size);
    expect(bcxRequests(sb)).toEqual(['GET /people.json']); // one response; the pages are the tool's, from its cache
  });

  it('list_people include_removed: the people deleted from the account join (as Tombstone); refused to a non-admin, saying so', async () => {
    const { sb, client } = await bcx();
    const plain = structured<{ people: { id: number }[] }>(await call(client, 'list_people', { limit: 500 }));
    expect(plain.people.some((p) => p.id === BCX_DELETED)).toBe(false);
    const r = await call(client, 'list_people', { include_removed: true, limit: 500 });
    const s = structured<{ people: { id: number; personable_type: string }[]; total: number }>(r);
    expect(s.people.find((p) => p.id === BCX_DELETED)).toMatchObject({ personable_type: 'Tombstone' });
    expect(s.total).toBe(sb.bcx!.people.size + sb.bcx!.trashedPeople.size);
    expect(bcxRequests(sb)).toContain('GET /people/trashed.json');

    const { client: jan } = await bcx({ signInAs: BCX_PLAIN });
    const refused = await call(jan, 'list_people', { include_removed: true });
    expect(refused.isError).toBe(true);
    expect(errorKind(refused)).toBe('forbidden');
    expect(text(refused)).toMatch(/Only admins of this Basecamp 2 account can see the people removed/);
  });

  it('list_people include_removed: a removed-people list Basecamp 2 announces a next page of, which cannot be followed, makes the answer truncated (issue 16 item 11)', async () => {
    const { sb, client } = await bcx();
    sb.intercept((req) =>
      req.path.endsWith('/people/trashed.json') ? { status: 200, headers: { Link: '<https://elsewhere.example/people/trashed.json?page=2>; rel="next"' }, body: [] } : undefined,
    );
    const r = await call(client, 'list_people', { include_removed: true, limit: 500 });
    expect(r.isError, text(r)).toBeFalsy();
    expect(structured(r)).toMatchObject({ truncated: true });
    expect(text(r).split('\n')[0]).toMatch(/WARNING: incomplete, the removed people: the next page link could not be followed: next link points to another origin \(https:\/\/elsewhere\.example\)/);
  });

  it('list_people project_id: the accesses past 50 are read (page=2), with who is a client there', async () => {
    const { sb, client } = await bcx();
    const s = structured<{ people: { id: number }[]; total: number }>(await call(client, 'list_people', { project_id: ALL_HANDS, limit: 500 }));
    expect(s.total).toBe(BCX_BIG_PROJECT_SIZE);
    expect(new Set(s.people.map((p) => p.id)).size).toBe(BCX_BIG_PROJECT_SIZE);
    expect(bcxRequests(sb)).toEqual([`GET /projects/${ALL_HANDS}/accesses.json?page=1`, `GET /projects/${ALL_HANDS}/accesses.json?page=2`]);
    const clients = structured<{ people: { id: number; client: boolean }[] }>(await call(client, 'list_people', { project_id: LAUNCH, client: true, limit: 500 }));
    expect(clients.people.map((p) => p.id)).toContain(BCX_CLIENT);
    expect(clients.people.every((p) => p.client === true)).toBe(true);
  });

  it('list_people project_id: pages going round in a loop are reported as truncated; a revoke that needs the whole list sends nothing', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    const pageOne = await fetch(`${sb.apiBase}/projects/${ALL_HANDS}/accesses.json?page=1`, { headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 'test' } });
    const firstPage: unknown = await pageOne.json();
    // Every later page answers page 1's people again.
    sb.intercept((req) => (req.path.includes(`/projects/${ALL_HANDS}/accesses.json?page=`) && !req.path.endsWith('page=1') ? { status: 200, body: firstPage } : undefined));
    const r = await call(client, 'list_people', { project_id: ALL_HANDS, limit: 500 });
    expect(structured<{ truncated?: boolean }>(r).truncated).toBe(true);
    expect(text(r)).toMatch(/WARNING: incomplete/);
    const revoke = await call(client, 'update_project_access', { project_id: ALL_HANDS, revoke: [BCX_PLAIN] });
    expect(revoke.isError).toBe(true);
    expect(text(revoke)).toMatch(/could not be read to the end.*nothing was revoked/);
    expect(bcxWrites(sb)).toEqual([]);
  });

  it('get_person by id, email and me; include_projects from one request (deleted projects left out)', async () => {
    const { sb, client } = await bcx();
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { person_id: BCX_PLAIN })).person.id).toBe(BCX_PLAIN);
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { email: 'JAN@acme.example' })).person.id).toBe(BCX_PLAIN);
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { me: true })).person.id).toBe(BCX_OWNER);
    const before = bcxRequests(sb).length;
    const r = structured<{ projects: { id: number; status: string }[] }>(await call(client, 'get_person', { person_id: BCX_PLAIN, include_projects: true }));
    expect(bcxRequests(sb).slice(before)).toEqual([`GET /people/${BCX_PLAIN}.json`, `GET /people/${BCX_PLAIN}/projects.json`]);
    const ids = r.projects.map((p) => p.id);
    expect(ids).toEqual(expect.arrayContaining([ALL_HANDS, LAUNCH, WEBSITE, OLD_WEBSITE]));
    expect(ids).not.toContain(HIRING);
    expect(ids).not.toContain(ABANDONED);
  });

  it('get_account: id, name and product from Launchpad, people and project counts, and what the API cannot do', async () => {
    const { sb, client } = await bcx();
    const r = await call(client, 'get_account');
    const s = structured<{ account: Record<string, unknown>; product: { id: string; name: string }; cannot: string[] }>(r);
    expect(s.account).toMatchObject({ id: sb.bcx!.accountId, name: sb.bcx!.accountName, product: 'bcx', people_count: sb.bcx!.people.size });
    expect(s.product).toEqual({ id: 'bcx', name: 'Basecamp 2' });
    expect(s.cannot.join(' ')).toMatch(/without a project.*trashed projects/);
    expect(s.cannot.join(' ')).not.toMatch(/remove a person from the account/);
    expect(text(r)).toMatch(/Basecamp 2; \d+ people, 4 active projects/);
  });

  it('list_projects: active and archived, is_client_project shown', async () => {
    const { client } = await bcx();
    const active = structured<{ projects: { id: number; is_client_project?: boolean; clients_enabled: boolean }[] }>(await call(client, 'list_projects'));
    expect(active.projects.map((p) => p.id).sort()).toEqual([ALL_HANDS, LAUNCH, WEBSITE, HIRING]);
    expect(active.projects.find((p) => p.id === LAUNCH)).toMatchObject({ is_client_project: true, clients_enabled: true });
    expect(active.projects.find((p) => p.id === WEBSITE)).toMatchObject({ is_client_project: false });
    const archived = structured<{ projects: { id: number; status: string }[] }>(await call(client, 'list_projects', { status: 'archived' }));
    expect(archived.projects.map((p) => p.id)).toContain(OLD_WEBSITE);
    expect(archived.projects.every((p) => p.status === 'archived')).toBe(true);
  });

  it('access_report: clients are found from the projects\' people (the account listing does not say)', async () => {
    const { client } = await bcx();
    const s = structured<{ people: { id: number; client: boolean; projects: number[] }[] }>(await call(client, 'access_report', { clients_only: true }));
    const carla = s.people.find((p) => p.id === BCX_CLIENT)!;
    expect(carla).toMatchObject({ client: true });
    expect(carla.projects).toContain(LAUNCH);
    expect(s.people.every((p) => p.client === true)).toBe(true);
  });
});

describe('Basecamp 2: invitations and access', () => {
  it('invite_person by email creates exactly one person with one POST accesses.json; again: no duplicate', async () => {
    const { sb, client } = await bcx();
    const before = sb.bcx!.people.size;
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(r.isError, text(r)).toBeFalsy();
    expect(structured(r)).toMatchObject({ created: true, project_id: LAUNCH });
    expect(structured<{ warning?: string }>(r).warning).toMatch(/invites by email address only: the names.*were not sent/);
    expect(sb.bcx!.people.size).toBe(before + 1);
    expect(bcxWrites(sb)).toEqual([`POST /projects/${LAUNCH}/accesses.json`]);
    expect(JSON.parse(sb.apiRequests().find((q) => q.method === 'POST')!.body!)).toEqual({ ids: [], email_addresses: ['dana@acme.example'] });

    const again = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'DANA@acme.example', project_id: WEBSITE });
    expect(structured(again)).toMatchObject({ created: false, project_id: WEBSITE });
    expect(sb.bcx!.people.size).toBe(before + 1);
    const second = JSON.parse(sb.apiRequests().filter((q) => q.method === 'POST')[1]!.body!);
    expect(second.email_addresses).toEqual([]); // an existing person is granted by id, never invited again
    expect(second.ids).toHaveLength(1);
  });

  it('invite_person as_client on a client project goes through client_accesses.json', async () => {
    const { sb, client } = await bcx();
    const r = await call(client, 'invite_person', { name: 'Gwen', email_address: 'gwen@globex.example', project_id: LAUNCH, as_client: true });
    expect(r.isError, text(r)).toBeFalsy();
    expect(bcxWrites(sb)).toEqual([`POST /projects/${LAUNCH}/client_accesses.json`]);
    const onLaunch = structured<{ people: { email_address: string; client: boolean }[] }>(await call(client, 'list_people', { project_id: LAUNCH, query: 'gwen' }));
    expect(onLaunch.people).toEqual([expect.objectContaining({ email_address: 'gwen@globex.example', client: true })]);
  });

  it('invite_people: a batch with duplicates creates each address once, in one POST per project', async () => {
    const { sb, client } = await bcx();
    const before = sb.bcx!.people.size;
    const r = await call(client, 'invite_people', {
      people: [{ email_address: 'lee@acme.example' }, { email_address: 'LEE@acme.example' }, { email_address: 'sam@acme.example' }, { email_address: 'jan@acme.example' }],
      project_ids: [LAUNCH, WEBSITE],
    });
    expect(r.isError, text(r)).toBeFalsy();
    expect(sb.bcx!.people.size).toBe(before + 2);
    const s = structured<{ results: { status: string }[] }>(r);
    expect(s.results.map((x) => x.status)).toEqual(['created', 'created', 'created', 'existing']);
    expect(bcxWrites(sb)).toEqual([`POST /projects/${LAUNCH}/accesses.json`, `POST /projects/${WEBSITE}/accesses.json`]);
  });

  it('a client is never granted or invited as a team member: who is a client comes from the client projects\' people', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    // Website is not a client project: granting Carla (a client on Launch) there is refused, nothing sent.
    const refused = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [BCX_CLIENT] });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toMatch(/Carla Client \(id 3000004\) is a client, and Website Redesign is not a client project/);
    const asTeam = await call(client, 'invite_person', { name: 'Carla', email_address: 'carla@client.example', project_id: WEBSITE });
    expect(asTeam.isError).toBe(true);
    expect(text(asTeam)).toMatch(/is a client on this account; invite them with as_client: true/);
    expect(bcxWrites(sb)).toEqual([]);

    // On a client project she is granted as a client, through client_accesses.json.
    sb.bcx!.projects.get(WEBSITE)!.is_client_project = true;
    const granted = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [BCX_CLIENT] });
    expect(granted.isError, text(granted)).toBeFalsy();
    expect(bcxWrites(sb)).toEqual([`POST /projects/${WEBSITE}/client_accesses.json`]);
    expect(sb.bcx!.projects.get(WEBSITE)!.accesses.get(BCX_CLIENT)).toEqual({ is_client: true });
    // And invited as a client she is granted, not refused as "a team member".
    const again = await call(client, 'invite_person', { name: 'Carla', email_address: 'carla@client.example', project_id: HIRING, as_client: true });
    expect(again.isError).toBe(true);
    expect(text(again)).toMatch(/not a client project/);
    sb.bcx!.projects.get(HIRING)!.is_client_project = true;
    const invited = await call(client, 'invite_person', { name: 'Carla', email_address: 'carla@client.example', project_id: HIRING, as_client: true });
    expect(structured(invited)).toMatchObject({ created: false, project_id: HIRING });
    expect(sb.bcx!.projects.get(HIRING)!.accesses.get(BCX_CLIENT)).toEqual({ is_client: true });
  });

  it('a grant when the people directory cannot be read is refused (who is a client cannot be told); a revoke does not pay for client status', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    sb.intercept((req) => (req.method === 'GET' && req.path.endsWith('/api/v1/people.json') ? { status: 403, body: { error: 'no' } } : undefined));
    const r = await call(client, 'update_project_access', { project_id: WEBSITE, grant: [BCX_CLIENT] });
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('incomplete');
    expect(text(r)).toMatch(/whether 3000004 is a client cannot be told/);
    expect(bcxWrites(sb)).toEqual([]);
    sb.intercept(undefined);

    const before = bcxRequests(sb).length;
    const revoke = await call(client, 'update_project_access', { project_id: WEBSITE, revoke: [BCX_PLAIN] });
    expect(revoke.isError, text(revoke)).toBeFalsy();
    const reads = bcxRequests(sb).slice(before);
    expect(reads.filter((q) => q === 'GET /projects.json' || q === 'GET /projects/archived.json' || q.includes(`/projects/${LAUNCH}/`))).toEqual([]);
    expect(bcxWrites(sb)).toEqual([`DELETE /projects/${WEBSITE}/accesses/${BCX_PLAIN}.json`]);
  });

  it('a grant whose read-back fails is outcome_unknown, and the revokes of the same call are not sent (and say so)', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    let posted = false;
    sb.intercept((req) => {
      if (req.method === 'POST') posted = true;
      return posted && req.method === 'GET' && req.path.includes(`/projects/${HIRING}/accesses.json`) ? { status: 500, body: { error: 'oops' } } : undefined;
    });
    const r = await call(client, 'update_project_access', { project_id: HIRING, grant: [BCX_PLAIN], revoke: [BCX_ADMIN] });
    expect(errorKind(r)).toBe('outcome_unknown');
    expect(text(r)).toMatch(/could not be read back.*The revocations were not sent/);
    expect(bcxWrites(sb)).toEqual([`POST /projects/${HIRING}/accesses.json`]);
  });

  it('a POST answered 502 is never re-sent: outcome unknown, said as such', async () => {
    const { sb, client } = await bcx();
    sb.intercept((req) => (req.method === 'POST' ? { status: 502, body: { error: 'bad gateway' } } : undefined));
    const r = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('outcome_unknown');
    expect(bcxWrites(sb)).toEqual([`POST /projects/${LAUNCH}/accesses.json`]);
  });

  it('update_project_access: grant by ids in one POST; revoke with exactly one DELETE per person, each reported', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    const grant = await call(client, 'update_project_access', { project_id: HIRING, grant: [BCX_PLAIN, 'adam@acme.example'] });
    expect(grant.isError, text(grant)).toBeFalsy();
    expect(structured<{ granted: { id: number }[] }>(grant).granted.map((p) => p.id).sort()).toEqual([BCX_ADMIN, BCX_PLAIN].sort());
    expect(bcxWrites(sb)).toEqual([`POST /projects/${HIRING}/accesses.json`]);
    expect(JSON.parse(sb.apiRequests().find((q) => q.method === 'POST')!.body!).ids.sort()).toEqual([BCX_ADMIN, BCX_PLAIN].sort());

    const someoneElse = [...sb.bcx!.people.values()].find((p) => !sb.bcx!.projects.get(HIRING)!.accesses.has(p.id))!.id;
    const revoke = await call(client, 'update_project_access', { project_id: HIRING, revoke: [BCX_PLAIN, BCX_ADMIN, someoneElse] });
    expect(revoke.isError, text(revoke)).toBeFalsy();
    const s = structured<{ revoked: { id: number }[]; ignored: { person: number; action: string }[] }>(revoke);
    expect(s.revoked.map((p) => p.id).sort()).toEqual([BCX_ADMIN, BCX_PLAIN].sort());
    expect(s.ignored).toEqual([expect.objectContaining({ person: someoneElse, action: 'revoke' })]);
    expect(bcxWrites(sb).filter((w) => w.startsWith('DELETE'))).toEqual([
      `DELETE /projects/${HIRING}/accesses/${BCX_PLAIN}.json`,
      `DELETE /projects/${HIRING}/accesses/${BCX_ADMIN}.json`,
      `DELETE /projects/${HIRING}/accesses/${someoneElse}.json`,
    ]);
    expect(sb.bcx!.projects.get(HIRING)!.accesses.has(BCX_PLAIN)).toBe(false);
  });

  it('a revoke needs consent like on Basecamp 4: without a human, the plan and a plan_token; nothing is sent', async () => {
    const { sb, client } = await bcx();
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [BCX_PLAIN] });
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('confirmation_required');
    expect(bcxWrites(sb)).toEqual([]);
    const token = structured<{ plan_token: string }>(r).plan_token;
    const done = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [BCX_PLAIN], plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(bcxWrites(sb)).toEqual([`DELETE /projects/${LAUNCH}/accesses/${BCX_PLAIN}.json`]);
  });

  it('a revoke that fails part-way says who was revoked and who not, in the result and in the audit trail', async () => {
    const { sb, client, file } = await withAuditTrail();
    // Three team members of Launch: the first is revoked, the second refused, the third never tried.
    const launch = sb.bcx!.projects.get(LAUNCH)!;
    launch.accesses.set(BCX_ADMIN, { is_client: false });
    const third = [...launch.accesses].find(([id, a]) => !a.is_client && ![BCX_OWNER, BCX_ADMIN, BCX_PLAIN].includes(id))![0];
    sb.intercept((req) => (req.method === 'DELETE' && req.path.endsWith(`/accesses/${BCX_PLAIN}.json`) ? { status: 403, body: { error: 'not allowed' } } : undefined));
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [BCX_ADMIN, BCX_PLAIN, third] });
    expect(r.isError, text(r)).toBe(true);
    expect(r.structuredContent, text(r)).toBeDefined();
    expect(errorKind(r)).toBe('forbidden');
    const s = structured<{ revoked: { id: number }[] }>(r);
    expect(s.revoked.map((p) => p.id)).toEqual([BCX_ADMIN]);
    expect(Object.keys(s.revoked[0]!).sort()).toEqual(expect.arrayContaining(['id', 'name', 'email_address', 'client'])); // the compact shape, not the raw record
    expect(s.revoked[0]).not.toHaveProperty('identity_id');
    expect(bcxWrites(sb)).toEqual([`DELETE /projects/${LAUNCH}/accesses/${BCX_ADMIN}.json`, `DELETE /projects/${LAUNCH}/accesses/${BCX_PLAIN}.json`]);
    const outcome = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; changes: { person: number; outcome: string }[] }).find((l) => l.phase === 'outcome')!;
    expect(Object.fromEntries(outcome.changes.map((c) => [c.person, c.outcome]))).toEqual({ [BCX_ADMIN]: 'applied', [BCX_PLAIN]: 'failed', [third]: 'cancelled' });
  });

  it('a DELETE that got no answer is re-sent (it is idempotent), and the revoke is reported once', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    loseFirstDeleteAnswer(sb, () => sb.bcx!.projects.get(LAUNCH)!.accesses.delete(BCX_PLAIN));
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [BCX_PLAIN] });
    expect(r.isError, text(r)).toBeFalsy();
    expect(structured<{ revoked: { id: number }[] }>(r).revoked.map((p) => p.id)).toEqual([BCX_PLAIN]);
    expect(bcxWrites(sb)).toEqual([`DELETE /projects/${LAUNCH}/accesses/${BCX_PLAIN}.json`, `DELETE /projects/${LAUNCH}/accesses/${BCX_PLAIN}.json`]);
  });
});

describe('Basecamp 2: the promises Basecamp 4 keeps, kept here too', () => {
  it('granting or inviting into a trashed project is refused before any write; revoking from one is allowed', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    const grant = await call(client, 'update_project_access', { project_id: ABANDONED, grant: [BCX_ADMIN] });
    expect(text(grant)).toMatch(/is in the trash.*Nothing was changed/s);
    const invite = await call(client, 'invite_person', { name: 'Eve', email_address: 'eve@acme.example', project_id: ABANDONED });
    expect(text(invite)).toMatch(/is in the trash/);
    expect(bcxWrites(sb)).toEqual([]);
    const revoke = await call(client, 'update_project_access', { project_id: ABANDONED, revoke: [BCX_PLAIN] });
    expect(revoke.isError, text(revoke)).toBeFalsy();
    expect(sb.bcx!.projects.get(ABANDONED)!.accesses.has(BCX_PLAIN)).toBe(false);
  });

  it('each write tool clears the cache: the next listing shows what it changed', async () => {
    const { client } = await bcx({ autoConfirm: true });
    const onHiring = async () => structured<{ people: { id: number }[] }>(await call(client, 'list_people', { project_id: HIRING, limit: 500 })).people.map((p) => p.id);
    const named = async (q: string) => structured<{ total: number }>(await call(client, 'list_people', { query: q })).total;
    expect(await named('dana@acme')).toBe(0);
    await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example', project_id: HIRING });
    expect(await named('dana@acme')).toBe(1);
    expect(await onHiring()).not.toContain(BCX_PLAIN);
    await call(client, 'update_project_access', { project_id: HIRING, grant: [BCX_PLAIN] });
    expect(await onHiring()).toContain(BCX_PLAIN);
    expect(await named('jan@acme')).toBe(1);
    expect(structured<{ status: string }>(await call(client, 'trash_person', { person_id: BCX_PLAIN })).status).toBe('done');
    expect(await onHiring()).not.toContain(BCX_PLAIN);
    expect(await named('jan@acme')).toBe(0);
  });
});

describe('Basecamp 2: offboarding removes the person from the account', () => {
  it('dry run: the plan from one GET /people/{id}/projects.json, a plan_token, and nothing changed', async () => {
    const { sb, client } = await bcx();
    const r = await call(client, 'trash_person', { email: 'jan@acme.example', dry_run: true });
    expect(r.isError, text(r)).toBeFalsy();
    const s = structured<{ status: string; projects: { id: number; role: null }[]; account_removed: boolean; plan_token: string; note: string }>(r);
    expect(s.status).toBe('planned');
    expect(s.account_removed).toBe(false);
    expect(s.projects.map((p) => p.id)).toEqual(expect.arrayContaining([ALL_HANDS, LAUNCH, WEBSITE, OLD_WEBSITE, ABANDONED]));
    expect(s.projects.every((p) => p.role === null)).toBe(true);
    expect(s.plan_token).toBeTruthy();
    expect(s.note).toMatch(/Would remove Jan Jensen from the Basecamp 2 account/);
    expect(bcxWrites(sb)).toEqual([]);
    expect(bcxRequests(sb).filter((q) => q.includes('/accesses'))).toEqual([]); // no project-by-project scan
    expect(bcxRequests(sb)).toContain(`GET /people/${BCX_PLAIN}/projects.json`);
  });

  it('after the human confirms: exactly one DELETE /people/{id}.json; account_removed, what Basecamp keeps, among the removed people', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(r.isError, text(r)).toBeFalsy();
    const s = structured<{ status: string; account_removed: boolean; revoked_from: number[]; note: string }>(r);
    expect(s).toMatchObject({ status: 'done', account_removed: true });
    expect(s.revoked_from).toEqual(expect.arrayContaining([ALL_HANDS, LAUNCH]));
    expect(s.note).toMatch(/Basecamp keeps what they made.*removed people \(list_people include_removed: true\)/);
    expect(bcxWrites(sb)).toEqual([`DELETE /people/${BCX_PLAIN}.json`]);
    expect(sb.bcx!.people.has(BCX_PLAIN)).toBe(false);
    expect(sb.bcx!.trashedPeople.has(BCX_PLAIN)).toBe(true);
    const removed = structured<{ people: { id: number }[] }>(await call(client, 'list_people', { include_removed: true, types: ['Tombstone'] }));
    expect(removed.people.map((p) => p.id)).toContain(BCX_PLAIN);
    // Offboarding them again, by id or by email: already removed, nothing sent.
    for (const who of [{ person_id: BCX_PLAIN }, { email: 'jan@acme.example' }]) {
      const again = await call(client, 'trash_person', who);
      expect(structured(again), text(again)).toMatchObject({ status: 'done', account_removed: true });
      expect(text(again)).toMatch(/already removed/);
    }
    expect(bcxWrites(sb)).toHaveLength(1);
  });

  it('without a human: the plan_token of the dry run runs it; a human who says no changes nothing', async () => {
    const { sb, client } = await bcx();
    const refused = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(errorKind(refused)).toBe('confirmation_required');
    expect(bcxWrites(sb)).toEqual([]);
    const plan = structured<{ plan_token: string }>(await call(client, 'trash_person', { person_id: BCX_PLAIN, dry_run: true }));
    const done = await call(client, 'trash_person', { person_id: BCX_PLAIN, plan_token: plan.plan_token });
    expect(structured(done)).toMatchObject({ status: 'done', account_removed: true });
    expect(bcxWrites(sb)).toEqual([`DELETE /people/${BCX_PLAIN}.json`]);

    const { sb: sb2, client: asked } = await bcx({ elicitation: true });
    asked.setRequestHandler(ElicitRequestSchema, () => ({ action: 'decline' }));
    const declined = await call(asked, 'trash_person', { person_id: BCX_PLAIN });
    expect(structured(declined)).toMatchObject({ status: 'cancelled', account_removed: false });
    expect(bcxWrites(sb2)).toEqual([]);
    expect(sb2.bcx!.people.has(BCX_PLAIN)).toBe(true);
  });

  it('someone on no project still needs consent: removing them from the account is destructive', async () => {
    const { sb, client } = await bcx();
    const loner = makeBcxPerson(3_900_001, { name: 'Lone Wolf', email_address: 'lone@acme.example' }, new Date().toISOString());
    sb.bcx!.people.set(loner.id, loner);
    const r = await call(client, 'trash_person', { person_id: loner.id });
    expect(errorKind(r)).toBe('confirmation_required');
    expect(structured<{ projects: unknown[] }>(r).projects).toEqual([]);
    expect(bcxWrites(sb)).toEqual([]);
    expect(sb.bcx!.people.has(loner.id)).toBe(true);
  });

  it('a plan_token no longer matches once the person is on another project: nothing is deleted', async () => {
    const { sb, client } = await bcx();
    const plan = structured<{ plan_token: string }>(await call(client, 'trash_person', { person_id: BCX_PLAIN, dry_run: true }));
    sb.bcx!.projects.get(HIRING)!.accesses.set(BCX_PLAIN, { is_client: false });
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN, plan_token: plan.plan_token });
    expect(errorKind(r)).toBe('plan_changed');
    expect(bcxWrites(sb)).toEqual([]);
  });

  it('the signed-in person is refused before anything; the owner is refused by Basecamp (403), nothing changed', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    const self = await call(client, 'trash_person', { person_id: BCX_OWNER });
    expect(self.isError).toBe(true);
    expect(text(self)).toMatch(/signed-in person/);
    expect(bcxWrites(sb)).toEqual([]);

    const { sb: sb2, client: adam } = await bcx({ autoConfirm: true, signInAs: BCX_ADMIN });
    const plan = await call(adam, 'trash_person', { person_id: BCX_OWNER, dry_run: true });
    expect(text(plan)).toMatch(/does not say who owns the account: if Olivia Owner is the owner, Basecamp refuses and nothing changes/);
    const owner = await call(adam, 'trash_person', { person_id: BCX_OWNER });
    expect(owner.isError).toBe(true);
    expect(errorKind(owner)).toBe('forbidden');
    expect(text(owner)).toMatch(/refused to remove Olivia Owner.*account owner can never be removed\. Nothing was changed/);
    expect(text(owner)).toMatch(/"status":403,"request_id":"[0-9a-f]+"/); // typed, with Basecamp's request id
    expect(sb2.bcx!.people.has(BCX_OWNER)).toBe(true);
  });

  it('a DELETE whose answer was lost is re-sent; a 404 then means the first one removed them: said as already gone', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    loseFirstDeleteAnswer(sb, () => {
      const person = sb.bcx!.people.get(BCX_PLAIN)!;
      sb.bcx!.people.delete(BCX_PLAIN);
      sb.bcx!.trashedPeople.set(BCX_PLAIN, { ...person, trashed: true });
    });
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(r.isError, text(r)).toBeFalsy();
    expect(structured(r)).toMatchObject({ status: 'done', account_removed: true });
    expect(text(r)).toMatch(/already gone: the first one did it/);
    expect(bcxWrites(sb)).toEqual([`DELETE /people/${BCX_PLAIN}.json`, `DELETE /people/${BCX_PLAIN}.json`]);
  });

  it('the audit trail records the removal (intent before, outcome after) and each revoke, with Basecamp 2\'s requests', async () => {
    const { client, file } = await withAuditTrail();
    expect((await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [BCX_CLIENT] })).isError).toBeFalsy();
    expect((await call(client, 'trash_person', { person_id: BCX_PLAIN })).isError).toBeFalsy();
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { phase: string; request?: string; changes: { action: string; outcome?: string; person?: number }[] });
    const writesSeen = lines.filter((l) => l.phase !== 'decision').map((l) => `${l.phase} ${l.request} ${l.changes.map((c) => `${c.action}:${c.person}:${c.outcome ?? ''}`).join(',')}`);
    expect(writesSeen).toEqual([
      `intent DELETE /projects/${LAUNCH}/accesses/{person_id}.json ×1 revoke:${BCX_CLIENT}:`,
      `outcome DELETE /projects/${LAUNCH}/accesses/{person_id}.json ×1 revoke:${BCX_CLIENT}:applied`,
      `intent DELETE /people/${BCX_PLAIN}.json remove_from_account:${BCX_PLAIN}:`,
      `outcome DELETE /people/${BCX_PLAIN}.json remove_from_account:${BCX_PLAIN}:applied`,
    ]);
    const listed = await call(client, 'list_changes', {});
    expect(text(listed)).toMatch(/remove_from_account/);
  });

  it('a DELETE re-sent after 500s that left the outcome unknown says so, and why it was re-sent', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    sb.intercept((req) => (req.method === 'DELETE' ? { status: 500, body: { error: 'oops' } } : undefined));
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(errorKind(r)).toBe('outcome_unknown');
    expect(text(r)).toMatch(/safe to send twice, so it had been re-sent 2 times after answers that left its outcome unknown \(500, 500\)/);
    expect(text(r)).not.toMatch(/mean it was not applied/);
    expect(bcxWrites(sb)).toHaveLength(3);
  });

  it('a DELETE answered 403 by Basecamp is not re-sent and not reported as done', async () => {
    const { sb, client } = await bcx({ autoConfirm: true });
    sb.intercept((req) => (req.method === 'DELETE' ? { status: 403, body: { error: 'nope' } } : undefined));
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(errorKind(r)).toBe('forbidden');
    expect(bcxWrites(sb)).toEqual([`DELETE /people/${BCX_PLAIN}.json`]);
  });
});

describe('Basecamp 2: account selection and the rate budget', () => {
  it('by id across products: BASECAMP_ACCOUNT_ID names either account the sign-in reaches; none chosen: the error lists both', async () => {
    const sb = track(await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const productOf = async (accountId: number | undefined) => {
      const service = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId, accountProduct: undefined })));
      const client = track(await connectClient(service));
      return call(client, 'get_account');
    };
    expect(structured(await productOf(sb.bcx!.accountId))).toMatchObject({ product: { id: 'bcx' }, account: { id: sb.bcx!.accountId } });
    expect(structured(await productOf(sb.data.accountId))).toMatchObject({ product: { id: 'bc3' }, account: { id: sb.data.accountId } });
    const none = await productOf(undefined);
    expect(errorKind(none)).toBe('configuration');
    expect(text(none)).toMatch(new RegExp(`${sb.bcx!.accountId} \\(.*Basecamp 2\\), ${sb.data.accountId} \\(.*Basecamp\\)`));
    const unknown = await productOf(123);
    expect(text(unknown)).toMatch(/cannot reach account 123.*Basecamp 2.*Basecamp\)/);
  });

  it('an account named by id whose product is not known yet: Launchpad is asked once; while it cannot be reached, it is served as Basecamp 4 (as before), saying so', async () => {
    const sb = track(await startSandbox({ alsoList: true, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: sb.data.accountId, accountProduct: undefined })));
    for (let i = 0; i < 3; i++) await service.api.listProjectPeople(2000004);
    expect(sb.requests.filter((r) => r.path.startsWith('/authorization.json'))).toHaveLength(1);
    expect(await service.api.capabilities()).toMatchObject({ product: 'bc3' });

    let stderr = '';
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
    try {
      const closed = `http://127.0.0.1:${await freePort()}`;
      const offline = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: closed, accessToken: sb.token, tokenSource: 'env', accountId: sb.data.accountId, accountProduct: undefined })));
      const client = track(await connectClient(offline));
      const r = await call(client, 'list_people', { limit: 1 });
      expect(r.isError, text(r)).toBeFalsy();
      expect(structured<{ total: number }>(r).total).toBe(sb.data.people.size - [...sb.data.people.values()].filter((p) => ['Tombstone', 'DummyUser'].includes(p.personable_type ?? '')).length);
    } finally {
      spy.mockRestore();
    }
    expect(stderr).toMatch(/Could not ask Launchpad which product account 5550001 is .*using it as a Basecamp 3\/4\/5 account for now/);
  });

  it('an account known to be Basecamp 2 is never served as Basecamp 4 when Launchpad cannot be reached', async () => {
    const sb = track(await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const closed = `http://127.0.0.1:${await freePort()}`;
    const service = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: closed, accessToken: sb.token, tokenSource: 'env', accountId: sb.accountId, accountProduct: 'bcx' })));
    const client = track(await connectClient(service));
    const r = await call(client, 'get_account');
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('network');
    expect(text(r)).toMatch(/Could not reach Launchpad/);
    expect(sb.apiRequests()).toEqual([]);
  });

  it('a sign-in that changes account while running (a new login) is followed, and nothing cached of the old account answers', async () => {
    const sb = track(await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const dir = mkdtempSync(join(tmpdir(), 'bpm-bcx-switch-'));
    track({ close: () => rmSync(dir, { recursive: true, force: true }) });
    const tokenFile = join(dir, 'token.json');
    const write = (accountId: number, product: string) => writeFileSync(tokenFile, JSON.stringify({ access_token: sb.token, account_id: accountId, account_product: product }), { mode: 0o600 });
    write(sb.data.accountId, 'bc3');
    const service = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, tokenFile, tokenSource: 'file', accessToken: undefined, accountId: undefined, accountIdFromEnv: undefined, accountProduct: undefined })));
    const client = track(await connectClient(service));
    const before = structured<{ people: { id: number }[] }>(await call(client, 'list_people', { limit: 500 }));
    expect(before.people.every((p) => p.id < 2_000_000)).toBe(true); // Basecamp 4 people
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { email: 'jan@acme.example' })).person.id).toBe(1000003);
    write(sb.bcx!.accountId, 'bcx');
    // The first call after the switch is a cached read: it must not answer with the old account's Jan.
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { email: 'jan@acme.example' })).person.id).toBe(BCX_PLAIN);
    const after = await call(client, 'list_people', { limit: 500 });
    expect(after.isError, text(after)).toBeFalsy();
    const ids = structured<{ people: { id: number }[] }>(after).people.map((p) => p.id);
    expect(ids).toContain(BCX_PLAIN);
    expect(ids.every((id) => id >= 3_000_000)).toBe(true);
    expect(structured(await call(client, 'get_account'))).toMatchObject({ product: { id: 'bcx' } });
  });

  it('HTTPS only: a Basecamp 2 href from Launchpad that is plain http off loopback is refused, and nothing is sent to it', async () => {
    const launchpad = track(
      await scriptedServer((req, res) => {
        if (req.url?.startsWith('/authorization.json')) json(res, 200, { accounts: [{ product: 'bcx', id: 77, name: 'Plain', href: 'http://basecamp.example/77/api/v1' }] });
        else json(res, 404, { error: 'no' });
      }),
    );
    const service = track(createService(testConfig({ launchpadUrl: launchpad.url, accountId: undefined, accountProduct: undefined })));
    const client = track(await connectClient(service));
    const r = await call(client, 'list_people');
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('configuration');
    expect(text(r)).toMatch(/must use https.*http:\/\/basecamp\.example/);
    expect(launchpad.hits.map((h) => h.url)).toEqual(['/authorization.json']);
  });

  it('the budget follows the product: 500 requests per 10 s on Basecamp 2, never a 429', async () => {
    const sb = track(await startSandbox({ product: 'bcx' })); // Basecamp 2's limit: 500 per 10 s
    const service = track(sandboxService(sb, { budget: undefined, budgetFollowsProduct: true, config: { rateLimit: { max: 50, windowMs: 10_000 } } }));
    const started = Date.now();
    await Promise.all(Array.from({ length: 520 }, (_, i) => service.api.getPerson(i % 2 ? BCX_PLAIN : BCX_ADMIN)));
    expect(service.budget.max).toBe(500);
    expect(sb.throttled).toBe(0);
    const times = sb.apiRequests().map((r) => r.at);
    expect(maxInWindow(times, 10_000)).toBeLessThanOrEqual(500);
    expect(times.filter((t) => t - started < 2_000).length).toBeGreaterThan(100); // not Basecamp 4's 50
  }, 30_000);

  it('a 429 with Retry-After pauses and is retried on Basecamp 2 too; one that cannot be waited out gives retry_after_seconds', async () => {
    const { sb, client } = await bcx();
    let throttled = 0;
    sb.intercept((req) => (req.path.endsWith('/people.json') && throttled++ === 0 ? { status: 429, headers: { 'Retry-After': '1' }, body: { error: 'slow down' } } : undefined));
    const started = Date.now();
    const r = await call(client, 'list_people', { limit: 1 });
    expect(r.isError, text(r)).toBeFalsy();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(bcxRequests(sb).filter((q) => q === 'GET /people.json')).toHaveLength(2);
    sb.intercept(() => ({ status: 429, headers: { 'Retry-After': '3600' }, body: { error: 'slow down' } }));
    const long = await call(client, 'list_projects');
    expect(errorKind(long)).toBe('rate_limited');
    expect(text(long)).toMatch(/"retry_after_seconds":3600/);
  });

  it('BASECAMP_RATE_LIMIT still overrides the product default', async () => {
    const sb = track(await startSandbox({ product: 'bcx' }));
    const service = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: sb.accountId, accountProduct: undefined, rateLimit: { max: 7, windowMs: 10_000 }, rateLimitSet: true })));
    await service.api.getPerson(BCX_PLAIN);
    expect(service.budget.max).toBe(7);
    const follows = track(createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: sb.accountId, accountProduct: undefined })));
    await follows.api.getPerson(BCX_PLAIN);
    expect(follows.budget.max).toBe(500);
  });
});
