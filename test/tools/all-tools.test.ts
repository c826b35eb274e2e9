import { describe, expect, it } from 'vitest';
import { startSandbox } from '../../src/sandbox/server.js';
import { createService } from '../../src/service.js';
import { tools } from '../../src/tools/index.js';
import { BAD_INPUT } from './bad-input.js';
import { ABANDONED, ADAM, call, connectClient, JAN, LAUNCH, sandboxService, structured, testConfig, text, toolHarness, writes } from '../helpers.js';

/** What holds for every tool, or for the write tools together: input checked first, credentials and the rate limit respected, outcomes told truthfully, the cache cleared. */

const { setup, track } = toolHarness();

describe('bad input: a clear error and no request', () => {
  const cases = BAD_INPUT;
  it.each(cases)('%s %j', async (name, args) => {
    const { sb, client } = await setup();
    const r = await call(client, name, args);
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text.length).toBeGreaterThan(20);
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('covers every tool in the registry that takes arguments', () => {
    const withArguments = tools.filter((t) => Object.keys(t.inputSchema).length > 0).map((t) => t.name);
    expect([...new Set(cases.map(([n]) => n))].sort()).toEqual(withArguments.sort());
  });
});

describe('failures are reported as failures', () => {
  it('a rate limit that cannot be waited out gives retry_after_seconds', async () => {
    const { sb, client } = await setup();
    sb.intercept(() => ({ status: 429, headers: { 'Retry-After': '120' }, body: { error: 'slow down' } }));
    const r = await call(client, 'get_account');
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/"retry_after_seconds":120/);
  });

  it('without credentials, every tool answers with how to sign in and sends nothing', async () => {
    const config = testConfig({ accessToken: undefined, tokenSource: 'none' });
    const service = track(createService(config));
    const client = track(await connectClient(service));
    for (const name of ['list_people', 'get_account', 'list_projects']) {
      const r = await call(client, name);
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/basecamp-people-mcp login/);
    }
  });

  it('--read-only registers only read-only tools (derived from readOnlyHint)', async () => {
    const { client } = await setup({ readOnly: true });
    const names = (await client.listTools()).tools.map((t) => t.name).sort();
    expect(names).toEqual(['access_report', 'export_people', 'get_account', 'get_person', 'list_changes', 'list_people', 'list_projects', 'people_changes', 'reconcile_people']);
  });
});

describe('never trips the rate limit', () => {
  it('40 parallel lookups against a 10-per-second sandbox: zero 429s, all answered', async () => {
    const sb = track(await startSandbox({ rateLimit: { max: 10, windowMs: 1000 } }));
    const service = track(sandboxService(sb, { config: { rateLimit: { max: 10, windowMs: 1000 } } }));
    const client = track(await connectClient(service));
    const ids = [...sb.data.people.keys()].slice(0, 40);
    const results = await Promise.all(ids.map((id) => call(client, 'get_person', { person_id: id })));
    expect(results.filter((r) => r.isError)).toHaveLength(0);
    expect(sb.throttled).toBe(0);
  });
});

describe('a 200 that does not say what changed is an unknown outcome (item 11)', () => {
  it('invite_person and trash_person get the same verdict (parsed once, in the API client)', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    sb.intercept((req) => (req.method !== 'GET' ? { status: 200 } : undefined));
    const invite = await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example' });
    expect(invite.isError).toBe(true);
    expect(text(invite)).toMatch(/"error":"outcome_unknown"/);
    const trash = await call(client, 'trash_person', { person_id: JAN });
    expect(trash.isError).toBe(true);
    expect(text(trash)).toMatch(/did not say what it changed/);
    expect(text(trash)).toMatch(/"error":"outcome_unknown"/);
    expect(structured<{ status: string }>(trash).status).toBe('partial');
    expect(writes(sb)).toHaveLength(2); // one invite, then trash stopped at its first unknown
  });
});

describe('archived and trashed projects (item 14)', () => {
  it('granting or inviting into a trashed project is refused before any write; revoking from one is allowed', async () => {
    const { sb, client } = await setup({ autoConfirm: true });
    const grant = await call(client, 'update_project_access', { project_id: ABANDONED, grant: [JAN] });
    expect(grant.isError).toBe(true);
    expect(text(grant)).toMatch(/Abandoned Idea \(project 2000013\) is in the trash.*Nothing was changed.*Restore it/s);
    const invite = await call(client, 'invite_person', { name: 'Eve', email_address: 'eve@acme.example', project_id: ABANDONED });
    expect(invite.isError).toBe(true);
    expect(text(invite)).toMatch(/is in the trash/);
    expect(writes(sb)).toHaveLength(0);
    sb.data.projects.get(ABANDONED)!.members.add(JAN);
    const revoke = await call(client, 'update_project_access', { project_id: ABANDONED, revoke: [JAN] });
    expect(revoke.isError).toBeFalsy();
    expect(sb.data.projects.get(ABANDONED)!.members.has(JAN)).toBe(false);
  });
});

describe('guards on the promises the README makes', () => {
  it('each write tool clears the cache: the next listing shows what it changed', async () => {
    const { client } = await setup({ autoConfirm: true });
    const onLaunch = async () => structured<{ people: { id: number }[] }>(await call(client, 'list_people', { project_id: LAUNCH })).people.map((p) => p.id);
    const named = async (q: string) => structured<{ total: number }>(await call(client, 'list_people', { query: q })).total;

    expect(await named('dana@acme')).toBe(0);
    await call(client, 'invite_person', { name: 'Dana', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(await named('dana@acme')).toBe(1);

    expect(await onLaunch()).not.toContain(ADAM);
    await call(client, 'update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(await onLaunch()).toContain(ADAM);

    expect(await onLaunch()).toContain(JAN);
    const trash = await call(client, 'trash_person', { person_id: JAN });
    expect(structured<{ status: string }>(trash).status).toBe('done');
    expect(await onLaunch()).not.toContain(JAN);
  });
});
