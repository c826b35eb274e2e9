import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { RateBudget } from '../../src/basecamp/rate-budget.js';
import { FilePeopleSnapshots, type PeopleSnapshot, type PeopleSnapshotStore, type SnapshotPerson } from '../../src/governance/people-snapshots.js';
import { RedisPeopleSnapshots } from '../../src/governance/redis-people-snapshots.js';
import { BCX_ADMIN, BCX_OWNER, BCX_PLAIN } from '../../src/sandbox/bcx/seed.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/server.js';
import { ADAM, call, connectClient, freePort, hasRedis, JAN, kindOf, peopleReads, sandboxService, scratchHarness, startRedis, structured, text, toolHarness, type ToolResult } from '../helpers.js';

/**
 * Issue 21, people_changes: who joined, left or changed since a time, from the snapshots of the people directory
 * the server keeps on every whole read (beside the audit trail, or in Redis), through a real MCP client.
 */

const { setup, track } = toolHarness();
const { scratch } = scratchHarness('people-changes');

interface Changes {
  joined: SnapshotPerson[];
  left: SnapshotPerson[];
  changed: { person: { id: number; name: string }; field: string; from: unknown; to: unknown }[];
  baseline_at: string;
  baseline_recorded: boolean;
  read_at: string;
  people: number;
  not_compared: string[];
  snapshots: string;
  note?: string;
}
const changes = (r: ToolResult): Changes => {
  expect(r.isError, text(r)).toBeFalsy();
  return structured<Changes>(r);
};
const DAY = 86_400_000;

/** A clock the store reads, moved by the test (snapshots a day apart). */
function clock(start = Date.parse('2026-11-01T09:00:00Z')) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

/** A new person in the sandbox account, built from an existing one. */
function addPerson(sb: Sandbox, id: number, name: string, email: string): void {
  const template = sb.data.people.get(JAN)!;
  sb.data.people.set(id, { ...template, id, name, email_address: email, admin: false, owner: false });
}

const pick = (c: Changes) => ({
  joined: c.joined.map((p) => p.id).sort(),
  left: c.left.map((p) => p.id).sort(),
  changed: c.changed.map((x) => `${x.person.id} ${x.field} ${JSON.stringify(x.from)}->${JSON.stringify(x.to)}`).sort(),
});

