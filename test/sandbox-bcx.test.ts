import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox, type SandboxOptions } from '../src/sandbox/server.js';

/**
 * The sandbox's Basecamp 2 ("bcx") account, over real HTTP, against docs/basecamp-api.md ("Basecamp 2",
 * "Launchpad"). Fixed points: src/sandbox/bcx/seed.ts.
 */

const OWNER = 3000001;
const ADAM = 3000002; // an admin, not on Website Redesign
const JAN = 3000003; // a plain person
const CARLA = 3000004; // a client on Launch
const FORMER = 3000005; // deleted before the sandbox started
const ALL_HANDS = 4000001; // 60 accesses
const LAUNCH = 4000002; // a client project
const WEBSITE = 4000003; // Adam cannot see it
const HIRING = 4000004; // Jan is not on it
const OLD_WEBSITE = 4000005; // archived
const Q1 = 4000006; // archived
const ABANDONED = 4000007; // trashed

const PERSON_FIELDS = ['admin', 'app_url', 'avatar_url', 'created_at', 'email_address', 'id', 'identity_id', 'name', 'trashed', 'updated_at', 'url'];

interface Person {
  id: number;
  identity_id: number;
  name: string;
  email_address: string;
  admin: boolean;
  trashed: boolean;
  url: string;
  is_client?: boolean;
}
interface Project {
  id: number;
  name: string;
  archived: boolean;
  trashed: boolean;
  is_client_project: boolean;
  accesses: { count: number };
}
interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

let shared: Sandbox;
let open: Sandbox[] = [];
beforeAll(async () => {
  shared = await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } });
});
afterAll(() => shared.close());
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 }, ...options });
  open.push(s);
  return s;
}

