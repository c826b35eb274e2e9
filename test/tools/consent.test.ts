import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import type { Config } from '../../src/config.js';
import type { AuditLine } from '../../src/governance/audit-log.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { ABANDONED, ADAM, call, kindOf, CLIENT, connectClient, JAN, LAUNCH, OWNER, sandboxService, structured, text, toolHarness, WEBSITE, writes, type ToolResult } from '../helpers.js';

/**
 * Consent answers an agent can act on, and refusals before consent (issue 16 items 4, 6, 7 and 12; issue 17 item 3):
 * the plan and its plan_token are in the text of every answer that stops for consent (some clients drop
 * structuredContent on errors); everything refusable is refused before a human is asked or a token handed out;
 * nothing is switched on before a batch is known to be sendable.
 */

const { track } = toolHarness();
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const HIRING = 2000007; // clients off
/** The plan_token as the text says it: what an agent whose client dropped structuredContent has to go on. */
const tokenInText = (r: ToolResult) => /plan_token: (\S+) \(valid until/.exec(text(r))?.[1];

interface World {
  sb: Sandbox;
  client: Awaited<ReturnType<typeof connectClient>>;
  /** Every question a human was asked. */
  asked: string[];
  audit: () => AuditLine[];
}

/** A sandbox, an audit trail, and a client that can ask a human (answering `answer`) or cannot (`answer` undefined). */
async function world(opts: { answer?: 'accept' | 'decline'; config?: Partial<Config>; product?: 'bc3' | 'bcx' } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'bpm-consent-'));
  dirs.push(dir);
  const file = join(dir, 'audit.jsonl');
  const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 }, product: opts.product }));
  const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { auditLog: file, ...opts.config } }));
  const client = track(await connectClient(service, {}, opts.answer ? { elicitation: {} } : {}));
  const asked: string[] = [];
  if (opts.answer) {
    const answer = opts.answer;
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      asked.push(req.params.message);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
  }
  const audit = () => {
    try {
      return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLine);
    } catch {
      return [];
    }
  };
  return { sb, client, asked, audit };
}

const person = (sb: Sandbox, id: number) => sb.data.people.get(id)!;
const eleven = (domain = 'acme.example') => Array.from({ length: 11 }, (_, i) => ({ email_address: `batch${i}@${domain}`, name: `Batch Person ${i}` }));

describe('the plan is in the text of every answer that stops for consent', () => {
  it('update_project_access confirmation_required: who is revoked and granted (names, emails, ids), where, and the token; the text alone is enough to run it', async () => {
    const { sb, client } = await world();
    const adam = person(sb, ADAM);
    const jan = person(sb, JAN);
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], grant: ['adam@acme.example'] });
    expect(kindOf(r)).toBe('confirmation_required');
    const launch = sb.data.projects.get(LAUNCH)!.name;
    expect(text(r)).toContain(`revoke ${jan.name} <${jan.email_address}> (id ${JAN}) from ${launch} (project ${LAUNCH})`);
    expect(text(r)).toContain(`grant ${adam.name} <${adam.email_address}> (id ${ADAM}) access to ${launch} (project ${LAUNCH})`);
    const token = tokenInText(r);
    expect(token).toBe(structured<{ plan_token: string }>(r).plan_token);
    // The structured content carries the same plan.
    expect(structured(r)).toMatchObject({
      plan: {
        grant: [{ id: ADAM, name: adam.name, email_address: adam.email_address, membership: 'team' }],
        revoke: [{ id: JAN, name: jan.name, email_address: jan.email_address, membership: 'team' }],
        enable_clients: false,
      },
    });
    expect(writes(sb)).toHaveLength(0);
    // An agent that only read the text runs it.
    const done = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], grant: ['adam@acme.example'], plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(false);
  });

  it('plan_changed says what changed and shows the plan as it is now, with the new token in the text', async () => {
    const { sb, client } = await world();
    const first = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    const other = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [ADAM], plan_token: tokenInText(first) });
    expect(kindOf(other)).toBe('plan_changed');
    expect(text(other)).toContain(`revoke ${person(sb, ADAM).name} <${person(sb, ADAM).email_address}> (id ${ADAM})`);
    const fresh = tokenInText(other);
    expect(fresh).toBe(structured<{ plan_token: string }>(other).plan_token);
    expect(fresh).not.toBe(tokenInText(first));
    expect(writes(sb)).toHaveLength(0);
  });

  it('trash_person and invite_people: the steps and the token in the text; human_required shows the plan too', async () => {
    const { sb, client } = await world();
    const jan = person(sb, JAN);
    const janOn = [...sb.data.projects.values()].filter((p) => p.members.has(JAN));
    const trash = await call(client, 'trash_person', { person_id: JAN });
    expect(kindOf(trash)).toBe('confirmation_required');
    for (const p of janOn) expect(text(trash)).toContain(`revoke ${jan.name} <${jan.email_address}> (id ${JAN}) from ${p.name}`);
    expect(tokenInText(trash)).toBe(structured<{ plan_token: string }>(trash).plan_token);

    const batch = await call(client, 'invite_people', { people: [...eleven(), { email_address: 'jan@acme.example' }], project_ids: [LAUNCH] });
    expect(kindOf(batch)).toBe('confirmation_required');
    expect(text(batch)).toContain(`invite Batch Person 3 <batch3@acme.example> with access to ${sb.data.projects.get(LAUNCH)!.name} (project ${LAUNCH})`);
    expect(text(batch)).toMatch(new RegExp(`give ${jan.name} <jan@acme\\.example> \\(id ${JAN}, already on the account: no new invitation\\)`));
    expect(tokenInText(batch)).toBe(structured<{ plan_token: string }>(batch).plan_token);
    expect(writes(sb)).toHaveLength(0);

    const strict = await world({ config: { confirm: 'human' } });
    const human = await call(strict.client, 'trash_person', { person_id: JAN });
    expect(kindOf(human)).toBe('human_required');
    expect(text(human)).toContain(`revoke ${jan.name} <${jan.email_address}> (id ${JAN}) from`);
  });

  it('the human is shown the same steps', async () => {
    const { sb, client, asked } = await world({ answer: 'decline' });
    const r = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(structured(r)).toMatchObject({ cancelled: true });
    expect(asked).toHaveLength(1);
    expect(asked[0]).toContain(`revoke ${person(sb, JAN).name} <${person(sb, JAN).email_address}> (id ${JAN}) from`);
  });
});

