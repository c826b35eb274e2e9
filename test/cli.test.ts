import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { connect, createServer, type AddressInfo } from 'node:net';
import { request } from 'undici';
import { describe, expect, it, vi } from 'vitest';
import { tools as registry } from '../src/tools/index.js';
import { run as runInProcess } from '../src/commands/index.js';
import { parseSettings } from '../src/settings.js';
import { programCommand } from '../src/cli-command.js';
import type { ToolResult } from './helpers.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const hasScript = spawnSync('script', ['--version']).status === 0;
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
/** Runs the CLI with these variables and no others; a generous timeout so a hang fails instead of waiting forever. */
const runWith = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 });

/** Starts `serve --http` and resolves with its URL once it listens. */
async function startHttp(env: Record<string, string>, ...args: string[]) {
  const child = spawn(process.execPath, [cli, 'serve', '--http', '--port', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', BASECAMP_LOG_LEVEL: 'info', ...env },
  });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /streamable HTTP at (\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
  });
  return { child, url };
}

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
    expect((await client.listTools()).tools).toHaveLength(registry.length);
    const r = (await client.callTool({ name: 'list_people', arguments: {} })) as ToolResult;
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/login/);
    expect(stderr.match(/not signed in/g)).toHaveLength(1);
    await client.close();
  });

  it.each([['its own audit trail', {}], ['BASECAMP_AUDIT_LOG=off', { BASECAMP_AUDIT_LOG: 'off' }]] as const)(
    '--sandbox (%s) keeps people snapshots in its own temporary folder, never in the config folder (issue 21)',
    async (_name, extra) => {
      const config = mkdtempSync(join(tmpdir(), 'bpm-cli-config-'));
      try {
        const client = new Client({ name: 'cli-test', version: '1.0.0' });
        const env = { PATH: process.env.PATH ?? '', XDG_CONFIG_HOME: config, ...extra };
        await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox'], stderr: 'ignore', env }));
        const r = (await client.callTool({ name: 'people_changes', arguments: {} })) as ToolResult;
        await client.close();
        expect(r.isError, r.content[0]!.text).toBeFalsy();
        const { snapshots, baseline_recorded } = r.structuredContent as { snapshots: string; baseline_recorded: boolean };
        expect(baseline_recorded).toBe(true);
        expect(dirname(snapshots)).toMatch(new RegExp(`^${tmpdir()}/basecamp-people-mcp-sandbox-`));
        expect(readdirSync(config, { recursive: true })).toEqual([]);
      } finally {
        rmSync(config, { recursive: true, force: true });
      }
    },
  );

  it('--read-only over stdio registers only the read-only tools', async () => {
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox', '--read-only'], stderr: 'ignore' }));
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(registry.filter((t) => t.annotations.readOnlyHint).map((t) => t.name).sort());
    expect(names).not.toContain('trash_person');
    await client.close();
  });
});