async function send<T = unknown>(
  sb: Sandbox,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  { token = sb.token, contentType = 'application/json; charset=utf-8', userAgent = 'sandbox-bcx-test (test@example.test)', headers = {} }: {
    token?: string;
    contentType?: string | null;
    userAgent?: string | null;
    headers?: Record<string, string>;
  } = {},
): Promise<Answer<T>> {
  const all: Record<string, string> = { authorization: `Bearer ${token}`, ...headers };
  if (userAgent) all['user-agent'] = userAgent;
  if (body !== undefined && contentType) all['content-type'] = contentType;
  const url = path.startsWith('http') ? path : `${sb.apiBase}${path}`;
  const res = await request(url, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}
const get = <T = unknown>(sb: Sandbox, path: string, token?: string) => send<T>(sb, 'GET', path, undefined, { token });
const tokenFor = (sb: Sandbox, personId: number) => sb.issueToken(personId).access_token;
const ids = (xs: { id: number }[]) => xs.map((x) => x.id);

describe('a Basecamp 2 sandbox: the account', () => {
  it('is a bcx account with its API base under /api/v1', () => {
    expect(shared.product).toBe('bcx');
    expect(shared.accountId).toBe(shared.bcx!.accountId);
    expect(shared.apiBase).toBe(`${shared.url}/${shared.accountId}/api/v1`);
    expect(shared.bcx!.ownerId).toBe(OWNER);
  });

  it('keeps the default sandbox as it was: bc3, no Basecamp 2 account, one account listed', async () => {
    const sb = await startSandbox();
    open.push(sb);
    expect(sb.product).toBe('bc3');
    expect(sb.apiBase).toBe(`${sb.url}/${sb.accountId}`);
    expect(sb.bcx).toBeUndefined();
    const r = await send<{ accounts: { product: string }[] }>(sb, 'GET', `${sb.url}/authorization.json`);
    expect(r.body.accounts.map((a) => a.product)).toEqual(['bc3']);
  });

  it('is deterministic for a seed', async () => {
    const again = await sandbox();
    const shape = (s: Sandbox) => ({
      people: [...s.bcx!.people.values()].map((p) => [p.id, p.email_address, p.admin]),
      projects: [...s.bcx!.projects.values()].map((p) => [p.id, [...p.accesses]]),
    });
    expect(shape(again)).toEqual(shape(shared));
  });
});

describe('Launchpad lists both products', () => {
  it("with product 'bcx': the bcx account first, then a bc3 one, each with href and app_href; both hrefs work with one token", async () => {
    const r = await send<{ identity: { id: number }; accounts: { product: string; id: number; name: string; href: string; app_href: string }[] }>(
      shared,
      'GET',
      `${shared.url}/authorization.json`,
    );
    expect(r.status).toBe(200);
    const [bcx, bc3] = r.body.accounts;
    expect(bcx).toMatchObject({ product: 'bcx', id: shared.accountId, href: shared.apiBase, app_href: `https://basecamp.com/${shared.accountId}` });
    expect(bc3).toMatchObject({ product: 'bc3', id: shared.data.accountId, href: `${shared.url}/${shared.data.accountId}` });
    expect(bc3!.app_href).toBe(`https://3.basecamp.com/${shared.data.accountId}`);
    expect(bcx!.name && bc3!.name).toBeTruthy();
    expect(r.body.identity.id).toBe(10_000_001);
    const me = await get<Person>(shared, `${bcx!.href}/people/me.json`);
    const profile = await get<{ email_address: string }>(shared, `${bc3!.href}/my/profile.json`);
    expect(me.body.id).toBe(OWNER);
    expect(profile.status).toBe(200);
    expect(profile.body.email_address).toBe(me.body.email_address);
  });

  it('with alsoList on a bc3 sandbox: the bc3 account first, then a working bcx one', async () => {
    const sb = await startSandbox({ alsoList: true });
    open.push(sb);
    expect(sb.product).toBe('bc3');
    const r = await send<{ accounts: { product: string; id: number; href: string }[] }>(sb, 'GET', `${sb.url}/authorization.json`);
    expect(r.body.accounts.map((a) => a.product)).toEqual(['bc3', 'bcx']);
    expect(r.body.accounts[0]).toMatchObject({ id: sb.accountId, href: sb.apiBase });
    const bcx = r.body.accounts[1]!;
    expect(bcx.href).toBe(`${sb.url}/${sb.bcx!.accountId}/api/v1`);
    const me = await get<Person>(sb, `${bcx.href}/people/me.json`);
    expect(me.status).toBe(200);
    expect(me.body.email_address).toBe('olivia@acme.example');
  });
});

describe('Basecamp 2 people', () => {
  it('GET /people.json: every person on the account in one response, no paging, Basecamp 2 fields only', async () => {
    const r = await get<Person[]>(shared, '/people.json');
    expect(r.status).toBe(200);
    expect(r.headers.link).toBeUndefined();
    expect(r.body).toHaveLength(shared.bcx!.people.size);
    expect(r.body.length).toBeGreaterThan(100);
    expect(ids(r.body)).not.toContain(FORMER);
    expect(Object.keys(r.body[0]!).sort()).toEqual(PERSON_FIELDS);
    expect(r.body[0]!.url).toBe(`${shared.apiBase}/people/${r.body[0]!.id}.json`);
    // ETag / 304 as in Basecamp 4.
    const again = await send(shared, 'GET', '/people.json', undefined, { headers: { 'if-none-match': String(r.headers.etag) } });
    expect(again.status).toBe(304);
  });

  it('GET /people/trashed.json: deleted people, for admins only (403 otherwise)', async () => {
    const r = await get<Person[]>(shared, '/people/trashed.json');
    expect(r.status).toBe(200);
    expect(ids(r.body)).toEqual([FORMER]);
    expect(r.body[0]!.trashed).toBe(true);
    expect((await get(shared, '/people/trashed.json', tokenFor(shared, ADAM))).status).toBe(200);
    expect((await get(shared, '/people/trashed.json', tokenFor(shared, JAN))).status).toBe(403);
  });

  it('GET /people/{id}.json and /people/me.json', async () => {
    const jan = await get<Person>(shared, `/people/${JAN}.json`);
    expect(jan.status).toBe(200);
    expect(jan.body).toMatchObject({ id: JAN, name: 'Jan Jensen', admin: false, trashed: false });
    expect((await get(shared, `/people/${JAN}`)).status).toBe(200); // without .json too
    expect((await get(shared, '/people/424242.json')).status).toBe(404);
    expect((await get<Person>(shared, '/people/me.json')).body).toMatchObject({ id: OWNER, admin: true });
    expect((await get<Person>(shared, '/people/me.json', tokenFor(shared, JAN))).body.id).toBe(JAN);
    // A deleted person: visible to admins (trashed: true), not to others.
    expect((await get<Person>(shared, `/people/${FORMER}.json`)).body.trashed).toBe(true);
    expect((await get(shared, `/people/${FORMER}.json`, tokenFor(shared, JAN))).status).toBe(404);
  });

  it("GET /people/{id}/projects.json: every project of the person (archived and trashed too), as far as the caller sees; 404 for a person the caller cannot see", async () => {
    const asOwner = await get<Project[]>(shared, `/people/${JAN}/projects.json`);
    expect(asOwner.status).toBe(200);
    expect(ids(asOwner.body).sort()).toEqual([ALL_HANDS, LAUNCH, WEBSITE, OLD_WEBSITE, Q1, ABANDONED]);
    expect(asOwner.body.find((p) => p.id === ABANDONED)!.trashed).toBe(true);
    expect(asOwner.body.find((p) => p.id === OLD_WEBSITE)!.archived).toBe(true);
    const asAdam = await get<Project[]>(shared, `/people/${JAN}/projects.json`, tokenFor(shared, ADAM));
    expect(ids(asAdam.body).sort()).toEqual([ALL_HANDS, LAUNCH, Q1]);
    expect((await get(shared, '/people/424242/projects.json')).status).toBe(404);
    expect((await get(shared, `/people/${FORMER}/projects.json`, tokenFor(shared, JAN))).status).toBe(404);
    expect((await get<Project[]>(shared, `/people/${FORMER}/projects.json`)).body).toEqual([]);
  });

  it('DELETE /people/{id}.json: 204, then gone from /people.json, in /people/trashed.json, on no project; their token sees nothing', async () => {
    const sb = await sandbox();
    const janToken = tokenFor(sb, JAN);
    const r = await send(sb, 'DELETE', `/people/${JAN}.json`);
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
    expect(ids((await get<Person[]>(sb, '/people.json')).body)).not.toContain(JAN);
    const trashed = (await get<Person[]>(sb, '/people/trashed.json')).body;
    expect(trashed.find((p) => p.id === JAN)).toMatchObject({ trashed: true });
    expect((await get<Project[]>(sb, `/people/${JAN}/projects.json`)).body).toEqual([]);
    for (const project of [ALL_HANDS, LAUNCH, WEBSITE, OLD_WEBSITE, Q1, ABANDONED]) {
      for (let page = 1; ; page++) {
        const list = (await get<Person[]>(sb, `/projects/${project}/accesses.json?page=${page}`)).body;
        expect(ids(list)).not.toContain(JAN);
        if (list.length < 50) break;
      }
    }
    expect((await get(sb, '/people/me.json', janToken)).status).toBe(404);
    expect((await send(sb, 'DELETE', `/people/${JAN}.json`)).status).toBe(404); // already gone
  });

  it('DELETE /people/{id}.json: 403 for a non-admin; the owner cannot be deleted (403)', async () => {
    const sb = await sandbox();
    expect((await send(sb, 'DELETE', `/people/${ADAM}.json`, undefined, { token: tokenFor(sb, JAN) })).status).toBe(403);
    expect((await send(sb, 'DELETE', `/people/${OWNER}.json`, undefined, { token: tokenFor(sb, ADAM) })).status).toBe(403);
    expect((await send(sb, 'DELETE', `/people/${OWNER}.json`)).status).toBe(403);
    expect(sb.bcx!.people.has(ADAM) && sb.bcx!.people.has(OWNER)).toBe(true);
    expect(sb.bcx!.trashedPeople.size).toBe(1);
  });
});

describe('Basecamp 2 projects', () => {
  it('GET /projects.json: active projects; GET /projects/archived.json: archived ones; only those the caller can see', async () => {
    const active = await get<Project[]>(shared, '/projects.json');
    expect(ids(active.body)).toEqual([ALL_HANDS, LAUNCH, WEBSITE, HIRING]);
    expect(active.body.every((p) => !p.archived && !p.trashed)).toBe(true);
    const archived = await get<Project[]>(shared, '/projects/archived.json');
    expect(ids(archived.body)).toEqual([OLD_WEBSITE, Q1]);
    expect(archived.body.every((p) => p.archived)).toBe(true);
    expect(ids((await get<Project[]>(shared, '/projects.json', tokenFor(shared, ADAM))).body)).toEqual([ALL_HANDS, LAUNCH, HIRING]);
  });

  it('GET /projects/{id}.json: archived, trashed, is_client_project, accesses.count; 404 when not visible', async () => {
    const launch = await get<Project>(shared, `/projects/${LAUNCH}.json`);
    expect(launch.body).toMatchObject({ id: LAUNCH, archived: false, trashed: false, is_client_project: true });
    expect(launch.body.accesses.count).toBe(shared.bcx!.projects.get(LAUNCH)!.accesses.size);
    expect((await get<Project>(shared, `/projects/${ALL_HANDS}.json`)).body).toMatchObject({ is_client_project: false, accesses: { count: 60 } });
    expect((await get<Project>(shared, `/projects/${ABANDONED}.json`)).body.trashed).toBe(true);
    expect((await get<Project>(shared, `/projects/${Q1}.json`)).body.archived).toBe(true);
    expect((await get(shared, `/projects/${WEBSITE}.json`, tokenFor(shared, ADAM))).status).toBe(404);
    expect((await get(shared, '/projects/4999999.json')).status).toBe(404);
  });

  it('GET /projects/{id}/accesses.json: 50 per page, page=N until a short page, entries carry is_client', async () => {
    const seen: number[] = [];
    const sizes: number[] = [];
    for (let page = 1; ; page++) {
      const r = await get<Person[]>(shared, `/projects/${ALL_HANDS}/accesses.json?page=${page}`);
      expect(r.status).toBe(200);
      expect(r.headers.link).toBeUndefined();
      sizes.push(r.body.length);
      seen.push(...ids(r.body));
      expect(r.body.every((p) => p.is_client === false)).toBe(true);
      if (r.body.length < 50) break;
    }
    expect(sizes).toEqual([50, 10]);
    expect(new Set(seen).size).toBe(60);
    expect((await get<Person[]>(shared, `/projects/${ALL_HANDS}/accesses.json?page=3`)).body).toEqual([]);
    const launch = (await get<Person[]>(shared, `/projects/${LAUNCH}/accesses.json`)).body;
    expect(launch.find((p) => p.id === CARLA)!.is_client).toBe(true);
    expect(launch.find((p) => p.id === JAN)!.is_client).toBe(false);
    expect((await get(shared, `/projects/${WEBSITE}/accesses.json`, tokenFor(shared, ADAM))).status).toBe(404);
  });
});

describe('Basecamp 2 accesses', () => {
  const accessesOf = async (sb: Sandbox, project: number) => {
    const all: Person[] = [];
    for (let page = 1; ; page++) {
      const list = (await get<Person[]>(sb, `/projects/${project}/accesses.json?page=${page}`)).body;
      all.push(...list);
      if (list.length < 50) return all;
    }
  };

  it('POST /projects/{id}/accesses.json: 204; grants by id; a new address creates exactly one person, an existing one none', async () => {
    const sb = await sandbox();
    const before = (await get<Person[]>(sb, '/people.json')).body.length;
    const r = await send(sb, 'POST', `/projects/${HIRING}/accesses.json`, { ids: [JAN, 424242], email_addresses: ['new.person@acme.example', 'ADAM@acme.example'] });
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
    const people = (await get<Person[]>(sb, '/people.json')).body;
    expect(people).toHaveLength(before + 1);
    const created = people.filter((p) => p.email_address === 'new.person@acme.example');
    expect(created).toHaveLength(1);
    const hiring = await accessesOf(sb, HIRING);
    for (const id of [JAN, ADAM, created[0]!.id]) expect(hiring.find((p) => p.id === id)?.is_client).toBe(false);
    expect(ids(hiring)).not.toContain(424242);
    // The same address again: no second person.
    expect((await send(sb, 'POST', `/projects/${LAUNCH}/accesses.json`, { email_addresses: ['new.person@acme.example'] })).status).toBe(204);
    expect((await get<Person[]>(sb, '/people.json')).body).toHaveLength(before + 1);
  });

  it('POST /projects/{id}/client_accesses.json: the same, as clients (is_client)', async () => {
    const sb = await sandbox();
    const r = await send(sb, 'POST', `/projects/${LAUNCH}/client_accesses.json`, { ids: [JAN], email_addresses: ['buyer@client.example'] });
    expect(r.status).toBe(204);
    const launch = await accessesOf(sb, LAUNCH);
    expect(launch.find((p) => p.id === JAN)!.is_client).toBe(true);
    expect(launch.find((p) => p.email_address === 'buyer@client.example')!.is_client).toBe(true);
  });

  it('POST accesses: 415 without a JSON Content-Type, 403 for a non-admin, 404 for a project the caller cannot see, 400/422 for bad bodies', async () => {
    const sb = await sandbox();
    expect((await send(sb, 'POST', `/projects/${HIRING}/accesses.json`, { ids: [JAN] }, { contentType: null })).status).toBe(415);
    expect((await send(sb, 'POST', `/projects/${HIRING}/client_accesses.json`, { ids: [JAN] }, { contentType: 'text/plain' })).status).toBe(415);
    expect((await send(sb, 'POST', `/projects/${LAUNCH}/accesses.json`, { ids: [HIRING] }, { token: tokenFor(sb, JAN) })).status).toBe(403);
    expect((await send(sb, 'POST', `/projects/${WEBSITE}/accesses.json`, { ids: [JAN] }, { token: tokenFor(sb, ADAM) })).status).toBe(404);
    expect((await send(sb, 'POST', `/projects/${HIRING}/accesses.json`, [JAN])).status).toBe(400);
    expect((await send(sb, 'POST', `/projects/${HIRING}/accesses.json`, {})).status).toBe(422);
    expect((await send(sb, 'POST', `/projects/${HIRING}/accesses.json`, { email_addresses: ['not an email'] })).status).toBe(422);
    expect(ids(await accessesOf(sb, HIRING))).not.toContain(JAN);
  });

  it('DELETE /projects/{id}/accesses/{person_id}.json: 204; 403 for a non-admin; 404 when the project is not visible', async () => {
    const sb = await sandbox();
    expect((await send(sb, 'DELETE', `/projects/${LAUNCH}/accesses/${CARLA}.json`, undefined, { token: tokenFor(sb, JAN) })).status).toBe(403);
    expect((await send(sb, 'DELETE', `/projects/${WEBSITE}/accesses/${JAN}.json`, undefined, { token: tokenFor(sb, ADAM) })).status).toBe(404);
    const r = await send(sb, 'DELETE', `/projects/${LAUNCH}/accesses/${CARLA}.json`);
    expect(r.status).toBe(204);
    expect(ids(await accessesOf(sb, LAUNCH))).not.toContain(CARLA);
    expect((await get<Project[]>(sb, `/people/${CARLA}/projects.json`)).body).toEqual([]);
  });
});

describe('Basecamp 2 request rules', () => {
  it('400 without User-Agent, 401 for a bad or expired token', async () => {
    const sb = await sandbox();
    expect((await send(sb, 'GET', '/people.json', undefined, { userAgent: null })).status).toBe(400);
    expect((await get(sb, '/people.json', 'wrong')).status).toBe(401);
    const token = tokenFor(sb, JAN);
    sb.expireToken(token);
    const expired = await get<{ error: string }>(sb, '/people.json', token);
    expect(expired.status).toBe(401);
    expect(expired.body.error).toMatch(/expired/);
  });

  it('has no Basecamp 4 routes (404), with or without /api/v1', async () => {
    const root = `${shared.url}/${shared.accountId}`;
    for (const path of ['/people.json', '/my/profile.json', '/account.json', `/projects/${LAUNCH}/people.json`]) {
      expect((await get(shared, `${root}${path}`)).status, path).toBe(404);
      // Under /api/v1 only /people.json is also a Basecamp 2 route.
      if (path !== '/people.json') expect((await get(shared, `${shared.apiBase}${path}`)).status, `/api/v1${path}`).toBe(404);
    }
    expect((await get(shared, '/projects.json?status=archived')).status).toBe(200); // status is not a bcx filter, ignored
    for (const [method, path] of [
      ['PUT', `/projects/${LAUNCH}/people/users.json`],
      ['PUT', `/projects/${LAUNCH}/people/client_users.json`],
      ['POST', `/projects/${LAUNCH}/client_enablement.json`],
      ['POST', '/account/enrollments/people.json'],
    ] as const) {
      expect((await send(shared, method, path, { grant: [JAN] })).status, path).toBe(404);
    }
  });

  it('shares the request log and interceptors; rate limit defaults to 500 per 10 s', async () => {
    const sb = await startSandbox({ product: 'bcx' });
    open.push(sb);
    sb.intercept((req) => (req.path.endsWith('/people/me.json') ? { status: 503, body: { error: 'down' } } : undefined));
    expect((await get(sb, '/people/me.json')).status).toBe(503);
    sb.intercept(undefined);
    const statuses: number[] = [];
    for (let i = 0; i < 501; i++) {
      const r = await request(`${sb.apiBase}/projects/${LAUNCH}.json`, { headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 't' } });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      await r.body.dump();
    }
    // The intercepted request never reached the limiter: 500 admitted, the 501st throttled.
    expect(statuses.filter((s) => s === 200)).toHaveLength(500);
    expect(statuses.at(-1)).toBe(429);
    expect(sb.throttled).toBe(1);
    expect(sb.apiRequests()[0]).toMatchObject({ method: 'GET', path: `/${sb.accountId}/api/v1/people/me.json`, status: 503 });
    expect(sb.apiRequests()).toHaveLength(502);
  });
});
