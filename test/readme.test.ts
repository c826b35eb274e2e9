import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from '@modelcontextprotocol/server';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { startSandbox } from '../src/sandbox/server.js';
import { createMcpServer } from '../src/server.js';
import { STDIO_CALLER } from '../src/caller.js';
import { serveHttp } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { tools as registry } from '../src/tools/index.js';
import { sandboxService, type ToolResult } from './helpers.js';

/** What the README promises, run as written (or checked against what the code knows). */
const root = resolve(import.meta.dirname, '..');
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const section = (heading: string) => readme.slice(readme.indexOf(heading), readme.indexOf('\n## ', readme.indexOf(heading) + heading.length));
const shellBlocks = (text: string) => [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
/** A block's commands: continuation lines joined, comments and blank lines dropped. */
const commands = (block: string) =>
  block
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.replace(/\s+# .*$/, '').trim())
    .filter((line) => line && !line.startsWith('#'));

const home = mkdtempSync(join(tmpdir(), 'bpm-readme-home-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('README: Serve over HTTP, quick start', () => {
  const quickStart = section('## Serve over HTTP');
  const [serverBlock, clientBlock] = shellBlocks(quickStart);

  it('creating the token, starting the server with it, and connecting with the header: as written', async () => {
    const [create, start] = commands(serverBlock!);
    // 1. The token, as the README makes it: a file only its owner can read, 64 hex characters.
    expect(spawnSync('sh', ['-c', create!], { env: { PATH: process.env.PATH ?? '', HOME: home } }).status).toBe(0);
    const tokenFile = join(home, '.config', 'basecamp-people-mcp', 'http-token');
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(tokenFile, 'utf8')).toMatch(/^[0-9a-f]{64}\n$/);

    // 2. The server, as the README starts it (the built CLI for the command name; any free port; the sandbox).
    expect(start).toMatch(/^MCP_HTTP_TOKEN="\$\(cat [^)]+\)" basecamp-people-mcp serve --http --port 8787$/);
    const child = spawn('sh', ['-c', start!.replace(' basecamp-people-mcp serve', ` "${process.execPath}" "${cli}" serve`).replace('--port 8787', '--port 0 --sandbox')], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '', HOME: home, BASECAMP_LOG_LEVEL: 'info' },
      // Its own process group: the server is a child of `sh`, and killing only `sh` would leave it running.
      detached: true,
    });
    try {
      let stderr = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
          const m = /streamable HTTP at (\S+)/.exec(stderr);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
      });

      // 3. The clients: Claude Code and the Inspector pass the same header, read from the same file.
      const [claude, inspector] = commands(clientBlock!);
      const header = /--header "([^"]*\$\([^)]*\)[^"]*)"/.exec(claude!)![1]!;
      expect(claude).toBe(`claude mcp add --transport http basecamp-people http://127.0.0.1:8787/mcp --header "${header}"`);
      expect(inspector).toContain(`npx -y @modelcontextprotocol/inspector@2.12.0 --cli http://127.0.0.1:8787/mcp --transport http --header "${header}"`);
      const value = spawnSync('sh', ['-c', `printf '%s' "${header}"`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } }).stdout;
      const [name, ...rest] = value.split(': ');
      const client = new Client({ name: 'readme-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { [name!]: rest.join(': ') } } }));
      expect((await client.listTools()).tools).toHaveLength(registry.length);
      const admins = (await client.callTool({ name: 'list_people', arguments: { role: 'admin' } })) as ToolResult;
      expect(admins.isError).toBeFalsy();
      await client.close();

      // Without the header: refused.
      const anonymous = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(anonymous.statusCode).toBe(401);
      await anonymous.body.dump();
    } finally {
      process.kill(-child.pid!, 'SIGTERM');
    }
  });

  it('with the token file missing, the same start line refuses to start (empty MCP_HTTP_TOKEN), saying why', () => {
    const [, start] = commands(serverBlock!);
    const empty = mkdtempSync(join(tmpdir(), 'bpm-readme-nohome-'));
    const r = spawnSync('sh', ['-c', start!.replace(' basecamp-people-mcp serve', ` "${process.execPath}" "${cli}" serve`).replace('--port 8787', '--port 0 --sandbox')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: empty },
      timeout: 30_000,
    });
    rmSync(empty, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Environment variable MCP_HTTP_TOKEN is set but empty');
  });
});

describe('README: tooling notes', () => {
  it('every Inspector command pins 2.12.0, the README says it needs Node ≥ 22.19, and shows -e for the server\'s env', () => {
    const sources = [readme, ...readdirSync(join(root, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(root, 'src', f), 'utf8'))];
    const mentions = sources.flatMap((text) => [...text.matchAll(/@modelcontextprotocol\/inspector(@[\w.-]+)?/g)].map((m) => m[0]));
    expect(mentions.length).toBeGreaterThan(4);
    expect(mentions.filter((m) => m !== '@modelcontextprotocol/inspector@2.12.0')).toEqual([]);
    expect(section('## Try it')).toContain('it needs **Node ≥ 22.19**');
    expect(commands(shellBlocks(section('## Try it'))[1]!)).toContain(
      'npx -y @modelcontextprotocol/inspector@2.12.0 --cli -e BASECAMP_READ_ONLY=true node dist/cli.js serve --sandbox --method tools/list',
    );
  });
});

describe('README: MCP protocol versions', () => {
  it('names exactly the revisions the SDK in use speaks: 2026-07-28 and each 2025-era one', () => {
    const text = section('## MCP protocol versions');
    const named = [...new Set([...text.matchAll(/\b20\d\d-\d\d-\d\d\b/g)].map((m) => m[0]))];
    expect(named.filter((v) => v !== '2026-07-28').sort()).toEqual([...SUPPORTED_PROTOCOL_VERSIONS].sort());
    expect(named).toContain('2026-07-28');
    expect(text).not.toMatch(/does not speak 2026-07-28/);
  });

  it('as the server answers: a 2025 client asking for 2026-07-28 in initialize gets 2025-11-25; a 2026 server/discover names 2026-07-28', async () => {
    const sb = await startSandbox();
    const service = sandboxService(sb);
    const server = createMcpServer(service, { caller: STDIO_CALLER });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    type Answer = { result?: { protocolVersion?: string }; error?: { code: number } };
    const waiting = new Map<number, (m: Answer) => void>();
    clientSide.onmessage = (m: JSONRPCMessage) => {
      if ('id' in m && typeof m.id === 'number') waiting.get(m.id)?.(m as Answer);
    };
    await server.connect(serverSide);
    await clientSide.start();
    const ask = async (id: number, method: string, params: Record<string, unknown>) => {
      const answered = new Promise<Answer>((resolve) => waiting.set(id, resolve));
      await clientSide.send({ jsonrpc: '2.0', id, method, params });
      return answered;
    };
    const http = await serveHttp(singleService(service), { port: 0 });
    try {
      const init = await ask(1, 'initialize', { protocolVersion: '2026-07-28', capabilities: {}, clientInfo: { name: 'modern', version: '1' } });
      expect(init.result?.protocolVersion).toBe('2025-11-25');
      const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'modern', version: '1' } };
      const discover = await fetch(http.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'server/discover' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } }),
      });
      expect(((await discover.json()) as { result: { supportedVersions: string[] } }).result.supportedVersions).toContain('2026-07-28');
    } finally {
      await http.drain(100);
      await server.close();
      await service.close();
      await sb.close();
    }
  });
});