describe('command line: the rough edges a first hour meets', () => {
  it('--help lists every variable the settings read', () => {
    const read = new Set<string>();
    const env = new Proxy<Record<string, string | undefined>>({}, {
      get: (_t, key) => (typeof key === 'string' && read.add(key), undefined),
    });
    parseSettings([], env);
    expect(read.size).toBeGreaterThan(20);
    const help = run('--help').stdout;
    expect([...read].filter((name) => !new RegExp(`^  ${name} `, 'm').test(help))).toEqual([]);
  });

  it('a mistyped flag: one line naming it and the nearest flag, exit 2, no help dump', () => {
    const r = run('serve', '--http', '--prot', '8787');
    expect(r.status).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('basecamp-people-mcp: unknown flag --prot; did you mean --port?');
    expect(r.stderr).not.toMatch(/Usage:/);
  });

  it('serve --http on a port in use says to pass --port, and exits 1', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const r = runWith({}, 'serve', '--http', '--sandbox', '--port', String(port));
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`Port ${port} on 127.0.0.1 is in use (another server is listening there): pass --port with a free port, or --port 0 to pick one`);
    } finally {
      taken.close();
    }
  });

  it('login on a callback port in use says to pass --port (or, with a redirect URI, to change its port)', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const env = { BASECAMP_CLIENT_ID: 'c', BASECAMP_CLIENT_SECRET: 's', BASECAMP_TOKEN_FILE: '/nonexistent-dir/token.json', CI: 'true' };
    try {
      const byPort = runWith(env, 'login', '--no-browser', '--port', String(port));
      expect(byPort.status).toBe(1);
      expect(byPort.stderr).toContain(`Port ${port} on 127.0.0.1 is in use: pass --port with a free port`);
      const byUri = runWith(env, 'login', '--no-browser', '--redirect-uri', `http://127.0.0.1:${port}/callback`);
      expect(byUri.status).toBe(1);
      expect(byUri.stderr).toContain(`is in use: give --redirect-uri (or BASECAMP_REDIRECT_URI) with a free port`);
    } finally {
      taken.close();
    }
  });

  it.skipIf(!hasScript)('serve in a terminal says once, on stderr, that it speaks MCP on stdin/stdout and how to try it', async () => {
    // `script` gives the server a terminal for stdin; stdout goes to /dev/null, so what shows came through stderr.
    const child = spawn('script', ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} serve --sandbox 1>/dev/null`, '/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let out = '';
    let ended = false;
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Once it serves, end its input (Ctrl-D at the terminal): it stops, and everything it said has arrived.
      if (!ended && out.includes('over stdio')) {
        ended = true;
        child.stdin.write('\x04');
      }
    });
    await exited;
    expect(out.match(/it speaks JSON-RPC on stdin\/stdout/g)).toHaveLength(1);
    expect(out).toContain(`npx -y @modelcontextprotocol/inspector@2.12.0 node ${cli} serve --sandbox`);
  });

  it('serve under a client (stdin not a terminal) does not say it', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox'], stderr: 'pipe', env: { PATH: process.env.PATH ?? '' } });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(transport);
    await client.listTools();
    await client.close();
    expect(stderr).toMatch(/serving \d+ tools over stdio/);
    expect(stderr).not.toMatch(/speaks JSON-RPC/);
  });
});

describe('messages name a command that works where this copy runs', () => {
  const signInText = async (path: string) => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [cli],
      stderr: 'ignore',
      env: { PATH: path, HOME: '/nonexistent-home', BASECAMP_TOKEN_FILE: '/nonexistent/token.json' },
    });
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(transport);
    const r = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
    await client.close();
    return r.content[0]!.text;
  };

  it('from a clone: `node /absolute/dist/cli.js login`, and that command runs', async () => {
    const text = await signInText(process.env.PATH ?? '');
    expect(text).toContain(`Run \`node ${cli} login\``);
    expect(text).toContain(`\`node ${cli} serve --sandbox\``);
    const named = /Run `([^`]+) login`/.exec(text)![1]!;
    expect(spawnSync('sh', ['-c', `${named} --version`], { encoding: 'utf8' }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the bin name once `npm link` (or a global install) put it on the PATH; never for npm\'s own node_modules/.bin', async () => {
    const linked = mkdtempSync(join(tmpdir(), 'bpm-bin-'));
    symlinkSync(cli, join(linked, 'basecamp-people-mcp'));
    expect(await signInText(`${linked}:${process.env.PATH ?? ''}`)).toContain('Run `basecamp-people-mcp login`');
    const npxBin = join(linked, 'node_modules', '.bin');
    mkdirSync(npxBin, { recursive: true });
    symlinkSync(cli, join(npxBin, 'basecamp-people-mcp'));
    expect(await signInText(`${npxBin}:${process.env.PATH ?? ''}`)).toContain(`Run \`node ${cli} login\``);
    rmSync(linked, { recursive: true, force: true });
  });

  it('the running script is named by its real path, quoted for the shell when it has spaces; anything but cli.js is named by the bin name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bpm with space-'));
    const link = join(dir, 'cli.js');
    symlinkSync(cli, link);
    expect(programCommand(link, '')).toBe(`node ${cli}`);
    writeFileSync(join(dir, 'x.js'), '');
    const spaced = join(dir, 'dist', 'cli.js');
    mkdirSync(dirname(spaced));
    writeFileSync(spaced, '');
    expect(programCommand(spaced, '')).toBe(`node '${spaced}'`);
    expect(programCommand(join(dir, 'x.js'), '')).toBe('basecamp-people-mcp');
    rmSync(dir, { recursive: true, force: true });
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

