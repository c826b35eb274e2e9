import { afterEach, describe, expect, it } from 'vitest';
import { Basecamp2Api } from '../src/basecamp/bcx-api.js';
import { NotSupportedError } from '../src/errors.js';
import { ForbiddenError, NotFoundError } from '../src/basecamp/errors.js';
import { BasecampHttp } from '../src/basecamp/http.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { StaticCredentials } from '../src/service.js';
import { json, scriptedServer, testHttpClient } from './helpers.js';

/** Basecamp2Api over real HTTP against the sandbox's Basecamp 2 account (fixed points: src/sandbox/bcx/seed.ts). */

const OWNER = 3000001;
const ADAM = 3000002; // an admin
const JAN = 3000003; // a plain person
const CARLA = 3000004; // a client on Launch
const FORMER = 3000005; // deleted before the sandbox started
const ALL_HANDS = 4000001; // 60 accesses
const LAUNCH = 4000002; // a client project
const WEBSITE = 4000003;
const HIRING = 4000004; // Jan is not on it
const OLD_WEBSITE = 4000005; // archived
const ABANDONED = 4000007; // trashed

let open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function setup(opts: { as?: number; maxPages?: number } = {}): Promise<{ sb: Sandbox; api: Basecamp2Api; http: BasecampHttp }> {
  const sb = await startSandbox({ product: 'bcx', people: 120, rateLimit: { max: 10_000, windowMs: 10_000 } });
  open.push(sb);
  const token = opts.as ? sb.issueToken(opts.as).access_token : sb.token;
  const http = new BasecampHttp({
    accountBase: sb.apiBase!,
    credentials: new StaticCredentials(token, 'test token'),
    userAgent: 'basecamp-people-mcp-tests (https://example.test)',
    budget: new RateBudget({ max: 10_000, windowMs: 10_000 }),
    retryBaseMs: 10,
    retryMaxMs: 50,
    ...(opts.maxPages ? { maxPages: opts.maxPages } : {}),
  });
  open.push(http);
  return { sb, http, api: new Basecamp2Api(http, { id: sb.accountId, name: sb.bcx!.accountName }) };
}

const ids = (xs: { id: number }[]) => xs.map((x) => x.id);
/** API requests since `from`, as "METHOD /path" relative to the account's API base. */
const requestsSince = (sb: Sandbox, from: number) =>
  sb
    .apiRequests()
    .slice(from)
    .map((r) => `${r.method} ${r.path.replace(new URL(sb.apiBase!).pathname, '')}`);

