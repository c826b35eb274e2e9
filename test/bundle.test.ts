import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tools as registry } from '../src/tools/index.js';
import type { ToolResult } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const bundle = join(root, 'basecamp-people-mcp.mcpb');
const scratch = mkdtempSync(join(tmpdir(), 'bpm-bundle-test-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

/** The .mcpb as Claude Desktop installs it: unpacked into a folder with no node_modules anywhere above it. */
describe('the .mcpb bundle (npm run pack)', () => {
  it('holds the bundled server and nothing else, and serves every tool from where it is unpacked', async () => {
    execFileSync(process.execPath, ['scripts/pack.mjs'], { cwd: root, stdio: 'pipe' });
    const unpacked = join(scratch, 'unpacked');
    execFileSync('npm', ['exec', '--yes', '--', '@anthropic-ai/mcpb@2.1.2', 'unpack', bundle, unpacked], { cwd: scratch, stdio: 'pipe' });

    const files = filesUnder(unpacked);
    expect(files).toContain('manifest.json');
    expect(files).toContain('dist/cli.js');
    expect(files.filter((f) => f.includes('node_modules'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(existsSync(join(scratch, 'node_modules'))).toBe(false);

    // Spawned the way the manifest's mcp_config does, with the sandbox turned on.
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(unpacked, 'dist/cli.js'), 'serve'],
      cwd: scratch,
      stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '', BASECAMP_SANDBOX: 'true', HOME: scratch },
    });
    const client = new Client({ name: 'bundle-test', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(registry.map((t) => t.name));
      const admins = (await client.callTool({ name: 'list_people', arguments: { role: 'admin' } })) as ToolResult;
      expect(admins.isError).toBeFalsy();
      expect((admins.structuredContent as { people: unknown[] }).people.length).toBeGreaterThan(0);
    } finally {
      await client.close();
    }
    // The size budget itself is a benchmark target (npm run bench); here only a sanity bound.
    expect(statSync(bundle).size).toBeLessThan(5 * 1024 * 1024);

    // As Claude Desktop starts it: the manifest's mcp_config, with Sandbox on and every other field left blank. A field
    // with no value can reach the server as the literal `${user_config.KEY}`: each is treated as unset, said once.
    const manifest = JSON.parse(readFileSync(join(unpacked, 'manifest.json'), 'utf8')) as Manifest;
    const { command, args, env } = manifest.server.mcp_config;
    const filled = (v: string) => v.replaceAll('${__dirname}', unpacked).replace('${user_config.sandbox}', 'true');
    const launched = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, filled(v)]));
    const unfilled = Object.keys(launched).filter((k) => launched[k]!.includes('${user_config.'));
    expect(unfilled.length).toBeGreaterThanOrEqual(4);
    const desktop = new StdioClientTransport({
      command: command === 'node' ? process.execPath : command,
      args: args.map(filled),
      cwd: scratch,
      stderr: 'pipe',
      env: { PATH: process.env.PATH ?? '', HOME: scratch, ...launched },
    });
    let stderr = '';
    desktop.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const viaDesktop = new Client({ name: 'bundle-test-desktop', version: '1.0.0' });
    await viaDesktop.connect(desktop);
    try {
      expect((await viaDesktop.listTools()).tools.map((t) => t.name)).toEqual(registry.map((t) => t.name));
      const account = (await viaDesktop.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
      expect(account.isError).toBeFalsy();
      expect(account.content[0]!.text).toMatch(/sandbox/);
    } finally {
      await viaDesktop.close();
    }
    for (const name of unfilled) expect(stderr.split(`${name} is "\${user_config.`).length - 1, name).toBe(1);
  });
});

interface Manifest {
  server: { mcp_config: { command: string; args: string[]; env: Record<string, string> } };
  user_config: Record<string, { type: string; required?: boolean; default?: unknown; sensitive?: boolean }>;
}

describe('manifest.json user_config', () => {
  const manifest = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;

  it('every optional field has a default, and every field the env names exists', () => {
    for (const [key, field] of Object.entries(manifest.user_config)) if (!field.required) expect(field, key).toHaveProperty('default');
    const named = Object.values(manifest.server.mcp_config.env).flatMap((v) => [...v.matchAll(/\$\{user_config\.(\w+)\}/g)].map((m) => m[1]!));
    expect(named.filter((k) => !(k in manifest.user_config))).toEqual([]);
  });

  it('offers the OAuth app for sign-in: client_id and a sensitive client_secret, passed as BASECAMP_CLIENT_ID/SECRET', () => {
    expect(manifest.server.mcp_config.env).toMatchObject({ BASECAMP_CLIENT_ID: '${user_config.client_id}', BASECAMP_CLIENT_SECRET: '${user_config.client_secret}' });
    expect(manifest.user_config.client_secret).toMatchObject({ type: 'string', sensitive: true });
    expect(manifest.user_config.access_token).toMatchObject({ sensitive: true });
  });
});
