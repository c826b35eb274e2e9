import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { NotSignedInError } from '../src/errors.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service, type ServiceOptions } from '../src/service.js';
import { call, connectClient, freePort, kindOf, testConfig, type ToolResult } from './helpers.js';

/**
 * Sign-in from inside the MCP client (issue 19): an OAuth app configured and no token, a tool call answers
 * not_signed_in with Launchpad's URL; the test plays the browser against the sandbox's Launchpad, and the next
 * call works, with the token file written as `login` writes it.
 */

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let sb: Sandbox | undefined;
let service: Service | undefined;
const clients: Client[] = [];
const blockers: NetServer[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const b of blockers.splice(0)) await new Promise((r) => b.close(r));
  await service?.close();
  await sb?.close();
  service = sb = undefined;
});

const tempTokenFile = () => join(mkdtempSync(join(tmpdir(), 'bpm-signin-')), 'basecamp-people-mcp', 'token.json');

interface Setup {
  sandbox?: Parameters<typeof startSandbox>[0];
  clientCredentials?: boolean;
  accountIdFromEnv?: number;
  service?: ServiceOptions;
}

async function setUp(opts: Setup = {}) {
  sb = await startSandbox(opts.sandbox);
  const tokenFile = tempTokenFile();
  const port = await freePort();
  const redirectUri = `http://127.0.0.1:${port}/callback`;
  const withClient = opts.clientCredentials ?? true;
  service = createService(
    testConfig({
      apiUrl: sb.url,
      launchpadUrl: sb.url,
      tokenFile,
      tokenSource: 'none',
      accessToken: undefined,
      accountId: opts.accountIdFromEnv,
      accountIdFromEnv: opts.accountIdFromEnv,
      accountProduct: undefined,
      clientId: withClient ? 'sandbox-client' : undefined,
      clientSecret: withClient ? 'sandbox-secret' : undefined,
      redirectUri,
    }),
    opts.service,
  );
  const client = await connectClient(service);
  clients.push(client);
  return { sandbox: sb, service, client, tokenFile, port, redirectUri };
}

const signInUrl = (r: ToolResult) => (r.structuredContent as { sign_in_url: string }).sign_in_url;

/** The browser: Launchpad's consent (the sandbox approves at once) and its redirect to our loopback callback. */
async function playBrowser(url: string): Promise<{ status: number; page: string }> {
  const approve = await request(url);
  expect(approve.statusCode).toBe(302);
  await approve.body.dump();
  const callback = await request(approve.headers.location as string);
  return { status: callback.statusCode, page: await callback.body.text() };
}

/** Whether anything listens on the port (the callback listener must not outlive its sign-in). */
const listening = (port: number) =>
  request(`http://127.0.0.1:${port}/callback`).then(
    async (r) => (await r.body.dump(), true),
    () => false,
  );