describe('Basecamp2Api: reads', () => {
  it('listPeople: every person in one GET /people.json, mapped as Users without a guessed owner', async () => {
    const { sb, api } = await setup();
    const people = await api.listPeople();
    expect(requestsSince(sb, 0)).toEqual(['GET /people.json']);
    expect(people.pages).toBe(1);
    expect(people.truncated).toBeUndefined();
    expect(people.items).toHaveLength(sb.bcx!.people.size);
    expect(new Set(ids(people.items)).size).toBe(people.items.length);
    const owner = people.items.find((p) => p.id === OWNER)!;
    expect(owner).toMatchObject({ personable_type: 'User', admin: true, trashed: false });
    expect(owner.owner).toBeNull(); // Basecamp 2 does not say who owns the account: unknown, not false
    expect(owner.employee).toBeNull();
    expect(owner.app_url).toBe(`https://basecamp.com/${sb.accountId}/people/${OWNER}`);
    expect(people.items.every((p) => p.personable_type === 'User' && p.client === null)).toBe(true);
  });

  it('listProjectPeople: reads the accesses past 50 (page 2), each page once, no id twice, is_client → client', async () => {
    const { sb, api } = await setup();
    const all = await api.listProjectPeople(ALL_HANDS);
    expect(all.items).toHaveLength(60);
    expect(new Set(ids(all.items)).size).toBe(60);
    expect(all).toMatchObject({ pages: 2 });
    expect(all.truncated).toBeUndefined();
    expect(requestsSince(sb, 0)).toEqual([`GET /projects/${ALL_HANDS}/accesses.json?page=1`, `GET /projects/${ALL_HANDS}/accesses.json?page=2`]);
    expect(all.items.every((p) => p.client === false && p.personable_type === 'User')).toBe(true);

    const launch = await api.listProjectPeople(LAUNCH);
    expect(launch.pages).toBe(1);
    expect(launch.items.find((p) => p.id === CARLA)).toMatchObject({ client: true });
    expect(launch.items.find((p) => p.id === JAN)).toMatchObject({ client: false });
    expect(launch.items[0]).not.toHaveProperty('is_client');
  });

  it('listProjectPeople: says truncated at the page cap', async () => {
    const { api } = await setup({ maxPages: 1 });
    const all = await api.listProjectPeople(ALL_HANDS);
    expect(all.items).toHaveLength(50);
    expect(all.truncated).toMatch(/safety cap of 1 page/);
  });

  it('getPerson, myProfile (GET /people/me.json) and getAccount (Launchpad id and name, with counts)', async () => {
    const { sb, api } = await setup({ as: JAN });
    expect(await api.getPerson(ADAM)).toMatchObject({ id: ADAM, admin: true, personable_type: 'User' });
    expect(await api.myProfile()).toMatchObject({ id: JAN, admin: false, personable_type: 'User' });
    expect(requestsSince(sb, 0)).toEqual([`GET /people/${ADAM}.json`, 'GET /people/me.json']);
    const before = sb.apiRequests().length;
    // No account endpoint: id and name are Launchpad's; the counts cost one request per list.
    expect(await api.getAccount()).toEqual({
      id: sb.accountId,
      name: sb.bcx!.accountName,
      product: 'bcx',
      people_count: sb.bcx!.people.size,
      projects_count: 3, // as Jan sees them: not Hiring
      archived_projects_count: 2,
    });
    expect(requestsSince(sb, before).sort()).toEqual(['GET /people.json', 'GET /projects.json', 'GET /projects/archived.json']);
  });

  it('listProjects and getProject: status, purpose topic, clients_enabled from is_client_project', async () => {
    const { sb, api } = await setup();
    const active = await api.listProjects('active');
    const archived = await api.listProjects('archived');
    expect(requestsSince(sb, 0)).toEqual(['GET /projects.json', 'GET /projects/archived.json']);
    expect(ids(active.items).sort()).toEqual([ALL_HANDS, LAUNCH, WEBSITE, HIRING]);
    expect(active.items.every((p) => p.status === 'active' && p.purpose === 'topic')).toBe(true);
    expect(active.items.find((p) => p.id === LAUNCH)!.clients_enabled).toBe(true);
    expect(active.items.find((p) => p.id === WEBSITE)!.clients_enabled).toBe(false);
    expect(archived.items.every((p) => p.status === 'archived')).toBe(true);
    expect(ids(archived.items)).toContain(OLD_WEBSITE);
    expect(await api.getProject(ABANDONED)).toMatchObject({ id: ABANDONED, status: 'trashed', purpose: 'topic', clients_enabled: false });
    expect(await api.getProject(OLD_WEBSITE)).toMatchObject({ status: 'archived' });
  });

  it("listProjects('trashed') is refused before any request", async () => {
    const { sb, api } = await setup();
    const error = await api.listProjects('trashed').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotSupportedError);
    expect((error as Error).message).toMatch(/Basecamp 2's API cannot list trashed projects/);
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('personProjects: every project the person can access, archived and trashed too', async () => {
    const { sb, api } = await setup();
    const projects = await api.personProjects(JAN);
    expect(requestsSince(sb, 0)).toEqual([`GET /people/${JAN}/projects.json`]);
    expect(ids(projects.items)).toContain(ABANDONED);
    expect(ids(projects.items)).not.toContain(HIRING);
    expect(projects.items.find((p) => p.id === ABANDONED)!.status).toBe('trashed');
    expect(projects.items.find((p) => p.id === OLD_WEBSITE)!.status).toBe('archived');
  });

  it('listRemovedPeople: Tombstones for an admin; a ForbiddenError saying admins only for anyone else', async () => {
    const { api } = await setup();
    const removed = await api.listRemovedPeople();
    expect(ids(removed.items)).toContain(FORMER);
    expect(removed.items.every((p) => p.personable_type === 'Tombstone')).toBe(true);

    const { sb: sb2, api: asJan } = await setup({ as: JAN });
    const error = await asJan.listRemovedPeople().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).message).toMatch(/only admins/i);
    expect((error as ForbiddenError).status).toBe(403);
    expect(sb2.apiRequests()).toHaveLength(1);
  });

  it('setClientsEnabled and enrollPeople are refused, neither sending anything', async () => {
    const { sb, api } = await setup();
    await expect(api.setClientsEnabled(LAUNCH, true)).rejects.toBeInstanceOf(NotSupportedError);
    await expect(api.enrollPeople({ people: [{ name: 'N', email_address: 'n@acme.example' }] })).rejects.toBeInstanceOf(NotSupportedError);
    expect(sb.apiRequests()).toHaveLength(0);
  });
});

