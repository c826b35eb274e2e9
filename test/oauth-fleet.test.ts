import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { budgetId, connectSharedBudget, redactRedisUrl, type SharedBudget } from '../src/basecamp/shared-budget.js';
import { oauthOptions } from '../src/commands/serve.js';
import type { Config } from '../src/config.js';
import { openOAuthStore } from '../src/oauth/open-store.js';
import { personKey } from '../src/oauth/store.js';
import { LAUNCHPAD_CALLBACK } from '../src/oauth/interaction.js';
import { personCredentialsFor } from '../src/oauth/person-credentials.js';
import type { OAuthServeOptions } from '../src/oauth/server.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, createSharedParts, StaticCredentials } from '../src/service.js';
import { callerServices, personServices } from '../src/service-source.js';
import { serveHttp, type HttpServer } from '../src/transports/http.js';
import { ADAM, freePort, hasRedis, JAN, OWNER, startRedis, structured, testConfig, type ToolResult } from './helpers.js';
import { browse } from './oauth-helpers.js';

/**
 * MCP_AUTH=oauth across instances (issue 20): two in-process servers wired as serve.ts wires them (oauthOptions, a
 * RedisOAuthStore each on one redis-server through the shared budget's connection, keys derived from one
 * MCP_TOKEN_KEY) behind one public URL: a small proxy on 127.0.0.1 plays the load balancer (Host kept), sending each
 * request to the instance the test names (its `route`, or an `x-instance` header it strips). And the file store
 * across a restart (one instance, MCP_OAUTH_FILE). Skipped without redis-server outside CI, like redis-fleet.
 */

const REDIRECT = 'http://127.0.0.1:9/callback'; // never listened on: browse stops there
const redisOn = hasRedis || Boolean(process.env.CI);
type Name = 'a' | 'b';

/** The load balancer: one origin, each request to the instance `route` names (an `x-instance` header wins); a log of who got what. */
class Balancer {
  readonly targets = new Map<Name, number>();
  route: (method: string, path: string) => Name = () => 'a';
  readonly seen: { to: Name; method: string; path: string }[] = [];
  private server!: Server;
  url = '';

