import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import type { ToolResult } from './helpers.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });

describe('command line', () => {
  it('--help and --version', () => {
    const help = run('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/serve.*--sandbox.*--read-only/s);
    expect(run('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(run('frobnicate').status).toBe(2);
    expect(run('--bogus').status).toBe(2);
  });

  it('`sandbox` serves the simulated API and prints its URL and a token', async () => {
    const child = spawn(process.execPath, [cli, 'sandbox', '--people', '40'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('BASECAMP_ACCESS_TOKEN=') && out.includes('Ctrl-C')) resolve();
      });
    });
    const url = /BASECAMP_API_URL=(\S+)/.exec(out)![1]!;
    const token = /BASECAMP_ACCESS_TOKEN=(\S+)/.exec(out)![1]!;
    const account = /BASECAMP_ACCOUNT_ID=(\S+)/.exec(out)![1]!;
    const res = await request(`${url}/${account}/people.json`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-total-count']).toBe('40');
    await res.body.dump();
    child.kill('SIGTERM');
  });

  it('without credentials the server still starts, lists its tools, says so once on stderr, and tools explain how to sign in', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli],
      stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent-home', BASECAMP_TOKEN_FILE: '/nonexistent/token.json' },
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(transport);
    expect((await client.listTools()).tools).toHaveLength(7);
    const r = (await client.callTool({ name: 'list_people', arguments: {} })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/login/);
    expect(stderr.match(/not signed in/g)).toHaveLength(1);
    await client.close();
  });

  it('--read-only over stdio registers only the read-only tools', async () => {
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox', '--read-only'], stderr: 'ignore' }));
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual(['get_account', 'get_person', 'list_people', 'list_projects']);
    await client.close();
  });
});

describe('serve --http', () => {
  it('refuses a non-loopback host without MCP_HTTP_TOKEN', () => {
    const r = spawnSync(process.execPath, [cli, 'serve', '--http', '--sandbox', '--host', '0.0.0.0', '--port', '0'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Refusing to serve on 0\.0\.0\.0 without MCP_HTTP_TOKEN/);
  });

  it('serves, answers /healthz, and exits cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', BASECAMP_LOG_LEVEL: 'info' },
    });
    let err = '';
    const url = await new Promise<string>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /streamable HTTP at (\S+)/.exec(err);
        if (m) resolve(m[1]!);
      });
    });
    const health = await request(url.replace('/mcp', '/healthz'));
    expect(health.statusCode).toBe(200);
    await health.body.dump();
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(err).toMatch(/SIGTERM: draining/);
  });
});

describe('secrets', () => {
  it('the Basecamp token never appears in logs (even at debug) or tool results, including failures', async () => {
    const { startSandbox } = await import('../src/sandbox/server.js');
    const sb = await startSandbox();
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli],
      stderr: 'pipe',
      env: {
        PATH: process.env.PATH ?? '',
        BASECAMP_ACCESS_TOKEN: sb.token,
        BASECAMP_ACCOUNT_ID: String(sb.accountId),
        BASECAMP_API_URL: sb.url,
        BASECAMP_LAUNCHPAD_URL: sb.url,
        BASECAMP_LOG_LEVEL: 'debug',
      },
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'secrets', version: '1.0.0' });
    await client.connect(transport);
    const texts: string[] = [];
    for (const [name, args] of [
      ['list_people', {}],
      ['get_person', { person_id: 424242 }],
      ['update_project_access', { project_id: 1, grant: [1] }],
    ] as const) {
      texts.push(JSON.stringify(await client.callTool({ name, arguments: args })));
    }
    sb.expireToken(sb.token); // a 401 path too
    const expired = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    expect(expired.isError).toBe(true);
    texts.push(JSON.stringify(expired));
    await client.close();
    await sb.close();
    expect(stderr.length).toBeGreaterThan(0);
    for (const t of [...texts, stderr]) expect(t).not.toContain(sb.token);
  });
});
