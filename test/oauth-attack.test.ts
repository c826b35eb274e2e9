import { createHash, randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { MemoryOAuthStore, personKey } from '../src/oauth/store.js';
import { personCredentialsFor } from '../src/oauth/person-credentials.js';
import { createSharedParts, type Service } from '../src/service.js';
import { callerServices, personServices } from '../src/service-source.js';
import { serveHttp, type HttpServer } from '../src/transports/http.js';
import { freePort, JAN, OWNER, sandboxService, testConfig } from './helpers.js';
import { browse, BrowseStopped, testProviderKeys } from './oauth-helpers.js';
import { emailAllowed } from '../src/oauth/interaction.js';
import { AddressLimit } from '../src/oauth/address-limit.js';

/**
 * MCP_AUTH=oauth attacked (issue 20 review): each test is one attack on the authorization server in front of Launchpad,
 * run against an in-process serveHttp and the sandbox on 127.0.0.1 only.
 */

const REDIRECT = 'http://127.0.0.1:9/callback'; // never listened on: browse stops there
const identityOf = (personId: number) => 9_000_000 + personId;

let sb: Sandbox | undefined;
let service: Service | undefined;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await service?.close();
  await sb?.close();
  sb = service = undefined;
});

interface Started {
  url: string;
  publicUrl: string;
  store: MemoryOAuthStore;
  http: HttpServer;
}

async function start(options: { publicUrl?: string; allowed?: string[]; store?: MemoryOAuthStore; port?: number; launchpadUrl?: string; limits?: { registrations?: number; authorizations?: number } } = {}): Promise<Started> {
  sb ??= await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
  const config = testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accountProduct: 'bc3' });
  const shared = createSharedParts(config, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { retryBaseMs: 20, retryMaxMs: 100 } });
  service ??= sandboxService(sb, { shared });
  const port = options.port ?? (await freePort());
  const publicUrl = options.publicUrl ?? `http://127.0.0.1:${port}`;
  const store = options.store ?? new MemoryOAuthStore();
  const launchpad = { url: options.launchpadUrl ?? sb.url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', userAgent: 'oauth-attack-test' };
  const people = personServices(config, shared, personCredentialsFor(store, launchpad));
  closers.push(() => people.close());
  const http = await serveHttp(callerServices(service, people), { port, oauth: { publicUrl, store, keys: testProviderKeys(), launchpad, accountId: sb.accountId, ...(options.allowed ? { allowed: options.allowed } : {}), ...(options.limits ? { limits: options.limits } : {}) } });
  closers.unshift(() => http.drain(100));
  return { url: http.url, publicUrl, store, http };
}

async function register(publicUrl: string, body: Record<string, unknown> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${publicUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: 'Attack Client', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'mcp', ...body }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(publicUrl: string, clientId: string, challenge: string): string {
  const url = new URL(`${publicUrl}/authorize`);
  const all = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'mcp', state: 'client-state', resource: `${publicUrl}/mcp`, code_challenge: challenge, code_challenge_method: 'S256' };
  for (const [k, v] of Object.entries(all)) url.searchParams.set(k, v);
  return url.toString();
}