describe('settings are validated before anything starts', () => {
  it('`--port abc --sandbox` exits 1 at once, naming the flag and what is allowed', () => {
    const r = runWith({}, '--port', 'abc', '--sandbox');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Flag --port must be a whole number from 0 to 65535 \(got "abc"\)/);
    expect(r.stderr).not.toMatch(/SANDBOX/); // nothing was started
  });

  it('`MCP_MAX_SESSIONS=abc serve --http --sandbox` exits 1 naming the variable as a variable', () => {
    const r = runWith({ MCP_MAX_SESSIONS: 'abc' }, 'serve', '--http', '--sandbox', '--port', '0');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Environment variable MCP_MAX_SESSIONS must be a whole number, at least 1 \(got "abc"\)/);
    expect(r.stderr).not.toMatch(/--MCP_MAX_SESSIONS/);
  });

  it('`MCP_MAX_SESSIONS_PER_CALLER` above `MCP_MAX_SESSIONS`, or not a whole number, exits 1 naming the limit', () => {
    const above = runWith({ MCP_MAX_SESSIONS: '8', MCP_MAX_SESSIONS_PER_CALLER: '9' }, 'serve', '--http', '--sandbox', '--port', '0');
    expect(above.status).toBe(1);
    expect(above.stderr).toMatch(/Environment variable MCP_MAX_SESSIONS_PER_CALLER must be at most MCP_MAX_SESSIONS \(8\) \(got "9"\)/);
    expect(above.stderr).not.toMatch(/SANDBOX|serving/); // nothing was started
    const zero = runWith({ MCP_MAX_SESSIONS_PER_CALLER: '0' }, 'serve', '--http', '--sandbox', '--port', '0');
    expect(zero.status).toBe(1);
    expect(zero.stderr).toMatch(/Environment variable MCP_MAX_SESSIONS_PER_CALLER must be a whole number, at least 1 \(got "0"\)/);
  });

  it('`BASECAMP_READ_ONLY=maybe` exits 1 saying which values are allowed', () => {
    const r = runWith({ BASECAMP_READ_ONLY: 'maybe' }, '--sandbox');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Environment variable BASECAMP_READ_ONLY must be true or false \(also 1\/0, yes\/no, on\/off\)/);
  });

  it('every problem is reported at once', () => {
    const r = runWith({ MCP_MAX_SESSIONS: 'abc', BASECAMP_API_URL: 'https://3.basecampapi.com/?x#y' }, 'serve', '--http', '--port', 'abc');
    expect(r.status).toBe(1);
    for (const name of ['Flag --port', 'Environment variable MCP_MAX_SESSIONS', 'Environment variable BASECAMP_API_URL must not contain a query']) {
      expect(r.stderr).toContain(name);
    }
  });

  it('an unreachable REDIS_URL with --sandbox exits 1 (no hang)', () => {
    const r = runWith({ REDIS_URL: 'redis://127.0.0.1:1' }, 'serve', '--http', '--sandbox', '--port', '0');
    expect(r.error).toBeUndefined(); // not killed by the timeout
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/Redis/);
  }, 40_000);

  it('a failure after start stops what had started (the sandbox stops listening) and returns 1', async () => {
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    try {
      const code = await runInProcess(['serve', '--http', '--sandbox', '--port', '0', '--people', '10'], { REDIS_URL: 'redis://127.0.0.1:1', BASECAMP_LOG_LEVEL: 'info' });
      expect(code).toBe(1);
    } finally {
      vi.restoreAllMocks();
    }
    const port = Number(/SANDBOX.* at http:\/\/127\.0\.0\.1:(\d+)/.exec(stderr)![1]);
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  }, 40_000);

  it('`serve --sandbox --product bcx`: the tools work on the sandbox\'s Basecamp 2 account; BASECAMP_ACCOUNT_ID may pick its Basecamp 4 one', async () => {
    const productOf = async (env: Record<string, string>) => {
      const client = new Client({ name: 'cli-test', version: '1.0.0' });
      await client.connect(
        new StdioClientTransport({ command: process.execPath, args: [cli, 'serve', '--sandbox', '--product', 'bcx'], stderr: 'ignore', env: { PATH: process.env.PATH ?? '', ...env } }),
      );
      const account = (await client.callTool({ name: 'get_account', arguments: {} })) as unknown as { structuredContent: { product: { id: string }; account: { id: number } } };
      const people = (await client.callTool({ name: 'list_people', arguments: { limit: 1 } })) as unknown as { isError?: boolean; structuredContent: { total: number } };
      await client.close();
      return { product: account.structuredContent.product.id, id: account.structuredContent.account.id, people: people.isError ? -1 : people.structuredContent.total };
    };
    expect(await productOf({})).toEqual({ product: 'bcx', id: 4440001, people: 119 });
    expect(await productOf({ BASECAMP_ACCOUNT_ID: '5550001' })).toMatchObject({ product: 'bc3', id: 5550001 });
  });

  it.each([
    [[], /Connected over stdio \(MCP 2026-07-28\) to basecamp-people-mcp on the SANDBOX Basecamp 3\/4\/5 account/, /Offboard jan@acme\.example with that exact plan\n.*\n {2}Revoked Jan Jensen from/],
    [['--product', 'bcx'], /on the SANDBOX Basecamp 2 account/, /with that exact plan: removed from the account\n.*\n {2}Removed Jan Jensen from the Basecamp 2 account/],
  ])('the demo runs on either product (%j)', (args, connected, offboarded) => {
    const r = spawnSync(process.execPath, [join(dirname(cli), 'demo.js'), ...args], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(connected);
    expect(r.stdout).toMatch(offboarded);
    expect(r.stdout).toMatch(/^Done\./m);
  });

  /** The demo's output, one block per step (`> what` to the next). */
  const demoSteps = (out: string) => new Map(out.split('\n> ').slice(1).map((block) => [block.split('\n')[0]!, block] as const));

  it('the demo reads like a demo: says why it does not wait, counts what a listing leaves out, short plan tokens, the plan a refusal refers to', () => {
    const r = spawnSync(process.execPath, [join(dirname(cli), 'demo.js')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout;
    // No silent pauses: the tour's budget is said, and no 429 pause happened (it would be printed).
    expect(out).toContain('The sandbox allows 1000 requests per 10 s here so that no step waits; a real Basecamp 3/4/5 allows 50 per 10 s');
    expect(out).not.toMatch(/pausing/);
    const steps = demoSteps(out);
    // Listings cut short say how many more: of N admins, 5 shown and N - 5 more.
    const admins = /showing (\d+) from #1\.\n(?:    \d+ .*\n){5}    …(\d+) more\n/.exec(steps.get('Who are our admins?')!);
    expect(admins).not.toBeNull();
    expect(Number(admins![1]) - 5).toBe(Number(admins![2]));
    for (const [what, block] of steps) {
      const summary = /showing (\d+)/.exec(block);
      const lines = block.split('\n').filter((l) => /^    \d{7} /.test(l));
      if (summary && Number(summary[1]) > lines.length) expect(block, what).toMatch(/    …\d+ more/);
    }
    // Plan tokens: the first 12 characters and an ellipsis, wherever a person reads them.
    expect(out).not.toMatch(/eyJ[\w-]{13,}/);
    expect(steps.get('Offboard jan@acme.example with that exact plan')).toContain('"plan_token":"eyJ0b29sIjoi…"');
    // Inviting again says she already had access.
    expect(steps.get('Invite Dana again: she already has access (no duplicate is made)')).toContain(
      'Dana Doe was already on the account and already had access to Launch: nothing changed.',
    );
    // The refused step shows the plan it refers to.
    const refused = steps.get('Offboard jan@acme.example without a plan: refused, nothing changed')!;
    expect(refused).toMatch(/\n  REFUSED: trash_person failed: Nothing was changed/);
    expect(refused).toContain('    The plan:\n    - revoke Jan Jensen <jan@acme.example> (id 1000003) from Acme Co HQ (project 2000001)\n');
    expect(refused).toContain('    - revoke Jan Jensen <jan@acme.example> (id 1000003) from Q1 Planning (archived) (project 2000012)\n');
    // And a dry run shows its steps.
    expect(steps.get('Offboard jan@acme.example: the plan first')).toContain('    - revoke Jan Jensen <jan@acme.example> (id 1000003) from Launch (project 2000004)\n');
    expect(refused).toMatch(/    plan_token: eyJ0b29sIjoi… \(valid until \S+\)/);
  });

  it('the Basecamp 2 demo: a name that is the email is printed once; the refused revoke shows its plan', () => {
    const r = spawnSync(process.execPath, [join(dirname(cli), 'demo.js'), '--product', 'bcx'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/(\S+@\S+) <\1>/);
    const steps = demoSteps(r.stdout);
    expect(steps.get('Invite Dana to Launch by email')).toContain('  Invited dana@acme.example to Launch;');
    expect(steps.get('Take Dana off Launch: the plan first (no human to ask here)')).toMatch(/\n    - revoke dana@acme\.example \(id \d+\) from Launch \(project \d+\)\n/);
    expect(r.stdout).not.toMatch(/eyJ[\w-]{13,}/);
  });

  it('`sandbox --product bcx` serves the Basecamp 2 account and prints its API base', async () => {
    const child = spawn(process.execPath, [cli, 'sandbox', '--product', 'bcx', '--people', '30'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('BASECAMP_ACCESS_TOKEN=') && out.includes('Ctrl-C')) resolve();
      });
    });
    child.kill('SIGTERM');
    expect(out).toMatch(/Sandbox Basecamp 2 account .*\(29 people, 1 removed\).*also lists Basecamp 3\/4\/5 account 5550001/);
    expect(out).toMatch(/BASECAMP_ACCOUNT_ID=4440001/);
    const base = /(http:\/\/\S+\/4440001\/api\/v1)\/people\.json/.exec(out)![1]!;
    const token = /BASECAMP_ACCESS_TOKEN=(\S+)/.exec(out)![1]!;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/4440001\/api\/v1$/);
    expect(token.length).toBeGreaterThan(10);
  });

  it('`BASECAMP_READ_ONLY=on` registers only the read-only tools', async () => {
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [cli, '--sandbox'], stderr: 'ignore', env: { PATH: process.env.PATH ?? '', BASECAMP_READ_ONLY: 'on' } }),
    );
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(registry.filter((t) => t.annotations.readOnlyHint).map((t) => t.name).sort());
    expect(names).not.toContain('trash_person');
    await client.close();
  });
});

