import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as Client2025 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as Client2026, StreamableHTTPClientTransport as Transport2026, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { OUTSIDE_IDENTITY } from '../src/sandbox/launchpad.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { MemoryOAuthStore, personKey, type OAuthStore } from '../src/oauth/store.js';
import type { ProviderKeys } from '../src/oauth/keys.js';
import type { Config } from '../src/config.js';
import { personCredentialsFor } from '../src/oauth/person-credentials.js';
import { createSharedParts, type Service, type SharedParts } from '../src/service.js';
import { callerServices, personServices } from '../src/service-source.js';
import { serveHttp, type HttpServer } from '../src/transports/http.js';
import { ADAM, freePort, JAN, OWNER, peopleReads, sandboxService, writes, structured, testConfig, type ToolResult } from './helpers.js';
import { browse, BrowseStopped, TestClientAuth, testProviderKeys } from './oauth-helpers.js';

/**
 * MCP_AUTH=oauth end to end (issue 20, docs/design/oauth.md §3): the SDK clients' own OAuth support (discovery from the
 * 401, registration, PKCE, finishAuth, refresh) against serveHttp and the sandbox's Launchpad, with a headless browser
 * (oauth-helpers.ts browse) through our consent page and Launchpad, each person acting with their own Basecamp
 * tokens (personServices over PersonCredentials, wired as serve.ts wires it).
 */

const MODERN = '2026-07-28';
const REDIRECT = 'http://127.0.0.1:9/callback'; // never listened on: browse stops there
const sha = (v: string) => createHash('sha256').update(v).digest('hex');

interface Started {
  url: string;
  publicUrl: string;
  store: OAuthStore;
  http: HttpServer;
}

let sb: Sandbox | undefined;
let service: Service | undefined;
const servers: HttpServer[] = [];
let folder: string | undefined;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  for (const h of servers.splice(0)) await h.drain(100);
  await service?.close();
  await sb?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
  sb = service = folder = shared = config = undefined;
});

let shared: SharedParts | undefined;
let config: Config | undefined;

/** The sandbox, and as serve.ts builds them under MCP_AUTH=oauth: shared parts, the server's own service (named keys) on them. */
async function sandbox(): Promise<Sandbox> {
  if (sb) return sb;
  folder = mkdtempSync(join(tmpdir(), 'oauth-flow-'));
  sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
  config = testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accountProduct: 'bc3', auditLog: join(folder, 'audit.jsonl') });
  shared = createSharedParts(config, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { retryBaseMs: 20, retryMaxMs: 100 } });
  service = sandboxService(sb, { shared, config: { auditLog: join(folder, 'audit.jsonl') } });
  return sb;
}