async function tokenRequest(publicUrl: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('OAuth attack: the Launchpad round trip is bound to the browser that started it', () => {
  /**
   * The attacker starts a sign-in in their own browser with their own client, allows at our consent page, and stops at
   * Launchpad: that link (a real Launchpad address, carrying our state) goes to the victim. The victim signs in at
   * Launchpad; Launchpad sends the victim's browser to our callback with the victim's code and the attacker's state.
   */
  async function attackerUntilLaunchpad(s: Started): Promise<{ launchpadLink: URL; jar: Map<string, string>; clientId: string; verifier: string; uid: string }> {
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { verifier, challenge } = pkcePair();
    const jar = new Map<string, string>();
    const back = await browse(authorizeUrl(s.publicUrl, clientId, challenge), { stopAt: `${sb!.url}/authorization/new`, consent: 'allow', jar });
    const uid = /\/oauth\/interaction\/([^/]+)\/consent/.exec(back.hops.find((h) => h.includes('/consent')) ?? '')?.[1];
    expect(uid).toBeTruthy();
    return { launchpadLink: back.url, jar, clientId, verifier, uid: uid! };
  }

  it("a victim who follows the attacker's Launchpad link does not sign the attacker in as the victim", async () => {
    const s = await start();
    const attacker = await attackerUntilLaunchpad(s);
    // The victim (Jan), in their own browser, signs in at Launchpad through the attacker's link.
    const victim = browse(attacker.launchpadLink.toString(), { stopAt: REDIRECT, as: JAN, jar: new Map() });
    await expect(victim).rejects.toBeInstanceOf(BrowseStopped);
    // The attacker's browser (it holds the interaction cookie) goes to /done: it must not get a code as Jan.
    const done = await browse(`${s.publicUrl}/oauth/interaction/${attacker.uid}/done`, { stopAt: REDIRECT, jar: attacker.jar }).catch((e: unknown) => e);
    if (!(done instanceof BrowseStopped)) {
      const code = (done as { query: URLSearchParams }).query.get('code');
      expect(code, 'the attacker got an authorization code after the victim signed in at Launchpad').toBeNull();
    }
    // Jan's Basecamp tokens were never stored on the attacker's behalf.
    expect(await s.store.get(personKey(identityOf(JAN)))).toBeUndefined();
  });

  it("an attacker's Launchpad callback (their code) opened in a victim's browser is refused before the code is redeemed", async () => {
    const s = await start();
    const attacker = await attackerUntilLaunchpad(s);
    // The attacker signs in at Launchpad as themselves but stops at our callback, and sends that link to the victim.
    const callback = await browse(attacker.launchpadLink.toString(), { stopAt: `${s.publicUrl}/oauth/launchpad/callback`, as: OWNER, jar: new Map() });
    const res = await fetch(callback.url, { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await s.store.get(personKey(identityOf(OWNER)))).toBeUndefined();
  });

  it('the browser that started the sign-in still finishes it', async () => {
    const s = await start();
    const attacker = await attackerUntilLaunchpad(s);
    const done = await browse(attacker.launchpadLink.toString(), { stopAt: REDIRECT, as: JAN, jar: attacker.jar });
    const code = done.query.get('code');
    expect(code).toBeTruthy();
    const t = await tokenRequest(s.publicUrl, { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, client_id: attacker.clientId, code_verifier: attacker.verifier, resource: `${s.publicUrl}/mcp` });
    expect(t.status).toBe(200);
    expect(await s.store.get(personKey(identityOf(JAN)))).toBeDefined();
  });
});

describe('OAuth attack: the URLs the authorization server hands out', () => {
  it('behind a proxy (https public URL), a forged X-Forwarded-Host or -Proto does not move the endpoints in the metadata', async () => {
    const s = await start({ publicUrl: 'https://mcp.example' });
    for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
      const res = await fetch(`${s.url.replace(/\/mcp$/, '')}${path}`, { headers: { host: 'mcp.example', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' } });
      expect(res.status).toBe(200);
      const doc = (await res.json()) as Record<string, unknown>;
      for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'registration_endpoint', 'revocation_endpoint', 'jwks_uri']) {
        expect(String(doc[key]), `${path} ${key}`).toMatch(/^https:\/\/mcp\.example(\/|$)/);
      }
    }
  });
});

const initBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function mcpStatus(url: string, token: string): Promise<number> {
  const send = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` }, body: initBody });
  // Once more when a kept-alive socket of a server that was restarted on this port is found closed.
  const res = await send().catch(() => send());
  await res.body?.cancel();
  return res.status;
}

/** Register, authorize as `as` through the browser, exchange the code: the client's tokens. */
async function rawSignIn(s: Started, as: number): Promise<{ clientId: string; access: string; refresh: string }> {
  const clientId = String((await register(s.publicUrl)).body.client_id);
  const { verifier, challenge } = pkcePair();
  const back = await browse(authorizeUrl(s.publicUrl, clientId, challenge), { stopAt: REDIRECT, as, consent: 'allow' });
  const t = await tokenRequest(s.publicUrl, { grant_type: 'authorization_code', code: back.query.get('code') ?? '', redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${s.publicUrl}/mcp` });
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  return { clientId, access: t.body.access_token!, refresh: t.body.refresh_token! };
}