describe('sign-in from inside the client (no token, OAuth app configured)', () => {
  it('a call answers not_signed_in with the URL and sends nothing; after the browser, the next call works and the token file is as login writes it', async () => {
    const { sandbox, client, tokenFile, port, redirectUri } = await setUp();
    const first = await call(client, 'get_account');
    expect(first.isError).toBe(true);
    expect(kindOf(first)).toBe('not_signed_in');
    const url = signInUrl(first);
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`${sandbox.url}/authorization/new`);
    expect(parsed.searchParams.get('type')).toBe('web_server');
    expect(parsed.searchParams.get('client_id')).toBe('sandbox-client');
    expect(parsed.searchParams.get('redirect_uri')).toBe(redirectUri);
    expect(parsed.searchParams.get('state')).toMatch(/^[\w-]{32}$/);
    expect(first.content[0]!.text).toContain(url);
    expect((first.structuredContent as { expires_at: string }).expires_at).toBeTruthy();
    expect(sandbox.requests).toHaveLength(0); // nothing to Basecamp, nor to Launchpad, before the browser
    expect(await listening(port)).toBe(true);

    // One sign-in at a time: a second call while it waits gets the same URL.
    const second = await call(client, 'list_people');
    expect(kindOf(second)).toBe('not_signed_in');
    expect(signInUrl(second)).toBe(url);
    expect(sandbox.requests).toHaveLength(0);

    const browser = await playBrowser(url);
    expect(browser.status).toBe(200);
    expect(browser.page).toContain('Signed in');
    expect(service!.signIn!.state()).toMatchObject({ state: 'done', account: { id: sandbox.accountId, product: 'bc3' } });
    expect(await listening(port)).toBe(false); // the listener is closed after the callback

    const file = JSON.parse(readFileSync(tokenFile, 'utf8')) as Record<string, unknown>;
    expect(file).toMatchObject({ account_id: sandbox.accountId, account_product: 'bc3', client_id: 'sandbox-client', client_secret: 'sandbox-secret' });
    expect(file.refresh_token).toMatch(/^sbr_/);
    expect(file.access_token).toMatch(/^sbx_/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);

    // The running server picks the file up: no restart.
    const after = await call(client, 'get_account');
    expect(after.isError).toBeFalsy();
    expect(after.structuredContent).toMatchObject({ account: { id: sandbox.accountId } });
  });

  it('a callback with the wrong state is refused and the sign-in keeps waiting; Launchpad refusing ends it, and the next call starts afresh', async () => {
    const { client, tokenFile, redirectUri } = await setUp();
    const url = signInUrl(await call(client, 'get_account'));
    const forged = await request(`${redirectUri}?code=stolen&state=not-the-state`);
    expect(forged.statusCode).toBe(400);
    expect(await forged.body.text()).toContain('The state did not match');
    expect(service!.signIn!.state()).toMatchObject({ state: 'pending', url });

    // The person refuses at Launchpad: it comes back with an error and our state.
    const state = new URL(url).searchParams.get('state')!;
    const denied = await request(`${redirectUri}?error=access_denied&state=${encodeURIComponent(state)}`);
    expect(denied.statusCode).toBe(400);
    await denied.body.dump();
    expect(service!.signIn!.state()).toMatchObject({ state: 'failed', reason: expect.stringMatching(/did not grant access \(access_denied\)/) });
    expect(existsSync(tokenFile)).toBe(false);

    const again = await call(client, 'get_account');
    expect(kindOf(again)).toBe('not_signed_in');
    expect(signInUrl(again)).not.toBe(url); // a new state
    expect(again.content[0]!.text).toMatch(/last sign-in did not finish: Basecamp did not grant access/);
    expect((await playBrowser(signInUrl(again))).status).toBe(200);
    expect((await call(client, 'get_account')).isError).toBeFalsy();
  });

  it('gives up after its time limit: the listener closes, nothing is saved, and the next call gets a new URL', async () => {
    const { client, tokenFile, port } = await setUp({ service: { signInTimeoutMs: 300 } });
    const first = await call(client, 'get_account');
    const url = signInUrl(first);
    const waited = await service!.signIn!.wait(AbortSignal.timeout(5_000));
    expect(waited).toMatchObject({ state: 'failed', reason: expect.stringMatching(/No sign-in arrived within 0 s/) });
    expect(await listening(port)).toBe(false);
    // The browser coming back late finds nobody listening.
    const approve = await request(url);
    await approve.body.dump();
    await expect(request(approve.headers.location as string)).rejects.toThrow();
    expect(existsSync(tokenFile)).toBe(false);

    const next = await call(client, 'get_account');
    expect(kindOf(next)).toBe('not_signed_in');
    expect(signInUrl(next)).not.toBe(url);
  });

  it('several accounts: the sign-in is kept and the accounts are listed until one is chosen; choosing writes it', async () => {
    const { sandbox, client, tokenFile } = await setUp({ sandbox: { extraAccounts: [{ id: 7770001, name: 'Other Co' }] } });
    const browser = await playBrowser(signInUrl(await call(client, 'get_account')));
    expect(browser.page).toContain('choose one in your MCP client');
    const listed = await call(client, 'get_account');
    expect(kindOf(listed)).toBe('not_signed_in');
    expect(listed.content[0]!.text).toMatch(/several accounts: 5550001 \(Acme Co \(sandbox\), Basecamp\), 7770001 \(Other Co, Basecamp\).*BASECAMP_ACCOUNT_ID/);
    expect(listed.structuredContent).toEqual({
      accounts: [
        { id: sandbox.accountId, name: 'Acme Co (sandbox)', product: 'bc3' },
        { id: 7770001, name: 'Other Co', product: 'bc3' },
      ],
    });
    expect(sandbox.apiRequests()).toHaveLength(0);
    // Kept without an account (a restart with BASECAMP_ACCOUNT_ID needs no new sign-in).
    const kept = JSON.parse(readFileSync(tokenFile, 'utf8')) as Record<string, unknown>;
    expect(kept.refresh_token).toMatch(/^sbr_/);
    expect(kept.account_id).toBeUndefined();

    await expect(service!.signIn!.choose(42)).rejects.toThrow(/not one this sign-in reaches/);
    expect(await service!.signIn!.choose(7770001)).toEqual({ id: 7770001, name: 'Other Co', product: 'bc3' });
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: 7770001, account_product: 'bc3' });
    // The sandbox serves only its own account's API: the chosen one is in use (and no longer held back).
    expect(await service!.accountId()).toBe(7770001);
    const after = await call(client, 'get_account');
    expect(kindOf(after)).not.toBe('not_signed_in');
    expect(sandbox.apiRequests().some((r) => r.path.startsWith('/7770001/'))).toBe(true);
  });

  it('several accounts and BASECAMP_ACCOUNT_ID set: that one, with no choice asked', async () => {
    const { client, tokenFile } = await setUp({ sandbox: { extraAccounts: [{ id: 7770001, name: 'Other Co' }] }, accountIdFromEnv: 7770001 });
    expect(service!.signIn!.state()).toEqual({ state: 'idle' });
    await playBrowser(signInUrl(await call(client, 'get_account')));
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: 7770001, account_product: 'bc3' });
    expect(await service!.accountId()).toBe(7770001);
  });

  it('the callback port in use: a clear configuration error naming BASECAMP_REDIRECT_URI, nothing sent', async () => {
    const { sandbox, client, port } = await setUp();
    const blocker = createNetServer();
    blockers.push(blocker);
    await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', () => r()));
    const r = await call(client, 'get_account');
    expect(kindOf(r)).toBe('configuration');
    expect(r.content[0]!.text).toMatch(new RegExp(`port ${port} .* is in use\\. Set BASECAMP_REDIRECT_URI`));
    expect(sandbox.requests).toHaveLength(0);
  });

  it('without an OAuth app (no client id and secret): not_configured with how to sign in, as before', async () => {
    const { sandbox, client, service: s } = await setUp({ clientCredentials: false });
    expect(s.signIn).toBeUndefined();
    const r = await call(client, 'get_account');
    expect(kindOf(r)).toBe('not_configured');
    expect(r.content[0]!.text).toMatch(/Not signed in to Basecamp\. Run `.*login`/);
    expect(r.structuredContent).toBeUndefined();
    expect(sandbox.requests).toHaveLength(0);
  });

  it('a grant that is over (password changed): the refresh is refused and the call offers a new sign-in, which replaces the file', async () => {
    const { sandbox, client, tokenFile } = await setUp();
    await playBrowser(signInUrl(await call(client, 'get_account')));
    expect((await call(client, 'get_account')).isError).toBeFalsy();
    const before = JSON.parse(readFileSync(tokenFile, 'utf8')) as { access_token: string };
    sandbox.revokeAllGrants(); // every token expired, every refresh answers authorization_expired
    const ended = await call(client, 'get_account');
    expect(kindOf(ended)).toBe('not_signed_in');
    expect(ended.content[0]!.text).toMatch(/sign-in has ended \(Launchpad said: authorization_expired\)\. Open this address/);
    const again = await playBrowser(signInUrl(ended));
    expect(again.page).toContain("Signed in");
    expect(again.status).toBe(200);
    expect((JSON.parse(readFileSync(tokenFile, 'utf8')) as { access_token: string }).access_token).not.toBe(before.access_token);
    expect((await call(client, 'get_account')).isError).toBeFalsy();
  });

  it('the error carries what the protocol layer needs: the URL and a flow to await', async () => {
    const { client } = await setUp();
    await call(client, 'get_account');
    const error = await service!.signIn!.notSignedIn();
    expect(error).toBeInstanceOf(NotSignedInError);
    expect(error.flow).toBe(service!.signIn);
    const waiting = error.flow!.wait();
    await playBrowser(error.signInUrl!);
    expect(await waiting).toMatchObject({ state: 'done' });
  });
});

