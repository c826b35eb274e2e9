import { describe, expect, it } from 'vitest';
import type { Interceptor, Sandbox } from '../../src/sandbox/server.js';
import { call, JAN, LAUNCH, structured, text, toolHarness, WEBSITE, type ToolResult } from '../helpers.js';

// Issue 16 item 13: after an account-level enrollment (POST /account/enrollments/people.json) each project's
// people are read back, since Basecamp skips project ids silently. A read-back cut short proves who is on the
// project, never who is not (unconfirmed, not "not granted"); a read-back that fails after people were
// created is outcome_unknown, saying who was created and which projects are unconfirmed.

const { setup } = toolHarness();
const errorKind = (r: ToolResult) => /"error":"([a-z_]+)"/.exec(text(r))?.[1];

interface Out {
  results: { email_address: string; status: string; person?: { id: number; name: string } }[];
  projects: { id: number; name: string; granted: number[]; not_granted: number[]; unconfirmed?: number[]; warning?: string }[];
}

/** From the enrollment on, `after` answers the requests it wants to (the checks before the write are left alone). */
function afterEnrollment(sb: Sandbox, after: Interceptor): void {
  let enrolled = false;
  sb.intercept((req) => {
    if (req.method === 'POST' && req.path.includes('/account/enrollments/')) {
      enrolled = true;
      return undefined;
    }
    return enrolled ? after(req) : undefined;
  });
}

const projectPeople = (req: { method: string; path: string }, project: number) => req.method === 'GET' && req.path.split('?')[0]!.endsWith(`/projects/${project}/people.json`);
/** A first page with only these people and a next link that cannot be followed (another origin). */
const cutShort = (people: { id: number; name: string }[]) => ({
  status: 200,
  headers: { Link: '<https://elsewhere.example/projects/people.json?page=2>; rel="next"' },
  body: people,
});

describe('invite_people: the read-back after an enrollment', () => {
  it('cut short: those seen are granted, the others unconfirmed, never "not granted"', async () => {
    const { sb, client } = await setup();
    afterEnrollment(sb, (req) => (projectPeople(req, LAUNCH) ? cutShort([{ id: JAN, name: 'Jan Jensen' }]) : undefined));
    const r = await call(client, 'invite_people', { people: [{ email_address: 'cut@acme.example', name: 'Cut Short' }, { email_address: 'jan@acme.example' }], project_ids: [LAUNCH] });
    expect(r.isError, text(r)).toBeFalsy();
    const out = structured<Out>(r);
    const created = out.results[0]!.person!.id;
    expect(out.results.map((x) => x.status)).toEqual(['created', 'existing']);
    expect(out.projects).toEqual([
      {
        id: LAUNCH,
        name: expect.any(String),
        granted: [JAN],
        not_granted: [],
        unconfirmed: [created],
        warning: expect.stringMatching(
          /^Could not read the people of .+ to the end \(the next page link could not be followed: next link points to another origin \(https:\/\/elsewhere\.example\)\), so whether one person got access there is unknown \(unconfirmed: \d+\); check with list_people project_id=2000004\.$/,
        ),
      },
    ]);
    expect(text(r)).toMatch(/1 with access, 1 UNCONFIRMED \(Could not read/);
    expect(text(r)).not.toMatch(/NOT granted/);
    expect(sb.data.projects.get(LAUNCH)!.members.has(created)).toBe(true); // it was granted: only the read-back was short
  });

  it('failed after people were created: outcome_unknown, saying who was created, who was there, and which projects are unconfirmed', async () => {
    const { sb, client } = await setup();
    afterEnrollment(sb, (req) => (projectPeople(req, WEBSITE) ? { status: 500, body: { error: 'read-back boom' } } : undefined));
    const r = await call(client, 'invite_people', {
      people: [{ email_address: 'new.one@acme.example', name: 'New One' }, { email_address: 'JAN@acme.example' }, { email_address: 'new.one@ACME.example' }],
      project_ids: [LAUNCH, WEBSITE],
    });
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('outcome_unknown');
    const person = [...sb.data.people.values()].find((p) => p.email_address === 'new.one@acme.example')!;
    expect(person).toBeDefined();
    expect(text(r)).toMatch(
      new RegExp(
        `Basecamp took the invitation \\(POST /account/enrollments/people\\.json\\): created New One <new\\.one@acme\\.example> \\(${person.id}\\); ` +
          `already on the account Jan Jensen <jan@acme\\.example> \\(${JAN}\\)\\. But the people of .+ could not be read back \\(.*read-back boom.*\\), ` +
          `so whether they got access to .+ \\(${WEBSITE}\\) is unknown\\. They are on the account: do not invite them again; check with list_people project_id=${WEBSITE}\\.`,
      ),
    );
    // What was done, per input person, as the tool's structured content.
    const out = structured<Out>(r);
    expect(out.results.map((x) => [x.email_address, x.status, x.person?.id])).toEqual([
      ['new.one@acme.example', 'created', person.id],
      ['JAN@acme.example', 'existing', JAN],
      ['new.one@ACME.example', 'created', person.id],
    ]);
    expect(out.projects).toEqual([
      { id: LAUNCH, name: expect.any(String), granted: [person.id, JAN], not_granted: [] },
      { id: WEBSITE, name: expect.any(String), granted: [], not_granted: [], unconfirmed: [person.id, JAN] },
    ]);
  });
});

describe('invite_person: the read-back after an enrollment', () => {
  it('cut short: a warning that access is unknown, not "did not give them access"', async () => {
    const { sb, client } = await setup();
    afterEnrollment(sb, (req) => (projectPeople(req, LAUNCH) ? cutShort([]) : undefined));
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(r.isError, text(r)).toBeFalsy();
    const s = structured<{ created: boolean; warning?: string }>(r);
    expect(s.created).toBe(true);
    expect(s.warning).toMatch(/whether one person got access there is unknown/);
    expect(s.warning).not.toMatch(/did not give them access/);
  });

  it('failed after the person was created: outcome_unknown naming them', async () => {
    const { sb, client } = await setup();
    afterEnrollment(sb, (req) => (projectPeople(req, LAUNCH) ? { status: 500, body: { error: 'boom' } } : undefined));
    const r = await call(client, 'invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: LAUNCH });
    expect(r.isError).toBe(true);
    expect(errorKind(r)).toBe('outcome_unknown');
    const dana = [...sb.data.people.values()].find((p) => p.email_address === 'dana@acme.example')!;
    expect(text(r)).toMatch(new RegExp(`created Dana Doe <dana@acme\\.example> \\(${dana.id}\\)\\. But the people of .+ could not be read back.*do not invite them again`));
  });
});
