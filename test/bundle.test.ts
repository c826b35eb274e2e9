import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
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
  });
});
