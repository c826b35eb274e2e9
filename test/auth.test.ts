import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { FileCredentials } from '../src/auth/credentials.js';
import { TokenStore } from '../src/auth/token-store.js';
import { AuthenticationError } from '../src/basecamp/errors.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service } from '../src/service.js';
import { call, connectClient, testConfig } from './helpers.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let sb: Sandbox | undefined;
let service: Service | undefined;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await service?.close();
  await sb?.close();
  service = sb = undefined;
});

const tempTokenFile = () => join(mkdtempSync(join(tmpdir(), 'bpm-auth-')), 'basecamp-people-mcp', 'token.json');
const tokenCalls = (s: Sandbox) => s.requests.filter((r) => r.path === '/authorization/token');

function runCli(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [cli, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? -1)));
  const waitFor = async (re: RegExp) => {
    for (let i = 0; i < 200 && !re.test(stdout); i++) await new Promise((r) => setTimeout(r, 25));
    const m = re.exec(stdout);
    if (!m) throw new Error(`never printed ${re}: ${stdout} ${stderr}`);
    return m;
  };
  return { child, exited, waitFor, out: () => stdout, err: () => stderr };
}

function loginEnv(s: Sandbox, tokenFile: string): Record<string, string> {
  return { BASECAMP_LAUNCHPAD_URL: s.url, BASECAMP_API_URL: s.url, BASECAMP_CLIENT_ID: 'sandbox-client', BASECAMP_CLIENT_SECRET: 'sandbox-secret', BASECAMP_TOKEN_FILE: tokenFile };
}

