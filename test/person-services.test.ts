import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client as Client2025 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as Client2026, StreamableHTTPClientTransport as Transport2026 } from '@modelcontextprotocol/client';
import { describe, expect, it, vi, type Mock } from 'vitest';
import type { Credentials } from '../src/basecamp/http.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import type { Caller, CallerIdentity } from '../src/caller.js';
import type { Config } from '../src/config.js';
import type { AuditLine } from '../src/governance/audit-log.js';
import { FilePeopleSnapshots } from '../src/governance/people-snapshots.js';
import { RedisPeopleSnapshots } from '../src/governance/redis-people-snapshots.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createService, createSharedParts, StaticCredentials } from '../src/service.js';
import { personServices, singleService, type ServiceSource } from '../src/service-source.js';
import { serveHttp } from '../src/transports/http.js';
import { ADAM, call, connectClient, JAN, kindOf, OWNER, PLAN_SECRET, peopleReads, sandboxService, scratchHarness, structured, testConfig, text, writes, type ToolResult } from './helpers.js';

/**
 * MCP_AUTH=oauth, slice 3 (docs/design/oauth.md §2.5): a service per signed-in person on shared parts. Each
 * person acts with their own Basecamp token (the sandbox applies the token's person: their profile, masking,
 * permissions), keeps their own directory cache and people snapshots, and a plan is applied only by whom it was
 * made for; the budget, audit trail and plan sealer are shared and outlive any person's service.
 */

const { track, scratch } = scratchHarness('person-services');
// Launchpad identity ids are the sandbox's: 9_000_000 + the person's id on the account.
const identityOf = (personId: number, email: string): CallerIdentity => ({ id: 9_000_000 + personId, email });
const callerOf = (personId: number, email: string): Caller => ({ name: email, role: 'admin', identity: identityOf(personId, email) });
const ADAM_CALLER = callerOf(ADAM, 'adam@acme.example'); // an admin
const JAN_CALLER = callerOf(JAN, 'jan@acme.example'); // not an admin
const OLIVIA_CALLER = callerOf(OWNER, 'olivia@acme.example'); // the owner, an admin: sees what Adam sees
const tokenOf = (r: ToolResult) => (r.structuredContent as { plan_token: string }).plan_token;
const bearer = (token: string) => `Bearer ${token}`;

interface World {
  sb: Sandbox;
  config: Config;
  /** Each person's Basecamp access token, by Launchpad identity id. */
  tokens: Map<number, string>;
  source: ReturnType<typeof personServices>;
  credentialsFor: Mock<(identity: CallerIdentity) => Credentials>;
  budget: RateBudget;
  audit: string;
  snapshotFile: string;
  client(caller: Caller): Promise<Awaited<ReturnType<typeof connectClient>>>;
}

async function world(options: { max?: number; idleMs?: number; accountProduct?: 'bc3' } = {}): Promise<World> {
  const sb = track(await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } }));
  const folder = scratch();
  const audit = join(folder, 'audit.jsonl');
  const snapshotFile = join(folder, 'audit.jsonl.people-snapshots.jsonl');
  // As under MCP_AUTH=oauth: no server token; the account is BASECAMP_ACCOUNT_ID.
  const config = testConfig({
    apiUrl: sb.url,
    launchpadUrl: sb.url,
    accountId: sb.accountId,
    accountProduct: options.accountProduct,
    accessToken: undefined,
    auditLog: audit,
    snapshotFile,
    planSecret: PLAN_SECRET,
  });
  const tokens = new Map<number, string>();
  for (const c of [ADAM_CALLER, JAN_CALLER, OLIVIA_CALLER]) tokens.set(c.identity!.id, sb.issueToken(c.identity!.id - 9_000_000).access_token);
  const budget = new RateBudget({ max: 10_000, windowMs: 10_000 });
  const shared = createSharedParts(config, { budget, http: { retryBaseMs: 20, retryMaxMs: 100 } });
  const credentialsFor = vi.fn((identity: CallerIdentity): Credentials => new StaticCredentials(tokens.get(identity.id)!, 'test person token'));
  const source = track(personServices(config, shared, credentialsFor, { max: options.max, idleMs: options.idleMs }));
  return {
    sb,
    config,
    tokens,
    source,
    credentialsFor,
    budget,
    audit,
    snapshotFile,
    // A real MCP client, in memory, on a server built for the caller with the service the source gives for them.
    client: async (caller) => track(await connectClient(await source.for(caller), { caller })),
  };
}

