import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { AuditLog, type AuditLine, type OpenAuditFile } from '../src/governance/audit-log.js';
import { startSandbox } from '../src/sandbox/server.js';
import { ADAM, call, connectClient, JAN, kindOf, LAUNCH, PLAN_SECRET, sandboxService, scratchHarness, structured, text, type ToolResult, writes } from './helpers.js';

/**
 * The audit trail on a bad day: a write cut short or refused (full disk), a line torn by a crash, a path that is
 * not a file, a symbolic link. Faults are injected through AuditLog's `open` seam, never by filling a disk.
 */
const { track, scratch } = scratchHarness('audit');

const SECRET = PLAN_SECRET;
const tokenOf = (r: ToolResult) => structured<{ plan_token: string }>(r).plan_token;

/** What a write does to a line of the given phase: go through, fall short by writing only `short` bytes, or fail with `code`. */
type Fault = (phase: AuditLine['phase']) => 'ok' | { short: (length: number) => number } | { code: string };

/** The real file, except that `write` does what `fault` says for the line it is given. */
function faulty(fault: Fault): OpenAuditFile {
  return async (path, flags, mode) => {
    const real = await open(path, flags, mode);
    return {
      stat: () => real.stat(),
      read: (buffer, offset, length, position) => real.read(buffer, offset, length, position),
      close: () => real.close(),
      async write(buffer, offset, length) {
        const phase = /"phase":"(intent|outcome|decision)"/.exec(buffer.toString('utf8'))![1] as AuditLine['phase'];
        const what = fault(phase);
        if (what === 'ok') return real.write(buffer, offset, length);
        if ('code' in what) throw Object.assign(new Error(`${what.code}: no space left on device, write`), { code: what.code });
        const short = what.short(length);
        await real.write(buffer, 0, short);
        return { bytesWritten: short };
      },
    };
  };
}