async function start(options: { allowed?: string[]; accessTokenTtlSeconds?: number; keys?: ProviderKeys; store?: OAuthStore; token?: string } = {}): Promise<Started> {
  const s = await sandbox();
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const store = options.store ?? new MemoryOAuthStore();
  const launchpad = { url: s.url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', userAgent: 'oauth-flow-test' };
  // As serve.ts wires it: a signed-in person through their own service (their Basecamp tokens from the store), keys through the server's.
  const people = personServices(config!, shared!, personCredentialsFor(store, launchpad));
  closers.push(() => people.close());
  const http = await serveHttp(callerServices(service!, people), {
    port,
    ...(options.token ? { token: options.token } : {}),
    oauth: {
      publicUrl,
      store,
      keys: options.keys ?? testProviderKeys(),
      launchpad,
      accountId: s.accountId,
      accountLabel: `"${s.data.accountName}"`,
      ...(options.allowed ? { allowed: options.allowed } : {}),
      ...(options.accessTokenTtlSeconds ? { accessTokenTtlSeconds: options.accessTokenTtlSeconds } : {}),
    },
  });
  servers.push(http);
  return { url: http.url, publicUrl, store, http };
}

interface Session {
  auth: TestClientAuth;
  callTool(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  listTools(): Promise<string[]>;
}

type Era = '2026' | '2025';

/** Connect → 401 → the SDK registers and sends the browser → browse (consent, Launchpad as `as`) → finishAuth → connect again. */
async function signIn(url: string, as: number, era: Era = '2026', auth = new TestClientAuth()): Promise<Session> {
  if (era === '2026') {
    const first = new Client2026({ name: 'oauth-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    const t1 = new Transport2026(new URL(url), { authProvider: auth });
    await expect(first.connect(t1)).rejects.toBeInstanceOf(UnauthorizedError);
    const back = await browse(auth.authorizationUrl!.toString(), { stopAt: auth.redirect, as, consent: 'allow' });
    await t1.finishAuth(back.query);
    const client = new Client2026({ name: 'oauth-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await client.connect(new Transport2026(new URL(url), { authProvider: auth }));
    closers.push(() => client.close());
    return { auth, callTool: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult, listTools: async () => (await client.listTools()).tools.map((t) => t.name) };
  }
  const first = new Client2025({ name: 'oauth-2025', version: '1.0.0' });
  const t1 = new Transport2025(new URL(url), { authProvider: auth });
  await expect(first.connect(t1)).rejects.toThrow(/Unauthorized/i);
  const back = await browse(auth.authorizationUrl!.toString(), { stopAt: auth.redirect, as, consent: 'allow' });
  expect(back.query.get('iss')).toBe(new URL(url).origin);
  await t1.finishAuth(back.query.get('code')!);
  const client = new Client2025({ name: 'oauth-2025', version: '1.0.0' });
  await client.connect(new Transport2025(new URL(url), { authProvider: auth }));
  closers.push(() => client.close());
  return { auth, callTool: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult, listTools: async () => (await client.listTools()).tools.map((t) => t.name) };
}

interface Listed {
  entries: { caller: string | null; tool: string; kind: string; identity: { id: number } | null }[];
  total: number;
}

describe('MCP_AUTH=oauth: a full sign-in through the SDK clients', () => {
  it.each(['2026', '2025'] as const)('era %s: discovery from the 401, registration, consent, Launchpad, code, token; the caller is the person', async (era) => {
    const s = await start();
    const ann = await signIn(s.url, OWNER, era);
    expect(await ann.listTools()).toContain('invite_person');
    expect((await ann.callTool('get_account')).isError).toBeFalsy();
    expect(await s.store.get(personKey(9_000_000 + OWNER))).toBeDefined();
    expect((await ann.callTool('invite_person', { name: 'Nia OAuth', email_address: `nia.${era}@acme.example` })).isError).toBeFalsy();
    const listed = structured<Listed>(await ann.callTool('list_changes', { caller: 'olivia@acme.example' }));
    expect(listed.entries.map((e) => [e.caller, e.tool])).toContainEqual(['olivia@acme.example', 'invite_person']);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// By hand: what an SDK client would not do (plain PKCE, another resource, a reused refresh token).

const initBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A raw initialize at /mcp with this access token: its status and WWW-Authenticate. */
async function mcpStatus(url: string, token?: string): Promise<{ status: number; challenge: string | null; body: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: initBody,
  });
  return { status: res.status, challenge: res.headers.get('www-authenticate'), body: await res.text() };
}

async function register(publicUrl: string, redirectUris: string[] = [REDIRECT]): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${publicUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: redirectUris, client_name: 'Raw Client', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'mcp' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(publicUrl: string, clientId: string, params: Record<string, string | undefined>): string {
  const url = new URL(`${publicUrl}/authorize`);
  const all: Record<string, string | undefined> = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'mcp', state: 'client-state', resource: `${publicUrl}/mcp`, ...params };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) url.searchParams.set(k, v);
  return url.toString();
}

async function tokenRequest(publicUrl: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Register, authorize as `as` through the browser, exchange the code: the client's tokens. */
async function rawSignIn(s: Started, as = OWNER): Promise<{ clientId: string; access: string; refresh: string }> {
  const clientId = String((await register(s.publicUrl)).body.client_id);
  const { verifier, challenge } = pkcePair();
  const back = await browse(authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256' }), { stopAt: REDIRECT, as, consent: 'allow' });
  const code = back.query.get('code');
  expect(code, back.query.toString()).toBeTruthy();
  const t = await tokenRequest(s.publicUrl, { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${s.publicUrl}/mcp` });
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  return { clientId, access: t.body.access_token!, refresh: t.body.refresh_token! };
}

describe('MCP_AUTH=oauth: discovery', () => {
  it('no token or a bad one: 401 naming the protected-resource metadata; PRM and RFC 8414 metadata are served', async () => {
    const s = await start();
    const metadata = `${s.publicUrl}/.well-known/oauth-protected-resource/mcp`;
    const none = await mcpStatus(s.url);
    expect(none.status).toBe(401);
    expect(none.challenge).toBe(`Bearer error="invalid_token", error_description="Missing Authorization header", resource_metadata="${metadata}"`);
    const bad = await mcpStatus(s.url, 'not-a-token');
    expect(bad.status).toBe(401);
    expect(bad.challenge).toMatch(new RegExp(`^Bearer error="invalid_token", .*resource_metadata="${metadata}"$`));
    const prm = (await (await fetch(metadata)).json()) as Record<string, unknown>;
    expect(prm).toMatchObject({ resource: `${s.publicUrl}/mcp`, authorization_servers: [s.publicUrl], scopes_supported: ['mcp'] });
    const as = (await (await fetch(`${s.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as).toMatchObject({
      issuer: s.publicUrl,
      authorization_endpoint: `${s.publicUrl}/authorize`,
      token_endpoint: `${s.publicUrl}/token`,
      registration_endpoint: `${s.publicUrl}/register`,
      revocation_endpoint: `${s.publicUrl}/revoke`,
      code_challenge_methods_supported: ['S256'],
      authorization_response_iss_parameter_supported: true,
    });
    // Nothing else is served beside /mcp and the OAuth routes.
    expect((await fetch(`${s.publicUrl}/me`)).status).toBe(404);
    expect((await fetch(`${s.publicUrl}/session/end`)).status).toBe(404);
  });
});

describe('MCP_AUTH=oauth: registration and the authorization request', () => {
  it('registers loopback and https redirect URIs; any other is refused with 400 before the provider sees it', async () => {
    const s = await start();
    for (const uris of [[REDIRECT], ['http://localhost:7777/cb'], ['http://[::1]:7777/cb'], ['https://app.example/cb']]) expect((await register(s.publicUrl, uris)).status, uris[0]).toBe(201);
    for (const uris of [['http://evil.example/cb'], [REDIRECT, 'http://evil.example/cb'], ['https://127.0.0.1/cb'], ['javascript:alert(1)']]) {
      const r = await register(s.publicUrl, uris);
      expect(r.status, uris.join()).toBe(400);
      expect(r.body.error).toBe('invalid_redirect_uri');
    }
  });

  it('PKCE S256 is required: no challenge or a plain one is refused', async () => {
    const s = await start();
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    for (const params of [{}, { code_challenge: challenge, code_challenge_method: 'plain' }]) {
      const back = await browse(authorizeUrl(s.publicUrl, clientId, params), { stopAt: REDIRECT, as: OWNER, consent: 'allow' });
      expect(back.query.get('error'), JSON.stringify(params)).toBe('invalid_request');
      expect(back.query.get('error_description')).toMatch(/PKCE|code_challenge/);
    }
  });

  it('a resource other than <public>/mcp is refused (invalid_target)', async () => {
    const s = await start();
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    const back = await browse(authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256', resource: 'https://other.test/mcp' }), { stopAt: REDIRECT, as: OWNER, consent: 'allow' });
    expect(back.query.get('error')).toBe('invalid_target');
  });
});

describe('MCP_AUTH=oauth: who may sign in', () => {
  async function attempt(s: Started, as: number, options: { consent?: 'allow' | 'deny' } = {}) {
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    return browse(authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256' }), { stopAt: REDIRECT, as, consent: options.consent ?? 'allow' });
  }

  it('Deny at our consent page: access_denied, and Launchpad is never asked', async () => {
    const s = await start();
    const before = sb!.requests.length;
    const back = await attempt(s, OWNER, { consent: 'deny' });
    expect(back.query.get('error')).toBe('access_denied');
    expect(back.query.get('state')).toBe('client-state');
    expect(sb!.requests.length).toBe(before);
    expect(await s.store.get(personKey(9_000_000 + OWNER))).toBeUndefined();
  });

  it('a person outside the account: access_denied with a description, no code, no person record', async () => {
    const s = await start();
    const back = await attempt(s, OUTSIDE_IDENTITY.personId);
    expect(back.query.get('error')).toBe('access_denied');
    expect(back.query.get('error_description')).toMatch(/not a member of the Basecamp account/);
    expect(back.query.get('code')).toBeNull();
    expect(await s.store.get(personKey(OUTSIDE_IDENTITY.identity_id))).toBeUndefined();
  });

  it('MCP_OAUTH_ALLOWED: a person on the account but not on the list is refused; one on it gets in', async () => {
    const s = await start({ allowed: ['olivia@acme.example', '@other.example'] });
    const refused = await attempt(s, JAN);
    expect(refused.query.get('error')).toBe('access_denied');
    expect(refused.query.get('error_description')).toMatch(/MCP_OAUTH_ALLOWED/);
    expect(await s.store.get(personKey(9_000_000 + JAN))).toBeUndefined();
    expect((await attempt(s, OWNER)).query.get('code')).toBeTruthy();
  });
});

describe('MCP_AUTH=oauth: the browser\'s way cannot be forged', () => {
  /** Browse until Launchpad sends the browser back to our callback; return that URL and the browser's jar. */
  async function untilCallback(s: Started): Promise<{ callback: URL; jar: Map<string, string> }> {
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    const jar = new Map<string, string>();
    const back = await browse(authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256' }), { stopAt: `${s.publicUrl}/oauth/launchpad/callback`, as: OWNER, consent: 'allow', jar });
    return { callback: back.url, jar };
  }

  it('the consent page names the client, where it returns and the account; what a client registers is escaped', async () => {
    const s = await start();
    const res = await fetch(`${s.publicUrl}/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example/cb'], client_name: '<script>alert(1)</script>Evil "Co"', token_endpoint_auth_method: 'none', grant_types: ['authorization_code'], response_types: ['code'] }),
    });
    const clientId = String(((await res.json()) as { client_id: string }).client_id);
    const { challenge } = pkcePair();
    const stopped = (await browse(authorizeUrl(s.publicUrl, clientId, { redirect_uri: 'https://app.example/cb', code_challenge: challenge, code_challenge_method: 'S256' }), { stopAt: 'https://app.example/' }).catch((e: unknown) => e)) as BrowseStopped;
    expect(stopped).toBeInstanceOf(BrowseStopped);
    expect(stopped.status).toBe(200);
    expect(stopped.text).not.toContain('<script>');
    expect(stopped.text).toContain('&#60;script&#62;alert(1)&#60;/script&#62;Evil &#34;Co&#34;');
    expect(stopped.text).toContain('returning to <strong>app.example</strong>');
    expect(stopped.text).toContain(sb!.data.accountName);
  });

  it('a Launchpad state used twice, or made up, gets a 400 page', async () => {
    const s = await start();
    const { callback, jar } = await untilCallback(s);
    const done = await browse(callback.toString(), { stopAt: REDIRECT, jar });
    expect(done.query.get('code')).toBeTruthy();
    for (const target of [callback.toString(), `${s.publicUrl}/oauth/launchpad/callback?code=x&state=forged`, `${s.publicUrl}/oauth/launchpad/callback`]) {
      const res = await fetch(target, { redirect: 'manual' });
      expect(res.status, target).toBe(400);
      expect(await res.text()).toMatch(/unknown or was already used/);
    }
  });

  it('a callback opened in another browser cannot finish the sign-in', async () => {
    const s = await start();
    const { callback } = await untilCallback(s);
    const elsewhere = browse(callback.toString(), { stopAt: REDIRECT, jar: new Map() });
    await expect(elsewhere).rejects.toBeInstanceOf(BrowseStopped);
    // Refused at the callback itself (the state is bound to the browser that allowed: oauth-attack.test.ts), before Launchpad's code is redeemed.
    await expect(elsewhere).rejects.toMatchObject({ status: 400, url: expect.stringContaining('/oauth/launchpad/callback?'), text: expect.stringMatching(/not started in this browser/) });
  });

  it('the consent form: a forged csrf value, or another Origin, is refused (403) and Launchpad is never asked', async () => {
    const s = await start();
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { challenge } = pkcePair();
    const start1 = authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256' });
    const before = sb!.requests.length;
    await expect(browse(start1, { stopAt: REDIRECT, as: OWNER, consent: 'allow', csrf: 'forged' })).rejects.toMatchObject({ status: 403 });
    await expect(browse(start1, { stopAt: REDIRECT, as: OWNER, consent: 'allow', origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
    expect(sb!.requests.length).toBe(before);
  });
});

describe('MCP_AUTH=oauth: tokens', () => {
  it('a token of another server instance is refused (401)', async () => {
    const a = await start();
    const b = await start();
    const { access } = await rawSignIn(a);
    expect((await mcpStatus(a.url, access)).status).toBe(200);
    expect((await mcpStatus(b.url, access)).status).toBe(401);
  });

  it('refresh tokens rotate; the old one presented again ends the whole sign-in (family revoked, /mcp 401)', async () => {
    const s = await start();
    const first = await rawSignIn(s);
    const r1 = await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: first.refresh, client_id: first.clientId });
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(first.refresh);
    expect((await mcpStatus(s.url, r1.body.access_token)).status).toBe(200);
    expect(await s.store.get(`oidc:AccessToken:${sha(r1.body.access_token!)}`)).toBeDefined(); // kept under its hash, never in clear
    const reuse = await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: first.refresh, client_id: first.clientId });
    expect(reuse.body.error).toBe('invalid_grant');
    expect((await mcpStatus(s.url, r1.body.access_token)).status).toBe(401);
    // The whole family is gone from the store, not only refused (the adapter's revokeByGrantId).
    for (const [model, token] of [['AccessToken', r1.body.access_token!], ['RefreshToken', r1.body.refresh_token!], ['AccessToken', first.access]] as const) {
      expect(await s.store.get(`oidc:${model}:${sha(token)}`), model).toBeUndefined();
    }
    expect((await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: r1.body.refresh_token!, client_id: first.clientId })).body.error).toBe('invalid_grant');
  });

  it('lifetimes: access tokens 10 minutes; a sign-in 30 days, absolute (a rotated refresh token keeps what was left)', async () => {
    const s = await start();
    const DAYS_30 = 30 * 24 * 3600;
    const clientId = String((await register(s.publicUrl)).body.client_id);
    const { verifier, challenge } = pkcePair();
    const back = await browse(authorizeUrl(s.publicUrl, clientId, { code_challenge: challenge, code_challenge_method: 'S256' }), { stopAt: REDIRECT, as: OWNER, consent: 'allow' });
    const t = await tokenRequest(s.publicUrl, { grant_type: 'authorization_code', code: back.query.get('code')!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier });
    expect(Number(t.body.expires_in)).toBe(600);
    const payload = async (model: string, id: string) => (JSON.parse((await s.store.get(`oidc:${model}:${sha(id)}`))!) as { p: { exp: number; iat: number } }).p;
    const first = await payload('RefreshToken', t.body.refresh_token!);
    expect(first.exp - first.iat).toBe(DAYS_30);
    const [grantId] = await s.store.members(`grants-of:${9_000_000 + OWNER}`);
    const grant = await payload('Grant', grantId!);
    expect(grant.exp - grant.iat).toBe(DAYS_30);
    const person = JSON.parse((await s.store.get(personKey(9_000_000 + OWNER)))!) as { signed_in_at: string };
    expect(Date.now() - Date.parse(person.signed_in_at)).toBeLessThan(60_000);
    await sleep(2_100); // two seconds of age: a renewed lifetime would end 2 s later
    const r1 = await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: t.body.refresh_token!, client_id: clientId });
    const rotated = await payload('RefreshToken', r1.body.refresh_token!);
    expect(rotated.iat).toBeGreaterThan(first.iat);
    expect(Math.abs(rotated.exp - first.exp)).toBeLessThanOrEqual(1);
  });

  it('/revoke: a revoked access token gets 401', async () => {
    const s = await start();
    const { access, clientId } = await rawSignIn(s);
    expect((await mcpStatus(s.url, access)).status).toBe(200);
    const res = await fetch(`${s.publicUrl}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: access, client_id: clientId }).toString() });
    expect(res.status).toBe(200);
    expect((await mcpStatus(s.url, access)).status).toBe(401);
  });

  it('a person whose Basecamp tokens are gone (signed out, grant dead) gets 401 invalid_token', async () => {
    const s = await start();
    const { access } = await rawSignIn(s);
    expect((await mcpStatus(s.url, access)).status).toBe(200);
    await s.store.del(personKey(9_000_000 + OWNER));
    const refused = await mcpStatus(s.url, access);
    expect(refused.status).toBe(401);
    expect(refused.challenge).toMatch(/error="invalid_token"/);
  });

  it('a token whose grant is gone (expired after 30 days, or deleted) is refused', async () => {
    const s = await start();
    const { access } = await rawSignIn(s);
    expect((await mcpStatus(s.url, access)).status).toBe(200);
    const grants = await s.store.members(`grants-of:${9_000_000 + OWNER}`);
    expect(grants).toHaveLength(1);
    await s.store.del(`oidc:Grant:${sha(grants[0]!)}`);
    expect((await mcpStatus(s.url, access)).status).toBe(401);
  });

  it('short-lived access tokens: the SDK client refreshes by itself and goes on', async () => {
    const s = await start({ accessTokenTtlSeconds: 2 });
    const ann = await signIn(s.url, OWNER);
    const before = ann.auth.saved!.access_token;
    expect((await ann.callTool('get_account')).isError).toBeFalsy();
    await sleep(2_600);
    expect((await mcpStatus(s.url, before)).status).toBe(401);
    expect((await ann.callTool('get_account')).isError).toBeFalsy();
    expect(ann.auth.saved!.access_token).not.toBe(before);
  });

  it('named keys still work beside OAuth (with their roles); no key set means nobody is anonymous', async () => {
    const key = 'a-named-key-beside-oauth-0123456789abcdef';
    const s = await start({ token: key });
    expect((await mcpStatus(s.url, key)).status).toBe(200);
    const open = await start();
    expect((await mcpStatus(open.url)).status).toBe(401);
  });
});

describe('MCP_AUTH=oauth: people at once, in the audit trail', () => {
  it('three people signed in at once, in both eras: each acts as themselves with their own Basecamp tokens (me, permissions, cache, audit trail)', async () => {
    const s = await start();
    const [olivia, adam, jan] = [await signIn(s.url, OWNER, '2026'), await signIn(s.url, ADAM, '2025'), await signIn(s.url, JAN, '2026')];
    const tokenOf = async (personId: number) => `Bearer ${(JSON.parse((await s.store.get(personKey(9_000_000 + personId)))!) as { access_token: string }).access_token}`;
    const me = async (session: Session) => structured<{ person: { id: number } }>(await session.callTool('get_person', { me: true })).person.id;
    expect([await me(olivia), await me(adam), await me(jan)]).toEqual([OWNER, ADAM, JAN]);

    // Olivia's listing fills her cache; Jan's first one still goes to Basecamp, with Jan's own token, and is masked for him.
    await olivia.callTool('list_people', {});
    const before = peopleReads(sb!).length;
    const listed = structured<{ people: { id: number; email_address: string | null }[] }>(await jan.callTool('list_people', {}));
    const janReads = peopleReads(sb!).slice(before);
    expect(janReads.length).toBeGreaterThan(0);
    const janToken = await tokenOf(JAN);
    expect(janReads.map((r) => r.authorization)).toEqual(janReads.map(() => janToken));
    expect(listed.people.find((p) => p.id === OWNER)?.email_address).not.toBe('olivia@acme.example');
    // No Basecamp request ever carried anything but one of the three people's own tokens (never the server's).
    const tokens = new Set([await tokenOf(OWNER), await tokenOf(ADAM), janToken]);
    expect(sb!.apiRequests().every((r) => tokens.has(r.authorization ?? ''))).toBe(true);

    // Basecamp's permissions are each person's: Jan (not an admin) cannot invite; Adam and Olivia can.
    const janInvite = await jan.callTool('invite_person', { name: 'Jo Jan', email_address: 'jo.jan@acme.example' });
    expect(janInvite.isError).toBe(true);
    expect(JSON.stringify(janInvite.content)).toMatch(/emails_hidden/);
    const adamInvite = await adam.callTool('invite_person', { name: 'Al Adam', email_address: 'al.adam@acme.example' });
    expect(adamInvite.isError, JSON.stringify(adamInvite.content)).toBeFalsy();
    const oliviaInvite = await olivia.callTool('invite_person', { name: 'Al Olivia', email_address: 'al.olivia@acme.example' });
    expect(oliviaInvite.isError, JSON.stringify(oliviaInvite.content)).toBeFalsy();
    const inviteWrites = writes(sb!);
    expect(inviteWrites.length).toBeGreaterThan(0);
    expect(inviteWrites.every((r) => r.authorization === janToken)).toBe(false);

    // The audit trail names each caller and identity; an admin sees everyone's changes, Jan only his own.
    const all = structured<Listed>(await olivia.callTool('list_changes', {}));
    const invites = all.entries.filter((e) => e.tool === 'invite_person');
    expect(invites.filter((e) => e.caller !== 'jan@acme.example').map((e) => [e.caller, e.identity?.id]).sort()).toEqual([
      ['adam@acme.example', ADAM],
      ['olivia@acme.example', OWNER],
    ]);
    const his = structured<Listed & { only_yours?: boolean }>(await jan.callTool('list_changes', {}));
    expect(his.only_yours).toBe(true);
    expect(his.entries.every((e) => e.caller === 'jan@acme.example' && e.identity?.id === JAN)).toBe(true);
  });

  it('no token, Launchpad token or secret is written to stdout or stderr through a whole flow', async () => {
    const said: string[] = [];
    const capture = (chunk: unknown) => (said.push(String(chunk)), true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    try {
      const s = await start();
      const ann = await signIn(s.url, OWNER);
      await ann.callTool('get_account');
      const raw = await rawSignIn(s, JAN);
      await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: raw.refresh, client_id: raw.clientId });
      await tokenRequest(s.publicUrl, { grant_type: 'refresh_token', refresh_token: raw.refresh, client_id: raw.clientId });
      const person = JSON.parse((await s.store.get(personKey(9_000_000 + OWNER)))!) as { access_token: string; refresh_token: string };
      const secrets = [ann.auth.saved!.access_token, ann.auth.saved!.refresh_token!, raw.access, raw.refresh, person.access_token, person.refresh_token, 'sandbox-secret'];
      const text = said.join('');
      for (const secret of secrets) expect(text.includes(secret), secret.slice(0, 6)).toBe(false);
      // oidc-provider's one line on Node 20 is allowed; nothing else of its own.
      expect(text.split('\n').filter((l) => /oidc-provider/.test(l) && !/Unsupported runtime/.test(l))).toEqual([]);
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
  });
});

describe('MCP_AUTH=oauth from the built CLI (dist/, bundled without syntax minification, which would drop oidc-provider\'s class names)', () => {
  it('`serve --http --sandbox` with MCP_AUTH=oauth: a quiet start, and a whole sign-in through the bundle', async () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const proc: ChildProcessWithoutNullStreams = spawn(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', String(port), '--people', '30'], {
      env: { ...process.env, BASECAMP_LOG_LEVEL: 'info', MCP_AUTH: 'oauth', MCP_PUBLIC_URL: publicUrl, MCP_TOKEN_KEY: randomBytes(32).toString('base64') },
    });
    let err = '';
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    closers.push(async () => proc.kill());
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not started: ${err}`)), 15_000);
      proc.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (/MCP_AUTH=oauth: people sign in/.test(err) && /serving \d+ tools/.test(err)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    const ann = await signIn(`${publicUrl}/mcp`, OWNER);
    expect((await ann.callTool('get_account')).isError).toBeFalsy();
    const jan = await signIn(`${publicUrl}/mcp`, JAN, '2025');
    expect(await jan.listTools()).toContain('list_people');
    // oidc-provider says one thing on Node 20 (its runtime warning), nothing else; stdout stays empty.
    expect(err.split('\n').filter((l) => /oidc-provider/i.test(l) && !/Unsupported runtime/.test(l))).toEqual([]);
    expect(out).toBe('');
    expect(proc.exitCode).toBeNull();
  }, 30_000);
});
