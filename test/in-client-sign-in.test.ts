import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client as Client2026 } from '@modelcontextprotocol/client';
import { StdioClientTransport as Stdio2026 } from '@modelcontextprotocol/client/stdio';
import { StreamableHTTPClientTransport as Http2026 } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport as Http2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { serveHttp } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import type { HttpClientKey } from '../src/transports/http-keys.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitationCompleteNotificationSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
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

describe('serve --http off loopback: no sign-in link is offered (its callback listens on this host, not the caller\'s)', () => {
  it('a tool call answers not_configured with `login` on the host, no URL, nothing sent; stderr says why at start', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    const redirect = await freePort();
    const { spawn } = await import('node:child_process');
    const proc = spawn(process.execPath, [cli, 'serve', '--http', '--host', '0.0.0.0', '--port', '0'], {
      env: {
        PATH: process.env.PATH ?? '',
        BASECAMP_API_URL: sb.url,
        BASECAMP_LAUNCHPAD_URL: sb.url,
        BASECAMP_TOKEN_FILE: tokenFile,
        BASECAMP_AUDIT_LOG: 'off',
        BASECAMP_CLIENT_ID: 'sandbox-client',
        BASECAMP_CLIENT_SECRET: 'sandbox-secret',
        BASECAMP_REDIRECT_URI: `http://127.0.0.1:${redirect}/callback`,
        MCP_HTTP_TOKEN: 'remote-admin-token-0123456789abcdef',
        MCP_ALLOWED_HOSTS: '127.0.0.1',
      },
    });
    let stderr = '';
    try {
      const port = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed: ${stderr}`)), 15_000);
        proc.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /http:\/\/[^\s]*:(\d+)\/mcp/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
        proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${stderr}`)));
      });
      expect(stderr).toMatch(/off this machine's loopback: no sign-in link is offered/);
      const client = new Client({ name: 'remote', version: '1.0.0' }, { capabilities: { elicitation: { form: {}, url: {} } } });
      clients.push(client);
      await client.connect(new Http2025(new URL(`http://127.0.0.1:${port}/mcp`), { requestInit: { headers: { authorization: 'Bearer remote-admin-token-0123456789abcdef' } } }));
      const r = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
      expect(kindOf(r)).toBe('not_configured');
      expect(r.content[0]!.text).toMatch(/login/);
      expect(JSON.stringify(r)).not.toMatch(/authorization\/new|sign_in_url/);
      expect(sb.apiRequests()).toHaveLength(0);
      // Nothing listens for a callback.
      await expect(fetch(`http://127.0.0.1:${redirect}/callback`)).rejects.toThrow();
    } finally {
      proc.kill();
    }
  }, 30_000);
});

/** The environment of the built CLI signing in against the sandbox (what a bundle with the OAuth app's fields passes). */
const serveEnv = (s: Sandbox, tokenFile: string, port: number): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  BASECAMP_API_URL: s.url,
  BASECAMP_LAUNCHPAD_URL: s.url,
  BASECAMP_TOKEN_FILE: tokenFile,
  BASECAMP_AUDIT_LOG: 'off',
  BASECAMP_CLIENT_ID: 'sandbox-client',
  BASECAMP_CLIENT_SECRET: 'sandbox-secret',
  BASECAMP_REDIRECT_URI: `http://127.0.0.1:${port}/callback`,
});

