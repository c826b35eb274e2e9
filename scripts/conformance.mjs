// npm run conformance: the official MCP conformance suite against a running HTTP server (sandbox account).
// The suite needs Node >= 22; the node@22 npm package provides it for this step only.
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const scenarios = ['server-initialize', 'tools-list', 'ping', 'dns-rebinding-protection', 'logging-set-level'];
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const server = spawn(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
let log = '';
const url = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 20_000);
  server.stderr.on('data', (d) => {
    log += d.toString();
    const m = /streamable HTTP at (\S+)/.exec(log);
    if (m) {
      clearTimeout(timer);
      resolve(m[1]);
    }
  });
});
let failed = 0;
for (const scenario of scenarios) {
  const run = spawnSync(
    'npx',
    ['-y', '-p', 'node@22', '-p', '@modelcontextprotocol/conformance@0.1.16', '--', 'conformance', 'server', '--url', url, '--scenario', scenario],
    { encoding: 'utf8', timeout: 180_000 },
  );
  const out = `${run.stdout}${run.stderr}`;
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
  const ok = run.status === 0 && summary && summary[1] === summary[2] && summary[3] === '0';
  console.log(`${ok ? 'PASS' : 'FAIL'} ${scenario}${summary ? ` (${summary[0]})` : ''}`);
  if (!ok) {
    failed++;
    console.log(out.split('\n').filter((l) => !/npm warn/.test(l)).slice(-30).join('\n'));
  }
}
server.kill('SIGTERM');
console.log(`MCP conformance suite: ${scenarios.length - failed} of ${scenarios.length} scenarios passed`);
process.exitCode = failed ? 1 : 0;
