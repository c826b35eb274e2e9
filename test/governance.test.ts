import { fork } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import type { Config } from '../src/config.js';
import type { AuditLine } from '../src/governance/audit-log.js';
import { PlanSealer } from '../src/governance/plan-token.js';
import { callerKey, STDIO_CALLER } from '../src/caller.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { serveHttp } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { ADAM, call, connectClient, JAN, kindOf, LAUNCH, PLAN_SECRET, sandboxService, scratchHarness, structured, text, writes } from './helpers.js';

const { track, scratch } = scratchHarness('governance');

const SECRET = PLAN_SECRET;

async function world(config: Partial<Config> = {}, capabilities: Record<string, unknown> = {}) {
  const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
  const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { planSecret: SECRET, ...config } }));
  const client = track(await connectClient(service, {}, capabilities));
  return { sb, service, client };
}
const janProjects = (sb: Sandbox) => [...sb.data.projects.values()].filter((p) => p.members.has(JAN)).map((p) => p.id).sort();
const tokenOf = (r: { structuredContent?: Record<string, unknown> }) => (r.structuredContent as { plan_token: string }).plan_token;

describe('plans and consent: no destructive write without a human or an exact plan', () => {
  it('a client that cannot ask a human: confirmation_required (0 writes), then the dry run\'s token runs exactly that plan', async () => {
    const { sb, client } = await world();
    const planned = janProjects(sb);
    const refused = await call(client, 'trash_person', { person_id: JAN });
    expect(refused.isError).toBe(true);
    expect(kindOf(refused)).toBe('confirmation_required');
    expect(structured(refused)).toMatchObject({ status: 'planned', dry_run: false, plan_token: expect.any(String), expires_at: expect.any(String) });
    expect(writes(sb)).toHaveLength(0);

    const dry = await call(client, 'trash_person', { person_id: JAN, dry_run: true });
    expect(Date.parse(structured<{ expires_at: string }>(dry).expires_at) - Date.now()).toBeGreaterThan(14 * 60_000);
    const done = await call(client, 'trash_person', { person_id: JAN, plan_token: tokenOf(dry) });
    expect(done.isError, text(done)).toBeFalsy();
    expect(structured<{ revoked_from: number[] }>(done).revoked_from.sort()).toEqual(planned);
    expect(writes(sb)).toHaveLength(planned.length);
  });

  it('an altered, foreign or expired token, or a membership change since the plan: plan_changed, 0 writes, the current plan and a fresh token', async () => {
    const { sb, client } = await world();
    const token = tokenOf(await call(client, 'trash_person', { person_id: JAN, dry_run: true }));
    const [body, mac] = token.split('.');
    const altered = `${body!.slice(0, -2)}${body!.endsWith('AA') ? 'BB' : 'AA'}.${mac}`;
    const forADAM = tokenOf(await call(client, 'trash_person', { person_id: ADAM, dry_run: true }));
    const expired = new PlanSealer(SECRET, () => Date.now() - 16 * 60_000).seal({
      tool: 'trash_person',
      account: sb.accountId,
      caller: callerKey(STDIO_CALLER),
      subject: `person:${JAN}`,
      changes: janProjects(sb).map((id) => [id, 'team']),
    }).token;
    const otherSecret = new PlanSealer('another-secret-that-is-long-enough-987654321').seal({ tool: 'trash_person', account: sb.accountId, caller: callerKey(STDIO_CALLER), subject: `person:${JAN}`, changes: [] }).token;
    for (const [what, bad, why] of [
      ['altered', altered, /not one this server issued/],
      ['foreign', forADAM, /someone \(or something\) else/],
      ['expired', expired, /expired/],
      ['sealed elsewhere', otherSecret, /not one this server issued/],
      ['garbage', 'x.y.z', /not one this server issued/],
    ] as const) {
      const r = await call(client, 'trash_person', { person_id: JAN, plan_token: bad });
      expect(kindOf(r), what).toBe('plan_changed');
      expect(text(r), what).toMatch(why);
      expect(tokenOf(r), what).toBeTruthy();
    }
    // Someone added Jan to another project since the plan: the old token would now do something else.
    const elsewhere = [...sb.data.projects.values()].find((p) => p.status === 'active' && !p.members.has(JAN) && p.members.has(sb.data.ownerId))!;
    elsewhere.members.add(JAN);
    const changed = await call(client, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(changed)).toBe('plan_changed');
    expect(text(changed)).toMatch(/the account changed since the plan was made/);
    expect(structured<{ projects: { id: number }[] }>(changed).projects.map((p) => p.id)).toContain(elsewhere.id);
    expect(writes(sb)).toHaveLength(0);
    // The fresh token it handed back is the current plan: it runs.
    const done = await call(client, 'trash_person', { person_id: JAN, plan_token: tokenOf(changed) });
    expect(done.isError, text(done)).toBeFalsy();
    expect(janProjects(sb)).toEqual([]);
  });

  it('the same rules for update_project_access when it revokes (granting alone needs no confirmation)', async () => {
    const { sb, client } = await world();
    const grant = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(grant.isError).toBeFalsy();
    const before = writes(sb).length;
    const asked = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] });
    expect(kindOf(asked)).toBe('confirmation_required');
    expect(writes(sb)).toHaveLength(before);
    const other = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], plan_token: tokenOf(asked) });
    expect(kindOf(other)).toBe('plan_changed');
    const done = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: tokenOf(asked) });
    expect(structured<{ revoked: { id: number }[] }>(done).revoked.map((p) => p.id)).toEqual([ADAM]);
  });

  it('and for invite_people batches over 10', async () => {
    const { sb, client } = await world();
    const people = Array.from({ length: 11 }, (_, i) => ({ email_address: `batch${i}@acme.example` }));
    const asked = await call(client, 'invite_people', { people });
    expect(kindOf(asked)).toBe('confirmation_required');
    expect(structured<{ results: { status: string }[] }>(asked).results.every((r) => r.status === 'planned')).toBe(true);
    expect(writes(sb)).toHaveLength(0);
    const done = await call(client, 'invite_people', { people, plan_token: tokenOf(asked) });
    expect(done.isError, text(done)).toBeFalsy();
    expect(structured<{ results: { status: string }[] }>(done).results.every((r) => r.status === 'created')).toBe(true);
    // Ten or fewer need no confirmation.
    const small = await call(client, 'invite_people', { people: people.slice(0, 10).map((p) => ({ email_address: `small.${p.email_address}` })) });
    expect(small.isError).toBeFalsy();
  });

  it('a client that can ask: the human is asked, and a no changes nothing', async () => {
    const { sb, client } = await world({}, { elicitation: {} });
    const asked: string[] = [];
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return { action: 'decline' };
    });
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(structured(r)).toMatchObject({ status: 'cancelled' });
    expect(asked[0]).toMatch(/Revoke Jan Jensen/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('BASECAMP_CONFIRM=human: refused when the client cannot ask, even with a valid token; asked when it can', async () => {
    const { sb, client } = await world({ confirm: 'human' });
    const token = tokenOf(await call(client, 'trash_person', { person_id: JAN, dry_run: true }));
    const r = await call(client, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(r)).toBe('human_required');
    expect(text(r)).toMatch(/BASECAMP_CONFIRM=human/);
    expect(writes(sb)).toHaveLength(0);

    const withHuman = await world({ confirm: 'human' }, { elicitation: {} });
    withHuman.client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    const done = await call(withHuman.client, 'trash_person', { person_id: JAN });
    expect(structured(done)).toMatchObject({ status: 'done' });
  });

  it('stateless HTTP (no server can ask the client): a token is required, and one from a dry run on the same fleet secret works', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    // Two instances sharing BASECAMP_PLAN_SECRET: a plan made on one runs on the other.
    const roomy = () => new RateBudget({ max: 10_000, windowMs: 10_000 });
    const a = track(sandboxService(sb, { budget: roomy(), config: { planSecret: SECRET } }));
    const b = track(sandboxService(sb, { budget: roomy(), config: { planSecret: SECRET } }));
    const httpA = await serveHttp(singleService(a), { port: 0, stateless: true });
    const httpB = await serveHttp(singleService(b), { port: 0, stateless: true });
    track({ close: () => httpA.drain(100) });
    track({ close: () => httpB.drain(100) });
    const connect = async (url: string) => {
      const c = new Client({ name: 'stateless', version: '1.0.0' }, { capabilities: { elicitation: {} } });
      await c.connect(new StreamableHTTPClientTransport(new URL(url)));
      return track(c);
    };
    const onA = await connect(httpA.url);
    const onB = await connect(httpB.url);
    onA.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    const refused = (await onA.callTool({ name: 'trash_person', arguments: { person_id: JAN } })) as Parameters<typeof kindOf>[0];
    expect(kindOf(refused)).toBe('confirmation_required');
    expect(writes(sb)).toHaveLength(0);
    const dry = (await onA.callTool({ name: 'trash_person', arguments: { person_id: JAN, dry_run: true } })) as { structuredContent: Record<string, unknown> };
    const done = (await onB.callTool({ name: 'trash_person', arguments: { person_id: JAN, plan_token: tokenOf(dry) } })) as { structuredContent: Record<string, unknown>; isError?: boolean };
    expect(done.isError).toBeFalsy();
    expect(done.structuredContent).toMatchObject({ status: 'done' });
  });
});