describe('people_changes on Basecamp 3/4/5', () => {
  it('the first call records a baseline and says so; its requests are the directory\'s pages', async () => {
    const file = join(scratch(), 'audit.jsonl.people-snapshots.jsonl');
    const { sb, client } = await setup({ snapshotFile: file });
    const first = await call(client, 'people_changes');
    const c = changes(first);
    expect(c.baseline_recorded).toBe(true);
    expect([c.joined, c.left, c.changed]).toEqual([[], [], []]);
    expect(c.baseline_at).toBe(c.read_at);
    expect(c.people).toBe(sb.data.people.size);
    expect(text(first)).toMatch(/First call: no snapshot of the people directory existed, so this read \(120 people\) was recorded as the baseline/);
    // Only the directory's pages were read.
    const pages = peopleReads(sb).length;
    expect(pages).toBeGreaterThan(1);
    expect(sb.apiRequests()).toHaveLength(pages);
    // Kept 0600, one snapshot, with the directory fields only.
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const kept = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as PeopleSnapshot);
    expect(kept).toHaveLength(1);
    expect(Object.keys(kept[0]!.people.find((p) => p.id === JAN)!).sort()).toEqual(['admin', 'client', 'company', 'email_address', 'id', 'name', 'owner', 'personable_type', 'title']);

    // The second call compares (nothing changed), reads the directory once more, and writes nothing new.
    const second = changes(await call(client, 'people_changes'));
    expect(second.baseline_recorded).toBe(false);
    expect(pick(second)).toEqual({ joined: [], left: [], changed: [] });
    expect(second.baseline_at).toBe(c.baseline_at);
    expect(peopleReads(sb)).toHaveLength(2 * pages);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('after people are added, removed (gone or Tombstone), promoted and renamed: joined, left and changed exactly; since picks the baseline', async () => {
    const time = clock();
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ snapshots: new FilePeopleSnapshots(file, { days: 90, now: time.now }) });
    const baseline = changes(await call(client, 'people_changes'));
    expect(baseline.baseline_recorded).toBe(true);

    time.advance(DAY);
    addPerson(sb, 1_900_001, 'Nadia New', 'nadia@acme.example');
    const gone = 1000010;
    const goneName = sb.data.people.get(gone)!.name;
    sb.data.people.delete(gone);
    const tombstoned = 1000011;
    sb.data.people.get(tombstoned)!.personable_type = 'Tombstone';
    sb.data.people.get(JAN)!.admin = true;
    const janName = sb.data.people.get(JAN)!.name;
    sb.data.people.get(JAN)!.name = 'Jan Jensen-Berg';
    const adamTitle = sb.data.people.get(ADAM)!.title;
    sb.data.people.get(ADAM)!.title = 'Head of People';

    const r = await call(client, 'people_changes');
    const c = changes(r);
    expect(c.baseline_at).toBe(baseline.baseline_at);
    expect(pick(c)).toEqual({
      joined: [1_900_001],
      left: [gone, tombstoned],
      changed: [`${ADAM} title ${JSON.stringify(adamTitle)}->"Head of People"`, `${JAN} admin false->true`, `${JAN} name ${JSON.stringify(janName)}->"Jan Jensen-Berg"`].sort(),
    });
    // Left people are told as they were (the removed one's name, not a Tombstone's).
    expect(c.left.find((p) => p.id === gone)!.name).toBe(goneName);
    expect(c.left.find((p) => p.id === tombstoned)!.personable_type).not.toBe('Tombstone');
    expect(text(r)).toMatch(/^joined: 1900001 Nadia New <nadia@acme\.example>/m);
    expect(text(r)).toMatch(new RegExp(`^changed: ${JAN} Jan Jensen-Berg: admin false -> true$`, 'm'));
    expect(text(r)).toMatch(/1 joined, 2 left, 3 change\(s\)/);

    // Without since: compared with the newest snapshot, this last read: nothing since.
    time.advance(DAY);
    expect(pick(changes(await call(client, 'people_changes')))).toEqual({ joined: [], left: [], changed: [] });
    // since before the second snapshot: the first is the baseline again.
    const sinceFirst = changes(await call(client, 'people_changes', { since: new Date(Date.parse(baseline.baseline_at) + DAY / 2).toISOString() }));
    expect(sinceFirst.baseline_at).toBe(baseline.baseline_at);
    expect(pick(sinceFirst)).toEqual(pick(c));
    // since older than any snapshot: the oldest, said so.
    const older = changes(await call(client, 'people_changes', { since: '2020-01-01T00:00:00Z' }));
    expect(older.baseline_at).toBe(baseline.baseline_at);
    expect(older.note).toMatch(/No snapshot is as old as 2020-01-01T00:00:00Z: compared with the oldest kept/);
  });

  it('any tool\'s whole read of the directory keeps a snapshot (list_people), so the first people_changes already compares', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ snapshotFile: file });
    expect((await call(client, 'list_people', { limit: 1 })).isError).toBeFalsy();
    sb.data.people.get(JAN)!.admin = true;
    const c = changes(await call(client, 'people_changes'));
    expect(c.baseline_recorded).toBe(false);
    expect(pick(c).changed).toEqual([`${JAN} admin false->true`]);
  });

  it('survives a restart: a new service on the same snapshot file compares with what the old one kept', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const sb = track(await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } }));
    const start = async () => {
      const service = sandboxService(sb, { config: { snapshotFile: file }, budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
      return { service, client: await connectClient(service) };
    };
    const before = await start();
    const baseline = changes(await call(before.client, 'people_changes'));
    expect(baseline.baseline_recorded).toBe(true);
    await before.client.close();
    await before.service.close();

    sb.data.people.get(ADAM)!.admin = false;
    addPerson(sb, 1_900_002, 'Rafael Restart', 'rafael@acme.example');
    const after = await start();
    track(after.service);
    track(after.client);
    const c = changes(await call(after.client, 'people_changes'));
    expect(c.baseline_recorded).toBe(false);
    expect(c.baseline_at).toBe(baseline.baseline_at);
    expect(pick(c)).toEqual({ joined: [1_900_002], left: [], changed: [`${ADAM} admin true->false`] });
  });

  it('retention: snapshots older than BASECAMP_SNAPSHOT_DAYS are pruned (the newest always kept), and since then falls back to the oldest kept', async () => {
    const time = clock();
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ snapshots: new FilePeopleSnapshots(file, { days: 30, now: time.now }) });
    // Three old snapshots of this account written directly: 200, 100 and 10 days ago; the newest lacks Jan.
    const current = changes(await call(client, 'people_changes'));
    const now = JSON.parse(readFileSync(file, 'utf8').trim()) as PeopleSnapshot;
    const at = (days: number) => new Date(time.now() - days * DAY).toISOString();
    const old = (days: number, people: SnapshotPerson[]): string => JSON.stringify({ account: sb.accountId, at: at(days), people });
    const withoutJan = now.people.filter((p) => p.id !== JAN);
    writeFileSync(file, [old(200, now.people), old(100, now.people), old(10, withoutJan)].join('\n') + '\n', { mode: 0o600 });
    expect(current.baseline_recorded).toBe(true);

    const [tenDaysAgo, since] = [at(10), at(150)];
    time.advance(1000);
    const c = changes(await call(client, 'people_changes', { since }));
    expect(c.baseline_at).toBe(tenDaysAgo);
    expect(pick(c)).toEqual({ joined: [JAN], left: [], changed: [] });
    expect(c.note).toMatch(/compared with the oldest kept/);
    const ats = readFileSync(file, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as PeopleSnapshot).at);
    expect(ats).toEqual([tenDaysAgo, new Date(time.now()).toISOString()]);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Unchanged for longer than the retention: the newest is still kept, and still the baseline.
    time.advance(60 * DAY);
    const later = changes(await call(client, 'people_changes'));
    expect(later.baseline_recorded).toBe(false);
    expect(pick(later)).toEqual({ joined: [], left: [], changed: [] });
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('masked addresses are not compared: an email change seen by a sign-in that is not an admin is not reported, and the note says why', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const owner = await setup({ snapshotFile: file });
    const baseline = changes(await call(owner.client, 'people_changes'));
    expect(baseline.baseline_recorded).toBe(true);
    const sb = owner.sb;
    const adamName = sb.data.people.get(ADAM)!.name;
    sb.data.people.get(ADAM)!.email_address = 'adam.new@acme.example';
    sb.data.people.get(ADAM)!.name = 'Adam Renamed';
    // Jan (not an admin) signs in to a service on the same snapshot file.
    const service = track(
      sandboxService(sb, {
        config: { snapshotFile: file },
        credentials: { accessToken: async () => sb.issueToken(JAN).access_token, unauthorizedAdvice: () => '' },
        budget: new RateBudget({ max: 10_000, windowMs: 10_000 }),
      }),
    );
    const client = track(await connectClient(service));
    const r = await call(client, 'people_changes');
    const c = changes(r);
    expect(pick(c).changed).toEqual([`${ADAM} name ${JSON.stringify(adamName)}->"Adam Renamed"`]);
    expect(c.note).toMatch(/Basecamp masks other people's addresses for this sign-in \(not an admin or owner\): email changes are not compared/);
    expect(JSON.stringify(c)).not.toContain('adam.new@acme.example');
  });

  it('a snapshot store that cannot be written never fails the read that triggered it; people_changes says it cannot keep its baseline', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const real = new FilePeopleSnapshots(file, { days: 90 });
    const broken: PeopleSnapshotStore = { where: file, list: (a) => real.list(a), record: () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })) };
    const { client } = await setup({ snapshots: broken });
    const listed = await call(client, 'list_people', { limit: 2 });
    expect(listed.isError).toBeFalsy();
    const r = await call(client, 'people_changes');
    expect(r.isError).toBe(true);
    expect(kindOf(r)).toBe('snapshots_unavailable');
    expect(text(r)).toMatch(/The snapshots of the people directory \(.*snapshots\.jsonl\) cannot be written \(ENOSPC\), so this read cannot be kept as a baseline\. Nothing in Basecamp was changed/);

    // A folder where the file should be: cannot even be read.
    const unreadable = await setup({ snapshotFile: scratch() });
    const r2 = await call(unreadable.client, 'people_changes');
    expect(kindOf(r2)).toBe('snapshots_unavailable');
    expect(text(r2)).toMatch(/cannot be read \(EISDIR\), so there is no baseline to compare with/);
    expect(unreadable.sb.apiRequests()).toHaveLength(0);
  });
});

