import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TokenStore } from '../src/auth/token-store.js';
import { ConfigurationError } from '../src/errors.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, type Service } from '../src/service.js';
import { call, connectClient, sandboxService, testConfig } from './helpers.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
let sb: Sandbox | undefined;
let service: Service | undefined;
afterEach(async () => {
  vi.restoreAllMocks();
  await service?.close();
  await sb?.close();
  service = sb = undefined;
});

const tempDir = () => mkdtempSync(join(tmpdir(), 'bpm-token-'));
const tokenCalls = (s: Sandbox) => s.requests.filter((r) => r.path === '/authorization/token');
const runCli = (args: string[], env: Record<string, string>) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 20_000 });

/** Everything the process writes to stderr (where log lines go) from now on. */
function captureStderr(): () => string {
  let text = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  return () => text;
}

/** A token file as `login` writes it, for the sandbox's owner, expiring in `expiresInS`. */
function writeLoginToken(s: Sandbox, path: string, expiresInS: number) {
  const issued = s.issueToken(undefined, Math.max(expiresInS, 1));
  const token = {
    ...issued,
    expires_at: new Date(Date.now() + expiresInS * 1000).toISOString(),
    account_id: s.accountId,
    account_product: 'bc3', // as `login` writes it
    client_id: 'sandbox-client',
    client_secret: 'sandbox-secret',
  };
  writeFileSync(path, JSON.stringify(token), { mode: 0o600 }); // not TokenStore.write: some paths here refuse its temp file
  return issued;
}

function fileService(s: Sandbox, tokenFile: string): Service {
  return createService(testConfig({ apiUrl: s.url, launchpadUrl: s.url, tokenFile, tokenSource: 'file', accessToken: undefined, accountId: undefined, accountIdFromEnv: undefined, clientId: undefined, clientSecret: undefined }));
}

describe('a token file that cannot be written at refresh', () => {
  it('keeps the refreshed token in memory, uses it, warns once saying how to fix it, and does not refresh again', async () => {
    sb = await startSandbox();
    // Unwritable for root too: the temp file written beside it (".<name>.<pid>.<random>.tmp") gets a name
    // longer than the file system allows (ENAMETOOLONG), so the atomic write fails like a read-only directory.
    const tokenFile = join(tempDir(), `${'t'.repeat(236)}.json`);
    const issued = writeLoginToken(sb, tokenFile, 60); // inside the 5-minute margin: refreshed on first use
    const before = readFileSync(tokenFile, 'utf8');
    const stderr = captureStderr();
    service = fileService(sb, tokenFile);
    const client = await connectClient(service);
    for (let i = 0; i < 4; i++) {
      const r = await call(client, 'get_account');
      expect(r.isError, r.content[0]!.text).toBeFalsy();
    }
    await client.close();
    expect(tokenCalls(sb)).toHaveLength(1);
    const apiTokens = new Set(sb.apiRequests().map((r) => r.authorization));
    expect(apiTokens.has(`Bearer ${issued.access_token}`)).toBe(false); // the refreshed token was used, not the stale one
    expect(readFileSync(tokenFile, 'utf8')).toBe(before);
    const warnings = stderr().match(/cannot save it to .*BASECAMP_TOKEN_FILE/g) ?? [];
    expect(warnings).toHaveLength(1);
  });

  it('when every refreshed token needs refreshing again, each refresh uses the one kept in memory, and the warning is still given once', async () => {
    sb = await startSandbox({ tokenLifetimeSeconds: 60 }); // every token it issues is inside the 5-minute margin
    const tokenFile = join(tempDir(), `${'t'.repeat(236)}.json`);
    writeLoginToken(sb, tokenFile, 60);
    const stderr = captureStderr();
    service = fileService(sb, tokenFile);
    for (let i = 0; i < 3; i++) await service.api.getAccount();
    const refreshes = tokenCalls(sb);
    expect(refreshes).toHaveLength(3);
    expect(refreshes.every((r) => r.status === 200)).toBe(true); // the rotated refresh token was kept, not the stale one on disk
    expect(stderr().match(/cannot save it to/g)).toHaveLength(1);
  });

  it('a token file replaced on disk afterwards (a new login) wins over the one kept in memory', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), `${'t'.repeat(236)}.json`);
    writeLoginToken(sb, tokenFile, 60);
    captureStderr();
    service = fileService(sb, tokenFile);
    await service.api.getAccount();
    // Simulate another process's login: the file itself can be rewritten in place.
    const second = sb.issueToken();
    writeFileSync(tokenFile, JSON.stringify({ ...second, account_id: sb.accountId, expires_at: new Date(Date.now() + 1e9).toISOString() }));
    await service.api.getAccount();
    expect(sb.apiRequests().at(-1)!.authorization).toBe(`Bearer ${second.access_token}`);
  });
});