describe('update_project_access dry_run', () => {
  it('checks everything, changes nothing, records the plan, and its token runs exactly that plan', async () => {
    const { sb, client, audit } = await world();
    const dry = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], dry_run: true });
    expect(dry.isError, text(dry)).toBeFalsy();
    expect(structured(dry)).toMatchObject({ dry_run: true, granted: [], revoked: [], plan: { revoke: [{ id: JAN }], grant: [] } });
    expect(text(dry)).toContain(`revoke ${person(sb, JAN).name}`);
    expect(writes(sb)).toHaveLength(0);
    expect(audit().map((l) => [l.phase, l.changes[0]!.outcome])).toEqual([['decision', 'planned']]);
    const done = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], plan_token: tokenInText(dry) });
    expect(done.isError, text(done)).toBeFalsy();
    expect(structured<{ revoked: { id: number }[] }>(done).revoked.map((p) => p.id)).toEqual([JAN]);
  });

  it('a grant alone needs no token (none is handed out); a refusal is the same as without dry_run', async () => {
    const { sb, client } = await world();
    const grant = await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM], dry_run: true });
    expect(grant.isError, text(grant)).toBeFalsy();
    expect(structured(grant)).not.toHaveProperty('plan_token');
    expect(text(grant)).toMatch(/Granting alone needs no confirmation/);
    const trashed = await call(client, 'update_project_access', { project_id: ABANDONED, grant: [ADAM], dry_run: true });
    expect(kindOf(trashed)).toBe('invalid_input');
    expect(writes(sb)).toHaveLength(0);
  });
});