describe('sign-in from the client, the bundle way: the built CLI over stdio with BASECAMP_CLIENT_ID and BASECAMP_CLIENT_SECRET', () => {
  it('not_signed_in, the browser, then the next call works in the same process', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    const port = await freePort();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli, 'serve'],
      stderr: 'pipe',
      env: {
        PATH: process.env.PATH ?? '',
        BASECAMP_API_URL: sb.url,
        BASECAMP_LAUNCHPAD_URL: sb.url,
        BASECAMP_TOKEN_FILE: tokenFile,
        BASECAMP_AUDIT_LOG: 'off',
        BASECAMP_CLIENT_ID: 'sandbox-client',
        BASECAMP_CLIENT_SECRET: 'sandbox-secret',
        BASECAMP_REDIRECT_URI: `http://127.0.0.1:${port}/callback`,
        // What a bundle passes for an optional field left blank.
        BASECAMP_ACCESS_TOKEN: '',
        BASECAMP_ACCOUNT_ID: '${user_config.account_id}',
      },
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'bundle', version: '1.0.0' });
    clients.push(client);
    await client.connect(transport);
    const first = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(kindOf(first)).toBe('not_signed_in');
    expect(stderr).toMatch(/the first tool call offers a sign-in link/);
    expect(stderr).not.toContain(signInUrl(first)); // the link (its state) is for the person, not for logs
    expect((await playBrowser(signInUrl(first))).status).toBe(200);
    const after = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(after.isError).toBeFalsy();
    expect(after.structuredContent).toMatchObject({ account: { id: sb.accountId } });
    expect(stderr).not.toContain('sandbox-secret');
  });
});
