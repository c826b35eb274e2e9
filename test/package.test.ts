import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { tools as registry } from '../src/tools/index.js';
import type { ToolResult } from './helpers.js';

const root = resolve(import.meta.dirname, '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string> };
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const tarball = `${pkg.name}-${pkg.version}.tgz`;
const scratch = mkdtempSync(join(tmpdir(), 'bpm-package-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// --ignore-scripts: `prepare` would rebuild dist/ under the feet of the other test files running meanwhile.
const npm = (...args: string[]) => execFileSync('npm', [...args, '--ignore-scripts'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A section of the README: from its heading to the next one of the same level. */
const section = (heading: string) => readme.slice(readme.indexOf(heading), readme.indexOf('\n## ', readme.indexOf(heading) + heading.length));

describe('the npm package (publish-ready; not on the registry yet)', () => {
  it('holds the server (dist/cli.js and every chunk it loads), the manifest, README, LICENSE and package.json: no sources, tests, maps or dev entries', () => {
    const [packed] = JSON.parse(npm('pack', '--dry-run', '--json')) as { files: { path: string }[] }[];
    const files = packed!.files.map((f) => f.path).sort();
    const chunks = readdirSync(join(root, 'dist', 'chunks')).filter((f) => f.endsWith('.js')).map((f) => `dist/chunks/${f}`);
    expect(files).toEqual(['LICENSE', 'README.md', 'dist/cli.js', ...chunks, 'manifest.json', 'package.json'].sort());
    expect(pkg.bin['basecamp-people-mcp']).toBe('dist/cli.js');
  });

  it("the README's route works: `npm pack`, then `npx -y ./" + tarball + '` runs the server, with no clone and no registry package', async () => {
    const install = section('## Install');
    expect(install).toContain('Not on the npm registry yet');
    expect(install).toMatch(/^npm pack +#/m);
    expect(install).toContain(`npx -y ./${tarball} --version`);

    npm('pack', '--pack-destination', scratch);
    const npx = (args: string[]) => execFileSync('npx', ['-y', `./${tarball}`, ...args], { cwd: scratch, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(npx(['--version']).trim()).toBe(pkg.version);

    // As the README's client config names it: npx with --package=<absolute path>, serving the sandbox over stdio.
    const config = `"args": ["-y", "--package=/absolute/path/to/${tarball}", "basecamp-people-mcp", "serve"]`;
    expect(readme).toContain(config);
    const args = (JSON.parse(`{${config}}`) as { args: string[] }).args.map((a) => a.replace(`/absolute/path/to/${tarball}`, join(scratch, tarball)));
    const client = new Client({ name: 'package-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: 'npx', args: [...args, '--sandbox'], cwd: tmpdir(), stderr: 'ignore' }));
    try {
      expect((await client.listTools()).tools.map((t) => t.name)).toEqual(registry.map((t) => t.name));
      const admins = (await client.callTool({ name: 'list_people', arguments: { role: 'admin' } })) as ToolResult;
      expect(admins.isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });

  it("the README's Claude Desktop config starts the clone's dist/cli.js with node (no registry package)", () => {
    const desktop = section('## Use it with Claude Desktop');
    const config = JSON.parse(/```json\n([\s\S]*?)```/.exec(desktop)![1]!) as { mcpServers: Record<string, { command: string; args: string[] }> };
    const server = Object.values(config.mcpServers)[0]!;
    expect(server.command).toBe('node');
    expect(server.args).toEqual(['/absolute/path/to/basecamp-people-mcp/dist/cli.js', 'serve']);
    // The registry name appears only as what will work once published.
    expect(desktop.match(/"-y", "basecamp-people-mcp"/g)).toHaveLength(1);
    expect(desktop).toContain('(once published: `"args": ["-y", "basecamp-people-mcp", "serve"]`)');
  });
});