describe('OAuth attack: who may act is checked on every call, not only at sign-in', () => {
  it('a person taken off MCP_OAUTH_ALLOWED (restart with a narrower list, same store) is refused at once, not for 30 days', async () => {
    const store = new MemoryOAuthStore();
    const before = await start({ store });
    const jan = await rawSignIn(before, JAN);
    expect(await mcpStatus(before.url, jan.access)).toBe(200);
    await before.http.drain(100); // the same server restarted: the same public URL, the same store
    const after = await start({ store, port: Number(new URL(before.publicUrl).port), allowed: ['olivia@acme.example'] });
    expect(await mcpStatus(after.url, jan.access)).toBe(401);
    // Nor can Jan's client mint a usable token from the refresh token it holds.
    const refreshed = await tokenRequest(after.publicUrl, { grant_type: 'refresh_token', refresh_token: jan.refresh, client_id: jan.clientId });
    if (refreshed.status === 200) expect(await mcpStatus(after.url, refreshed.body.access_token!)).toBe(401);
    // Someone still on the list goes on.
    const olivia = await rawSignIn(after, OWNER);
    expect(await mcpStatus(after.url, olivia.access)).toBe(200);
  });
});

/**
 * Whether a URL passes a CSP source list as Chrome checks `form-action` (enough of CSP3 for these pages): 'none',
 * 'self' (the page's origin), `*` (http/https), scheme sources (`https:`) and origin sources (`https://host:port`).
 */
function sourceAllows(sources: string[], url: URL, self: string): boolean {
  if (sources.includes("'none'")) return false;
  return sources.some((s) => {
    if (s === "'self'") return url.origin === self;
    if (s === '*') return url.protocol === 'http:' || url.protocol === 'https:';
    if (/^[a-z][a-z0-9+.-]*:$/i.test(s)) return url.protocol === s.toLowerCase();
    try {
      return new URL(s).origin === url.origin;
    } catch {
      return false;
    }
  });
}

describe('OAuth attack: the consent page in a real browser', () => {
  /** The consent page's headers and form, then every URL its submission goes through (redirects followed) up to the client. */
  async function submission(s: Started, decision: 'allow' | 'deny'): Promise<{ headers: Headers; hops: URL[] }> {
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    const jar = new Map<string, string>();
    const remember = (res: Response) => {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    };
    const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let res = await fetch(authorizeUrl(s.publicUrl, clientId, challenge), { redirect: 'manual' });
    remember(res);
    const consentUrl = new URL(res.headers.get('location')!, s.publicUrl);
    res = await fetch(consentUrl, { headers: { cookie: cookie() } });
    remember(res);
    const headers = res.headers;
    const html = await res.text();
    const action = new URL(/<form method="post" action="([^"]+)"/.exec(html)![1]!, consentUrl);
    const csrf = /name="csrf" value="([^"]*)"/.exec(html)![1]!;
    const hops: URL[] = [action];
    res = await fetch(action, { method: 'POST', redirect: 'manual', headers: { cookie: cookie(), origin: s.publicUrl, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ csrf, decision }).toString() });
    for (let i = 0; i < 10 && res.status >= 300 && res.status < 400; i++) {
      remember(res);
      const next = new URL(res.headers.get('location')!, hops.at(-1));
      hops.push(next);
      if (next.toString().startsWith(REDIRECT)) break;
      if (next.pathname === '/authorization/new') next.searchParams.set('sandbox_person', String(OWNER));
      res = await fetch(next, { redirect: 'manual', headers: { cookie: cookie() } });
    }
    expect(hops.at(-1)!.toString().startsWith(REDIRECT), hops.join('\n')).toBe(true);
    return { headers, hops };
  }

  for (const decision of ['allow', 'deny'] as const) {
    it(`${decision}: the page's Content-Security-Policy lets its form's whole redirect chain through (Chrome and Safari check form-action on every redirect)`, async () => {
      const s = await start();
      const { headers, hops } = await submission(s, decision);
      const csp = headers.get('content-security-policy') ?? '';
      const formAction = csp.split(';').map((d) => d.trim().split(/\s+/)).find(([name]) => name === 'form-action');
      for (const hop of hops) {
        if (formAction) expect(sourceAllows(formAction.slice(1), hop, s.publicUrl), `form-action blocks ${hop.origin} (${csp})`).toBe(true);
      }
      // And it still cannot be framed (clickjacking on Allow).
      expect(headers.get('x-frame-options')).toBe('DENY');
      expect(csp).toMatch(/frame-ancestors 'none'/);
    });
  }
});

