import { describe, expect, it } from 'vitest';
import type { Sandbox } from '../../src/sandbox/server.js';
import { BCX_PLAIN } from '../../src/sandbox/bcx/seed.js';
import { call, JAN, LAUNCH, structured, text, toolHarness, writes, type ToolResult } from '../helpers.js';

// Issue 16 items 5 and 8, through a real MCP client: an account whose API an admin turned off answers every
// request 404 with `Reason: API Disabled`. Every tool says so (kind api_disabled, what to do), never
// "not found", on Basecamp and Basecamp 2; and a Basecamp 2 removal re-sent after a lost answer is never taken
// for "already gone" when the 404 carries a Reason.

const { setup } = toolHarness();
const errorKind = (r: ToolResult) => /"error":"([a-z_]+)"/.exec(text(r))?.[1];

/** Every request to the account's API (not Launchpad) answered 404 with `Reason`,. */
function refuseAccount(sb: Sandbox, reason: string): void {
  const prefix = `/${sb.accountId}/`;
  sb.intercept((req) => (req.path.startsWith(prefix) ? { status: 404, headers: { Reason: reason }, body: { error: reason } } : undefined));
}

describe.each([
  ['Basecamp', 'bc3' as const, JAN, LAUNCH],
  ['Basecamp 2', 'bcx' as const, BCX_PLAIN, 4000002],
])('%s: API access turned off (item 8)', (_name, product, person, project) => {
  it.each([
    ['list_people', {}],
    ['get_person', { person_id: 0 }],
    ['list_projects', {}],
    ['access_report', {}],
    ['export_people', {}],
    ['reconcile_people', { roster: [{ email_address: 'dana@acme.example' }] }],
    ['people_changes', {}],
    ['update_project_access', { project_id: 0, revoke: [0] }],
    ['trash_person', { person_id: 0, dry_run: true }],
    ['get_account', {}],
    ['invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: 0 }],
  ] as [string, Record<string, unknown>][])('%s answers api_disabled, never not_found', async (tool, args) => {
    const { sb, client } = await setup({ product });
    refuseAccount(sb, 'API Disabled');
    const withIds = Object.fromEntries(Object.entries(args).map(([k, v]) => [k, k === 'person_id' ? person : k === 'project_id' ? project : k === 'revoke' ? [person] : v]));
    const r = await call(client, tool, withIds);
    expect(r.isError, text(r)).toBe(true);
    expect(errorKind(r)).toBe('api_disabled');
    expect(text(r)).toMatch(/An admin turned off API access for this Basecamp account/);
    expect(text(r)).toMatch(/turn API access back on in Basecamp \(Adminland, the account settings\)/);
    expect(text(r)).not.toMatch(/not found|does not exist/i);
    expect(writes(sb)).toEqual([]);
  });
});

describe('Basecamp 2: a removal re-sent after a lost answer is "already gone" only on a 404 without a Reason (item 5)', () => {
  it.each([
    ['API Disabled', 'api_disabled'],
    ['Account Inactive', 'account_inactive'],
  ])('Reason: %s → %s; nobody is reported removed', async (reason, kind) => {
    const { sb, client } = await setup({ product: 'bcx', autoConfirm: true });
    let deletes = 0;
    sb.intercept((req) => {
      if (req.method !== 'DELETE') return undefined;
      deletes++;
      // The first answer is lost (its outcome unknown); the re-send is refused for the whole account.
      return deletes === 1 ? { destroy: true } : { status: 404, headers: { Reason: reason }, body: { error: reason } };
    });
    const r = await call(client, 'trash_person', { person_id: BCX_PLAIN });
    expect(r.isError, text(r)).toBe(true);
    expect(errorKind(r)).toBe(kind);
    expect(text(r)).not.toMatch(/already gone|Removed /);
    expect(text(r)).toMatch(/An earlier attempt of DELETE \/\d+\/api\/v1\/people\/\d+\.json got no clear answer \(connection failed\), so whether it was applied then is unknown/);
    expect(structured(r)?.account_removed).toBeUndefined();
    expect(sb.bcx!.people.has(BCX_PLAIN)).toBe(true);
  });
});