const auditLines = (file: string): AuditLine[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as AuditLine);

describe('personServices: each signed-in person acts as themselves', () => {
  it('Adam and Jan at once: get_person me is each, each read goes to Basecamp with their own token, masking follows the person', async () => {
    const w = await world();
    const [adam, jan] = await Promise.all([w.client(ADAM_CALLER), w.client(JAN_CALLER)]);
    const [adamMe, janMe] = await Promise.all([call(adam, 'get_person', { me: true }), call(jan, 'get_person', { me: true })]);
    expect(structured(adamMe)).toMatchObject({ person: { id: ADAM, email_address: 'adam@acme.example' } });
    expect(structured(janMe)).toMatchObject({ person: { id: JAN, email_address: 'jan@acme.example' } });

    // Adam's list_people fills Adam's directory cache; Jan's first one still goes to Basecamp, with Jan's token.
    const adamList = await call(adam, 'list_people');
    expect(adamList.isError, text(adamList)).toBeFalsy();
    const before = peopleReads(w.sb).length;
    const janList = await call(jan, 'list_people');
    expect(janList.isError, text(janList)).toBeFalsy();
    const janReads = peopleReads(w.sb).slice(before);
    expect(janReads.length).toBeGreaterThan(0);
    expect(janReads.every((r) => r.authorization === bearer(w.tokens.get(JAN_CALLER.identity!.id)!))).toBe(true);
    // Each person's Basecamp requests carry only their own token.
    const adamToken = bearer(w.tokens.get(ADAM_CALLER.identity!.id)!);
    const janToken = bearer(w.tokens.get(JAN_CALLER.identity!.id)!);
    expect(w.sb.apiRequests().every((r) => r.authorization === adamToken || r.authorization === janToken)).toBe(true);

    // The owner's address: Adam (an admin) sees it, Jan gets it masked.
    const olivia = (r: ToolResult) => (structured<{ people: { id: number; email_address: string | null; email_hidden?: boolean }[] }>(r).people ?? []).find((p) => p.id === OWNER);
    expect(olivia(adamList)).toMatchObject({ email_address: 'olivia@acme.example' });
    expect(olivia(janList)?.email_address).not.toBe('olivia@acme.example');

    // A second read by each is answered from their own cache.
    const cached = peopleReads(w.sb).length;
    await Promise.all([call(adam, 'list_people'), call(jan, 'list_people')]);
    expect(peopleReads(w.sb).length).toBe(cached);
    expect(w.credentialsFor).toHaveBeenCalledTimes(2);
  });

  it('plan tokens: Adam\'s plan is refused for Olivia (plan_changed, 0 writes; the audit trail names each caller and identity), and runs for Adam', async () => {
    const w = await world();
    const [adam, olivia] = await Promise.all([w.client(ADAM_CALLER), w.client(OLIVIA_CALLER)]);
    const dry = await call(adam, 'trash_person', { person_id: JAN, dry_run: true });
    expect(dry.isError, text(dry)).toBeFalsy();
    const token = tokenOf(dry);
    // Olivia is an admin too and sees the same plan: only who it was made for differs.
    const oliviaDry = await call(olivia, 'trash_person', { person_id: JAN, dry_run: true });
    expect(structured<{ plan: unknown }>(oliviaDry).plan).toEqual(structured<{ plan: unknown }>(dry).plan);

    const refused = await call(olivia, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(refused)).toBe('plan_changed');
    expect(text(refused)).toMatch(/made for another caller/);
    expect(writes(w.sb)).toHaveLength(0);

    const done = await call(adam, 'trash_person', { person_id: JAN, plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(writes(w.sb).length).toBeGreaterThan(0);
    expect(writes(w.sb).every((r) => r.authorization === bearer(w.tokens.get(ADAM_CALLER.identity!.id)!))).toBe(true);

    const lines = auditLines(w.audit);
    const byCaller = (name: string) => lines.filter((l) => l.caller === name);
    expect(byCaller('adam@acme.example').length).toBeGreaterThan(0);
    expect(byCaller('olivia@acme.example').length).toBeGreaterThan(0);
    for (const l of byCaller('adam@acme.example')) expect(l.identity).toEqual({ id: ADAM, email_address: 'adam@acme.example' });
    for (const l of byCaller('olivia@acme.example')) expect(l.identity).toEqual({ id: OWNER, email_address: 'olivia@acme.example' });
    expect(byCaller('olivia@acme.example').some((l) => /made for another caller/.test(l.note ?? ''))).toBe(true);
    expect(lines.filter((l) => l.phase === 'intent').every((l) => l.caller === 'adam@acme.example')).toBe(true);
  });

  it('list_changes: a signed-in admin or owner sees everyone\'s changes; a person who is not an admin only their own (only_yours)', async () => {
    const w = await world();
    const [adam, jan, olivia] = await Promise.all([w.client(ADAM_CALLER), w.client(JAN_CALLER), w.client(OLIVIA_CALLER)]);
    // Each leaves lines in the one trail: Adam offboards someone, Jan asks for a plan he may or may not get.
    const done = await call(adam, 'trash_person', { person_id: OWNER + 5, dry_run: true });
    await call(adam, 'trash_person', { person_id: OWNER + 5, plan_token: tokenOf(done) });
    await call(jan, 'trash_person', { person_id: OWNER + 6, dry_run: true });
    const who = (r: ToolResult) => new Set(structured<{ entries: { identity: { id: number } | null }[] }>(r).entries.map((e) => e.identity?.id));
    const all = auditLines(w.audit);
    expect(new Set(all.map((l) => l.identity?.id))).toEqual(new Set([ADAM, JAN]));

    const adams = await call(adam, 'list_changes');
    expect(adams.isError, text(adams)).toBeFalsy();
    expect(who(adams)).toEqual(new Set([ADAM, JAN]));
    expect(structured(adams)).not.toHaveProperty('only_yours');
    expect(who(await call(olivia, 'list_changes'))).toEqual(new Set([ADAM, JAN]));

    const jans = await call(jan, 'list_changes');
    expect(jans.isError, text(jans)).toBeFalsy();
    expect(who(jans)).toEqual(new Set([JAN]));
    expect(structured(jans)).toMatchObject({ only_yours: true });
    expect(text(jans)).toMatch(/Only your own changes/);
    // Filtering by caller cannot widen it.
    expect(who(await call(jan, 'list_changes', { caller: 'adam@acme.example' })).size).toBe(0);
  });

  it('with named keys (one service): a plan made with one key is refused for another, and runs for its own', async () => {
    const sb = track(await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const service = track(sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { auditLog: join(scratch(), 'audit.jsonl'), planSecret: PLAN_SECRET } }));
    const source = singleService(service);
    const ops: Caller = { name: 'ops-admin', role: 'admin' };
    const other: Caller = { name: 'another-admin', role: 'admin' };
    const [a, b] = [track(await connectClient(await source.for(ops), { caller: ops })), track(await connectClient(await source.for(other), { caller: other }))];
    const token = tokenOf(await call(a, 'trash_person', { person_id: JAN, dry_run: true }));
    const refused = await call(b, 'trash_person', { person_id: JAN, plan_token: token });
    expect(kindOf(refused)).toBe('plan_changed');
    expect(text(refused)).toMatch(/made for another caller/);
    expect(writes(sb)).toHaveLength(0);
    const done = await call(a, 'trash_person', { person_id: JAN, plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
  });

  it('people snapshots: each person\'s own history (people_changes compares a person with themselves)', async () => {
    const w = await world();
    const [adam, jan] = await Promise.all([w.client(ADAM_CALLER), w.client(JAN_CALLER)]);
    await call(adam, 'list_people');
    await call(jan, 'list_people');
    // Adam again: compared with Adam's own read, nothing changed (Jan's masked view is not Adam's baseline).
    const adamChanges = await call(adam, 'people_changes');
    expect(adamChanges.isError, text(adamChanges)).toBeFalsy();
    expect(structured(adamChanges)).toMatchObject({ joined: [], left: [], changed: [] });
    const janChanges = await call(jan, 'people_changes');
    expect(structured(janChanges)).toMatchObject({ joined: [], left: [], changed: [] });

    const lines = readFileSync(w.snapshotFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { account: number; identity?: number; people: { id: number; email_address: string | null }[] });
    expect(new Set(lines.map((l) => l.identity))).toEqual(new Set([ADAM_CALLER.identity!.id, JAN_CALLER.identity!.id]));
    expect(lines.every((l) => l.account === w.sb.accountId)).toBe(true);
    const ownerIn = (id: number) => lines.find((l) => l.identity === id)!.people.find((p) => p.id === OWNER)!.email_address;
    expect(ownerIn(ADAM_CALLER.identity!.id)).toBe('olivia@acme.example');
    expect(ownerIn(JAN_CALLER.identity!.id)).toBeNull();
  });

  it('the server\'s own snapshots keep their form: a file line without identity, the Redis key of old', async () => {
    const sb = track(await startSandbox({ people: 10, rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const file = join(scratch(), 'audit.jsonl.people-snapshots.jsonl');
    const service = track(
      createService(testConfig({ apiUrl: sb.url, launchpadUrl: sb.url, accountId: sb.accountId, snapshotFile: file }), {
        credentials: new StaticCredentials(sb.token, 'test token'),
        budget: new RateBudget({ max: 10_000, windowMs: 10_000 }),
      }),
    );
    const client = track(await connectClient(service));
    await call(client, 'list_people');
    await service.snapshots!.list(sb.accountId); // waits for the snapshot being written
    const [line, ...more] = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    expect(more).toHaveLength(0);
    expect(Object.keys(JSON.parse(line!) as object)).toEqual(['account', 'at', 'people']);
    expect(JSON.parse(line!)).toMatchObject({ account: sb.accountId });

    // Redis: the keys a store writes, the server's and a person's.
    const keys: string[] = [];
    const fake = {
      zadd: async (key: string) => (keys.push(key), 1),
      zrange: async () => [],
      zremrangebyscore: async () => 0,
    };
    const redis = new RedisPeopleSnapshots(fake as never, 'redis://test', { days: 30 });
    const person = { id: 1, name: 'A', email_address: 'a@x.example' } as never;
    await redis.record(42, [person]);
    await redis.record(42, [person], 9_000_007);
    expect(keys).toEqual(['basecamp-people-mcp:people-snapshots:42', 'basecamp-people-mcp:people-snapshots:42:identity:9000007']);

    // A file store reads the server's old lines as before, and keeps a person's apart from them.
    const store = new FilePeopleSnapshots(file, { days: 30 });
    expect(await store.list(sb.accountId)).toHaveLength(1);
    expect(await store.list(sb.accountId, 9_000_007)).toHaveLength(0);
  });
});

describe('personServices: the cache of services', () => {
  it('calls at the same time for one person build one service; another person gets another', async () => {
    const w = await world();
    const [a, b, c] = await Promise.all([w.source.for(ADAM_CALLER), w.source.for(ADAM_CALLER), w.source.for(JAN_CALLER)]);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(w.credentialsFor).toHaveBeenCalledTimes(2);
    expect(w.source.size).toBe(2);
    // The same caller later: the same service.
    expect(await w.source.for({ ...ADAM_CALLER, name: 'another client of adam' })).toBe(a);
  });

  it('beyond max, the least recently used is closed; the shared budget keeps serving the others', async () => {
    const w = await world({ max: 1 });
    const adamService = await w.source.for(ADAM_CALLER);
    const closeAdam = vi.spyOn(adamService, 'close');
    const adam = track(await connectClient(adamService, { caller: ADAM_CALLER }));
    await call(adam, 'list_people');

    const jan = await w.client(JAN_CALLER);
    await vi.waitFor(() => expect(closeAdam).toHaveBeenCalledTimes(1));
    await closeAdam.mock.results[0]!.value; // closed, not just closing
    expect(w.source.size).toBe(1);
    const janMe = await call(jan, 'get_person', { me: true });
    expect(janMe.isError, text(janMe)).toBeFalsy();
    expect(structured(janMe)).toMatchObject({ person: { id: JAN } });
    // A session still holding Adam's closed service keeps working (the dispatcher is shared, not his).
    const still = await call(adam, 'get_person', { me: true });
    expect(still.isError, text(still)).toBeFalsy();

    // Adam back: a new service (a new cache: his list goes to Basecamp again).
    const again = await w.source.for(ADAM_CALLER);
    expect(again).not.toBe(adamService);
    const reads = peopleReads(w.sb).length;
    await call(track(await connectClient(again, { caller: ADAM_CALLER })), 'list_people');
    expect(peopleReads(w.sb).length).toBeGreaterThan(reads);
  });

  it('idle services are closed; closing the source closes every person and then the budget', async () => {
    const w = await world({ idleMs: 50 });
    const adamService = await w.source.for(ADAM_CALLER);
    const closeAdam = vi.spyOn(adamService, 'close');
    await new Promise((r) => setTimeout(r, 80));
    const janService = await w.source.for(JAN_CALLER); // sweeps Adam out
    await vi.waitFor(() => expect(closeAdam).toHaveBeenCalledTimes(1));
    expect(w.source.size).toBe(1);
    const closeJan = vi.spyOn(janService, 'close');
    const stop = vi.spyOn(w.budget, 'stop');
    await w.source.close();
    expect(closeJan).toHaveBeenCalledTimes(1);
    expect(stop).toHaveBeenCalledTimes(1);
    await expect(w.source.for(JAN_CALLER)).rejects.toThrow(/shutting down/);
  });

  it('a caller without an identity is refused (a bug), and so is a source without BASECAMP_ACCOUNT_ID', async () => {
    const w = await world();
    await expect(w.source.for({ name: 'ops-admin', role: 'admin' })).rejects.toThrow(/No signed-in identity/);
    expect(w.credentialsFor).not.toHaveBeenCalled();
    const shared = createSharedParts(w.config, { budget: new RateBudget({ max: 10, windowMs: 10_000 }) });
    expect(() => personServices({ ...w.config, accountId: undefined }, shared, w.credentialsFor)).toThrow(/BASECAMP_ACCOUNT_ID/);
  });

  it('the account\'s product unknown: found per person through Launchpad with their own token', async () => {
    const w = await world({ accountProduct: undefined });
    const jan = await w.client(JAN_CALLER);
    expect(structured(await call(jan, 'get_person', { me: true }))).toMatchObject({ person: { id: JAN } });
    const launchpad = w.sb.requests.filter((r) => r.path.startsWith('/authorization.json'));
    expect(launchpad.length).toBeGreaterThan(0);
    expect(launchpad.every((r) => r.authorization === bearer(w.tokens.get(JAN_CALLER.identity!.id)!))).toBe(true);
  });
});

describe('serveHttp on a per-person source: each request gets its caller\'s service, both eras', () => {
  // The front door of MCP_AUTH=oauth is another slice: here named keys stand for two signed-in people.
  const sha = (t: string) => createHash('sha256').update(t).digest('hex');
  const KEYS = { adam: 'adam-key-0123456789abcdef0123456789abcd', jan: 'jan-key-0123456789abcdef0123456789abcdef' };
  const asPerson = (source: ServiceSource): ServiceSource => ({
    for: (caller, signal) => source.for({ ...caller, identity: caller.name === 'adam' ? ADAM_CALLER.identity : JAN_CALLER.identity }, signal),
    close: () => source.close(),
  });

  it.each(['2025', '2026'] as const)('era %s', async (era) => {
    const w = await world();
    const http = await serveHttp(asPerson(w.source), {
      port: 0,
      clients: [
        { name: 'adam', token_sha256: sha(KEYS.adam), role: 'admin' },
        { name: 'jan', token_sha256: sha(KEYS.jan), role: 'admin' },
      ],
    });
    track({ close: () => http.drain(100) });
    const me = async (key: string) => {
      const init = { requestInit: { headers: { authorization: `Bearer ${key}` } } };
      if (era === '2025') {
        const client = track(new Client2025({ name: 'ps', version: '1.0.0' }));
        await client.connect(new Transport2025(new URL(http.url), init));
        return (await client.callTool({ name: 'get_person', arguments: { me: true } })) as ToolResult;
      }
      const client = track(new Client2026({ name: 'ps', version: '1.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } }));
      await client.connect(new Transport2026(new URL(http.url), init));
      return (await client.callTool({ name: 'get_person', arguments: { me: true } })) as ToolResult;
    };
    const [adam, jan] = await Promise.all([me(KEYS.adam), me(KEYS.jan)]);
    expect(structured(adam)).toMatchObject({ person: { id: ADAM } });
    expect(structured(jan)).toMatchObject({ person: { id: JAN } });
    expect(w.credentialsFor).toHaveBeenCalledTimes(2);
  });
});