describe('OAuth attack: redirect URIs that pass the loopback/https rule in one parser but not in another', () => {
  it('a backslash, whitespace or control character in a redirect URI is refused (WHATWG reads http://127.0.0.1\\@evil.example/ as loopback, RFC 3986 as evil.example)', async () => {
    const s = await start();
    for (const uri of ['http://127.0.0.1\\@evil.example/cb', 'http://127.0.0.1\\\\evil.example/cb', 'http://127.0.0.1/cb\t', ' http://127.0.0.1/cb', 'http://127.0.0.1/c\nb', 'https://a@evil.example/cb', 'http://127.0.0.1.evil.example/cb', 'http://localhost.evil/cb', 'http://[::ffff:7f00:1]/cb', 'http://127.0.0.1/cb#x', 'https://127.0.0.1:1@evil.example/']) {
      const res = await register(s.publicUrl, { redirect_uris: [uri] });
      expect(res.status, `${JSON.stringify(uri)}: ${JSON.stringify(res.body)}`).toBe(400);
    }
    for (const uri of ['http://127.0.0.1:9/callback', 'http://[::1]:7/cb', 'http://localhost/cb', 'https://app.example/cb?x=1']) {
      expect((await register(s.publicUrl, { redirect_uris: [uri] })).status, uri).toBe(201);
    }
  });
});

