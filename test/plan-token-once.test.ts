import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { connectSharedBudget } from '../src/basecamp/shared-budget.js';
import type { Config } from '../src/config.js';
import { RedisPlanClaims } from '../src/governance/redis-plan-claims.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { ServiceOptions } from '../src/service.js';
import { ADAM, call, connectClient, freePort, hasRedis, JAN, kindOf, LAUNCH, PLAN_SECRET, sandboxService, scratchHarness, startRedis, structured, text, type ToolResult, writes } from './helpers.js';

/**
 * A plan_token runs its plan once, however the calls carrying it overlap: in one process, across processes sharing
 * an audit file, and across instances sharing only Redis. Counted where it matters: the sandbox's request log.
 */
const { track, scratch } = scratchHarness('once');

const SECRET = PLAN_SECRET;
const roomy = () => new RateBudget({ max: 10_000, windowMs: 10_000 });
const tokenOf = (r: ToolResult) => structured<{ plan_token: string }>(r).plan_token;

/** A server instance (its own service, so its own PlanSealer) on the sandbox, with `clients` MCP clients. */
async function instance(sb: Sandbox, config: Partial<Config>, clients = 1, options: ServiceOptions = {}): Promise<Client[]> {
  const service = track(sandboxService(sb, { budget: roomy(), ...options, config: { planSecret: SECRET, ...config } }));
  return Promise.all(Array.from({ length: clients }, async () => track(await connectClient(service))));
}

/** Exactly one of the answers ran; every other one was refused as already used, nothing sent. */
function expectOneRan(results: ToolResult[]): void {
  const ran = results.filter((r) => !r.isError);
  expect(ran, results.map(text).join('\n---\n')).toHaveLength(1);
  for (const r of results.filter((x) => x.isError)) {
    expect(kindOf(r), text(r)).toBe('plan_changed');
    expect(text(r)).toMatch(/already used/);
  }
}

describe('one plan_token runs its plan once, however the calls overlap', () => {
  it.each([
    ['with an audit trail', () => join(scratch(), 'audit.jsonl')],
    ['with the audit trail off', () => undefined],
  ])('three overlapping calls in one process (update_project_access), %s: one PUT, two refused', async (_, auditLog) => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const clients = await instance(sb, { auditLog: auditLog() }, 3);
    await call(clients[0]!, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const token = tokenOf(await call(clients[0]!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] }));
    const before = writes(sb).length;
    const results = await Promise.all(clients.map((c) => call(c, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token })));
    expectOneRan(results);
    expect(writes(sb).slice(before).map((r) => r.method)).toEqual(['PUT']);
  });

  it('three overlapping trash_person runs in one process: each project revoked once', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const clients = await instance(sb, { auditLog: join(scratch(), 'audit.jsonl') }, 3);
    const planned = [...sb.data.projects.values()].filter((p) => p.members.has(JAN)).length;
    const token = tokenOf(await call(clients[0]!, 'trash_person', { person_id: JAN, dry_run: true }));
    const results = await Promise.all(clients.map((c) => call(c, 'trash_person', { person_id: JAN, plan_token: token })));
    expectOneRan(results);
    expect(writes(sb)).toHaveLength(planned);
  });

  it('a token refused because the call\'s arguments differ says so, apart from "the account changed"', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const [client] = await instance(sb, {});
    const people = Array.from({ length: 11 }, (_, i) => ({ email_address: `batch${i}@acme.example` }));
    const token = tokenOf(await call(client!, 'invite_people', { people }));
    const other = await call(client!, 'invite_people', { people: [...people.slice(1), { email_address: 'else@acme.example' }], plan_token: token });
    expect(kindOf(other)).toBe('plan_changed');
    expect(text(other)).toMatch(/the plan_token was made for a call with other arguments than this one/);
    expect(text(other)).not.toMatch(/account changed/);
    // The same arguments in another order seal the same plan: it runs.
    const reordered = await call(client!, 'invite_people', { people: [...people].reverse(), plan_token: token });
    expect(reordered.isError, text(reordered)).toBeFalsy();
    // Same arguments, the account changed meanwhile (dry_run does not count as an argument): said so.
    const dry = tokenOf(await call(client!, 'trash_person', { person_id: JAN, dry_run: true }));
    [...sb.data.projects.values()].find((p) => p.status === 'active' && !p.members.has(JAN))!.members.add(JAN);
    const changed = await call(client!, 'trash_person', { person_id: JAN, plan_token: dry });
    expect(text(changed)).toMatch(/the account changed since the plan was made/);
  });

  it('two instances sharing one audit file (not Redis): one runs, the other refuses', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const file = join(scratch(), 'audit.jsonl');
    const [a] = await instance(sb, { auditLog: file });
    const [b] = await instance(sb, { auditLog: file });
    await call(a!, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const token = tokenOf(await call(a!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] }));
    const before = writes(sb).length;
    const results = await Promise.all([a, b, a, b].map((c) => call(c!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token })));
    expectOneRan(results);
    expect(writes(sb).slice(before)).toHaveLength(1);
  });
});

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** `serve --http` as its own process (the wiring of serve.ts), with its own audit file. */
async function spawnInstance(sb: Sandbox, env: Record<string, string>, name: string): Promise<Client> {
  const proc: ChildProcess = spawn(process.execPath, [cli, 'serve', '--http', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '',
      BASECAMP_API_URL: sb.url,
      BASECAMP_LAUNCHPAD_URL: sb.url,
      BASECAMP_ACCESS_TOKEN: sb.token,
      BASECAMP_ACCOUNT_ID: String(sb.accountId),
      BASECAMP_RATE_LIMIT: '10000/10s',
      BASECAMP_PLAN_SECRET: SECRET,
      MCP_HTTP_TOKEN: 'once-token-0123456789',
      ...env,
    },
  });
  track({ close: () => proc.kill('SIGTERM') });
  let stderr = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /streamable HTTP at (\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    proc.on('exit', () => reject(new Error(`instance ${name} exited: ${stderr}`)));
  });
  const client = new Client({ name: `once-${name}`, version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: 'Bearer once-token-0123456789' } } }));
  return track(client);
}