describe('a token file others can read', () => {
  it('gets one warning naming `chmod 600 <path>`', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), 'token.json');
    writeLoginToken(sb, tokenFile, 86_400);
    chmodSync(tokenFile, 0o644);
    const stderr = captureStderr();
    service = fileService(sb, tokenFile);
    await service.api.getAccount();
    await service.api.getAccount();
    new TokenStore(tokenFile).read(); // another reader of the same file: still one warning
    expect(stderr().match(new RegExp(`chmod 600 ${tokenFile}`, 'g'))).toHaveLength(1);
    chmodSync(tokenFile, 0o600);
  });

  it('a 0600 file gets no warning', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), 'token.json');
    writeLoginToken(sb, tokenFile, 86_400);
    const stderr = captureStderr();
    service = fileService(sb, tokenFile);
    await service.api.getAccount();
    expect(stderr()).not.toMatch(/chmod/);
  });
});

describe('a symlinked token file', () => {
  function linked() {
    const secrets = join(tempDir(), 'secrets');
    mkdirSync(secrets, { mode: 0o700 });
    const target = join(secrets, 'basecamp.json');
    const linkDir = tempDir();
    const link = join(linkDir, 'token.json');
    return { target, link, linkDir, secrets };
  }

  it('a refresh writes through to the target (atomically, in its directory); the link stays a link', async () => {
    sb = await startSandbox();
    const { target, link, linkDir, secrets } = linked();
    const issued = writeLoginToken(sb, target, 60);
    symlinkSync(target, link);
    service = fileService(sb, link);
    await service.api.getAccount();
    expect(tokenCalls(sb)).toHaveLength(1);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    const saved = JSON.parse(readFileSync(target, 'utf8')) as { access_token: string };
    expect(saved.access_token).not.toBe(issued.access_token);
    expect(readdirSync(linkDir)).toEqual(['token.json']);
    expect(readdirSync(secrets)).toEqual(['basecamp.json']);
  });

  it('`logout` deletes the file holding the token and the link, and says both', () => {
    const { target, link } = linked();
    writeFileSync(target, JSON.stringify({ access_token: 'x' }), { mode: 0o600 });
    symlinkSync(target, link);
    const r = runCli(['logout'], { BASECAMP_TOKEN_FILE: link });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`deleted ${target} and the link ${link}`);
    expect(existsSync(target)).toBe(false);
    expect(() => lstatSync(link)).toThrow();
  });
});

describe('a corrupt token file', () => {
  it.each([
    ['not JSON', '{"access_token": "abc"'],
    ['no access_token', '{"refresh_token": "r"}'],
    ['JSON null', 'null'],
  ])('(%s) does not block `logout`: it is deleted', (_label, content) => {
    const tokenFile = join(tempDir(), 'token.json');
    writeFileSync(tokenFile, content, { mode: 0o600 });
    const r = runCli(['logout'], { BASECAMP_TOKEN_FILE: tokenFile });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`Signed out: deleted ${tokenFile}`);
    expect(existsSync(tokenFile)).toBe(false);
  });

  it.each([
    ['not JSON', '{"access_token": "abc"', /is not valid JSON/],
    ['no access_token', '{"refresh_token": "r"}', /has no access_token/],
    ['JSON null', 'null', /has no access_token/],
    ['a bad account_id', '{"access_token": "a", "account_id": "acme"}', /account_id that is not a positive integer/],
  ])('(%s) read by the server is a ConfigurationError saying what is wrong and what to do', (_label, content, what) => {
    const tokenFile = join(tempDir(), 'token.json');
    writeFileSync(tokenFile, content, { mode: 0o600 });
    const error = (() => {
      try {
        new TokenStore(tokenFile).read();
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(what);
    expect((error as Error).message).toContain(`${tokenFile} `);
    expect((error as Error).message).toMatch(/Run `basecamp-people-mcp login`.*or fix or delete the file/);
  });

  it('does not stop `serve --sandbox` (the sandbox brings its own token)', async () => {
    const tokenFile = join(tempDir(), 'token.json');
    writeFileSync(tokenFile, '{ not json', { mode: 0o600 });
    const client = new Client({ name: 'token-file', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox'], stderr: 'ignore', env: { PATH: process.env.PATH ?? '', BASECAMP_TOKEN_FILE: tokenFile } }));
    expect((await call(client, 'get_account')).isError).toBeFalsy();
    await client.close();
  });

  it('found while serving is a `configuration` error naming the file and what to do, not an internal bug', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), 'token.json');
    writeLoginToken(sb, tokenFile, 86_400);
    service = fileService(sb, tokenFile);
    const client = await connectClient(service);
    expect((await call(client, 'get_account')).isError).toBeFalsy();
    writeFileSync(tokenFile, '{ not json');
    const r = await call(client, 'get_account');
    await client.close();
    expect(r.isError).toBe(true);
    const text = r.content[0]!.text;
    expect(text).toContain('"error":"configuration"');
    expect(text).toContain(tokenFile);
    expect(text).toMatch(/basecamp-people-mcp login.*fix or delete the file/);
    expect(text).not.toMatch(/bug/);
  });

  it('an unreadable token file (a directory in its place) is a `configuration` error too', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), 'token.json');
    writeLoginToken(sb, tokenFile, 86_400);
    service = fileService(sb, tokenFile);
    const client = await connectClient(service);
    expect((await call(client, 'get_account')).isError).toBeFalsy();
    const { rmSync } = await import('node:fs');
    rmSync(tokenFile);
    mkdirSync(tokenFile);
    const r = await call(client, 'get_account');
    await client.close();
    expect(r.content[0]!.text).toContain('"error":"configuration"');
    expect(r.content[0]!.text).toMatch(/cannot be read \(EISDIR\)/);
  });
});