describe('login (OAuth authorization code against Launchpad)', () => {
  it('full flow: follow the printed URL, hit the callback, token file written 0600 in a 0700 dir; the server then works with it', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    const run = runCli(['login', '--port', '0', '--no-browser', '--timeout', '30'], loginEnv(sb, tokenFile));
    const [, url] = await run.waitFor(/^\s+(http\S+authorization\/new\S+)$/m);
    // The "browser": Launchpad approves and redirects to our callback.
    const approve = await request(url!);
    expect(approve.statusCode).toBe(302);
    await approve.body.dump();
    const location = approve.headers.location as string;
    expect(location).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback\?code=.+&state=.+/);
    const callback = await request(location);
    expect(callback.statusCode).toBe(200);
    await callback.body.dump();
    expect(await run.exited).toBe(0);
    expect(run.out()).toMatch(/Signed in as Olivia Owner to Acme Co \(sandbox\) \(5550001, Basecamp\)/);

    const st = statSync(tokenFile);
    expect(st.mode & 0o777).toBe(0o600);
    expect(statSync(join(tokenFile, '..')).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(readFileSync(tokenFile, 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ account_id: 5550001, client_id: 'sandbox-client' });
    expect(typeof saved.access_token).toBe('string');
    expect(typeof saved.refresh_token).toBe('string');
    expect(Date.parse(saved.expires_at as string)).toBeGreaterThan(Date.now() + 13 * 86_400_000);
    // No secret was printed.
    for (const secret of [saved.access_token, saved.refresh_token, 'sandbox-secret'] as string[]) {
      expect(run.out() + run.err()).not.toContain(secret);
    }
    // The server uses the file (account id from it, no env token).
    service = createService(testConfig({ ...loginEnvConfig(sb, tokenFile) }));
    const client = await connectClient(service);
    expect((await call(client, 'get_person', { me: true })).structuredContent).toMatchObject({ person: { owner: true } });
    await client.close();
  });

  it('a corrupt token file does not block login: it is replaced, and login says so', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    mkdirSync(join(tokenFile, '..'), { recursive: true, mode: 0o700 });
    writeFileSync(tokenFile, '{"access_token": "trunc', { mode: 0o600 });
    const run = runCli(['login', '--port', '0', '--no-browser', '--timeout', '30'], loginEnv(sb, tokenFile));
    const [, url] = await run.waitFor(/^\s+(http\S+authorization\/new\S+)$/m);
    const approve = await request(url!);
    await approve.body.dump();
    const callback = await request(approve.headers.location as string);
    await callback.body.dump();
    expect(await run.exited).toBe(0);
    expect(run.out()).toMatch(/Replaced the token file that could not be used \(The token file .* is not valid JSON\)/);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: 5550001, client_id: 'sandbox-client' });
  });

  it('refuses a callback with the wrong state, listens on 127.0.0.1 only, and gives up after the timeout', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    const run = runCli(['login', '--port', '0', '--no-browser', '--timeout', '3'], loginEnv(sb, tokenFile));
    const [, port] = await run.waitFor(/Waiting for the callback on http:\/\/127\.0\.0\.1:(\d+)\/callback/);
    const forged = await request(`http://127.0.0.1:${port}/callback?code=stolen&state=wrong`);
    expect(forged.statusCode).toBe(400);
    await forged.body.dump();
    // Another loopback address on this machine cannot reach it: it is bound to 127.0.0.1 alone.
    const reached = await new Promise<boolean>((resolve) => {
      const socket = connect(Number(port), '127.0.0.2');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    expect(reached).toBe(false);
    expect(await run.exited).toBe(1);
    expect(run.err()).toMatch(/No sign-in arrived within 3 s; nothing was saved/);
    expect(existsSync(tokenFile)).toBe(false);
    expect(tokenCalls(sb)).toHaveLength(0);
  });

  it('several accounts (Basecamp 4 and 2): --account picks one; without it (no terminal) the error lists them all', async () => {
    sb = await startSandbox({ extraAccounts: [{ id: 7770001, name: 'Other Co' }, { id: 42, name: 'Old BCX', product: 'bcx' }] });
    const tokenFile = tempTokenFile();
    const approveAndFinish = async (run: ReturnType<typeof runCli>) => {
      const [, url] = await run.waitFor(/^\s+(http\S+authorization\/new\S+)$/m);
      const approve = await request(url!);
      await approve.body.dump();
      const cb = await request(approve.headers.location as string);
      await cb.body.dump();
      return run.exited;
    };
    const ambiguous = runCli(['login', '--port', '0', '--no-browser'], loginEnv(sb, tokenFile));
    expect(await approveAndFinish(ambiguous)).toBe(1);
    expect(ambiguous.err()).toMatch(/several Basecamp accounts: 5550001 \(Acme Co \(sandbox\), Basecamp\), 7770001 \(Other Co, Basecamp\), 42 \(Old BCX, Basecamp 2\)/);
    expect(existsSync(tokenFile)).toBe(false);

    const chosen = runCli(['login', '--port', '0', '--no-browser', '--account', '7770001'], loginEnv(sb, tokenFile));
    expect(await approveAndFinish(chosen)).toBe(0);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: 7770001, account_product: 'bc3' });

    // A Basecamp 2 account is chosen the same way; the file keeps its product (no Launchpad look-up at each start).
    const bcx = runCli(['login', '--port', '0', '--no-browser', '--account', '42'], loginEnv(sb, tokenFile));
    expect(await approveAndFinish(bcx)).toBe(0);
    expect(bcx.out()).toMatch(/to Old BCX \(42, Basecamp 2\)/);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: 42, account_product: 'bcx' });
    const back = runCli(['login', '--port', '0', '--no-browser', '--account', '7770001'], loginEnv(sb, tokenFile));
    expect(await approveAndFinish(back)).toBe(0);

    const accounts = runCli(['accounts'], loginEnv(sb, tokenFile));
    expect(await accounts.exited).toBe(0);
    expect(accounts.out()).toMatch(/^\* 7770001 {2}Other Co {2}\[bc3\] Basecamp$/m);
    expect(accounts.out()).toMatch(/^ {2}5550001 {2}Acme Co \(sandbox\) {2}\[bc3\] Basecamp$/m);
    expect(accounts.out()).toMatch(/^ {2}42 {2}Old BCX {2}\[bcx\] Basecamp 2$/m);

    const logout = runCli(['logout'], loginEnv(sb, tokenFile));
    expect(await logout.exited).toBe(0);
    expect(existsSync(tokenFile)).toBe(false);
  });

  it('the server picks the only Basecamp account itself (other products do not count), and lists them when there are several', async () => {
    sb = await startSandbox({ extraAccounts: [{ id: 42, name: 'Campfire', product: 'campfire' }] });
    service = createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: undefined }));
    expect(await service.accountId()).toBe(sb.accountId);
    await service.close();
    await sb.close();
    sb = await startSandbox({ extraAccounts: [{ id: 7770001, name: 'Other Co' }] });
    service = createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accessToken: sb.token, tokenSource: 'env', accountId: undefined }));
    const client = await connectClient(service);
    const r = await call(client, 'get_account');
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/5550001 \(Acme Co \(sandbox\), Basecamp\), 7770001 \(Other Co, Basecamp\).*BASECAMP_ACCOUNT_ID/);
    expect(r.content[0]!.text).toContain('"error":"configuration"'); // the operator's to fix, not Basecamp's
    await client.close();
  });
});