describe.skipIf(!hasRedis && !process.env.CI)('instances sharing Redis (and the plan secret) but not an audit file', () => {
  let port = 0;
  it('two server processes with REDIS_URL: of overlapping calls with one token, one runs; the rest are refused', async () => {
    const redis = await startRedis(await freePort().then((p) => (port = p)));
    track({ close: () => redis.kill('SIGKILL') });
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const env = (n: string) => ({ REDIS_URL: `redis://127.0.0.1:${port}`, BASECAMP_AUDIT_LOG: join(scratch(), `audit-${n}.jsonl`) });
    const [a, b] = await Promise.all([spawnInstance(sb, env('a'), 'a'), spawnInstance(sb, env('b'), 'b')]);
    await call(a, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const token = tokenOf(await call(a, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] }));
    const before = writes(sb).length;
    const results = await Promise.all([b, a, b, a].map((c) => call(c, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token })));
    expectOneRan(results);
    expect(writes(sb).slice(before).map((r) => r.method)).toEqual(['PUT']);
  });

  it('Redis down when the token is claimed: refused (plan_claim_unavailable), nothing sent, and the token is spent here', async () => {
    const redis = await startRedis(await freePort().then((p) => (port = p)));
    let redisAlive = true;
    track({ close: () => redisAlive && redis.kill('SIGKILL') });
    const shared = await connectSharedBudget(`redis://127.0.0.1:${port}`, 'test:once', { max: 10_000, windowMs: 10_000 });
    track(shared);
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    // Reads go through a budget of this process; only the claim needs Redis.
    const [client] = await instance(sb, { auditLog: join(scratch(), 'audit.jsonl') }, 1, { planClaims: new RedisPlanClaims(shared.redis, `redis://127.0.0.1:${port}`) });
    await call(client!, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const token = tokenOf(await call(client!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] }));
    redis.kill('SIGKILL');
    redisAlive = false;
    await new Promise((resolve) => shared.redis.once('close', resolve));
    const before = writes(sb).length;
    const refused = await call(client!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token });
    expect(kindOf(refused), text(refused)).toBe('plan_claim_unavailable');
    expect(text(refused)).toMatch(/Nothing was changed: Redis at redis:\/\/127\.0\.0\.1:\d+, where this fleet records used plan tokens, did not answer/);
    expect(text(refused)).toMatch(/without plan_token \(or with dry_run\) for a fresh plan/);
    expect(writes(sb)).toHaveLength(before);
    // Spent here: the same token again is "already used", even with Redis still down.
    const again = await call(client!, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token });
    expect(kindOf(again)).toBe('plan_changed');
    expect(text(again)).toMatch(/already used/);
    expect(writes(sb)).toHaveLength(before);
  });
});