describe('refused before a human is asked or a plan token is handed out', () => {
  /** The call is refused with `kind`, nobody was asked, no token in the answer, nothing sent. */
  async function refusedFirst(w: World, tool: string, args: Record<string, unknown>, kind: string | RegExp) {
    const r = await call(w.client, tool, args);
    expect(r.isError, `${tool} ${JSON.stringify(args)}: ${text(r)}`).toBe(true);
    expect(kindOf(r)).toMatch(kind);
    expect(text(r)).not.toMatch(/plan_token/);
    expect(structured(r) ?? {}).not.toHaveProperty('plan_token');
    expect(w.asked).toEqual([]);
    expect(writes(w.sb)).toHaveLength(0);
    return r;
  }

  it('invite_people over 10: unknown or trashed projects, clients off, team members in a client batch, clients in a team batch', async () => {
    const w = await world({ answer: 'accept' });
    await refusedFirst(w, 'invite_people', { people: eleven(), project_ids: [999_999] }, 'not_found');
    await refusedFirst(w, 'invite_people', { people: eleven(), project_ids: [ABANDONED] }, 'invalid_input');
    const off = await refusedFirst(w, 'invite_people', { people: eleven('globex.example'), project_ids: [HIRING], as_client: true }, 'invalid_input');
    expect(text(off)).toMatch(/Clients are off on/);
    const teamInClients = await refusedFirst(w, 'invite_people', { people: [...eleven('globex.example'), { email_address: 'jan@acme.example' }], project_ids: [WEBSITE], as_client: true }, 'invalid_input');
    expect(text(teamInClients)).toMatch(/is a team member on this account/);
    const clientInTeam = await refusedFirst(w, 'invite_people', { people: [...eleven(), { email_address: 'rosa.petrov@client.example' }] }, 'invalid_input');
    expect(text(clientInTeam)).toMatch(/is a client on this account/);
  });

  it('update_project_access and trash_person: unknown projects, the owner, the signed-in person, clients off', async () => {
    const w = await world({ answer: 'accept' });
    await refusedFirst(w, 'update_project_access', { project_id: 999_999, revoke: [JAN] }, 'not_found');
    await refusedFirst(w, 'update_project_access', { project_id: LAUNCH, revoke: [OWNER] }, 'invalid_input');
    await refusedFirst(w, 'update_project_access', { project_id: ABANDONED, revoke: [JAN], grant: [ADAM] }, 'invalid_input');
    await refusedFirst(w, 'update_project_access', { project_id: HIRING, revoke: [JAN], grant: [CLIENT] }, 'invalid_input');
    await refusedFirst(w, 'trash_person', { person_id: OWNER }, 'invalid_input');
    await refusedFirst(w, 'update_project_access', { project_id: LAUNCH, revoke: ['nobody@nowhere.example'] }, 'invalid_input');
  });

  it('Basecamp 2: a batch without a project, and as_client on a project that is not a client project', async () => {
    const w = await world({ answer: 'accept', product: 'bcx' });
    await refusedFirst(w, 'invite_people', { people: eleven() }, 'no_hq_project');
    const notClient = [...w.sb.bcx!.projects.values()].find((p) => !p.is_client_project && !p.archived && !p.trashed)!;
    await refusedFirst(w, 'invite_people', { people: eleven('globex.example'), project_ids: [notClient.id], as_client: true }, 'invalid_input');
  });
});

describe('no side effect before a refusal', () => {
  it('enable_clients turns nothing on when the batch is refused', async () => {
    const { sb, client } = await world();
    const r = await call(client, 'invite_people', { people: [{ email_address: 'c1@globex.example' }, { email_address: 'jan@acme.example' }], project_ids: [HIRING], as_client: true, enable_clients: true });
    expect(kindOf(r)).toBe('invalid_input');
    expect(sb.data.projects.get(HIRING)!.clients_enabled).toBe(false);
    expect(writes(sb)).toHaveLength(0);
  });

  it('seat_limit after clients were turned on says so, and the audit trail shows the switch applied', async () => {
    const { sb, client, audit } = await world();
    sb.data.clientSeats = [...sb.data.people.values()].filter((p) => p.personable_type === 'User' && p.client).length;
    const invite = await call(client, 'invite_people', { people: [{ email_address: 'late@globex.example' }], project_ids: [HIRING], as_client: true, enable_clients: true });
    expect(kindOf(invite)).toBe('seat_limit');
    expect(text(invite)).toMatch(/Clients had been turned on for .*\(project 2000007\) before this failed; they stay on/);
    expect(sb.data.projects.get(HIRING)!.clients_enabled).toBe(true);
    const enabled = audit().filter((l) => l.phase === 'outcome' && l.changes.some((c) => c.action === 'enable_clients'));
    expect(enabled.map((l) => l.changes[0]!.outcome)).toEqual(['applied']);
  });

  it('update_project_access: the same when the grant after turning clients on fails', async () => {
    const { sb, client } = await world();
    sb.data.projects.get(HIRING)!.clients_enabled = false;
    // Basecamp refuses the client grant (403) after the switch went through.
    sb.intercept((req) => (req.method === 'PUT' && req.path.includes(`/projects/${HIRING}/people/client_users.json`) ? { status: 403, body: { error: 'Not allowed' } } : undefined));
    const r = await call(client, 'update_project_access', { project_id: HIRING, grant: [CLIENT], enable_clients: true });
    expect(kindOf(r)).toBe('forbidden');
    expect(text(r)).toMatch(/Clients had been turned on for .*\(project 2000007\) before this failed/);
    expect(structured(r)).toMatchObject({ clients_enabled_now: true });
  });
});

describe('a plan is sealed as it will be sent', () => {
  it('invite_people: an address spelled in another letter case than the plan is another plan (plan_changed, nothing sent)', async () => {
    const { sb, client } = await world();
    const people = eleven();
    const asked = await call(client, 'invite_people', { people });
    const token = tokenInText(asked);
    const recased = people.map((p, i) => (i === 4 ? { ...p, email_address: p.email_address.toUpperCase() } : p));
    const r = await call(client, 'invite_people', { people: recased, plan_token: token });
    expect(kindOf(r)).toBe('plan_changed');
    expect(writes(sb)).toHaveLength(0);
    const done = await call(client, 'invite_people', { people, plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect([...sb.data.people.values()].some((p) => p.email_address === 'batch4@acme.example')).toBe(true);
  });
});