describe('sign-in asked through the client (URL elicitation, then the account as a form)', () => {
  /** A 2025 client (the v1 SDK) that declares URL and form elicitation; `answer` plays the person. */
  async function elicitingClient(answer: (params: Record<string, unknown>) => Promise<Record<string, unknown>>) {
    const asked: Record<string, unknown>[] = [];
    const completed: string[] = [];
    const client = await connectClient(service!, {}, { elicitation: { url: {}, form: {} } });
    clients.push(client);
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return (await answer(request.params));
    });
    client.setNotificationHandler(ElicitationCompleteNotificationSchema, (n) => void completed.push(n.params.elicitationId));
    return { client, asked, completed };
  }

  it('2025 era: the call asks for the URL, waits for the browser, then completes the original call; the client is told the flow finished', async () => {
    const { sandbox } = await setUp();
    let browserDone!: Promise<unknown>;
    const { client, asked, completed } = await elicitingClient(async (params) => {
      // The person opens the address; the client answers at once (it may not wait for the browser).
      browserDone = new Promise((r) => setTimeout(r, 50)).then(() => playBrowser(params.url as string));
      return { action: 'accept' };
    });
    const result = await call(client, 'get_account');
    expect(result.isError, result.content[0]!.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ account: { id: sandbox.accountId } });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toMatchObject({ mode: 'url', url: expect.stringContaining(`${sandbox.url}/authorization/new?type=web_server&client_id=sandbox-client`) });
    expect((await browserDone) as { status: number }).toMatchObject({ status: 200 });
    expect(completed).toEqual([asked[0]!.elicitationId]);
    // Signed in now: no more questions.
    expect((await call(client, 'list_people')).isError).toBeFalsy();
    expect(asked).toHaveLength(1);
  });

  it('2025 era: declining the URL answers not_signed_in with the URL; nothing was sent to Basecamp', async () => {
    const { sandbox } = await setUp();
    const { client, asked } = await elicitingClient(async () => ({ action: 'decline' }));
    const r = await call(client, 'get_account');
    expect(kindOf(r)).toBe('not_signed_in');
    expect(signInUrl(r)).toBe(asked[0]!.url);
    expect(sandbox.requests).toHaveLength(0);
  });

  it('2025 era, several accounts: after the browser the account is asked as a form, and the call goes on with the chosen one', async () => {
    const { sandbox, tokenFile } = await setUp({ sandbox: { extraAccounts: [{ id: 7770001, name: 'Other Co' }] } });
    const { client, asked } = await elicitingClient(async (params) => {
      if (params.mode === 'url') {
        await playBrowser(params.url as string);
        return { action: 'accept' };
      }
      return { action: 'accept', content: { account: String(sandbox.accountId) } };
    });
    const result = await call(client, 'get_account');
    expect(result.isError, result.content[0]!.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ account: { id: sandbox.accountId } });
    expect(asked.map((a) => a.mode ?? 'form')).toEqual(['url', 'form']);
    const form = asked[1]!.requestedSchema as { properties: { account: { oneOf: { const: string; title: string }[] } } };
    expect(form.properties.account.oneOf).toEqual([
      { const: String(sandbox.accountId), title: `Acme Co (sandbox) (Basecamp, ${sandbox.accountId})` },
      { const: '7770001', title: 'Other Co (Basecamp, 7770001)' },
    ]);
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: sandbox.accountId, account_product: 'bc3' });
  });

  it('a client without URL elicitation (form only) gets not_signed_in with the URL, as one without any', async () => {
    await setUp();
    const { client, asked } = await elicitingClient(async () => ({ action: 'accept' }));
    await client.close();
    const formOnly = await connectClient(service!, {}, { elicitation: {} });
    clients.push(formOnly);
    formOnly.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(request.params);
      return { action: 'cancel' };
    });
    const r = await call(formOnly, 'get_account');
    expect(kindOf(r)).toBe('not_signed_in');
    expect(asked).toHaveLength(0);
  });

  it('2026 era (v2 client pinned to 2026-07-28, stdio): input_required with the URL, then the account form; the retry completes the call', async () => {
    sb = await startSandbox({ extraAccounts: [{ id: 7770001, name: 'Other Co' }] });
    const sandbox = sb;
    const tokenFile = tempTokenFile();
    const port = await freePort();
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { capabilities: { elicitation: { url: {}, form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const asked: Record<string, unknown>[] = [];
    modern.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params);
      if (request.params.mode === 'url') {
        await playBrowser(request.params.url);
        return { action: 'accept' };
      }
      return { action: 'accept', content: { account: String(sandbox.accountId) } };
    });
    await modern.connect(
      new Stdio2026({
        command: process.execPath,
        args: [cli, 'serve'],
        stderr: 'ignore',
        env: {
          PATH: process.env.PATH ?? '',
          BASECAMP_API_URL: sandbox.url,
          BASECAMP_LAUNCHPAD_URL: sandbox.url,
          BASECAMP_TOKEN_FILE: tokenFile,
          BASECAMP_AUDIT_LOG: 'off',
          BASECAMP_CLIENT_ID: 'sandbox-client',
          BASECAMP_CLIENT_SECRET: 'sandbox-secret',
          BASECAMP_REDIRECT_URI: `http://127.0.0.1:${port}/callback`,
        },
      }),
    );
    clients.push(modern as unknown as Client);
    expect(modern.getNegotiatedProtocolVersion()).toBe('2026-07-28');
    const result = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ account: { id: sandbox.accountId } });
    expect(asked.map((a) => a.mode ?? 'form')).toEqual(['url', 'form']);
    expect(asked[0]).toMatchObject({ url: expect.stringContaining(`${sandbox.url}/authorization/new?type=web_server`) });
    expect(JSON.parse(readFileSync(tokenFile, 'utf8'))).toMatchObject({ account_id: sandbox.accountId, account_product: 'bc3' });
  });

  it('2026 era: a client that answers before the browser is back: its retry waits for the callback and completes the call', async () => {
    sb = await startSandbox();
    const sandbox = sb;
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    let browser: Promise<unknown> | undefined;
    modern.setRequestHandler('elicitation/create', async (request) => {
      const url = (request.params as { url: string }).url;
      browser = new Promise((r) => setTimeout(r, 300)).then(() => playBrowser(url));
      return { action: 'accept' };
    });
    await modern.connect(new Stdio2026({ command: process.execPath, args: [cli, 'serve'], stderr: 'ignore', env: serveEnv(sandbox, tempTokenFile(), await freePort()) }));
    clients.push(modern as unknown as Client);
    const result = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(result.isError, result.content[0]?.text).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ account: { id: sandbox.accountId } });
    await browser;
  });

  it('2026 era, several accounts and the person declines the form: not_signed_in listing them, asked once', async () => {
    sb = await startSandbox({ extraAccounts: [{ id: 7770001, name: 'Other Co' }] });
    const sandbox = sb;
    const port = await freePort();
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { capabilities: { elicitation: { url: {}, form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
    const asked: string[] = [];
    modern.setRequestHandler('elicitation/create', async (request) => {
      asked.push(request.params.mode ?? 'form');
      if (request.params.mode === 'url') {
        await playBrowser(request.params.url);
        return { action: 'accept' };
      }
      return { action: 'decline' };
    });
    await modern.connect(new Stdio2026({ command: process.execPath, args: [cli, 'serve'], stderr: 'ignore', env: serveEnv(sandbox, tempTokenFile(), port) }));
    clients.push(modern as unknown as Client);
    const result = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(kindOf(result)).toBe('not_signed_in');
    expect((result.structuredContent as { accounts: unknown[] }).accounts).toHaveLength(2);
    expect(asked).toEqual(['url', 'form']);
  });

  it('2026 era, a client without URL elicitation: not_signed_in with sign_in_url, then the browser, then the next call works', async () => {
    sb = await startSandbox();
    const tokenFile = tempTokenFile();
    const port = await freePort();
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await modern.connect(
      new Stdio2026({
        command: process.execPath,
        args: [cli, 'serve'],
        stderr: 'ignore',
        env: {
          PATH: process.env.PATH ?? '',
          BASECAMP_API_URL: sb.url,
          BASECAMP_LAUNCHPAD_URL: sb.url,
          BASECAMP_TOKEN_FILE: tokenFile,
          BASECAMP_AUDIT_LOG: 'off',
          BASECAMP_CLIENT_ID: 'sandbox-client',
          BASECAMP_CLIENT_SECRET: 'sandbox-secret',
          BASECAMP_REDIRECT_URI: `http://127.0.0.1:${port}/callback`,
        },
      }),
    );
    clients.push(modern as unknown as Client);
    const first = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(kindOf(first)).toBe('not_signed_in');
    expect((await playBrowser(signInUrl(first))).status).toBe(200);
    const after = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(after.structuredContent).toMatchObject({ account: { id: sb.accountId } });
  });

  it('over HTTP: a stateful 2025 session is asked by URL elicitation, a stateless 2026 request by input_required', async () => {
    const { sandbox, tokenFile } = await setUp();
    const http = await serveHttp(singleService(service!), { port: 0 });
    try {
      const old = new Client({ name: 'era-2025', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } } });
      const modes: string[] = [];
      old.setRequestHandler(ElicitRequestSchema, async (request) => {
        modes.push(`2025 ${request.params.mode}`);
        await playBrowser((request.params as { url: string }).url);
        return { action: 'accept' };
      });
      await old.connect(new Http2025(new URL(http.url)));
      clients.push(old);
      const first = await call(old, 'get_account');
      expect(first.structuredContent, first.content[0]!.text).toMatchObject({ account: { id: sandbox.accountId } });

      // Signed out again (the file removed): the 2026 client, served statelessly, is asked in its own way.
      rmSync(tokenFile);
      const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { capabilities: { elicitation: { url: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
      modern.setRequestHandler('elicitation/create', async (request) => {
        modes.push(`2026 ${request.params.mode}`);
        await playBrowser((request.params as { url: string }).url);
        return { action: 'accept' };
      });
      await modern.connect(new Http2026(new URL(http.url)));
      clients.push(modern as unknown as Client);
      const second = (await modern.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
      expect(second.structuredContent, second.content[0]?.text).toMatchObject({ account: { id: sandbox.accountId } });
      expect(modes).toEqual(['2025 url', '2026 url']);
    } finally {
      await http.drain(100);
    }
  });
});

describe('sign-in over HTTP with named keys: only an admin key may sign the server in (issues 19 and 20)', () => {
  // The server's Basecamp sign-in is every caller's identity: a reader (or operator) key must not receive the
  // sign-in URL (whoever completes it decides who the server is), be asked for it, or choose the account.
  const sha = (token: string) => createHash('sha256').update(token).digest('hex');
  const READER = 'reader-key-0123456789abcdef0123456789';
  const OPERATOR = 'operator-key-0123456789abcdef012345678';
  const ADMIN = 'admin-key-0123456789abcdef0123456789ab';
  const KEYS: HttpClientKey[] = [
    { name: 'nightly-report', token_sha256: sha(READER), role: 'reader' },
    { name: 'onboarding-bot', token_sha256: sha(OPERATOR), role: 'operator' },
    { name: 'ops-admin', token_sha256: sha(ADMIN), role: 'admin' },
  ];
  const auth = (token: string) => ({ requestInit: { headers: { authorization: `Bearer ${token}` } } });

  it('a reader or operator gets not_signed_in without the URL and is never asked (2025 session, 2026 request); the account choice is not theirs', async () => {
    const { tokenFile } = await setUp({ sandbox: { extraAccounts: [{ id: 7770001, name: 'Other Co' }] } });
    const http = await serveHttp(singleService(service!), { port: 0, clients: KEYS });
    try {
      const asked: string[] = [];
      /** Plays a person who follows every link and picks Other Co. */
      const follow = (who: string) => async (params: Record<string, unknown>) => {
        asked.push(`${who} ${String(params.mode ?? 'form')}`);
        if (params.mode === 'url') {
          await playBrowser(params.url as string);
          return { action: 'accept' as const };
        }
        return { action: 'accept' as const, content: { account: '7770001' } };
      };
      const noUrl = (r: ToolResult, who: string) => {
        expect(kindOf(r), `${who}: ${r.content[0]?.text}`).toBe('not_signed_in');
        expect(r.structuredContent ?? {}, who).not.toHaveProperty('sign_in_url');
        expect(r.content[0]!.text, who).not.toContain('/authorization/new');
      };

      const reader = new Client2026({ name: 'reader-2026', version: '1.0.0' }, { capabilities: { elicitation: { url: {}, form: {} } }, versionNegotiation: { mode: { pin: '2026-07-28' } } });
      reader.setRequestHandler('elicitation/create', (request) => follow('reader-2026')(request.params as Record<string, unknown>));
      await reader.connect(new Http2026(new URL(http.url), auth(READER)));
      clients.push(reader as unknown as Client);
      noUrl((await reader.callTool({ name: 'get_account', arguments: {} })) as ToolResult, 'reader 2026');

      const operator = new Client({ name: 'operator-2025', version: '1.0.0' }, { capabilities: { elicitation: { url: {}, form: {} } } });
      operator.setRequestHandler(ElicitRequestSchema, (request) => follow('operator-2025')(request.params as Record<string, unknown>));
      await operator.connect(new Http2025(new URL(http.url), auth(OPERATOR)));
      clients.push(operator);
      noUrl(await call(operator, 'get_account'), 'operator 2025');
      expect(asked).toEqual([]);
      expect(existsSync(tokenFile)).toBe(false);

      // The admin signs in; the sign-in reaches two accounts, one to be chosen.
      const admin = new Client2026({ name: 'admin-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
      await admin.connect(new Http2026(new URL(http.url), auth(ADMIN)));
      clients.push(admin as unknown as Client);
      const first = (await admin.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
      expect((await playBrowser(signInUrl(first))).page).toContain('choose one in your MCP client');

      // Neither may choose it (nor is asked to).
      expect(kindOf((await reader.callTool({ name: 'get_account', arguments: {} })) as ToolResult)).toBe('not_signed_in');
      expect(kindOf(await call(operator, 'get_account'))).toBe('not_signed_in');
      expect(asked).toEqual([]);
      // Nor by sending the answer unasked (a raw 2026-07-28 tools/call carrying the account form's response).
      const raw = await fetch(http.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'get_account', authorization: `Bearer ${READER}` },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/call',
          params: {
            name: 'get_account',
            arguments: {},
            inputResponses: { basecamp_account: { action: 'accept', content: { account: '7770001' } } },
            _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } },
          },
        }),
      });
      expect(await raw.text()).toContain('not_signed_in');
      expect(service!.signIn!.state().state).toBe('choose');
      expect(JSON.parse(readFileSync(tokenFile, 'utf8')).account_id).toBeUndefined();
    } finally {
      await http.drain(100);
    }
  });
});