describe('people_changes: listings cut short, progress and cancellation', () => {
  it('a listing cut short keeps no snapshot (any tool), and people_changes refuses (incomplete) rather than call everyone unread "left"', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ snapshotFile: file });
    expect(changes(await call(client, 'people_changes')).baseline_recorded).toBe(true);
    const service = track(sandboxService(sb, { config: { snapshotFile: file }, budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), http: { maxPages: 1 } }));
    const cut = track(await connectClient(service));
    expect(structured<{ truncated?: boolean }>(await call(cut, 'list_people', { limit: 1 })).truncated).toBe(true);
    const r = await call(cut, 'people_changes');
    expect(kindOf(r)).toBe('incomplete');
    expect(text(r)).toMatch(/so who left cannot be told \(a person not read would look gone\)\. Nothing was recorded/);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('progress while reading and comparing; cancelled mid-read: no snapshot kept', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ snapshotFile: file });
    const progress: number[] = [];
    const r = (await client.callTool({ name: 'people_changes', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.progress) })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect(progress).toEqual([0, 1]);

    const controller = new AbortController();
    let pages = 0;
    sb.intercept((req) => {
      if (!req.path.split('?')[0]!.endsWith('/people.json')) return undefined;
      if (++pages === 2) controller.abort();
      return { delayMs: 30 };
    });
    sb.data.people.get(JAN)!.admin = true;
    const pending = client.callTool({ name: 'people_changes', arguments: {} }, undefined, { signal: controller.signal, onprogress: () => undefined });
    await expect(pending).rejects.toThrow(/abort/i);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(1);
  });
});