describe('a plan token runs its plan once, and seals everything the run sends', () => {
  it('used once: the same token again is plan_changed, even where the plan would match again', async () => {
    const { sb, client } = await world();
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const token = tokenOf(await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM] }));
    expect((await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token })).isError).toBeFalsy();
    sb.data.projects.get(LAUNCH)!.members.add(ADAM); // a human puts Adam back
    const before = writes(sb).length;
    const again = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: token });
    expect(kindOf(again)).toBe('plan_changed');
    expect(text(again)).toMatch(/already used/);
    expect(writes(sb)).toHaveLength(before);
  });

  it('across instances sharing the audit trail: a token used on one is refused on the other', async () => {
    const file = join(scratch(), 'audit.jsonl');
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const instance = async () => track(await connectClient(track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { planSecret: SECRET, auditLog: file } }))));
    const [a, b] = [await instance(), await instance()];
    // Jan on Launch only, so that putting him back makes the old plan match again.
    for (const p of sb.data.projects.values()) if (p.id !== LAUNCH) p.members.delete(JAN);
    const dry = tokenOf(await call(a, 'trash_person', { person_id: JAN, dry_run: true }));
    expect((await call(a, 'trash_person', { person_id: JAN, plan_token: dry })).isError).toBeFalsy();
    sb.data.projects.get(LAUNCH)!.members.add(JAN);
    const onB = await call(b, 'trash_person', { person_id: JAN, plan_token: dry });
    expect(kindOf(onB)).toBe('plan_changed');
    expect(text(onB)).toMatch(/already used/);
  });

  it('invite_people: a token for one batch does not send another (notify, details, enable_clients are sealed)', async () => {
    const { sb, client } = await world();
    const people = Array.from({ length: 11 }, (_, i) => ({ email_address: `quiet${i}@acme.example`, name: `Quiet ${i}` }));
    const token = tokenOf(await call(client, 'invite_people', { people, notify: false }));
    for (const other of [{ people, notify: true }, { people: people.map((p) => ({ ...p, company_name: 'Evil Co' })), notify: false }, { people: people.slice(1).concat({ email_address: 'else@acme.example', name: 'Else' }), notify: false }]) {
      const r = await call(client, 'invite_people', { ...other, plan_token: token });
      expect(kindOf(r)).toBe('plan_changed');
    }
    expect(writes(sb)).toHaveLength(0);
    const done = await call(client, 'invite_people', { people, notify: false, plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(sb.data.invitationsSent).toEqual([]);
  });
});

