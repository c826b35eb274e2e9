import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationUrl } from '../src/auth/code-flow.js';
import { exchangeCode } from '../src/auth/oauth.js';
import { OUTSIDE_IDENTITY } from '../src/sandbox/launchpad.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { browse, BrowseStopped } from './oauth-helpers.js';

/**
 * The sandbox's Launchpad with several identities (docs/design/oauth.md §2.6): `sandbox_person` chooses who
 * approves, each person gets their own tokens, the API acts as the token's person, refreshes are counted per person.
 */

const client = { clientId: 'sandbox-client', clientSecret: 'sandbox-secret' };
// Never listened on: the browser stops there.
const redirectUri = 'http://127.0.0.1:9/callback';
const OWNER = 1000001;
const ADAM = 1000002; // an admin
const JAN = 1000003; // not an admin
const SAMPLE = 1000004; // a DummyUser: no email address, cannot sign in

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
});
afterAll(() => sb.close());

/** The code flow as `login` plays it, the browser signing in as `as`. */
async function signIn(as: number | undefined, on = sb) {
  const state = `st-${String(as)}`;
  const { query } = await browse(authorizationUrl(on.url, client.clientId, redirectUri, state), { stopAt: redirectUri, as });
  expect(query.get('state')).toBe(state);
  return exchangeCode(on.url, client, query.get('code')!, redirectUri, 'test');
}

