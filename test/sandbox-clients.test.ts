import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { isClient } from '../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../src/sandbox/server.js';

/**
 * The sandbox's clients, client enablement, account enrollments and person types, over real HTTP, against
 * docs/basecamp-api.md ("Clients", "Account-level invites", "Person types").
 */

const OWNER = 1000001;
const ADAM = 1000002; // an admin; on the HQ, Design Team and Customer Onboarding only
const JAN = 1000003; // a team member who may not manage people
const ROSA = 1000009; // rosa.petrov@client.example, a client on Launch
const HQ = 2000001;
const DESIGN_TEAM = 2000002;
const LAUNCH = 2000004; // clients enabled, with clients
const Q3 = 2000005; // clients enabled, with clients
const WEBSITE = 2000006; // clients enabled, no client on it
const HIRING = 2000007; // clients off
const ONBOARDING = 2000008;
const ABANDONED = 2000013; // trashed

let open: Sandbox[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

async function sandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const s = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 }, ...options });
  open.push(s);
  return s;
}

interface Answer<T = unknown> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: T;
}

async function send<T = unknown>(
  sb: Sandbox,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
  { token = sb.token, contentType = 'application/json; charset=utf-8' }: { token?: string; contentType?: string | null } = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': 'sandbox-clients-test (test@example.test)' };
  if (body !== undefined && contentType) headers['content-type'] = contentType;
  const res = await request(`${sb.url}/${sb.accountId}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

interface Person {
  id: number;
  name: string;
  email_address: string | null;
  client: boolean;
  personable_type: string;
  title: string | null;
  company?: { id: number; name: string };
}
type Changes = { granted: Person[]; revoked: Person[] };
type Enrolled = Person & { status: 'created' | 'existing' };

const clientUsers = (sb: Sandbox, project: number, body: unknown, opts?: Parameters<typeof send>[4]) =>
  send<Changes>(sb, 'PUT', `/projects/${project}/people/client_users.json`, body, opts);
const enroll = (sb: Sandbox, body: unknown, opts?: Parameters<typeof send>[4]) => send<Enrolled[]>(sb, 'POST', '/account/enrollments/people.json', body, opts);
const members = (sb: Sandbox, project: number) => [...sb.data.projects.get(project)!.members].sort();
const clientCount = (sb: Sandbox) => [...sb.data.people.values()].filter(isClient).length;
const teamCount = (sb: Sandbox) => [...sb.data.people.values()].filter((p) => p.personable_type === 'User' && !p.client).length;
const tokenFor = (sb: Sandbox, person: number) => sb.issueToken(person).access_token;

/** Every page of a list, following Link. */
async function all<T>(sb: Sandbox, path: string): Promise<T[]> {
  const items: T[] = [];
  let url: string | undefined = `${sb.url}/${sb.accountId}${path}`;
  while (url) {
    const res = await request(url, { headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 't' } });
    items.push(...((await res.body.json()) as T[]));
    const link = res.headers.link as string | undefined;
    url = link ? /<([^>]+)>; rel="next"/.exec(link)?.[1] : undefined;
  }
  return items;
}

describe('projects carry clients_enabled', () => {
  it('in the list and in one project: HQ and teams off, Launch on with clients, Hiring off', async () => {
    const sb = await sandbox();
    const list = await all<{ id: number; purpose: string; clients_enabled: boolean }>(sb, '/projects.json');
    for (const p of list) expect(typeof p.clients_enabled, `project ${p.id}`).toBe('boolean');
    for (const status of ['archived', 'trashed']) {
      for (const p of await all<{ clients_enabled: unknown }>(sb, `/projects.json?status=${status}`)) expect(typeof p.clients_enabled).toBe('boolean');
    }
    expect(list.filter((p) => p.purpose !== 'topic').every((p) => !p.clients_enabled)).toBe(true);
    const byId = new Map(list.map((p) => [p.id, p]));
    expect(byId.get(HQ)!.clients_enabled).toBe(false);
    expect(byId.get(DESIGN_TEAM)!.clients_enabled).toBe(false);
    expect(byId.get(LAUNCH)!.clients_enabled).toBe(true);
    expect(byId.get(HIRING)!.clients_enabled).toBe(false);
    for (const [id, enabled] of [[LAUNCH, true], [HIRING, false], [HQ, false]] as const) {
      expect((await send<{ clients_enabled: boolean }>(sb, 'GET', `/projects/${id}.json`)).body.clients_enabled).toBe(enabled);
    }
    const launchPeople = await all<Person>(sb, `/projects/${LAUNCH}/people.json`);
    expect(launchPeople.find((p) => p.id === ROSA)).toMatchObject({ email_address: 'rosa.petrov@client.example', client: true });
  });

  it('is deterministic, and the seed keeps clients on client-enabled topics only', async () => {
    const [a, b] = [await sandbox(), await sandbox()];
    const shape = (s: Sandbox) => [...s.data.projects.values()].map((p) => [p.id, p.clients_enabled, [...p.members]]);
    expect(shape(a)).toEqual(shape(b));
    for (const project of a.data.projects.values()) {
      const hasClients = [...project.members].some((id) => a.data.people.get(id)!.client);
      if (hasClients) expect(project, project.name).toMatchObject({ purpose: 'topic', clients_enabled: true });
    }
  });
});

describe('users.json manages team members only', () => {
  it('drops a client id (grant and revoke) and a create for a client address', async () => {
    const sb = await sandbox();
    const before = members(sb, Q3);
    const r = await send<Changes>(sb, 'PUT', `/projects/${Q3}/people/users.json`, {
      grant: [ROSA],
      create: [{ name: 'Rosa', email_address: 'ROSA.PETROV@client.example' }],
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ granted: [], revoked: [] });
    expect(members(sb, Q3)).toEqual(before);
    const revoke = await send<Changes>(sb, 'PUT', `/projects/${LAUNCH}/people/users.json`, { revoke: [ROSA] });
    expect(revoke.body.revoked).toEqual([]);
    expect(sb.data.projects.get(LAUNCH)!.members.has(ROSA)).toBe(true);
  });
});

describe('client_users.json', () => {
  it('grants and revokes clients; a team member is left out and never removed', async () => {
    const sb = await sandbox();
    const launchBefore = members(sb, LAUNCH);
    const granted = await clientUsers(sb, WEBSITE, { grant: [ROSA, JAN, 424242] });
    expect(granted.status).toBe(200);
    expect(granted.body.granted.map((p) => p.id)).toEqual([ROSA]);
    expect(granted.body.granted.every((p) => p.client)).toBe(true);
    expect(sb.data.projects.get(WEBSITE)!.members.has(ROSA)).toBe(true);
    expect(sb.data.people.get(JAN)!.client).toBe(false);

    const revoked = await clientUsers(sb, LAUNCH, { revoke: [ROSA, JAN] });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ granted: [], revoked: [{ id: ROSA, client: true }] });
    expect(members(sb, LAUNCH)).toEqual(launchBefore.filter((id) => id !== ROSA));
    expect(sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(true);
  });

  it('creates clients (name defaults to the email), grants an existing client, leaves a team member out, no duplicates', async () => {
    const sb = await sandbox();
    const peopleBefore = sb.data.people.size;
    const r = await clientUsers(sb, WEBSITE, {
      create: [
        { email_address: 'new.client@client.example' },
        { email_address: 'named@client.example', name: 'Nia Named', title: 'Buyer', company_name: 'Globex' },
        { email_address: 'Rosa.Petrov@CLIENT.example', name: 'Rosa again' },
        { email_address: 'jan@acme.example' },
        { email_address: 'NEW.client@client.example' },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.revoked).toEqual([]);
    expect(r.body.granted.map((p) => p.email_address)).toEqual(['new.client@client.example', 'named@client.example', 'rosa.petrov@client.example']);
    expect(r.body.granted.every((p) => p.client && p.personable_type === 'User')).toBe(true);
    expect(r.body.granted[0]!.name).toBe('new.client@client.example');
    expect(r.body.granted[1]).toMatchObject({ name: 'Nia Named', title: 'Buyer', company: { name: 'Globex' } });
    expect(r.body.granted[2]!.id).toBe(ROSA);
    expect(sb.data.people.size).toBe(peopleBefore + 2);
    const website = sb.data.projects.get(WEBSITE)!;
    for (const p of r.body.granted) expect(website.members.has(p.id)).toBe(true);
    expect(website.members.has(JAN)).toBe(false);
  });

  it('403 unless clients are enabled; 404 off the project; 403 for someone who cannot manage people; 415 without JSON', async () => {
    const sb = await sandbox();
    const snapshot = () => JSON.stringify([[...sb.data.people.keys()], [...sb.data.projects.values()].map((p) => [...p.members])]);
    const before = snapshot();
    for (const project of [HIRING, HQ, DESIGN_TEAM]) {
      const r = await clientUsers(sb, project, { grant: [ROSA], create: [{ email_address: 'x@client.example' }] });
      expect(r.status, `project ${project}`).toBe(403);
    }
    const adam = tokenFor(sb, ADAM);
    expect((await clientUsers(sb, LAUNCH, { grant: [ROSA] }, { token: adam })).status).toBe(404); // Adam is not on Launch
    expect((await clientUsers(sb, 2999999, { grant: [ROSA] })).status).toBe(404);
    expect((await clientUsers(sb, LAUNCH, { revoke: [ROSA] }, { token: tokenFor(sb, JAN) })).status).toBe(403);
    expect((await clientUsers(sb, LAUNCH, { revoke: [ROSA] }, { contentType: 'text/plain' })).status).toBe(415);
    expect((await clientUsers(sb, LAUNCH, { revoke: [ROSA] }, { contentType: null })).status).toBe(415);
    expect((await clientUsers(sb, LAUNCH, {})).status).toBe(422);
    expect(snapshot()).toBe(before);
  });

  it('creates are all-or-nothing: 422 names each bad row (a blank row with email_address null), nobody created', async () => {
    const sb = await sandbox();
    const peopleBefore = sb.data.people.size;
    const websiteBefore = members(sb, WEBSITE);
    const r = await send<{ errors: { email_address: string | null; messages: string[] }[] }>(sb, 'PUT', `/projects/${WEBSITE}/people/client_users.json`, {
      grant: [ROSA],
      create: [{ email_address: 'fine@client.example' }, {}, { email_address: 'not-an-email' }, { email_address: '   ' }, { email_address: 'ok@client.example', name: 7 }],
    });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e) => e.email_address)).toEqual([null, 'not-an-email', null, 'ok@client.example']);
    for (const e of r.body.errors) expect(e.messages.length).toBeGreaterThan(0);
    expect(sb.data.people.size).toBe(peopleBefore);
    expect(members(sb, WEBSITE)).toEqual(websiteBefore);
  });

  it('seat limit: 429 with no Retry-After and nothing changed; addresses on the account take no seat; a repeated address counts once', async () => {
    const probe = await sandbox();
    const used = clientCount(probe);
    const sb = await sandbox({ clientSeats: used + 1 });
    expect(sb.data.clientSeats).toBe(used + 1);
    const peopleBefore = sb.data.people.size;
    const websiteBefore = members(sb, WEBSITE);

    const over = await send<{ error: string }>(sb, 'PUT', `/projects/${WEBSITE}/people/client_users.json`, {
      grant: [ROSA],
      create: [{ email_address: 'one@client.example' }, { email_address: 'two@client.example' }],
    });
    expect(over.status).toBe(429);
    expect(over.headers['retry-after']).toBeUndefined();
    expect(over.body.error).toBeTruthy();
    expect(sb.data.people.size).toBe(peopleBefore);
    expect(members(sb, WEBSITE)).toEqual(websiteBefore);
    expect(sb.throttled).toBe(0);

    // One new address, twice, plus addresses already on the account (a client and a team member): one seat.
    const fits = await clientUsers(sb, WEBSITE, {
      create: [{ email_address: 'one@client.example' }, { email_address: 'ONE@client.example' }, { email_address: 'rosa.petrov@client.example' }, { email_address: 'jan@acme.example' }],
    });
    expect(fits.status).toBe(200);
    expect(fits.body.granted.map((p) => p.email_address)).toEqual(['one@client.example', 'rosa.petrov@client.example']);
    expect(clientCount(sb)).toBe(used + 1);

    // Full now: another new client is refused, an existing one is still granted.
    const full = await clientUsers(sb, WEBSITE, { create: [{ email_address: 'three@client.example' }] });
    expect(full.status).toBe(429);
    expect(full.headers['retry-after']).toBeUndefined();
    const existing = await clientUsers(sb, Q3, { create: [{ email_address: 'one@client.example' }] });
    expect(existing.status).toBe(200);
    expect(existing.body.granted).toHaveLength(1);
  });

  it('has a generous default seat count', async () => {
    const sb = await sandbox();
    expect(sb.data.clientSeats).toBeGreaterThanOrEqual(clientCount(sb) + 50);
    const create = Array.from({ length: 20 }, (_, i) => ({ email_address: `bulk${i}@client.example` }));
    expect((await clientUsers(sb, WEBSITE, { create })).status).toBe(200);
  });
});

describe('client_enablement.json', () => {
  const enablement = (sb: Sandbox, method: 'POST' | 'DELETE', project: number, token?: string) =>
    send<{ clients_enabled?: boolean; error?: string }>(sb, method, `/projects/${project}/client_enablement.json`, undefined, { token });

  it('turns clients on and off, idempotently', async () => {
    const sb = await sandbox();
    for (let i = 0; i < 2; i++) {
      const on = await enablement(sb, 'POST', HIRING);
      expect(on).toMatchObject({ status: 200, body: { clients_enabled: true } });
    }
    expect((await send<{ clients_enabled: boolean }>(sb, 'GET', `/projects/${HIRING}.json`)).body.clients_enabled).toBe(true);
    expect((await clientUsers(sb, HIRING, { grant: [ROSA] })).body.granted.map((p) => p.id)).toEqual([ROSA]);
    expect((await clientUsers(sb, HIRING, { revoke: [ROSA] })).status).toBe(200);
    for (let i = 0; i < 2; i++) {
      const off = await enablement(sb, 'DELETE', HIRING);
      expect(off).toMatchObject({ status: 200, body: { clients_enabled: false } });
    }
    expect((await send<{ clients_enabled: boolean }>(sb, 'GET', `/projects/${HIRING}.json`)).body.clients_enabled).toBe(false);
    expect((await clientUsers(sb, HIRING, { grant: [ROSA] })).status).toBe(403);
    // Already off, no client: DELETE on the HQ is a no-op 200.
    expect(await enablement(sb, 'DELETE', HQ)).toMatchObject({ status: 200, body: { clients_enabled: false } });
  });

  it('403 for the HQ and a team, 403 while a client remains, 403 / 404 for who may not manage the project', async () => {
    const sb = await sandbox();
    expect((await enablement(sb, 'POST', HQ)).status).toBe(403);
    expect((await enablement(sb, 'POST', DESIGN_TEAM)).status).toBe(403);
    expect(sb.data.projects.get(HQ)!.clients_enabled).toBe(false);
    expect(sb.data.projects.get(DESIGN_TEAM)!.clients_enabled).toBe(false);

    const refused = await enablement(sb, 'DELETE', LAUNCH);
    expect(refused.status).toBe(403);
    expect(sb.data.projects.get(LAUNCH)!.clients_enabled).toBe(true);
    // Once every client is gone, it can be turned off.
    const clients = [...sb.data.projects.get(LAUNCH)!.members].filter((id) => isClient(sb.data.people.get(id)));
    expect((await clientUsers(sb, LAUNCH, { revoke: clients })).body.revoked).toHaveLength(clients.length);
    expect(await enablement(sb, 'DELETE', LAUNCH)).toMatchObject({ status: 200, body: { clients_enabled: false } });

    expect((await enablement(sb, 'POST', HIRING, tokenFor(sb, JAN))).status).toBe(404); // Jan is not on Hiring
    expect((await enablement(sb, 'DELETE', WEBSITE, tokenFor(sb, ADAM))).status).toBe(404); // Adam is not on Website Redesign
    expect((await enablement(sb, 'DELETE', Q3, tokenFor(sb, JAN))).status).toBe(403); // Jan is on Q3 but cannot manage people
    expect((await enablement(sb, 'POST', 2999999)).status).toBe(404);
    expect(sb.data.projects.get(HIRING)!.clients_enabled).toBe(false);
    expect(sb.data.projects.get(Q3)!.clients_enabled).toBe(true);
  });
});

describe('account enrollments', () => {
  it('201 in request order with statuses; an existing address (any case) is re-enrolled, not duplicated, not emailed again', async () => {
    const sb = await sandbox();
    const peopleBefore = sb.data.people.size;
    const r = await enroll(sb, {
      people: [
        { name: 'Nadia New', email_address: 'nadia@acme.example', title: 'Engineer', company_name: 'Acme Co' },
        { name: 'Jan', email_address: 'JAN@ACME.EXAMPLE' },
        { name: 'Ben New', email_address: 'ben@partner.example' },
      ],
    });
    expect(r.status).toBe(201);
    expect(r.body.map((p) => [p.email_address, p.status])).toEqual([
      ['nadia@acme.example', 'created'],
      ['jan@acme.example', 'existing'],
      ['ben@partner.example', 'created'],
    ]);
    expect(r.body[1]!.id).toBe(JAN);
    expect(r.body[0]).toMatchObject({ name: 'Nadia New', title: 'Engineer', client: false, personable_type: 'User', company: { id: 800001, name: 'Acme Co' } });
    // The full person: what GET /people/{id}.json answers, plus the status.
    const { status: _status, ...nadia } = r.body[0]!;
    expect((await send(sb, 'GET', `/people/${nadia.id}.json`)).body).toEqual(nadia);
    expect(sb.data.people.size).toBe(peopleBefore + 2);
    expect(sb.data.invitationsSent).toEqual(['nadia@acme.example', 'ben@partner.example']);

    const again = await enroll(sb, { people: [{ name: 'Nadia', email_address: 'Nadia@acme.example' }] });
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject([{ id: nadia.id, status: 'existing' }]);
    expect(sb.data.people.size).toBe(peopleBefore + 2);
    expect(sb.data.invitationsSent).toEqual(['nadia@acme.example', 'ben@partner.example']);

    const quiet = await enroll(sb, { people: [{ name: 'Quiet', email_address: 'quiet@acme.example' }], notify: false });
    expect(quiet.body).toMatchObject([{ status: 'created' }]);
    expect(sb.data.invitationsSent).not.toContain('quiet@acme.example');

    // A repeated address in one batch makes one person.
    const twice = await enroll(sb, { people: [{ name: 'Twin', email_address: 'twin@acme.example' }, { name: 'Twin', email_address: 'TWIN@acme.example' }] });
    expect(twice.body.map((p) => p.status)).toEqual(['created', 'existing']);
    expect(twice.body[0]!.id).toBe(twice.body[1]!.id);
  });

  it('adds everyone to the project_ids the caller can see and manage, skipping the rest silently', async () => {
    const sb = await sandbox();
    const adam = tokenFor(sb, ADAM); // on HQ, Design Team and Customer Onboarding
    const launchBefore = members(sb, LAUNCH);
    const r = await enroll(
      sb,
      { people: [{ name: 'Pat', email_address: 'pat@acme.example' }, { name: 'Jan', email_address: 'jan@acme.example' }], project_ids: [DESIGN_TEAM, LAUNCH, 2999999, ONBOARDING] },
      { token: adam },
    );
    expect(r.status).toBe(201);
    const pat = r.body[0]!;
    expect(pat.status).toBe('created');
    const on = (id: number) => [...sb.data.projects.values()].filter((p) => p.members.has(id)).map((p) => p.id);
    expect(on(pat.id)).toEqual([DESIGN_TEAM, ONBOARDING]);
    expect(on(JAN)).toContain(ONBOARDING);
    expect(members(sb, LAUNCH)).toEqual(launchBefore);

    // The owner is on every project, but a trashed one cannot be managed.
    const owner = await enroll(sb, { people: [{ name: 'Tess', email_address: 'tess@acme.example' }], project_ids: [ABANDONED, WEBSITE] });
    expect(owner.status).toBe(201);
    expect(on(owner.body[0]!.id)).toEqual([WEBSITE]);

    // Without project_ids a new person is on the account and no project.
    const bare = await enroll(sb, { people: [{ name: 'Una', email_address: 'una@acme.example' }] });
    expect(on(bare.body[0]!.id)).toEqual([]);
    expect((await send<Person>(sb, 'GET', `/people/${bare.body[0]!.id}.json`)).status).toBe(200);
  });

  it('422 names each bad entry by index, all-or-nothing; 422 {error} when people is missing or not a list', async () => {
    const sb = await sandbox();
    const peopleBefore = sb.data.people.size;
    const r = await send<{ errors: { index: number; messages: string[] }[] }>(sb, 'POST', '/account/enrollments/people.json', {
      people: [
        { name: 'Fine', email_address: 'fine@acme.example' },
        { name: 'No Email' },
        { name: '', email_address: 'blank.name@acme.example' },
        { name: 'Bad', email_address: 'bad' },
        null,
      ],
      project_ids: [WEBSITE],
    });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e) => e.index)).toEqual([1, 2, 3, 4]);
    for (const e of r.body.errors) expect(e.messages.length).toBeGreaterThan(0);
    expect(sb.data.people.size).toBe(peopleBefore);
    expect(sb.data.invitationsSent).toEqual([]);
    for (const body of [{}, { people: 'x@acme.example' }, { people: { name: 'A', email_address: 'a@acme.example' } }]) {
      const bad = await send<{ error: string }>(sb, 'POST', '/account/enrollments/people.json', body);
      expect(bad.status, JSON.stringify(body)).toBe(422);
      expect(typeof bad.body.error).toBe('string');
    }
    expect((await enroll(sb, { people: [{ name: 'A', email_address: 'a@acme.example' }] }, { contentType: 'text/plain' })).status).toBe(415);
    expect(sb.data.people.size).toBe(peopleBefore);
  });

  it('403 for a caller who cannot manage people', async () => {
    const sb = await sandbox();
    const peopleBefore = sb.data.people.size;
    const r = await enroll(sb, { people: [{ name: 'Sneaky', email_address: 'sneaky@acme.example' }] }, { token: tokenFor(sb, JAN) });
    expect(r.status).toBe(403);
    expect(sb.data.people.size).toBe(peopleBefore);
    expect(sb.data.invitationsSent).toEqual([]);
  });

  it('507 when the batch would create more people than the user limit allows; existing people still enroll', async () => {
    const probe = await sandbox();
    const team = teamCount(probe);
    const sb = await sandbox({ userLimit: team + 1 });
    const peopleBefore = sb.data.people.size;
    const two = await enroll(sb, {
      people: [{ name: 'One', email_address: 'one@acme.example' }, { name: 'Two', email_address: 'two@acme.example' }],
    });
    expect(two.status).toBe(507);
    expect(two.body).toEqual({ error: 'The user limit for this account has been reached.' });
    expect(sb.data.people.size).toBe(peopleBefore);
    expect(sb.data.invitationsSent).toEqual([]);
    const one = await enroll(sb, { people: [{ name: 'One', email_address: 'one@acme.example' }, { name: 'One', email_address: 'ONE@acme.example' }] });
    expect(one.status).toBe(201);
    expect((await enroll(sb, { people: [{ name: 'Three', email_address: 'three@acme.example' }] })).status).toBe(507);
    expect((await send<{ limits: { can_create_users: boolean } }>(sb, 'GET', '/account.json')).body.limits.can_create_users).toBe(false);
    const existing = await enroll(sb, { people: [{ name: 'Jan', email_address: 'jan@acme.example' }], project_ids: [WEBSITE] });
    expect(existing.status).toBe(201);
    expect(sb.data.projects.get(WEBSITE)!.members.has(JAN)).toBe(true);
    // The limit can be changed on a running sandbox.
    sb.data.userLimit = undefined;
    expect((await enroll(sb, { people: [{ name: 'Three', email_address: 'three@acme.example' }] })).status).toBe(201);
  });

  it('answers 404 on an account without enrollments, and has no limit by default', async () => {
    const without = await sandbox({ enrollments: false });
    const r = await enroll(without, { people: [{ name: 'A', email_address: 'a@acme.example' }] });
    expect(r.status).toBe(404);
    expect(without.data.people.size).toBe(120);
    const sb = await sandbox();
    expect(sb.data.userLimit).toBeUndefined();
    const many = Array.from({ length: 30 }, (_, i) => ({ name: `P${i}`, email_address: `p${i}@acme.example` }));
    expect((await enroll(sb, { people: many })).status).toBe(201);
  });
});

describe('person types', () => {
  it('/people.json has an Agent, a Tombstone and a DummyUser; the count and the fixed ids are unchanged', async () => {
    const sb = await sandbox();
    const people = await all<Person>(sb, '/people.json');
    expect(people).toHaveLength(120);
    const types = new Set(people.map((p) => p.personable_type));
    for (const t of ['User', 'Agent', 'Tombstone', 'DummyUser', 'Integration', 'Outsider']) expect(types, t).toContain(t);
    expect(people.find((p) => p.personable_type === 'Agent')).toMatchObject({ id: 1000120, name: 'Acme Assistant', client: false });
    expect(people.slice(0, 9).map((p) => [p.id, p.personable_type])).toEqual([
      [OWNER, 'User'],
      [ADAM, 'User'],
      [JAN, 'User'],
      [1000004, 'DummyUser'],
      [1000005, 'Integration'],
      [1000006, 'Outsider'],
      [1000007, 'Tombstone'],
      [1000008, 'User'],
      [ROSA, 'User'],
    ]);
    expect(people.find((p) => p.id === ROSA)).toMatchObject({ email_address: 'rosa.petrov@client.example', client: true });
    const big = await sandbox({ people: 500 });
    expect(big.data.people.size).toBe(500);
    expect(big.data.people.get(1000500)!.personable_type).toBe('Agent');
  });
});