describe('the audit trail', () => {
  it('one intent and one outcome line per write, with request ids, 0600, no secret; list_changes filters', async () => {
    const file = join(scratch(), 'audit', 'audit.jsonl');
    const { sb, client } = await world({ auditLog: file }, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    await call(client, 'trash_person', { person_id: JAN, dry_run: true });
    const done = await call(client, 'trash_person', { person_id: JAN });
    expect(done.isError).toBeFalsy();
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM, 31337] });

    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(file, '..')).mode & 0o777).toBe(0o700);
    const raw = readFileSync(file, 'utf8');
    expect(raw).not.toContain(sb.token);
    const lines = raw.trim().split('\n').map((l) => JSON.parse(l) as AuditLine);
    const puts = writes(sb);
    expect(lines.filter((l) => l.phase === 'intent')).toHaveLength(puts.length);
    expect(lines.filter((l) => l.phase === 'outcome')).toHaveLength(puts.length);
    expect(lines.filter((l) => l.phase === 'decision').map((l) => l.changes[0]!.outcome)).toEqual(['planned']);
    for (const intent of lines.filter((l) => l.phase === 'intent')) {
      const outcome = lines.find((l) => l.phase === 'outcome' && l.id === intent.id)!;
      expect(lines.indexOf(outcome)).toBeGreaterThan(lines.indexOf(intent));
      expect(outcome.request_id).toMatch(/^[0-9a-f]{16}$/);
      expect(intent).toMatchObject({ identity: { id: sb.data.ownerId, email_address: 'olivia@acme.example' }, account: sb.accountId });
    }
    const grant = lines.find((l) => l.phase === 'outcome' && l.tool === 'update_project_access')!;
    expect(grant.changes).toEqual([
      { person: ADAM, project_id: LAUNCH, action: 'grant', outcome: 'applied' },
      { person: 31337, project_id: LAUNCH, action: 'grant', outcome: 'ignored' },
    ]);
    expect(grant.arguments).toEqual({ project_id: LAUNCH, grant: [ADAM, 31337] });

    const all = structured<{ entries: { tool: string; kind: string }[]; total: number }>(await call(client, 'list_changes', {}));
    expect(all.total).toBe(puts.length + 1);
    expect(all.entries[0]!.tool).toBe('update_project_access'); // newest first
    const aboutAdam = structured<{ entries: { changes: { person: number }[] }[] }>(await call(client, 'list_changes', { person: ADAM }));
    expect(aboutAdam.entries).toHaveLength(1);
    const onLaunch = structured<{ total: number }>(await call(client, 'list_changes', { project_id: LAUNCH }));
    expect(onLaunch.total).toBe(3); // planned, revoked, granted
    const future = structured<{ total: number }>(await call(client, 'list_changes', { since: new Date(Date.now() + 60_000).toISOString() }));
    expect(future.total).toBe(0);
    expect(structured<{ entries: unknown[] }>(await call(client, 'list_changes', { limit: 1 })).entries).toHaveLength(1);
  });

  it('a write is not sent when its intent cannot be recorded (fail closed), and the error says why', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'not-a-folder'), '');
    const { sb, client } = await world({ auditLog: join(dir, 'not-a-folder', 'audit.jsonl') });
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(kindOf(r)).toBe('audit_unavailable');
    expect(text(r)).toMatch(/cannot be written \((ENOTDIR|EEXIST)\), so the change was not sent/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('an unwritable trail: a dry run hands out no token, and an offboarding stops before its first write with audit_unavailable', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'not-a-folder'), '');
    const { sb, client } = await world({ auditLog: join(dir, 'not-a-folder', 'audit.jsonl') }, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    const dry = await call(client, 'trash_person', { person_id: JAN, dry_run: true });
    expect(kindOf(dry)).toBe('audit_unavailable');
    const run = await call(client, 'trash_person', { person_id: JAN });
    expect(kindOf(run)).toBe('audit_unavailable');
    expect(text(run)).toMatch(/so the change was not sent/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('names the person signed in now: a login as someone else is seen at once', async () => {
    const file = join(scratch(), 'audit.jsonl');
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    let token = sb.token;
    const service = track(sandboxService(sb, { credentials: { accessToken: async () => token }, budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { auditLog: file } }));
    const client = track(await connectClient(service));
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    token = sb.issueToken(ADAM).access_token;
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [JAN] });
    const intents = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditLine).filter((l) => l.phase === 'intent');
    expect(intents.map((l) => l.identity?.id)).toEqual([sb.data.ownerId, ADAM]);
  });

  it('costs no extra request: the identity comes from the profile the tool already read', async () => {
    const { sb, client } = await world({ auditLog: join(scratch(), 'audit.jsonl') });
    await call(client, 'trash_person', { person_id: JAN, dry_run: true });
    expect(sb.apiRequests().filter((r) => r.path.endsWith('/my/profile.json'))).toHaveLength(1);
  });

  it('two processes appending at once never interleave lines', async () => {
    const dir = scratch();
    const lib = join(dir, 'audit-log.mjs');
    await build({ entryPoints: ['src/governance/audit-log.ts'], bundle: true, platform: 'node', format: 'esm', outfile: lib, logLevel: 'silent' });
    const writer = join(dir, 'writer.mjs');
    writeFileSync(
      writer,
      `import { AuditLog } from ${JSON.stringify(lib)};
const log = new AuditLog(process.argv[2]);
const pad = 'x'.repeat(3000);
await Promise.all(Array.from({ length: 300 }, (_, i) => log.append({ time: new Date().toISOString(), id: process.argv[3] + '-' + i, phase: 'intent', tool: 't', identity: null, account: 1, arguments: { pad }, changes: [] })));`,
    );
    const file = join(dir, 'shared.jsonl');
    const run = (name: string) =>
      new Promise<number>((resolve) => fork(writer, [file, name], { stdio: 'ignore' }).on('exit', (code) => resolve(code ?? 1)));
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(600);
    const ids = lines.map((l) => (JSON.parse(l) as AuditLine).id);
    expect(new Set(ids).size).toBe(600);
  });
});