async function api(path: string, token: string, on = sb) {
  const res = await fetch(`${on.url}/${on.accountId}${path}`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' } });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

async function authorizationJson(token: string) {
  const res = await fetch(`${sb.url}/authorization.json`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: (await res.json()) as { identity: { id: number; email_address: string }; accounts: { id: number }[] } };
}

async function refresh(refreshToken: string) {
  const res = await fetch(`${sb.url}/authorization/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ type: 'refresh', refresh_token: refreshToken, client_id: client.clientId, client_secret: client.clientSecret }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { access_token: string }).access_token;
}

describe('sandbox Launchpad identities', () => {
  it('two people through the code flow: each their own tokens, and the API answers each as themselves', async () => {
    const adam = await signIn(ADAM);
    const jan = await signIn(JAN);
    expect(adam.access_token).not.toBe(jan.access_token);
    expect(adam.refresh_token).not.toBe(jan.refresh_token);

    expect((await api('/my/profile.json', adam.access_token)).body).toMatchObject({ id: ADAM, email_address: 'adam@acme.example' });
    expect((await api('/my/profile.json', jan.access_token)).body).toMatchObject({ id: JAN, email_address: 'jan@acme.example' });
    expect((await authorizationJson(adam.access_token)).body.identity).toMatchObject({ id: 9_000_000 + ADAM, email_address: 'adam@acme.example' });
    expect((await authorizationJson(jan.access_token)).body.identity).toMatchObject({ id: 9_000_000 + JAN, email_address: 'jan@acme.example' });

    // What the API derives from the caller follows the token too: an admin sees the owner's address, Jan a mask.
    expect((await api(`/people/${OWNER}.json`, adam.access_token)).body?.email_address).toBe('olivia@acme.example');
    expect((await api(`/people/${OWNER}.json`, jan.access_token)).body?.email_address).toBe('o•••••@••••.•••••••');
  });

  it('counts refreshes per person; a refreshed token is still that person; expiring one person leaves the others', async () => {
    const adam = await signIn(ADAM);
    const jan = await signIn(JAN);
    const before = { adam: sb.refreshes(ADAM), jan: sb.refreshes(JAN), owner: sb.refreshes(OWNER) };
    const adam2 = await refresh(adam.refresh_token!);
    await refresh(adam.refresh_token!);
    const jan2 = await refresh(jan.refresh_token!);
    expect({ adam: sb.refreshes(ADAM), jan: sb.refreshes(JAN), owner: sb.refreshes(OWNER) }).toEqual({
      adam: before.adam + 2,
      jan: before.jan + 1,
      owner: before.owner,
    });
    expect((await api('/my/profile.json', adam2)).body).toMatchObject({ id: ADAM });
    expect((await api('/my/profile.json', jan2)).body).toMatchObject({ id: JAN });

    sb.expireTokensOf(JAN);
    expect((await api('/my/profile.json', jan2)).status).toBe(401);
    expect((await api('/my/profile.json', jan.access_token)).status).toBe(401);
    expect((await api('/my/profile.json', adam2)).body).toMatchObject({ id: ADAM });
    expect((await api('/my/profile.json', sb.token)).body).toMatchObject({ id: OWNER });
  });

  it('refuses an unknown sandbox_person (and people who cannot sign in) with a clear error and no code', async () => {
    for (const as of ['999', 'adam', '', '1e6', `${ADAM}x`, String(SAMPLE)]) {
      const error = await browse(authorizationUrl(sb.url, client.clientId, redirectUri, 's'), { stopAt: redirectUri, as }).catch((e: unknown) => e);
      expect(error, as).toBeInstanceOf(BrowseStopped);
      expect((error as BrowseStopped).status, as).toBe(400);
      expect((error as BrowseStopped).text, as).toContain('unknown sandbox_person');
    }
  });

  it('without sandbox_person the owner approves at once, as before', async () => {
    const owner = await signIn(undefined);
    expect((await api('/my/profile.json', owner.access_token)).body).toMatchObject({ id: OWNER, email_address: 'olivia@acme.example' });
    expect((await authorizationJson(owner.access_token)).body).toMatchObject({
      identity: { id: 9_000_000 + OWNER },
      accounts: [{ id: sb.accountId }],
    });
  });

  it('an identity outside the account: its own account listed, the sandbox account answers it 404', async () => {
    const nadia = await signIn(OUTSIDE_IDENTITY.personId);
    const auth = await authorizationJson(nadia.access_token);
    expect(auth.body.identity).toMatchObject({ id: OUTSIDE_IDENTITY.identity_id, email_address: 'nadia@elsewhere.example' });
    expect(auth.body.accounts.map((a) => a.id)).toEqual([OUTSIDE_IDENTITY.accounts[0]!.id]);
    expect(OUTSIDE_IDENTITY.accounts[0]!.id).not.toBe(sb.accountId);
    expect(await api('/my/profile.json', nadia.access_token)).toMatchObject({ status: 404 });
    expect(await api('/people.json', nadia.access_token)).toMatchObject({ status: 404 });
  });

  it('with a Basecamp 2 account: a person only there signs in as themselves; the Basecamp 3/4/5 account answers them 404', async () => {
    const both = await startSandbox({ product: 'bcx', rateLimit: { max: 10_000, windowMs: 10_000 } });
    try {
      const carla = [...both.bcx!.people.values()].find((p) => p.email_address === 'carla@client.example')!;
      expect([...both.data.people.values()].some((p) => p.email_address === carla.email_address)).toBe(false);
      const tokens = await signIn(carla.id, both);
      const me = await fetch(`${both.apiBase}/people/me.json`, { headers: { authorization: `Bearer ${tokens.access_token}`, 'user-agent': 'test' } });
      expect(await me.json()).toMatchObject({ id: carla.id, email_address: 'carla@client.example' });
      const bc3 = await fetch(`${both.url}/${both.data.accountId}/my/profile.json`, { headers: { authorization: `Bearer ${tokens.access_token}`, 'user-agent': 'test' } });
      expect(bc3.status).toBe(404);
      // The owner (the default) is one identity on both accounts, as before.
      const owner = await signIn(undefined, both);
      const profile = await fetch(`${both.url}/${both.data.accountId}/my/profile.json`, { headers: { authorization: `Bearer ${owner.access_token}`, 'user-agent': 'test' } });
      expect(await profile.json()).toMatchObject({ id: OWNER });
    } finally {
      await both.close();
    }
  });

  it('personChooser: a page with a link per person; following one signs in as them', async () => {
    const chooser = await startSandbox({ personChooser: true });
    try {
      const start = authorizationUrl(chooser.url, client.clientId, `${redirectUri}?a="b"&c=<d>`, 'st');
      const page = await fetch(start, { redirect: 'manual' });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const html = await page.text();
      expect(html).toContain('Jan Jensen');
      expect(html).toContain('Nadia Elsewhere');
      expect(html).not.toContain('Sample Person');
      expect(html).not.toMatch(/"b"|<d>/); // the redirect URI is escaped in the links
      const link = /<a href="([^"]*sandbox_person=1000003[^"]*)">Jan Jensen</.exec(html)![1]!.replace(/&#38;/g, '&');
      const back = await fetch(new URL(link, chooser.url), { redirect: 'manual' });
      expect(back.status).toBe(302);
      const code = new URL(back.headers.get('location')!).searchParams.get('code')!;
      const jan = await exchangeCode(chooser.url, client, code, `${redirectUri}?a="b"&c=<d>`, 'test');
      expect((await api('/my/profile.json', jan.access_token, chooser)).body).toMatchObject({ id: JAN });
    } finally {
      await chooser.close();
    }
  });
});