describe('MCP_MAX_SESSIONS_PER_CALLER', () => {
  it('reaches the HTTP server: its one caller at its cap is refused with the per-caller limit, though the pool has room', async () => {
    const { child, url } = await startHttp({ MCP_MAX_SESSIONS: '4', MCP_MAX_SESSIONS_PER_CALLER: '1' }, '--sandbox');
    const client = new Client({ name: 'cli-test', version: '1.0.0' });
    try {
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      const second = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
      });
      expect(second.status).toBe(503);
      expect(await second.text()).toMatch(/at most 1 per caller, MCP_MAX_SESSIONS_PER_CALLER/);
      await client.close();
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('MCP_SESSION_EVICT_GRACE_SECONDS', () => {
  it('reaches the HTTP server: with the cap full, a new client is refused until the idlest session is past the grace, then gets in', async () => {
    const { child, url } = await startHttp({ MCP_MAX_SESSIONS: '1', MCP_SESSION_EVICT_GRACE_SECONDS: '1' }, '--sandbox');
    const connectClient = async () => {
      const client = new Client({ name: 'cli-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      return client;
    };
    try {
      const first = await connectClient();
      await expect(connectClient()).rejects.toThrow(/503|Too many sessions/);
      await new Promise((r) => setTimeout(r, 1_500));
      const second = await connectClient();
      expect((await second.listTools()).tools.length).toBe(registry.length);
      await Promise.all([first.close(), second.close()]);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('MCP_HTTP_TOKEN', () => {
  it('with a trailing newline (as read from a file) is trimmed: a client sending `Bearer secret` gets in, others do not', async () => {
    const { child, url } = await startHttp({ MCP_HTTP_TOKEN: 'secret\n' }, '--sandbox');
    try {
      const client = new Client({ name: 'cli-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: 'Bearer secret' } } }));
      expect((await client.listTools()).tools.length).toBe(registry.length);
      await client.close();
      const wrong = await request(url, {
        method: 'POST',
        headers: { authorization: 'Bearer secretx', 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: '{}',
      });
      expect(wrong.statusCode).toBe(401);
      await wrong.body.dump();
    } finally {
      child.kill('SIGTERM');
    }
  });

  it.each([
    ['only whitespace', ' \n', /Environment variable MCP_HTTP_TOKEN is only whitespace/],
    ['inner whitespace', 'sec ret', /Environment variable MCP_HTTP_TOKEN must not contain spaces or control characters inside it/],
    ['a control character', 'sec\u0007ret', /Environment variable MCP_HTTP_TOKEN must not contain spaces or control characters/],
  ])('%s: refuses to start, saying why, without echoing it', (_label, token, message) => {
    const r = runWith({ MCP_HTTP_TOKEN: token }, 'serve', '--http', '--sandbox', '--port', '0');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    if (token.trim()) expect(r.stderr).not.toContain(token);
  });
});

describe('MCP_ALLOWED_HOSTS and MCP_ALLOWED_ORIGINS', () => {
  it('reach the HTTP server: a listed Host and Origin pass the front door, unlisted ones get 403', async () => {
    const { child, url } = await startHttp({ MCP_ALLOWED_HOSTS: 'mcp.example.com', MCP_ALLOWED_ORIGINS: 'https://app.example' }, '--sandbox');
    const port = new URL(url).port;
    const send = async (method: 'GET' | 'OPTIONS', headers: Record<string, string>) => {
      const res = await request(url, { method, headers: { accept: 'application/json, text/event-stream', ...headers } });
      await res.body.dump();
      return res;
    };
    try {
      // Past the Host check, a GET without a session is 400; refused by it, 403.
      expect((await send('GET', { host: `mcp.example.com:${port}` })).statusCode).toBe(400);
      expect((await send('GET', { host: `other.example.com:${port}` })).statusCode).toBe(403);
      const preflight = await send('OPTIONS', { origin: 'https://app.example', 'access-control-request-method': 'POST' });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example');
      expect((await send('OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'POST' })).statusCode).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