describe('a token file path that is a directory', () => {
  it('a write (login, refresh) fails and leaves no temp file holding the secret behind', () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'token.json');
    mkdirSync(tokenFile);
    expect(() => new TokenStore(tokenFile).write({ access_token: 'secret-access', client_secret: 'secret-client' })).toThrow(/EISDIR|EEXIST|ENOTEMPTY|EPERM/);
    expect(readdirSync(dir)).toEqual(['token.json']);
    expect(readdirSync(tokenFile)).toEqual([]);
  });

  it('`logout` and `login` refuse it at once, saying it is a directory and what to set, and delete nothing', () => {
    const dir = tempDir();
    const tokenFile = join(dir, 'token.json');
    mkdirSync(tokenFile);
    writeFileSync(join(tokenFile, 'keep'), 'x');
    for (const args of [['logout'], ['login', '--no-browser', '--port', '0']]) {
      const r = runCli(args, {
        BASECAMP_TOKEN_FILE: tokenFile,
        BASECAMP_CLIENT_ID: 'id',
        BASECAMP_CLIENT_SECRET: 'secret',
        BASECAMP_LAUNCHPAD_URL: 'http://127.0.0.1:9',
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/is a directory, not a file; nothing was changed\. Point BASECAMP_TOKEN_FILE at a file path/);
      expect(r.stdout).not.toMatch(/Open this URL/);
      expect(readdirSync(tokenFile)).toEqual(['keep']);
    }
  });
});

describe('a token file path that cannot be read', () => {
  it('(a symlink loop) is a `configuration` error, not "not signed in"', async () => {
    sb = await startSandbox();
    const tokenFile = join(tempDir(), 'token.json');
    symlinkSync(tokenFile, tokenFile);
    service = fileService(sb, tokenFile);
    const client = await connectClient(service);
    const r = await call(client, 'get_account');
    await client.close();
    expect(r.content[0]!.text).toContain('"error":"configuration"');
    expect(r.content[0]!.text).toMatch(/cannot be read \(ELOOP\)/);
  });
});

describe('a confirmation the client fails to give', () => {
  it('is `confirmation_failed` ("nothing was changed; retry, or use dry_run"), not internal, and nothing is revoked', async () => {
    sb = await startSandbox({ people: 30 });
    const client = await connectClient(sandboxService(sb), {}, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, () => {
      throw new Error('the dialog crashed');
    });
    const person = [...sb.data.people.values()].find((p) => !p.owner && p.personable_type === 'User' && [...sb!.data.projects.values()].some((pr) => pr.members.has(p.id)))!;
    const writesBefore = sb.apiRequests().filter((r) => r.method !== 'GET').length;
    const r = await call(client, 'trash_person', { person_id: person.id });
    await client.close();
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toContain('"error":"confirmation_failed"');
    expect(r.content[0]!.text).toMatch(/Could not ask for confirmation: .*the dialog crashed.*nothing was changed.*dry_run/);
    expect(sb.apiRequests().filter((r) => r.method !== 'GET').length).toBe(writesBefore);
  });

  it('a confirmation that times out is `confirmation_failed` too', async () => {
    sb = await startSandbox({ people: 30 });
    const client = await connectClient(sandboxService(sb), { confirmTimeoutMs: 200 }, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, () => new Promise(() => undefined));
    const person = [...sb.data.people.values()].find((p) => !p.owner && p.personable_type === 'User' && [...sb!.data.projects.values()].some((pr) => pr.members.has(p.id)))!;
    const r = await call(client, 'trash_person', { person_id: person.id });
    await client.close();
    expect(r.content[0]!.text).toContain('"error":"confirmation_failed"');
    expect(r.content[0]!.text).toMatch(/timed out/i);
  });
});