async function world(audit: AuditLog | string | undefined, capabilities: Record<string, unknown> = {}) {
  const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
  const trail = typeof audit === 'string' ? { config: { auditLog: audit } } : audit ? { audit } : {};
  const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), ...trail, config: { planSecret: SECRET, ...('config' in trail ? trail.config : {}) } }));
  const client = track(await connectClient(service, {}, capabilities));
  const heard: string[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.push(String(n.params.data)));
  return { sb, client, heard };
}
const changes = async (client: Client) => structured<{ entries: { kind: string; request?: string; changes: { outcome: string }[] }[]; total: number }>(await call(client, 'list_changes', {}));
/** Log lines reach the client as notifications, just after the result. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe('a full disk never sends an unaudited change, and never corrupts the trail', () => {
  it('an intent cut short (a short write): not sent, the error says so; the next entry starts on a fresh line and list_changes skips the torn one', async () => {
    const file = join(scratch(), 'audit.jsonl');
    let short = true;
    const { sb, client } = await world(new AuditLog(file, { open: faulty((phase) => (short && phase === 'intent' ? { short: (n) => Math.floor(n / 2) } : 'ok')) }));
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(kindOf(r)).toBe('audit_unavailable');
    expect(text(r)).toMatch(/cannot be written \(short write: \d+ of \d+ bytes\), so the change was not sent \(PUT \/projects\/2000004\/people\/users\.json\)/);
    expect(writes(sb)).toHaveLength(0);
    expect(readFileSync(file, 'utf8')).not.toMatch(/\n$/); // half a line is on disk

    short = false;
    const ok = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [JAN] });
    expect(ok.isError, text(ok)).toBeFalsy();
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines[0]).toMatch(/ \(cut short\)$/);
    expect(lines.slice(1, -1).map((l) => (JSON.parse(l) as AuditLine).phase)).toEqual(['intent', 'outcome']);
    const listed = await changes(client);
    expect(listed.total).toBe(1);
    expect(listed.entries[0]!.changes.map((c) => c.outcome)).toEqual(['applied']);
  });

  it('an intent that lacks only its newline is not recorded either (not listed as a write of unknown outcome)', async () => {
    const file = join(scratch(), 'audit.jsonl');
    const { sb, client } = await world(new AuditLog(file, { open: faulty((phase) => (phase === 'intent' ? { short: (n) => n - 1 } : 'ok')) }));
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(kindOf(r)).toBe('audit_unavailable');
    expect(writes(sb)).toHaveLength(0);
    expect((await changes(client)).total).toBe(0);
  });

  it('the outcome cannot be written (ENOSPC) after the change went out: the answer is the change\'s, and the log says it WAS sent and its outcome is not recorded', async () => {
    const file = join(scratch(), 'audit.jsonl');
    const { sb, client, heard } = await world(new AuditLog(file, { open: faulty((phase) => (phase === 'outcome' ? { code: 'ENOSPC' } : 'ok')) }));
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(r.isError, text(r)).toBeFalsy();
    expect(writes(sb)).toHaveLength(1);
    await settle();
    const line = heard.find((h) => h.includes('ENOSPC'));
    expect(line).toMatch(/^PUT \/projects\/2000004\/people\/users\.json WAS sent to Basecamp \(outcome: applied\), but the audit trail .* cannot be written \(ENOSPC\): its outcome is not recorded/);
    expect(line).not.toMatch(/not sent/);
    // The trail does not claim more than it knows: the intent, outcome unknown.
    expect((await changes(client)).entries[0]!.changes.map((c) => c.outcome)).toEqual(['unknown']);
  });

  it('a line torn by a crash is skipped, and the next entry is never glued to it', async () => {
    const file = join(scratch(), 'audit.jsonl');
    const whole: AuditLine = { time: new Date().toISOString(), id: 'earlier', phase: 'decision', caller: 'stdio', tool: 'trash_person', identity: null, account: 1, arguments: {}, changes: [{ person: JAN, action: 'revoke', outcome: 'planned' }] };
    writeFileSync(file, `${JSON.stringify(whole)}\n{"time":"2026-01-01T00:00:00Z","id":"torn","phase":"intent","tool":"upd`, { mode: 0o600 });
    const { client } = await world(file);
    const ok = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(ok.isError, text(ok)).toBeFalsy();
    const listed = await changes(client);
    expect(listed.entries.map((e) => e.kind)).toEqual(['write', 'decision']);
    expect(listed.entries[0]!.request).toBe('PUT /projects/2000004/people/users.json');
  });

  it('a claimed plan_token whose run stops before sending (the trail refuses the intent) stays used, and the error says how to go on', async () => {
    const file = join(scratch(), 'audit.jsonl');
    let full = false;
    const { sb, client } = await world(new AuditLog(file, { open: faulty((phase) => (full && phase === 'intent' ? { code: 'ENOSPC' } : 'ok')) }));
    const token = tokenOf(await call(client, 'trash_person', { person_id: JAN, dry_run: true }));
    full = true;
    const r = await call(client, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(r)).toBe('audit_unavailable');
    expect(text(r)).toMatch(/cannot be written \(ENOSPC\), so the change was not sent/);
    expect(text(r)).toMatch(/The plan_token was used by this call and will not run again .*call again without plan_token \(or with dry_run\) for a fresh plan/);
    expect(writes(sb)).toHaveLength(0);
    full = false;
    const again = await call(client, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(again)).toBe('plan_changed');
    expect(text(again)).toMatch(/already used/);
    expect(writes(sb)).toHaveLength(0);
  });

  it('a full disk part-way through an offboarding: the error says which projects were revoked and which request was not sent', async () => {
    let intents = 0;
    const { sb, client } = await world(new AuditLog(join(scratch(), 'audit.jsonl'), { open: faulty((phase) => (phase === 'intent' && ++intents === 2 ? { code: 'ENOSPC' } : 'ok')) }), { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(kindOf(r)).toBe('audit_unavailable');
    const [first] = writes(sb);
    expect(writes(sb)).toHaveLength(1);
    const revoked = Number(/\/projects\/(\d+)\//.exec(first!.path)![1]);
    expect(structured<{ revoked_from: number[] }>(r).revoked_from).toEqual([revoked]);
    expect(text(r)).toMatch(/Partly done: revoked from 1 of \d+; failed at \d+ \(The audit trail .* cannot be written \(ENOSPC\), so the change was not sent \(PUT \/projects\/\d+\/people\/users\.json\)/);
    expect(text(r)).toMatch(/not attempted: \d+/);
  });
});

describe('what the audit path may be', () => {
  it('a FIFO is refused when written to (never blocks, never left changed): nothing sent', async () => {
    // (Not a real device here: tests may run as root, and /dev/null must never be touched.)
    const fifo = join(scratch(), 'audit.fifo');
    expect(spawnSync('mkfifo', ['-m', '644', fifo]).status).toBe(0);
    const { sb, client } = await world(fifo);
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(kindOf(r)).toBe('audit_unavailable');
    expect(text(r)).toMatch(/not a regular file: a FIFO \(named pipe\)\), so the change was not sent/);
    expect(writes(sb)).toHaveLength(0);
    expect(statSync(fifo).mode & 0o777).toBe(0o644);
  });

  it('serve refuses to start on a FIFO, a device or a folder, naming BASECAMP_AUDIT_LOG', () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const dir = scratch();
    const fifo = join(dir, 'audit.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    mkdirSync(join(dir, 'folder'));
    for (const [path, what] of [
      [fifo, /is a FIFO \(named pipe\), not a regular file/],
      ['/dev/null', /is a character device, not a regular file/],
      [join(dir, 'folder'), /is a directory, not a regular file/],
    ] as const) {
      const r = spawnSync(process.execPath, [cli, 'serve'], {
        encoding: 'utf8',
        timeout: 30_000,
        input: '',
        env: { PATH: process.env.PATH ?? '', BASECAMP_ACCESS_TOKEN: 'test-token', BASECAMP_ACCOUNT_ID: '999', BASECAMP_AUDIT_LOG: path },
      });
      expect(r.status, `${path}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toMatch(what);
      expect(r.stderr).toMatch(/BASECAMP_AUDIT_LOG/);
    }
  });

  it('a symbolic link is written through, its target\'s mode left as it is, with a warning', async () => {
    const dir = scratch();
    const target = join(dir, 'real-audit.jsonl');
    writeFileSync(target, '');
    chmodSync(target, 0o644);
    const link = join(dir, 'audit.jsonl');
    symlinkSync(target, link);
    const { client, heard } = await world(link);
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(r.isError, text(r)).toBeFalsy();
    expect(readFileSync(target, 'utf8').trim().split('\n')).toHaveLength(2);
    expect(statSync(target).mode & 0o777).toBe(0o644);
    await settle();
    expect(heard.join('\n')).toMatch(/is a symbolic link to .*real-audit\.jsonl, which others may read \(mode 644\); it is written through and its mode left as it is/);
  });
});

describe('list_changes person=<email> finds changes recorded by person id', () => {
  it('the email is looked up: a grant recorded by id and an invitation recorded by address are both found', async () => {
    const { client } = await world(join(scratch(), 'audit.jsonl'));
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [JAN] });
    const adam = await call(client, 'list_changes', { person: 'Adam@Acme.example' });
    expect(structured(adam)).toMatchObject({ total: 1, person_id: ADAM });
    expect(text(adam)).toMatch(/Adam@Acme\.example is person 1000002; entries recorded by either are listed/);

    const invited = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example' });
    expect(invited.isError, text(invited)).toBeFalsy();
    const dana = structured<{ total: number; person_id: number; entries: { tool: string }[] }>(await call(client, 'list_changes', { person: 'dana@acme.example' }));
    expect(dana.entries.map((e) => e.tool)).toEqual(['invite_person']);
    expect(dana.person_id).toEqual(expect.any(Number));
  });

  it('an email that belongs to nobody on the account: says that changes recorded by id are not listed, and to use the id', async () => {
    const { client } = await world(join(scratch(), 'audit.jsonl'));
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    const r = await call(client, 'list_changes', { person: 'nobody@acme.example' });
    expect(r.isError).toBeFalsy();
    expect(structured(r)).toMatchObject({ total: 0, note: expect.stringMatching(/No person with nobody@acme\.example is on the account, so only entries that recorded the address itself are listed, not changes recorded by person id: call again with person set to their id/) });
    expect(structured(r)).not.toHaveProperty('person_id');
    expect(text(r)).toMatch(/call again with person set to their id/);
  });
});

describe('no plan_token while the audit trail cannot be written', () => {
  it('confirmation_required and plan_changed hand out no token: audit_unavailable, nothing sent', async () => {
    const dir = scratch();
    writeFileSync(join(dir, 'not-a-folder'), '');
    const { sb, client } = await world(join(dir, 'not-a-folder', 'audit.jsonl'));
    const asked = await call(client, 'trash_person', { person_id: JAN });
    expect(kindOf(asked), text(asked)).toBe('audit_unavailable');
    expect(text(asked)).toMatch(/so this plan cannot be recorded: nothing was sent to Basecamp, and no plan_token is handed out/);
    expect(asked.structuredContent?.plan_token).toBeUndefined();
    const stale = await call(client, 'trash_person', { person_id: JAN, plan_token: 'x.y' });
    expect(kindOf(stale), text(stale)).toBe('audit_unavailable');
    expect(stale.structuredContent?.plan_token).toBeUndefined();
    expect(text(stale)).not.toMatch(/plan_token \(valid until/);
    expect(writes(sb)).toHaveLength(0);
  });
});
