import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { maskEmail } from '../../src/sandbox/bc3/masking.js';
import type { Sandbox } from '../../src/sandbox/server.js';
import { ADAM, call, CLIENT, JAN, LAUNCH, OWNER, structured, text, toolHarness, writes, type ToolResult } from '../helpers.js';

/**
 * Issue 16, item 1: Basecamp shows other people's addresses in full only to admins and owners (and to the person
 * themselves); everyone else gets a mask that many people share. A mask is never an address, an email look-up by
 * such a sign-in says it cannot be done, and one address held by two people is never resolved to the first.
 */

const { setup } = toolHarness();

/** The seeded clientside contacts whose masks collide (see src/sandbox/bc3/seed.ts). */
const CASEY = 'casey.north@client.example';
const CARLA = 'carla.north@client.example';
const idOf = (sb: Sandbox, email: string) => [...sb.data.people.values()].find((p) => p.email_address === email)!.id;

async function get(sb: Sandbox, path: string, token: string): Promise<{ status: number; body: unknown }> {
  const res = await request(`${sb.url}/${sb.accountId}${path}`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'masked-emails-test (t@example.test)' } });
  return { status: res.statusCode, body: await res.body.json() };
}
async function put(sb: Sandbox, path: string, token: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const res = await request(`${sb.url}/${sb.accountId}${path}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'user-agent': 'masked-emails-test (t@example.test)', 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
  });
  return { status: res.statusCode, body: await res.body.json() };
}
type Raw = { id: number; email_address: string | null };
const emailOf = (list: unknown, id: number) => (list as Raw[]).find((p) => p.id === id)?.email_address;

/** Everything a result shows: its text and its structured content. */
const everything = (r: ToolResult) => `${r.content.map((c) => c.text ?? '').join('\n')}\n${JSON.stringify(r.structuredContent ?? {})}`;

describe('the sandbox masks addresses as Basecamp does', () => {
  it('a token whose person is neither admin nor owner sees masks for everyone but themselves; admins and the owner see addresses; two people share one mask', async () => {
    const { sb } = await setup();
    const jan = sb.issueToken(JAN).access_token;
    const casey = idOf(sb, CASEY);
    const carla = idOf(sb, CARLA);
    expect(maskEmail(CASEY)).toBe('c••••••••••@••••••.•••••••');
    expect(maskEmail(CARLA)).toBe(maskEmail(CASEY));

    const all: Raw[] = [];
    for (let page = 1; ; page++) {
      const got = (await get(sb, `/people.json?page=${page}`, jan)).body as Raw[];
      if (!got.length) break;
      all.push(...got);
    }
    expect(all).toHaveLength(sb.data.people.size);
    expect(emailOf(all, JAN)).toBe('jan@acme.example');
    expect(emailOf(all, OWNER)).toBe('o•••••@••••.•••••••');
    expect(emailOf(all, casey)).toBe(maskEmail(CASEY));
    expect(emailOf(all, carla)).toBe(maskEmail(CASEY));
    expect(all.filter((p) => p.email_address && p.id !== JAN).every((p) => p.email_address!.includes('•'))).toBe(true);
    expect(((await get(sb, `/people/${OWNER}.json`, jan)).body as Raw).email_address).toBe('o•••••@••••.•••••••');
    expect(((await get(sb, '/my/profile.json', jan)).body as Raw).email_address).toBe('jan@acme.example');
    expect(emailOf((await get(sb, `/projects/${LAUNCH}/people.json`, jan)).body, OWNER)).toBe('o•••••@••••.•••••••');

    // A write's answer is masked too (Jan allowed to manage people, still not an admin).
    sb.data.people.get(JAN)!.can_manage_people = true;
    const granted = await put(sb, `/projects/${LAUNCH}/people/client_users.json`, jan, { grant: [CLIENT] });
    expect(granted.status).toBe(200);
    expect(emailOf((granted.body as { granted: Raw[] }).granted, CLIENT)).toBe(maskEmail('rosa.petrov@client.example'));

    // Admins and the owner see every address.
    for (const token of [sb.token, sb.issueToken(ADAM).access_token]) {
      expect(emailOf((await get(sb, '/people.json', token)).body, OWNER)).toBe('olivia@acme.example');
    }
  });
});

describe('a masked value is never an address', () => {
  const MASK = maskEmail(CASEY);
  const refusedEverywhere: [string, (mask: string) => Record<string, unknown>][] = [
    ['get_person', (m) => ({ email: m })],
    ['trash_person', (m) => ({ email: m, dry_run: true })],
    ['trash_person', (m) => ({ email: m })],
    ['update_project_access', (m) => ({ project_id: LAUNCH, grant: [m] })],
    ['update_project_access', (m) => ({ project_id: LAUNCH, revoke: [JAN, m] })],
    ['invite_person', (m) => ({ name: 'Casey', email_address: m })],
    ['invite_people', (m) => ({ people: [{ email_address: 'new.person@acme.example' }, { email_address: m }] })],
    ['list_changes', (m) => ({ person: m })],
    ['access_report', (m) => ({ email: m })],
    ['reconcile_people', (m) => ({ roster: [{ email_address: 'new.person@acme.example' }, { email_address: m }] })],
  ];

  it.each(refusedEverywhere)('%s refuses it before any request (invalid_input: a hidden address, use the id)', async (tool, args) => {
    const { sb, client } = await setup({ autoConfirm: true });
    for (const mask of [MASK, 'j***@***.example', 'o•••••@acme.example']) {
      const r = await call(client, tool, args(mask));
      expect(r.isError, mask).toBe(true);
      expect(text(r)).toContain('"error":"invalid_input"');
      expect(text(r)).toMatch(/is a hidden \(masked\) address/);
      expect(text(r)).toMatch(/only to admins and owners/);
      expect(text(r)).toMatch(/Use the person's id instead/);
    }
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('a * in the local part is a real address, looked up as usual; U+00B7 is not a mask either', async () => {
    const { sb, client } = await setup();
    sb.data.people.get(JAN)!.email_address = 'jan*design@acme.example';
    const r = await call(client, 'get_person', { email: 'jan*design@acme.example' });
    expect(r.isError).toBeFalsy();
    expect(structured<{ person: { id: number } }>(r).person.id).toBe(JAN);
    const catalan = await call(client, 'get_person', { email: 'col·legi@acme.example' });
    expect(text(catalan)).toMatch(/No person with email col·legi@acme\.example/);
  });
});

describe('a sign-in that sees masked addresses (not an admin or owner)', () => {
  it('shows people with email_hidden and no address, never the mask; a query does not match masks', async () => {
    const { sb, client } = await setup({ signInAs: JAN });
    const r = await call(client, 'list_people', { limit: 500 });
    const people = structured<{ people: { id: number; email_address: string | null; email_hidden?: boolean }[] }>(r).people;
    const owner = people.find((p) => p.id === OWNER)!;
    expect(owner).toMatchObject({ email_address: null, email_hidden: true });
    const me = people.find((p) => p.id === JAN)!;
    expect(me.email_address).toBe('jan@acme.example');
    expect(me.email_hidden).toBeUndefined();
    // People without any address (sample people, integrations) are not "hidden".
    expect(people.filter((p) => p.email_hidden).length).toBe([...sb.data.people.values()].filter((p) => p.email_address && p.id !== JAN && !['Tombstone', 'DummyUser'].includes(p.personable_type)).length);
    expect(everything(r)).not.toContain('•');
    expect(text(r)).toMatch(new RegExp(`^${OWNER} Olivia Owner <email hidden> \\[owner,admin\\]`, 'm'));
    expect(text(r)).toMatch(new RegExp(`^${JAN} Jan Jensen <jan@acme\\.example>`, 'm'));

    // A query never matches a mask: only names (and the addresses the sign-in can see).
    expect(structured<{ total: number }>(await call(client, 'list_people', { query: '•' })).total).toBe(0);
    expect(structured<{ total: number }>(await call(client, 'list_people', { query: '@client.example' })).total).toBe(0);
    expect(structured<{ people: { id: number }[] }>(await call(client, 'list_people', { query: 'north' })).people.map((p) => p.id).sort()).toEqual(
      [idOf(sb, CASEY), idOf(sb, CARLA)].sort(),
    );

    // One person by id, with their projects; the access report and its CSV.
    const casey = await call(client, 'get_person', { person_id: idOf(sb, CASEY) });
    expect(structured<{ person: Record<string, unknown> }>(casey).person).toMatchObject({ email_address: null, email_hidden: true });
    expect(text(casey).split('\n')[0]).toMatch(/^Casey North <email hidden> \(id \d+; client\)\.$/);
    const report = await call(client, 'access_report', { project_id: LAUNCH });
    expect(report.isError).toBeFalsy();
    expect(everything(report)).not.toContain('•');
    const csv = (report.content as unknown as { type: string; resource?: { text: string } }[]).find((c) => c.type === 'resource')!.resource!.text;
    expect(csv).not.toContain('•');
    expect(csv).toContain(`${OWNER},Olivia Owner,,false,`);
    for (const r of [casey, report]) expect(everything(r)).not.toContain('•');
  });

  it('an email look-up says Basecamp hides addresses from non-admins (kind emails_hidden), never "no such person", and changes nothing; ids still work', async () => {
    const { sb, client } = await setup({ signInAs: JAN, autoConfirm: true });
    sb.data.people.get(JAN)!.can_manage_people = true; // may manage people, still not an admin
    const hidden = (r: ToolResult) => {
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('"error":"emails_hidden"');
      expect(text(r)).toMatch(/only to admins and owners/);
      expect(text(r)).not.toMatch(/No person|is not on|[Uu]se invite_person/);
    };
    for (const address of ['olivia@acme.example', 'nobody@acme.example']) {
      const r = await call(client, 'get_person', { email: address });
      hidden(r);
      expect(text(r)).toMatch(/Use the person's id/);
    }
    hidden(await call(client, 'access_report', { email: 'olivia@acme.example' }));
    hidden(await call(client, 'reconcile_people', { roster: [{ email_address: 'olivia@acme.example' }] }));
    hidden(await call(client, 'trash_person', { email: CASEY, dry_run: true }));
    hidden(await call(client, 'trash_person', { email: CASEY }));
    hidden(await call(client, 'update_project_access', { project_id: LAUNCH, grant: ['adam@acme.example'] }));
    hidden(await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [CASEY] }));
    for (const r of [
      await call(client, 'invite_person', { name: 'Nadia New', email_address: 'nadia@acme.example' }),
      await call(client, 'invite_person', { name: 'Casey', email_address: CASEY, project_id: LAUNCH, as_client: true }),
      await call(client, 'invite_people', { people: [{ email_address: 'jan@acme.example' }, { email_address: 'nadia@acme.example' }], project_ids: [LAUNCH] }),
    ]) {
      hidden(r);
      expect(text(r)).toMatch(/Nobody was invited; nothing was changed\. Sign in as an admin or owner to invite people/);
    }
    // The people asked about are named; the one it could tell (Jan, the signed-in person) is not.
    expect(text(await call(client, 'invite_people', { people: [{ email_address: 'jan@acme.example' }, { email_address: 'nadia@acme.example' }] }))).toMatch(
      /whether nadia@acme\.example is already on the account/,
    );
    expect(writes(sb)).toHaveLength(0);
    expect(sb.data.invitationsSent).toEqual([]);

    // The signed-in person's own address is visible, so it is found; ids work as ever.
    expect(structured<{ person: { id: number } }>(await call(client, 'get_person', { email: 'JAN@acme.example' })).person.id).toBe(JAN);
    const adam = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(adam.isError).toBeFalsy();
    expect(structured<{ granted: { id: number; email_hidden?: boolean }[] }>(adam).granted).toEqual([expect.objectContaining({ id: ADAM, email_hidden: true })]);
  });
});

describe('one address, two people', () => {
  it('is refused naming both (ids), never resolved to the first, by every look-up by email', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const twin = [...sb.data.people.values()].find((p) => p.personable_type === 'User' && !p.client && !p.admin && p.id > JAN)!;
    twin.email_address = 'JAN@acme.example';
    const ambiguous = (r: ToolResult) => {
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('"error":"invalid_input"');
      expect(text(r)).toMatch(new RegExp(`jan@acme\\.example belongs to Jan Jensen \\(id ${JAN}\\) and ${twin.name} \\(id ${twin.id}\\)`));
      expect(text(r)).toMatch(/Give the person's id instead/);
    };
    ambiguous(await call(client, 'get_person', { email: 'jan@acme.example' }));
    ambiguous(await call(client, 'access_report', { email: 'jan@acme.example' }));
    ambiguous(await call(client, 'trash_person', { email: 'Jan@acme.example', dry_run: true }));
    ambiguous(await call(client, 'trash_person', { email: 'jan@acme.example' }));
    ambiguous(await call(client, 'update_project_access', { project_id: LAUNCH, revoke: ['jan@acme.example'] }));
    ambiguous(await call(client, 'invite_person', { name: 'Jan', email_address: 'jan@acme.example', project_id: LAUNCH }));
    ambiguous(await call(client, 'invite_people', { people: [{ email_address: 'jan@ACME.example' }] }));
    expect(writes(sb)).toHaveLength(0);
    // By id, each is themselves.
    expect(structured<{ person: { name: string } }>(await call(client, 'get_person', { person_id: twin.id })).person.name).toBe(twin.name);
  });
});