describe('OAuth attack: revocation', () => {
  it("another client cannot revoke a client's tokens; the owner can; and oidc-provider prints nothing about it", async () => {
    const s = await start();
    const printed: string[] = [];
    for (const method of ['info', 'warn', 'log', 'error'] as const) vi.spyOn(console, method).mockImplementation((...args: unknown[]) => void printed.push(args.map(String).join(' ')));
    try {
      const ann = await rawSignIn(s, OWNER);
      const other = String((await register(s.publicUrl)).body.client_id);
      const revoke = (token: string, clientId: string) =>
        fetch(`${s.publicUrl}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token, client_id: clientId }).toString() });
      expect((await revoke(ann.access, other)).status).toBe(200); // RFC 7009: the same answer, nothing revoked
      expect(await mcpStatus(s.url, ann.access)).toBe(200);
      expect((await revoke(ann.access, ann.clientId)).status).toBe(200);
      expect(await mcpStatus(s.url, ann.access)).toBe(401);
    } finally {
      vi.restoreAllMocks();
    }
    expect(printed.filter((line) => /oidc-provider/.test(line) && !/Unsupported runtime/.test(line))).toEqual([]);
  });
});

describe('OAuth attack: MCP_OAUTH_ALLOWED look-alikes', () => {
  it('case aside exact; a domain entry matches that domain only (not evilx.com, not sub.x.com); no email never passes a list', () => {
    const list = ['ANN@X.COM', 'y.com', '@Z.com'];
    expect(emailAllowed('ann@x.com', list)).toBe(true);
    expect(emailAllowed(' Ann@X.com ', list)).toBe(true);
    expect(emailAllowed('bob@x.com', list)).toBe(false);
    expect(emailAllowed('ann@x.com.evil.example', list)).toBe(false);
    expect(emailAllowed('bob@Y.COM', list)).toBe(true);
    expect(emailAllowed('bob@z.com', list)).toBe(true);
    for (const email of ['bob@eviły.com', 'bob@eviy.com', 'bob@sub.y.com', 'bob@y.com.', 'bob@y.co', '"bob@y.com"@evil.example', 'y.com', 'bob@evilz.com']) {
      expect(emailAllowed(email, list), email).toBe(false);
    }
    expect(emailAllowed(null, list)).toBe(false);
    expect(emailAllowed('', list)).toBe(false);
    expect(emailAllowed(null, undefined)).toBe(true); // no list: anyone on the account, a masked email too
  });
});

describe('OAuth attack: Launchpad says no, or is not there', () => {
  it('error=access_denied from Launchpad, or Launchpad down at the callback: the client gets access_denied at once, no code, no person record', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`; // nothing listens: the code exchange fails at once
    for (const [launchpadUrl, query] of [[undefined, 'error=access_denied'], [dead, 'code=sbc_whatever']] as const) {
      const s = await start(launchpadUrl ? { launchpadUrl } : {});
      const lp = launchpadUrl ?? sb!.url;
      const clientId = String((await register(s.publicUrl)).body.client_id);
      const jar = new Map<string, string>();
      const atLaunchpad = await browse(authorizeUrl(s.publicUrl, clientId, pkcePair().challenge), { stopAt: `${lp}/authorization/new`, consent: 'allow', jar });
      const state = atLaunchpad.url.searchParams.get('state')!;
      const started = Date.now();
      const back = await browse(`${s.publicUrl}/oauth/launchpad/callback?${query}&state=${state}`, { stopAt: REDIRECT, jar });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(back.query.get('error'), query).toBe('access_denied');
      expect(back.query.get('code')).toBeNull();
      expect(back.query.get('iss')).toBe(s.publicUrl);
      expect(await s.store.get(personKey(identityOf(OWNER)))).toBeUndefined();
    }
  });
});

describe('OAuth attack: tokens stay with their client', () => {
  it("another client's refresh token is refused; a code used twice is refused and ends what the first use got", async () => {
    const s = await start();
    const ann = await rawSignIn(s, OWNER);
    const other = String((await register(s.publicUrl)).body.client_id);
    expect((await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: ann.refresh, client_id: other })).body.error).toBe('invalid_grant');
    expect(await mcpStatus(s.url, ann.access)).toBe(200); // the failed attempt ended nothing

    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { verifier, challenge } = pkcePair();
    const code = (await browse(authorizeUrl(s.publicUrl, clientId, challenge), { stopAt: REDIRECT, as: JAN, consent: 'allow' })).query.get('code')!;
    const exchange = { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${s.publicUrl}/mcp` };
    const first = await tokenRequest(s.publicUrl, exchange);
    expect(first.status).toBe(200);
    expect((await tokenRequest(s.publicUrl, exchange)).body.error).toBe('invalid_grant');
    expect(await mcpStatus(s.url, first.body.access_token!)).toBe(401);
  });
});

describe('OAuth attack: flooding what is stored before anyone signs in', () => {
  it('registrations and sign-ins started are limited per address (429 with Retry-After, nothing stored); other routes and /mcp go on', async () => {
    const s = await start({ limits: { registrations: 3, authorizations: 2 } });
    const made = [await register(s.publicUrl), await register(s.publicUrl), await register(s.publicUrl)];
    expect(made.map((r) => r.status)).toEqual([201, 201, 201]);
    const refused = await fetch(`${s.publicUrl}/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ redirect_uris: [REDIRECT], token_endpoint_auth_method: 'none' }) });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(500);
    expect(((await refused.json()) as { error: string }).error).toBe('temporarily_unavailable');

    const clientId = made[0]!.body.client_id as string;
    const { challenge } = pkcePair();
    const starts = [];
    for (let i = 0; i < 3; i++) starts.push((await fetch(authorizeUrl(s.publicUrl, clientId, challenge), { redirect: 'manual' })).status);
    expect(starts.slice(0, 2).every((status) => status === 303 || status === 302)).toBe(true);
    expect(starts[2]).toBe(429);
    // Discovery and the resource still answer.
    expect((await fetch(`${s.publicUrl}/.well-known/oauth-authorization-server`)).status).toBe(200);
    expect((await fetch(`${s.url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });

  it('the per-address window: counted per address, open again once the window has passed', () => {
    let now = 0;
    const limit = new AddressLimit(2, 1000, () => now);
    expect([limit.take('a'), limit.take('a'), limit.take('b')]).toEqual([0, 0, 0]);
    expect(limit.take('a')).toBe(1000);
    now = 600;
    expect(limit.take('a')).toBe(400);
    now = 1000;
    expect(limit.take('a')).toBe(0);
  });
});