  async start(port: number): Promise<void> {
    this.server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      const asked = req.headers['x-instance'];
      const to: Name = asked === 'a' || asked === 'b' ? asked : this.route(req.method ?? 'GET', path);
      this.seen.push({ to, method: req.method ?? 'GET', path });
      const headers = { ...req.headers };
      delete headers['x-instance'];
      const upstream = httpRequest({ host: '127.0.0.1', port: this.targets.get(to), method: req.method, path: req.url, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${port}`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

interface Instance {
  http: HttpServer;
  oauth: OAuthServeOptions;
  close(): Promise<void>;
}

const tokenKey = () => randomBytes(32).toString('base64');

/** One instance as serve.ts builds it under MCP_AUTH=oauth (--sandbox's upstream; Redis when given, else the file settings). */
async function startInstance(
  sb: Sandbox,
  config: Config,
  vars: { MCP_PUBLIC_URL: string; MCP_TOKEN_KEY: string; MCP_OAUTH_FILE?: string },
  options: { redisUrl?: string; port?: number; fileSet?: boolean; stateless?: boolean } = {},
): Promise<Instance> {
  let shared: SharedBudget | undefined;
  if (options.redisUrl) shared = await connectSharedBudget(options.redisUrl, budgetId(`${sb.url}|fleet`), config.rateLimit);
  const parts = createSharedParts(config, { budget: shared?.budget });
  const service = createService(config, { credentials: new StaticCredentials(sb.token, 'sandbox token'), shared: parts });
  const oauth = await oauthOptions({ ...vars, MCP_OAUTH_FILE: vars.MCP_OAUTH_FILE ?? '/nonexistent/oauth-store.json', MCP_OAUTH_ALLOWED: undefined, BASECAMP_CLIENT_ID: undefined, BASECAMP_CLIENT_SECRET: undefined }, config, {
    sandbox: true,
    sandboxLabel: 'the sandbox',
    ...(shared && options.redisUrl ? { redis: { client: shared.redis, where: redactRedisUrl(options.redisUrl) } } : {}),
    fileSet: options.fileSet ?? vars.MCP_OAUTH_FILE !== undefined,
  });
  const source = callerServices(service, personServices(config, parts, personCredentialsFor(oauth.store, oauth.launchpad)));
  const http = await serveHttp(source, { port: options.port ?? 0, oauth, stateless: options.stateless === true });
  return {
    http,
    oauth,
    async close() {
      await http.drain(100);
      await source.close();
      await oauth.store.close();
      await shared?.close();
    },
  };
}

/** A request through the public URL, to one instance (`x-instance`) or as the balancer routes it. */
function via(to: Name | undefined): Record<string, string> {
  return to ? { 'x-instance': to } : {};
}

const initBody = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

async function mcpStatus(publicUrl: string, token: string, to?: Name): Promise<number> {
  const res = await fetch(`${publicUrl}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`, ...via(to) },
    body: initBody,
  });
  await res.body?.cancel();
  return res.status;
}

async function tokenRequest(publicUrl: string, form: Record<string, string>, to?: Name): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${publicUrl}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...via(to) }, body: new URLSearchParams(form).toString() });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

/** Register, authorize as `as` through the browser, exchange the code; where each request goes is the balancer's route. */
async function rawSignIn(publicUrl: string, as: number): Promise<{ clientId: string; access: string; refresh: string }> {
  const reg = await fetch(`${publicUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ redirect_uris: [REDIRECT], client_name: 'Fleet Client', token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], scope: 'mcp' }),
  });
  const clientId = String(((await reg.json()) as { client_id: string }).client_id);
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${publicUrl}/authorize`);
  const params = { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'mcp', state: 's', resource: `${publicUrl}/mcp`, code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  const back = await browse(url.toString(), { stopAt: REDIRECT, as, consent: 'allow' });
  const code = back.query.get('code');
  expect(code, back.query.toString()).toBeTruthy();
  const t = await tokenRequest(publicUrl, { grant_type: 'authorization_code', code: code!, redirect_uri: REDIRECT, client_id: clientId, code_verifier: verifier, resource: `${publicUrl}/mcp` });
  expect(t.status, JSON.stringify(t.body)).toBe(200);
  return { clientId, access: t.body.access_token!, refresh: t.body.refresh_token! };
}

const clients: Client[] = [];
/** An MCP client on one instance, through the public URL, with this access token. */
async function mcpClient(publicUrl: string, token: string, to: Name): Promise<(name: string, args?: Record<string, unknown>) => Promise<ToolResult>> {
  const client = new Client({ name: `fleet-${to}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${publicUrl}/mcp`), { requestInit: { headers: { authorization: `Bearer ${token}`, ...via(to) } } }));
  clients.push(client);
  return async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult;
}
const me = async (call: (name: string, args?: Record<string, unknown>) => Promise<ToolResult>) => structured<{ person: { id: number } }>(await call('get_person', { me: true })).person.id;

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
});

describe.skipIf(!redisOn)('MCP_AUTH=oauth: a fleet of two instances sharing sign-ins through Redis', () => {
  let redis: ChildProcess | undefined;
  let sb: Sandbox;
  let lb: Balancer;
  let a: Instance;
  let b: Instance;
  let folder: string;
  let publicUrl: string;
  let redisUrl: string;
  let key: string;
  let config: (n: string) => Config;

  beforeAll(async () => {
    if (!hasRedis) throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
    folder = mkdtempSync(join(tmpdir(), 'oauth-fleet-'));
    lb = new Balancer();
    await lb.start(await freePort());
    publicUrl = lb.url;
    key = tokenKey();
    const vars = { MCP_PUBLIC_URL: publicUrl, MCP_TOKEN_KEY: key };
    // Each instance its own config (its own audit trail file: instances share Redis, not a disk).
    config = (n: string) => testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accountProduct: 'bc3', rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: join(folder, `audit-${n}.jsonl`) });
    redisUrl = `redis://127.0.0.1:${redisPort}`;
    a = await startInstance(sb, config('a'), vars, { redisUrl });
    b = await startInstance(sb, config('b'), vars, { redisUrl });
    lb.targets.set('a', Number(new URL(a.http.url).port));
    lb.targets.set('b', Number(new URL(b.http.url).port));
  }, 30_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await lb?.close();
    await sb?.close();
    redis?.kill('SIGKILL');
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('both stores are Redis; signed in through A, B acts as that person with the same token', async () => {
    expect(a.oauth.store.where).toMatch(/^redis:/);
    expect(b.oauth.store.where).toBe(a.oauth.store.where);
    lb.route = () => 'a';
    const from = lb.seen.length;
    const t = await rawSignIn(publicUrl, ADAM);
    expect(new Set(lb.seen.slice(from).map((s) => s.to))).toEqual(new Set(['a']));
    const onB = await mcpClient(publicUrl, t.access, 'b');
    expect(await me(onB)).toBe(ADAM);
    const onA = await mcpClient(publicUrl, t.access, 'a');
    expect(await me(onA)).toBe(ADAM);
  });

  it('a refresh through B works on A; the old refresh token reused on A revokes the family on both', async () => {
    lb.route = () => 'a';
    const t = await rawSignIn(publicUrl, JAN);
    const fresh = await tokenRequest(publicUrl, { grant_type: 'refresh_token', refresh_token: t.refresh, client_id: t.clientId }, 'b');
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body.refresh_token).not.toBe(t.refresh);
    expect(await mcpStatus(publicUrl, fresh.body.access_token!, 'a')).toBe(200);
    expect(await mcpStatus(publicUrl, fresh.body.access_token!, 'b')).toBe(200);
    // The rotated-out refresh token comes back on A: a replay, so the whole grant goes, on every instance.
    const replay = await tokenRequest(publicUrl, { grant_type: 'refresh_token', refresh_token: t.refresh, client_id: t.clientId }, 'a');
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    expect(await mcpStatus(publicUrl, fresh.body.access_token!, 'a')).toBe(401);
    expect(await mcpStatus(publicUrl, fresh.body.access_token!, 'b')).toBe(401);
    const after = await tokenRequest(publicUrl, { grant_type: 'refresh_token', refresh_token: fresh.body.refresh_token!, client_id: t.clientId }, 'b');
    expect(after.status).toBe(400);
  });

  it('/revoke on B: the token gets 401 on A', async () => {
    lb.route = () => 'b';
    const t = await rawSignIn(publicUrl, OWNER);
    expect(await mcpStatus(publicUrl, t.access, 'a')).toBe(200);
    const res = await fetch(`${publicUrl}/revoke`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...via('b') }, body: new URLSearchParams({ token: t.access, client_id: t.clientId }).toString() });
    expect(res.status).toBe(200);
    expect(await mcpStatus(publicUrl, t.access, 'a')).toBe(401);
    expect(await mcpStatus(publicUrl, t.access, 'b')).toBe(401);
  });

  it("the person's Basecamp token expired: 6 calls at once across A and B refresh it once at Launchpad", async () => {
    lb.route = () => 'a';
    const t = await rawSignIn(publicUrl, JAN);
    const onA = await mcpClient(publicUrl, t.access, 'a');
    const onB = await mcpClient(publicUrl, t.access, 'b');
    expect([await me(onA), await me(onB)]).toEqual([JAN, JAN]); // both instances have built Jan's service
    const stale = (JSON.parse((await a.oauth.store.get(personKey(9_000_000 + JAN)))!) as { access_token: string }).access_token;
    sb.expireTokensOf(JAN);
    const before = sb.refreshes(JAN);
    const calls = [onA, onB, onA, onB, onA, onB].map((call, i) => call('get_person', { person_id: [OWNER, ADAM, JAN][i % 3] }));
    const results = await Promise.all(calls);
    for (const r of results) expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(sb.refreshes(JAN) - before).toBe(1);
    const now = (JSON.parse((await b.oauth.store.get(personKey(9_000_000 + JAN)))!) as { access_token: string }).access_token;
    expect(now).not.toBe(stale);
  });

  it('the browser way split across instances: consent page on A, its form and the Launchpad callback on B, /done on A, the resume and the code on B', async () => {
    const at = (method: string, path: string): Name => {
      if (path === LAUNCHPAD_CALLBACK || path === '/token' || path.startsWith('/authorize/')) return 'b';
      if (method === 'POST' && path.endsWith('/consent')) return 'b';
      return 'a';
    };
    lb.route = at;
    const from = lb.seen.length;
    const t = await rawSignIn(publicUrl, ADAM);
    const hops = lb.seen.slice(from).map((s) => `${s.to} ${s.method} ${s.path.replace(/\/oauth\/interaction\/[^/]+/, '/oauth/interaction/<uid>').replace(/^\/authorize\/.+/, '/authorize/<uid>')}`);
    expect(hops).toEqual([
      'a POST /register',
      'a GET /authorize',
      'a GET /oauth/interaction/<uid>',
      'b POST /oauth/interaction/<uid>/consent',
      `b GET ${LAUNCHPAD_CALLBACK}`,
      'a GET /oauth/interaction/<uid>/done',
      // oidc-provider's resume of the authorization after the interaction (its session and interaction are in Redis)
      'b GET /authorize/<uid>',
      'b POST /token',
    ]);
    expect(await me(await mcpClient(publicUrl, t.access, 'b'))).toBe(ADAM);
  });

  it('strictly alternating instances on every request (no sticky sessions): the whole sign-in still works', async () => {
    let next: Name = 'b';
    lb.route = () => (next = next === 'a' ? 'b' : 'a');
    const from = lb.seen.length;
    const t = await rawSignIn(publicUrl, OWNER);
    expect(new Set(lb.seen.slice(from).map((s) => s.to))).toEqual(new Set(['a', 'b']));
    expect(await me(await mcpClient(publicUrl, t.access, 'a'))).toBe(OWNER);
  });

  it('--stateless instances behind a plain balancer (every request, /mcp included, to the other one): sign-in and tool calls work', async () => {
    const plain = new Balancer();
    await plain.start(await freePort());
    const vars = { MCP_PUBLIC_URL: plain.url, MCP_TOKEN_KEY: key };
    const c = await startInstance(sb, config('c'), vars, { redisUrl, stateless: true });
    const d = await startInstance(sb, config('d'), vars, { redisUrl, stateless: true });
    try {
      plain.targets.set('a', Number(new URL(c.http.url).port));
      plain.targets.set('b', Number(new URL(d.http.url).port));
      let next: Name = 'b';
      plain.route = () => (next = next === 'a' ? 'b' : 'a');
      const t = await rawSignIn(plain.url, JAN);
      const client = new Client({ name: 'plain', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${plain.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${t.access}` } } }));
      clients.push(client);
      const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as ToolResult;
      const from = plain.seen.length;
      expect([await me(call), await me(call), await me(call)]).toEqual([JAN, JAN, JAN]);
      expect(new Set(plain.seen.slice(from).filter((s) => s.path === '/mcp').map((s) => s.to))).toEqual(new Set(['a', 'b']));
    } finally {
      for (const cl of clients.splice(0)) await cl.close().catch(() => undefined);
      await c.close();
      await d.close();
      await plain.close();
    }
  });
});

describe('MCP_AUTH=oauth: a restart keeps people signed in (MCP_OAUTH_FILE)', () => {
  let sb: Sandbox | undefined;
  let folder: string | undefined;
  const running: Instance[] = [];
  afterAll(async () => {
    for (const i of running.splice(0)) await i.close().catch(() => undefined);
    await sb?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('sign in, stop the server, start it again on the same port and file: the same token works and refreshes', async () => {
    sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
    folder = mkdtempSync(join(tmpdir(), 'oauth-restart-'));
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const vars = { MCP_PUBLIC_URL: publicUrl, MCP_TOKEN_KEY: tokenKey(), MCP_OAUTH_FILE: join(folder, 'oauth-store.json') };
    const config = testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accountProduct: 'bc3', auditLog: join(folder, 'audit.jsonl') });
    const first = await startInstance(sb, config, vars, { port });
    running.push(first);
    expect(first.oauth.store.where).toBe(vars.MCP_OAUTH_FILE);
    const t = await rawSignIn(publicUrl, ADAM);
    expect(await me(await mcpClient(publicUrl, t.access, 'a'))).toBe(ADAM);
    for (const c of clients.splice(0)) await c.close();
    await first.close();
    running.pop();
    await expect(fetch(publicUrl)).rejects.toThrow(); // nothing listens any more

    const second = await startInstance(sb, config, vars, { port });
    running.push(second);
    expect(await mcpStatus(publicUrl, t.access)).toBe(200);
    expect(await me(await mcpClient(publicUrl, t.access, 'a'))).toBe(ADAM); // Adam's Basecamp tokens came back from the file too
    const fresh = await tokenRequest(publicUrl, { grant_type: 'refresh_token', refresh_token: t.refresh, client_id: t.clientId });
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(await mcpStatus(publicUrl, fresh.body.access_token!)).toBe(200);
    // The store holds no token in clear (keys hold hashes of tokens, by design).
    const text = readFileSync(vars.MCP_OAUTH_FILE, 'utf8');
    for (const secret of [t.access, t.refresh, fresh.body.access_token!]) expect(text.includes(secret)).toBe(false);
  }, 30_000);

  it('--sandbox keeps sign-ins in memory unless MCP_OAUTH_FILE is set explicitly', async () => {
    sb ??= await startSandbox({ people: 30 });
    folder ??= mkdtempSync(join(tmpdir(), 'oauth-restart-'));
    const config = testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accountProduct: 'bc3' });
    const file = join(folder, 'default-store.json');
    const vars = { MCP_PUBLIC_URL: 'http://127.0.0.1:9', MCP_TOKEN_KEY: tokenKey(), MCP_OAUTH_FILE: file, MCP_OAUTH_ALLOWED: undefined, BASECAMP_CLIENT_ID: undefined, BASECAMP_CLIENT_SECRET: undefined };
    // The default path (not set in the environment): memory, and the config folder's file is never touched.
    const byDefault = await oauthOptions(vars, config, { sandbox: true, fileSet: false });
    expect(byDefault.store.where).toBe('memory');
    await byDefault.store.close();
    expect(existsSync(file)).toBe(false);
    const explicit = await oauthOptions(vars, config, { sandbox: true, fileSet: true });
    expect(explicit.store.where).toBe(file);
    await explicit.store.close();
    expect(existsSync(file)).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Start-up refusals from the built CLI (dist/): exit 1, a message naming what to fix, nothing listening.

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('MCP_AUTH=oauth from the built CLI: refused at start', () => {
  let folder: string;
  let port: number;
  let base: Record<string, string>;
  beforeAll(async () => {
    folder = mkdtempSync(join(tmpdir(), 'oauth-cli-'));
    port = await freePort();
    // Not the sandbox: the server's own Launchpad app, an account, the store in the temp folder; Basecamp is never reached.
    base = {
      PATH: process.env.PATH ?? '',
      HOME: folder,
      XDG_CONFIG_HOME: join(folder, 'config'),
      BASECAMP_API_URL: 'http://127.0.0.1:9',
      BASECAMP_LAUNCHPAD_URL: 'http://127.0.0.1:9',
      BASECAMP_CLIENT_ID: 'cli-client',
      BASECAMP_CLIENT_SECRET: 'cli-secret-0123456789',
      BASECAMP_ACCOUNT_ID: '999',
      BASECAMP_LOG_LEVEL: 'info',
      MCP_AUTH: 'oauth',
      MCP_PUBLIC_URL: `http://127.0.0.1:${port}`,
      MCP_TOKEN_KEY: tokenKey(),
      MCP_OAUTH_FILE: join(folder, 'oauth-store.json'),
    };
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  const serveWith = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [cli, 'serve', ...args], { encoding: 'utf8', env, timeout: 15_000 });

  /** Refused: exit 1, the message, and nothing was served (no URL line; the port is free). */
  async function refused(r: ReturnType<typeof serveWith>): Promise<string> {
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).not.toMatch(/serving \d+ tools/);
    expect(r.stdout).toBe('');
    const free = createServer();
    await new Promise<void>((resolve, reject) => free.once('error', reject).listen(port, '127.0.0.1', resolve));
    await new Promise((resolve) => free.close(resolve));
    return r.stderr;
  }

  it('a wrong MCP_TOKEN_KEY for an existing store file: named with the file', async () => {
    const file = join(folder, 'sealed-with-another-key.json');
    const other = await openOAuthStore({ key: Buffer.from(tokenKey(), 'base64'), file });
    await other.set(personKey(1), '{"signed":"in"}');
    await other.close();
    const stderr = await refused(serveWith({ ...base, MCP_OAUTH_FILE: file }, '--http', '--port', String(port)));
    expect(stderr).toMatch(/MCP_TOKEN_KEY is not the key the stored sign-ins were sealed with/);
    expect(stderr).toContain(file);
    expect(stderr).not.toContain(base.MCP_TOKEN_KEY!);
    expect(existsSync(`${file}.lock`)).toBe(false); // the lock is let go
  });

  it('a malformed MCP_TOKEN_KEY: named, its value never echoed', async () => {
    const bad = 'not-a-key-but-a-secret-password-42';
    const stderr = await refused(serveWith({ ...base, MCP_TOKEN_KEY: bad }, '--http', '--port', String(port)));
    expect(stderr).toMatch(/MCP_TOKEN_KEY must be 32 random bytes/);
    expect(stderr).not.toContain(bad);
    expect(stderr).not.toContain('secret-password');
  });

  it('without --http, without MCP_PUBLIC_URL, with BASECAMP_ACCESS_TOKEN: each named', async () => {
    expect(await refused(serveWith(base))).toMatch(/MCP_AUTH=oauth needs --http/);
    const { MCP_PUBLIC_URL: _, ...noPublic } = base;
    expect(await refused(serveWith(noPublic, '--http', '--port', String(port)))).toMatch(/MCP_AUTH=oauth needs MCP_PUBLIC_URL/);
    const withToken = await refused(serveWith({ ...base, BASECAMP_ACCESS_TOKEN: 'a-static-basecamp-token' }, '--http', '--port', String(port)));
    expect(withToken).toMatch(/BASECAMP_ACCESS_TOKEN cannot be used with MCP_AUTH=oauth/);
    expect(withToken).not.toContain('a-static-basecamp-token');
  });

  /** `serve --http --sandbox` under MCP_AUTH=oauth: where it says sign-ins are kept, then stopped. */
  async function sandboxStore(extra: Record<string, string>): Promise<string> {
    const p = await freePort();
    const { BASECAMP_CLIENT_ID: _i, BASECAMP_CLIENT_SECRET: _s, BASECAMP_ACCOUNT_ID: _a, MCP_OAUTH_FILE: _f, ...env } = base;
    const child = spawn(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', String(p)], { env: { ...env, MCP_PUBLIC_URL: `http://127.0.0.1:${p}`, ...extra }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    try {
      return await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not started: ${err}`)), 15_000);
        child.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          // Stopped once it serves (its SIGTERM handler is set then; a stop before that leaves a stale lock, taken over next time).
          const m = /sign-ins kept in (\S+)\n[^]*serving \d+ tools/.exec(err);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
    }
  }

  it('--sandbox keeps sign-ins in memory, in MCP_OAUTH_FILE only when it is set', async () => {
    expect(await sandboxStore({})).toBe('memory');
    expect(existsSync(join(folder, 'config', 'basecamp-people-mcp', 'oauth-store.json'))).toBe(false);
    const file = join(folder, 'sandbox-store.json');
    expect(await sandboxStore({ MCP_OAUTH_FILE: file })).toBe(file);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 40_000);

  it("a SIGTERM the moment the URL line is out stops the server cleanly: exit 0, the store file's lock let go", async () => {
    // A supervisor may stop the server as soon as it has read that line: the signal handlers must already be there.
    const file = join(folder, 'stopped-at-once.json');
    for (let i = 0; i < 8; i++) {
      const p = await freePort();
      const child = spawn(process.execPath, [cli, 'serve', '--http', '--port', String(p)], { env: { ...base, MCP_OAUTH_FILE: file, MCP_PUBLIC_URL: `http://127.0.0.1:${p}` }, stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(`${code}/${signal}`)));
      let sent = false;
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (!sent && /serving \d+ tools/.test(err)) sent = child.kill('SIGTERM'); // once: a second signal is a forced stop
      });
      expect(await exited, err).toBe('0/null');
      expect(existsSync(`${file}.lock`), `run ${i}`).toBe(false);
    }
  }, 60_000);

  it('a second server on the same MCP_OAUTH_FILE is refused, told to use REDIS_URL for several instances', async () => {
    const file = join(folder, 'one-instance.json');
    const first = spawn(process.execPath, [cli, 'serve', '--http', '--port', String(port)], { env: { ...base, MCP_OAUTH_FILE: file }, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not started: ${err}`)), 15_000);
        first.stderr.on('data', (d: Buffer) => {
          err += d.toString();
          if (/serving \d+ tools/.test(err)) {
            clearTimeout(timer);
            resolve();
          }
        });
        first.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      expect(err).toContain(`sign-ins kept in ${file}`);
      const secondPort = await freePort();
      const r = serveWith({ ...base, MCP_OAUTH_FILE: file, MCP_PUBLIC_URL: `http://127.0.0.1:${secondPort}` }, '--http', '--port', String(secondPort));
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).not.toMatch(/serving \d+ tools/);
      expect(r.stderr).toMatch(new RegExp(`Another server \\(process ${first.pid}\\) is using the OAuth store`));
      expect(r.stderr).toContain(file);
      expect(r.stderr).toMatch(/use REDIS_URL instead of a file/);
      // The first one still serves, its lock kept.
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(readFileSync(`${file}.lock`, 'utf8').trim()).toBe(String(first.pid));
    } finally {
      first.kill('SIGTERM');
      await new Promise((resolve) => (first.exitCode === null ? first.once('exit', resolve) : resolve(undefined)));
    }
    expect(existsSync(`${file}.lock`)).toBe(false); // let go on a clean stop
  }, 30_000);
});
