import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makePerson } from '../src/sandbox/bc3/seed.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { call, connectClient, sandboxService } from './helpers.js';

// Addresses Basecamp can hold that a strict pattern refuses: each must be findable and offboardable.
const unusual = ['jän@acme.example', 'a!b@acme.example', 'x@münchen.de'];

describe('email parameters accept what Basecamp can hold, refuse what cannot be an address', () => {
  let sb: Sandbox;
  let client: Client;
  beforeAll(async () => {
    sb = await startSandbox({ people: 20, rateLimit: { max: 10_000, windowMs: 10_000 } });
    unusual.forEach((address, i) => {
      const id = 900_001 + i;
      sb.data.people.set(id, makePerson(id, { name: `Unusual ${i}`, email_address: address }));
    });
    // One client for the file: the sandbox's 50/10 s budget is shared by every test here.
    client = await connectClient(sandboxService(sb, { config: { rateLimit: { max: 10_000, windowMs: 10_000 } } }));
  });
  afterAll(async () => {
    await client.close();
    await sb.close();
  });

  it.each(unusual)('%s is found by list_people, get_person, trash_person (dry run) and update_project_access', async (address) => {
    const listed = await call(client, 'list_people', { query: address });
    expect(listed.isError).toBeFalsy();
    expect(JSON.stringify(listed.structuredContent)).toContain(address);
    const got = await call(client, 'get_person', { email: address });
    expect(got.isError, got.content[0]!.text).toBeFalsy();
    expect((got.structuredContent as { person: { email_address: string } }).person.email_address).toBe(address);
    const planned = await call(client, 'trash_person', { email: address, dry_run: true });
    expect(planned.isError, planned.content[0]!.text).toBeFalsy();
    expect((planned.structuredContent as { status: string }).status).toBe('planned');
    const hq = [...sb.data.projects.values()].find((p) => p.purpose === 'company_hq')!;
    const granted = await call(client, 'update_project_access', { project_id: hq.id, grant: [address] });
    expect(granted.isError, granted.content[0]!.text).toBeFalsy();
  });

  const garbage = ['no-at-sign', '@acme.example', 'someone@', 'a@b@acme.example', 'sp ace@acme.example', 'x@acme .example', 'tab@acme\t.example', 'ctl\u0007@acme.example', 'c1\u0085@acme.example', 'x@acme\u007f.example', `${'a'.repeat(250)}@acme.example`, ''];
  it.each(garbage.map((g) => [JSON.stringify(g), g]))('%s is refused by every email parameter with isError and no request', async (_label, bad) => {
    const before = sb.requests.length;
    const hq = [...sb.data.projects.values()].find((p) => p.purpose === 'company_hq')!;
    for (const [tool, args] of [
      ['get_person', { email: bad }],
      ['trash_person', { email: bad, dry_run: true }],
      ['invite_person', { name: 'Someone', email_address: bad }],
      ['update_project_access', { project_id: hq.id, grant: [bad] }],
    ] as const) {
      const r = await call(client, tool, args);
      expect(r.isError, `${tool} accepted ${JSON.stringify(bad)}`).toBe(true);
    }
    expect(sb.requests.length).toBe(before);
  });

  it('the pattern clients see in the schema means the same without the unicode flag (as other regex engines read it)', async () => {
    const tool = (await client.listTools()).tools.find((t) => t.name === 'get_person')!;
    const pattern = (tool.inputSchema.properties as Record<string, { pattern: string }>).email!.pattern;
    const plain = new RegExp(pattern);
    for (const address of [...unusual, 'pc@cp.example']) expect(plain.test(address), address).toBe(true);
    for (const bad of garbage.filter((g) => g.length <= 254)) expect(plain.test(bad), JSON.stringify(bad)).toBe(false);
  });
});