describe('Basecamp2Api: writes', () => {
  it('a grant by email creates exactly one person, in ONE POST, and reports them granted (read back)', async () => {
    const { sb, api } = await setup();
    const size = sb.bcx!.people.size;
    const result = await api.updateProjectPeople(WEBSITE, { create: [{ name: 'New Person', email_address: 'New.Person@acme.example' }] });
    expect(sb.bcx!.people.size).toBe(size + 1);
    const posts = sb.apiRequests().filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(1);
    expect(posts[0]!.path).toMatch(new RegExp(`/projects/${WEBSITE}/accesses\\.json$`));
    expect(JSON.parse(posts[0]!.body!)).toEqual({ ids: [], email_addresses: ['New.Person@acme.example'] });
    expect(result.granted).toHaveLength(1);
    expect(result.granted[0]).toMatchObject({ email_address: 'New.Person@acme.example', client: false, personable_type: 'User' });
    expect(result.revoked).toEqual([]);
    expect(requestsSince(sb, 0)).toEqual([`POST /projects/${WEBSITE}/accesses.json`, `GET /projects/${WEBSITE}/accesses.json?page=1`]);
  });

  it('a grant by id creates nobody; grant and create go in one POST; as client → client_accesses.json', async () => {
    const { sb, api } = await setup();
    const size = sb.bcx!.people.size;
    const result = await api.updateProjectPeople(HIRING, { grant: [JAN, 99_999_999] });
    expect(sb.bcx!.people.size).toBe(size);
    expect(ids(result.granted)).toEqual([JAN]); // an id that is not a person is dropped, as Basecamp does

    const both = await api.updateProjectPeople(WEBSITE, { grant: [ADAM], create: [{ name: 'x', email_address: 'x@acme.example' }] });
    expect(ids(both.granted).sort()).toEqual([ADAM, sb.bcx!.nextPersonId - 1].sort());

    const client = await api.updateProjectPeople(LAUNCH, { create: [{ name: 'c', email_address: 'c@client.example' }] }, 'client');
    expect(client.granted).toHaveLength(1);
    expect(client.granted[0]).toMatchObject({ email_address: 'c@client.example', client: true });
    const posts = sb.apiRequests().filter((r) => r.method === 'POST').map((r) => r.path.split('/').slice(-2).join('/'));
    expect(posts).toEqual([`${HIRING}/accesses.json`, `${WEBSITE}/accesses.json`, `${LAUNCH}/client_accesses.json`]);
  });

  it('revoke issues exactly one DELETE per person; only people who were on the project are revoked', async () => {
    const { sb, api } = await setup();
    const onIt = ids((await api.listProjectPeople(ALL_HANDS)).items).filter((id) => id !== OWNER).slice(55, 58); // on page 2 too
    const from = sb.apiRequests().length;
    const result = await api.updateProjectPeople(ALL_HANDS, { revoke: [...onIt, CARLA] }); // Carla is not on All Hands
    const deletes = sb.apiRequests().slice(from).filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path.split('/').pop())).toEqual([...onIt, CARLA].map((id) => `${id}.json`));
    expect(ids(result.revoked)).toEqual(onIt);
    expect(result.granted).toEqual([]);
    for (const id of onIt) expect(sb.bcx!.projects.get(ALL_HANDS)!.accesses.has(id)).toBe(false);
    expect(sb.apiRequests().slice(from).filter((r) => r.method !== 'DELETE' && r.method !== 'GET')).toHaveLength(0);
  });

  it('a revoke DELETE answered 404 (the project is no longer visible) fails the rest, carrying what was done', async () => {
    const { sb, api } = await setup();
    sb.intercept((req) => (req.method === 'DELETE' && req.path.endsWith(`/accesses/${JAN}.json`) ? { status: 404, body: { error: 'Not found' } } : undefined));
    const error = await api.updateProjectPeople(LAUNCH, { revoke: [JAN, ADAM] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as NotFoundError).partial).toMatchObject({ revoked: [], not_attempted: [ADAM] });
    expect(sb.apiRequests().filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('a revoke refused part-way (403) carries what was done', async () => {
    const { sb, api } = await setup();
    sb.intercept((req) => (req.method === 'DELETE' && req.path.endsWith(`/accesses/${ADAM}.json`) ? { status: 403, body: { error: 'no' } } : undefined));
    const error = await api.updateProjectPeople(LAUNCH, { revoke: [JAN, ADAM, CARLA] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ForbiddenError);
    expect((error as ForbiddenError).partial).toMatchObject({ revoked: [{ id: JAN }], not_attempted: [CARLA] });
    expect(sb.apiRequests().filter((r) => r.method === 'DELETE')).toHaveLength(2);
  });

  it('removeFromAccount deletes exactly one person: then in trashed, on no project', async () => {
    const { sb, api } = await setup();
    const size = sb.bcx!.people.size;
    const result = await api.removeFromAccount(JAN);
    expect(result.removed).toBe(true);
    expect(sb.apiRequests().filter((r) => r.method === 'DELETE').map((r) => r.path.split('/').slice(-2).join('/'))).toEqual([`people/${JAN}.json`]);
    expect(sb.bcx!.people.size).toBe(size - 1);
    const removed = await api.listRemovedPeople();
    expect(removed.items.find((p) => p.id === JAN)).toMatchObject({ personable_type: 'Tombstone', trashed: true });
    expect(ids((await api.listPeople()).items)).not.toContain(JAN);
    expect((await api.personProjects(JAN)).items).toEqual([]);
    expect(ids((await api.listProjectPeople(LAUNCH)).items)).not.toContain(JAN);
  });

  it('removeFromAccount by a non-admin is a ForbiddenError, nobody removed', async () => {
    const { sb, api } = await setup({ as: JAN });
    const size = sb.bcx!.people.size;
    await expect(api.removeFromAccount(ADAM)).rejects.toBeInstanceOf(ForbiddenError);
    expect(sb.bcx!.people.size).toBe(size);
  });
});

describe('BasecampHttp.getAllByPage', () => {
  it('stops (truncated) when full pages bring nothing new, never asking a page twice', async () => {
    const page = Array.from({ length: 3 }, (_, i) => ({ id: i + 1, name: `p${i + 1}` }));
    const server = await scriptedServer((_req, res) => json(res, 200, page));
    open.push(server);
    const http = testHttpClient(server.url);
    open.push(http);
    const all = await http.getAllByPage<{ id: number }>('/things.json', 3);
    expect(ids(all.items)).toEqual([1, 2, 3]);
    expect(all.truncated).toMatch(/loop/);
    expect(server.hits.map((h) => h.url)).toEqual(['/999/things.json?page=1', '/999/things.json?page=2']);
  });

  it('an exactly full last page costs one more (empty) page, not truncated', async () => {
    const server = await scriptedServer((req, res) => json(res, 200, req.url!.endsWith('page=1') ? [{ id: 1, name: 'a' }, { id: 2, name: 'b' }] : []));
    open.push(server);
    const http = testHttpClient(server.url);
    open.push(http);
    const all = await http.getAllByPage<{ id: number }>('/things.json', 2, { query: { x: 'y' } });
    expect(all).toEqual({ items: [{ id: 1, name: 'a' }, { id: 2, name: 'b' }], pages: 2 });
    expect(server.hits.map((h) => h.url)).toEqual(['/999/things.json?x=y&page=1', '/999/things.json?x=y&page=2']);
  });
});
