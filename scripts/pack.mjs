// npm run pack: builds basecamp-people-mcp.mcpb with production dependencies only.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const stage = mkdtempSync(join(tmpdir(), 'bpm-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
try {
  for (const f of ['dist', 'manifest.json', 'package.json', 'package-lock.json', 'README.md']) cpSync(join(root, f), join(stage, f), { recursive: true });
  execFileSync(npm, ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: stage, stdio: 'inherit' });
  execFileSync(npm, ['exec', '--yes', '--', '@anthropic-ai/mcpb@2.1.2', 'pack', stage, join(root, 'basecamp-people-mcp.mcpb')], { cwd: root, stdio: 'inherit' });
} finally {
  rmSync(stage, { recursive: true, force: true });
}
