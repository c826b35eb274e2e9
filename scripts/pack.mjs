// npm run pack: builds basecamp-people-mcp.mcpb. dist/ is already one bundle with every dependency inside,
// so the .mcpb holds the server's entry and its chunks, the manifest and the README: no node_modules.
// Source maps, the demo and the sandbox library entry are left out (the server does not load them).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const stage = mkdtempSync(join(tmpdir(), 'bpm-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const leftOut = new Set(['demo.js', 'sandbox.js']);
try {
  cpSync(join(root, 'dist'), join(stage, 'dist'), {
    recursive: true,
    filter: (src) => !src.endsWith('.map') && !leftOut.has(basename(src)),
  });
  for (const f of ['manifest.json', 'README.md']) cpSync(join(root, f), join(stage, f));
  execFileSync(npm, ['exec', '--yes', '--', '@anthropic-ai/mcpb@2.1.2', 'pack', stage, join(root, 'basecamp-people-mcp.mcpb')], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