function loginEnvConfig(s: Sandbox, tokenFile: string) {
  return { apiUrl: s.url, launchpadUrl: s.url, tokenFile, tokenSource: 'file' as const, accessToken: undefined, accountId: undefined, accountIdFromEnv: undefined, clientId: undefined, clientSecret: undefined };
}

describe('token file', () => {
  it('is created 0600 whatever the umask, directory 0700, replaced atomically with no temp files left', () => {
    const path = tempTokenFile();
    const store = new TokenStore(path);
    const old = process.umask(0);
    try {
      store.write({ access_token: 'a1', refresh_token: 'r1' });
    } finally {
      process.umask(old);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(path, '..')).mode & 0o777).toBe(0o700);
    const inode = statSync(path).ino;
    store.write({ access_token: 'a2', refresh_token: 'r1' });
    expect(statSync(path).ino).not.toBe(inode); // a new file renamed over the old one, not rewritten in place
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(path, '..'))).toEqual(['token.json']);
    expect(store.read()?.access_token).toBe('a2');
    expect(store.remove()).toEqual([path]);
    expect(store.remove()).toEqual([]);
  });
});

describe('refresh', () => {
  async function fileService(s: Sandbox, token: { access_token: string; refresh_token?: string }, expiresInS: number, extra: Record<string, unknown> = {}) {
    const tokenFile = tempTokenFile();
    new TokenStore(tokenFile).write({
      ...token,
      expires_at: new Date(Date.now() + expiresInS * 1000).toISOString(),
      account_id: s.accountId,
      client_id: 'sandbox-client',
      client_secret: 'sandbox-secret',
      ...extra,
    });
    service = createService(testConfig(loginEnvConfig(s, tokenFile)));
    return { tokenFile, credentials: service.http.credentials as FileCredentials };
  }

  it('refreshes before expiry and writes the new token back', async () => {
    sb = await startSandbox();
    const issued = sb.issueToken(undefined, 60); // expires in a minute: inside the 5-minute margin
    const { tokenFile } = await fileService(sb, issued, 60);
    await service!.api.getAccount();
    expect(tokenCalls(sb)).toHaveLength(1);
    const saved = JSON.parse(readFileSync(tokenFile, 'utf8')) as { access_token: string; refresh_token: string; expires_at: string };
    expect(saved.access_token).not.toBe(issued.access_token);
    expect(saved.refresh_token).toBe(issued.refresh_token);
    expect(Date.parse(saved.expires_at)).toBeGreaterThan(Date.now() + 13 * 86_400_000);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    // The refresh happened before the API call, which then succeeded with the new token.
    const order = sb.requests.map((r) => r.path.split('?')[0]);
    expect(order.indexOf('/authorization/token')).toBeLessThan(order.indexOf(`/${sb.accountId}/account.json`));
  });

  it('after a 401 "expired": exactly one refresh for ten concurrent calls, each retried once and answered', async () => {
    sb = await startSandbox();
    const issued = sb.issueToken();
    const { credentials } = await fileService(sb, issued, 86_400 * 10);
    sb.expireToken(issued.access_token); // Basecamp says expired although our clock says it is fine
    const ids = [...sb.data.people.keys()].slice(0, 10);
    const people = await Promise.all(ids.map((id) => service!.api.getPerson(id)));
    expect(people.map((p) => p.id)).toEqual(ids);
    expect(tokenCalls(sb)).toHaveLength(1);
    expect(credentials.refreshes).toBe(1);
    expect(sb.apiRequests().filter((r) => r.status === 401).length).toBeLessThanOrEqual(10);
  });

  it('picks up a token file replaced by another process (login elsewhere) without refreshing', async () => {
    sb = await startSandbox();
    const first = sb.issueToken();
    const { tokenFile, credentials } = await fileService(sb, first, 86_400 * 10);
    await service!.api.getAccount();
    const second = sb.issueToken();
    new TokenStore(tokenFile).write({ ...second, account_id: sb.accountId, client_id: 'sandbox-client', client_secret: 'sandbox-secret', expires_at: new Date(Date.now() + 1e9).toISOString() });
    sb.expireToken(first.access_token);
    await service!.api.getAccount();
    expect(credentials.refreshes).toBe(0);
    expect(tokenCalls(sb)).toHaveLength(0);
  });

  const expiredSetup = async (refreshToken?: string) => {
    sb = await startSandbox();
    const issued = sb.issueToken();
    sb.expireToken(issued.access_token);
    const { tokenFile } = await fileService(sb, { access_token: issued.access_token, refresh_token: refreshToken ?? issued.refresh_token }, -10);
    return { issued, tokenFile };
  };
  const toolError = async (name = 'get_account') => {
    const client = await connectClient(service!);
    const r = await call(client, name);
    await client.close();
    expect(r.isError).toBe(true);
    return r.content[0]!.text;
  };

  it('400 authorization_expired (password changed) → "sign in again"', async () => {
    await expiredSetup();
    sb!.revokeAllGrants();
    const text = await toolError();
    expect(text).toMatch(/password changes \(authorization_expired\).*basecamp-people-mcp login/s);
    expect(text).toMatch(/"sign_in_again":true/);
  });

  it('401 Unknown Basecamp ID → "sign in again"', async () => {
    await expiredSetup('sbr_not_a_real_refresh_token');
    expect(await toolError()).toMatch(/Unknown Basecamp ID.*login/s);
  });

  it('a 5xx from Launchpad is passing: retryable error, and the stored refresh token is kept', async () => {
    const { issued, tokenFile } = await expiredSetup();
    sb!.intercept((req) => (req.path === '/authorization/token' ? { status: 503, body: { error: 'down' } } : undefined));
    const text = await toolError();
    expect(text).toMatch(/Launchpad answered 503.*sign-in is kept; try again/);
    expect(text).not.toMatch(/"sign_in_again":true/);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8')).refresh_token).toBe(issued.refresh_token);
    // And once Launchpad is back, the next call refreshes and works.
    sb!.intercept(undefined);
    await expect(service!.api.getAccount()).resolves.toMatchObject({ id: sb!.accountId });
  });

  it('an unreachable Launchpad is passing too', async () => {
    const { tokenFile } = await expiredSetup();
    await service!.close();
    service = createService(testConfig({ ...loginEnvConfig(sb!, tokenFile), launchpadUrl: 'http://127.0.0.1:9' }));
    expect(await toolError()).toMatch(/could not be reached.*try again/);
  });

  it.each([
    ['no expires_in', {}],
    ['an expires_in that is not a number', { expires_in: 'soon' }],
    ['an expires_in too large for a date', { expires_in: 1e300 }],
  ])('a refresh answer with %s: the token is used and saved, and the next call does not refresh again', async (_what, expiry) => {
    await expiredSetup();
    const fresh = sb!.issueToken();
    sb!.intercept((req) =>
      req.path === '/authorization/token' ? { status: 200, body: { access_token: fresh.access_token, refresh_token: fresh.refresh_token, ...expiry } } : undefined,
    );
    await expect(service!.api.getAccount()).resolves.toMatchObject({ id: sb!.accountId });
    await expect(service!.api.getAccount()).resolves.toMatchObject({ id: sb!.accountId });
    expect(tokenCalls(sb!)).toHaveLength(1);
  });

  it('a static BASECAMP_ACCESS_TOKEN is never refreshed: on expiry the error says so', async () => {
    sb = await startSandbox();
    const issued = sb.issueToken();
    sb.expireToken(issued.access_token);
    service = createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, accessToken: issued.access_token, tokenSource: 'env' }));
    const text = await toolError();
    expect(text).toMatch(/BASECAMP_ACCESS_TOKEN has expired and cannot be refreshed/);
    expect(tokenCalls(sb)).toHaveLength(0);
  });

  it('a token file without a refresh token: expiry says to log in again', async () => {
    sb = await startSandbox();
    const issued = sb.issueToken();
    sb.expireToken(issued.access_token);
    const tokenFile = tempTokenFile();
    new TokenStore(tokenFile).write({ access_token: issued.access_token, account_id: sb.accountId });
    service = createService(testConfig(loginEnvConfig(sb, tokenFile)));
    const err = await service.api.getAccount().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(/cannot be refreshed.*login/);
  });
});