describe('the snapshot file shared by two processes', () => {
  it('a process that saw the directory as X records X again after another recorded Y (it never trusts what it last saw once the file changed)', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const [one, two] = [new FilePeopleSnapshots(file, { days: 90 }), new FilePeopleSnapshots(file, { days: 90 })];
    const x = [{ id: 1, name: 'Ann' }];
    const y = [{ id: 1, name: 'Ann' }, { id: 2, name: 'Bo' }];
    expect((await one.record(7, x)).recorded).toBe(true);
    expect((await one.record(7, x)).recorded).toBe(false);
    expect((await two.record(7, y)).recorded).toBe(true);
    expect((await one.record(7, x)).recorded).toBe(true);
    expect((await two.list(7)).map((s) => s.people.length)).toEqual([1, 2, 1]);
  });
});

describe('people_changes on Basecamp 2', () => {
  it('joined, left (deleted) and changed (admin, name); owner, client, title and company are not compared, and it says so', async () => {
    const file = join(scratch(), 'snapshots.jsonl');
    const { sb, client } = await setup({ product: 'bcx', snapshotFile: file });
    const bcx = sb.bcx!;
    const baseline = changes(await call(client, 'people_changes'));
    expect(baseline.baseline_recorded).toBe(true);
    expect(baseline.not_compared).toEqual(['owner', 'client', 'title', 'company']);
    expect(baseline.note).toMatch(/Basecamp 2's people listing has no owner, client, title, company: not compared/);

    const template = bcx.people.get(BCX_PLAIN)!;
    bcx.people.set(3_900_001, { ...template, id: 3_900_001, name: 'Nora Newcomer', email_address: 'nora@bcx.example', admin: false });
    const deleted = bcx.people.get(BCX_ADMIN)!;
    bcx.people.delete(BCX_ADMIN);
    bcx.trashedPeople.set(BCX_ADMIN, { ...deleted, trashed: true });
    bcx.people.get(BCX_PLAIN)!.admin = true;
    const ownerName = bcx.people.get(BCX_OWNER)!.name;
    bcx.people.get(BCX_OWNER)!.name = 'Olivia Owner-Smith';

    const c = changes(await call(client, 'people_changes'));
    expect(c.baseline_recorded).toBe(false);
    expect(pick(c)).toEqual({
      joined: [3_900_001],
      left: [BCX_ADMIN],
      changed: [`${BCX_OWNER} name ${JSON.stringify(ownerName)}->"Olivia Owner-Smith"`, `${BCX_PLAIN} admin false->true`].sort(),
    });
    // owner and client are null on both sides: never a change.
    expect(c.changed.some((x) => x.field === 'owner' || x.field === 'client')).toBe(false);
  });
});

describe.skipIf(!hasRedis && !process.env.CI)('people_changes shared by two instances through Redis', () => {
  it('one instance records the baseline, the other (its own connection) compares with it, and the first then sees the other\'s read as the newest', async () => {
    const port = await freePort();
    const redis = await startRedis(port, scratch());
    track({ close: () => redis.kill('SIGKILL') });
    const connect = () => {
      const r = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: false, maxRetriesPerRequest: 1 });
      track({ close: () => r.quit().catch(() => undefined) });
      return new RedisPeopleSnapshots(r, `redis://127.0.0.1:${port}`, { days: 90 });
    };
    const a = await setup({ snapshots: connect() });
    const sb = a.sb;
    const baseline = changes(await call(a.client, 'people_changes'));
    expect(baseline.baseline_recorded).toBe(true);
    expect(baseline.snapshots).toBe(`redis://127.0.0.1:${port}`);

    sb.data.people.get(JAN)!.admin = true;
    addPerson(sb, 1_900_003, 'Fleet Person', 'fleet@acme.example');
    const service = track(sandboxService(sb, { snapshots: connect(), budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) }));
    const b = track(await connectClient(service));
    const c = changes(await call(b, 'people_changes'));
    expect(c.baseline_recorded).toBe(false);
    expect(c.baseline_at).toBe(baseline.baseline_at);
    expect(pick(c)).toEqual({ joined: [1_900_003], left: [], changed: [`${JAN} admin false->true`] });

    // Instance A now sees B's read as the newest: nothing since.
    expect(pick(changes(await call(a.client, 'people_changes')))).toEqual({ joined: [], left: [], changed: [] });
  });

  it('in Redis too: an unchanged directory adds nothing, and snapshots past the retention are pruned, the newest always kept', async () => {
    const port = await freePort();
    const redis = await startRedis(port, scratch());
    track({ close: () => redis.kill('SIGKILL') });
    const client = new Redis(`redis://127.0.0.1:${port}`, { maxRetriesPerRequest: 1 });
    track({ close: () => client.quit().catch(() => undefined) });
    const time = clock();
    const store = new RedisPeopleSnapshots(client, 'redis', { days: 30, now: time.now });
    const [x, y] = [[{ id: 1, name: 'Ann' }], [{ id: 1, name: 'Ann', admin: true }]];
    expect((await store.record(7, x)).recorded).toBe(true);
    expect((await store.record(7, x)).recorded).toBe(false);
    time.advance(40 * DAY);
    // Unchanged past the retention: the only snapshot is the newest, kept.
    expect((await store.record(7, x)).recorded).toBe(false);
    expect(await client.zcard('basecamp-people-mcp:people-snapshots:7')).toBe(1);
    expect((await store.record(7, y)).recorded).toBe(true);
    expect((await store.list(7)).map((s) => s.people[0]!.admin)).toEqual([true]);
    expect(await client.zcard('basecamp-people-mcp:people-snapshots:7')).toBe(1);
  });
});
