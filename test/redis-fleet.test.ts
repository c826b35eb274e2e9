import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { freePort, hasRedis, maxInWindow, startRedis, type ToolResult } from './helpers.js';

/**
 * Two real server processes sharing one real Redis, against one sandbox: together they keep the sliding
 * window, and a 429 seen by one pauses both. Needs redis-server (CI installs it; elsewhere:
 * `apt-get install redis-server`). Without it, this file is skipped outside CI and fails in CI.
 */
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const WINDOW = 2_000;
const MAX = 10;



interface Instance {
  proc: ChildProcess;
  client: Client;
  stderr: () => string;
}

async function startInstance(sb: Sandbox, redisUrl: string, name: string): Promise<Instance> {
  const proc = spawn(process.execPath, [cli, 'serve', '--http', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      BASECAMP_API_URL: sb.url,
      BASECAMP_LAUNCHPAD_URL: sb.url,
      BASECAMP_ACCESS_TOKEN: sb.token,
      BASECAMP_ACCOUNT_ID: String(sb.accountId),
      BASECAMP_USER_AGENT: `fleet-${name} (https://example.test)`,
      BASECAMP_RATE_LIMIT: `${MAX}/${WINDOW}ms`,
      BASECAMP_CACHE_TTL: '0',
      REDIS_URL: redisUrl,
      MCP_HTTP_TOKEN: 'fleet-token-0123456789',
    },
  });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${name} did not start: ${stderr}`)), 15_000);
    proc.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /streamable HTTP at (\S+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    proc.on('exit', () => reject(new Error(`instance ${name} exited: ${stderr}`)));
  });
  const client = new Client({ name: `fleet-${name}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: 'Bearer fleet-token-0123456789' } } }));
  return { proc, client, stderr: () => stderr };
}

describe.skipIf(!hasRedis && !process.env.CI)('a fleet sharing one Redis budget', () => {
  let redis: ChildProcess;
  let sb: Sandbox;
  let a: Instance;
  let b: Instance;

  beforeAll(async () => {
    if (!hasRedis) throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
    const port = await freePort();
    redis = await startRedis(port);
    sb = await startSandbox({ people: 200, rateLimit: { max: MAX, windowMs: WINDOW } });
    const url = `redis://127.0.0.1:${port}`;
    [a, b] = await Promise.all([startInstance(sb, url, 'A'), startInstance(sb, url, 'B')]);
  });
  afterAll(async () => {
    for (const i of [a, b]) {
      await i?.client.close().catch(() => undefined);
      i?.proc.kill('SIGTERM');
    }
    redis?.kill('SIGKILL');
    await sb?.close();
  });

  const lookup = (i: Instance, id: number) => i.client.callTool({ name: 'get_person', arguments: { person_id: id } }) as Promise<ToolResult>;

  it('together they never exceed the budget in any sliding window, and Basecamp never answers 429', async () => {
    const before = sb.apiRequests().length;
    const ids = [...sb.data.people.keys()].slice(0, 36);
    const t0 = Date.now();
    const results = await Promise.all(ids.map((id, n) => lookup(n % 2 ? a : b, id)));
    expect(results.filter((r) => r.isError)).toHaveLength(0);
    const arrivals = sb.apiRequests().slice(before);
    expect(new Set(arrivals.map((r) => r.userAgent?.split(' ')[0]))).toEqual(new Set(['fleet-A', 'fleet-B']));
    expect(sb.throttled).toBe(0);
    expect(maxInWindow(arrivals.map((r) => r.at), WINDOW)).toBeLessThanOrEqual(MAX);
    // 36 requests at 10 per 2 s need at least three more windows after the first burst.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3 * WINDOW);
  });

  it('people_changes: the snapshots of the people directory are shared through Redis (issue 21): A records the baseline, B compares with it', async () => {
    const changes = async (i: Instance) => (await i.client.callTool({ name: 'people_changes', arguments: {} })) as ToolResult;
    const first = await changes(a);
    expect(first.isError, first.content[0]!.text).toBeFalsy();
    expect(first.structuredContent).toMatchObject({ baseline_recorded: true, snapshots: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:\d+/) as unknown });
    sb.data.people.get(1000003)!.admin = true;
    const second = await changes(b);
    expect(second.isError, second.content[0]!.text).toBeFalsy();
    expect(second.structuredContent).toMatchObject({
      baseline_recorded: false,
      baseline_at: (first.structuredContent as { baseline_at: string }).baseline_at,
      joined: [],
      left: [],
      changed: [{ person: { id: 1000003 }, field: 'admin', from: false, to: true }],
    });
  });

  it('a 429 seen by one instance holds back the other', async () => {
    await new Promise((r) => setTimeout(r, WINDOW + 500)); // let the window empty
    let refusedAt = 0;
    sb.intercept((req) => {
      if (!refusedAt && req.userAgent?.startsWith('fleet-A') && req.path.includes('/people/')) {
        refusedAt = Date.now();
        return { status: 429, headers: { 'Retry-After': '3' }, body: { error: 'slow down' } };
      }
      return undefined;
    });
    const fromA = lookup(a, 1000003);
    await new Promise((r) => setTimeout(r, 300));
    const before = sb.apiRequests().length;
    const fromB = lookup(b, 1000004);
    const [ra, rb] = await Promise.all([fromA, fromB]);
    sb.intercept(undefined);
    expect(ra.isError).toBeFalsy();
    expect(rb.isError).toBeFalsy();
    const bArrival = sb.apiRequests().slice(before).find((r) => r.userAgent?.startsWith('fleet-B'))!;
    expect(bArrival.at - refusedAt).toBeGreaterThanOrEqual(2_700);
  });

  it('after a 429 with a long Retry-After, later calls on every instance fail at once with rate_limited instead of hanging', async () => {
    sb.intercept((req) =>
      req.userAgent?.startsWith('fleet-A') && req.path.includes('/people/')
        ? { status: 429, headers: { 'Retry-After': '3600' }, body: { error: 'slow down' } }
        : undefined,
    );
    const first = await lookup(a, 1000006);
    sb.intercept(undefined);
    expect(first.isError).toBe(true);
    expect(first.content[0]!.text).toContain('"error":"rate_limited"');
    const before = sb.apiRequests().length;
    const t0 = Date.now();
    const later = await Promise.all([lookup(a, 1000007), lookup(b, 1000008), lookup(b, 1000009)]);
    for (const r of later) {
      expect(r.isError).toBe(true);
      const wire = JSON.parse(r.content[0]!.text.slice(r.content[0]!.text.indexOf('{'))) as { error: string; retry_after_seconds: number };
      expect(wire.error).toBe('rate_limited');
      expect(wire.retry_after_seconds).toBeGreaterThan(3_500);
    }
    expect(Date.now() - t0).toBeLessThan(5_000); // not an hour, and not the client's timeout
    expect(sb.apiRequests().length).toBe(before); // nothing was sent during the pause
  });

  it('when Redis goes away, calls fail clearly and quickly instead of hanging', async () => {
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const r = await lookup(a, 1000005);
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/shared rate budget is unavailable.*Redis/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});
