import { z } from 'zod';
import { CancelledError } from '../basecamp/errors.js';
import { hidesEmails } from '../basecamp/directory.js';
import { IncompleteDataError, InvalidInputError, KnownError, NotConfiguredError, SnapshotsUnavailableError } from '../errors.js';
import type { PeopleSnapshot, PeopleSnapshotStore } from '../governance/people-snapshots.js';
import { defineTool } from './lib/define.js';
import { changeLine, COMPARED_FIELDS, comparableFields, diffPeople, snapshotLine } from './lib/people-changes.js';

const snapshotPerson = z.object({
  id: z.number(),
  name: z.string(),
  email_address: z.string().nullable(),
  email_hidden: z.boolean().optional().describe('true: the address was masked for the signed-in person (not compared).'),
  admin: z.boolean(),
  owner: z.boolean().nullable().describe('null: this Basecamp\'s API does not say (Basecamp 2).'),
  client: z.boolean().nullable().describe('null: not known from the account\'s listing (Basecamp 2).'),
  personable_type: z.string(),
  title: z.string().nullable(),
  company: z.string().nullable().describe('The company\'s name.'),
});
const value = z.union([z.string(), z.boolean(), z.null()]);

export const peopleChanges = defineTool({
  name: 'people_changes',
  title: 'Who joined, left or changed',
  description:
    'Who joined the account, who left (gone from the people listing, or now a removed person: Tombstone) and what changed ' +
    '(name, email, admin, owner, client, personable_type, title, company) since a time. Basecamp sends no people events: ' +
    'this server keeps a snapshot of the directory each time it reads it whole (any tool), and this tool reads the ' +
    'directory fresh and compares it with the newest snapshot at or before since (the oldest kept when none is that old; ' +
    'without since: the newest before this read). The first call ever only records a baseline (nothing to compare yet). ' +
    'Snapshots are kept BASECAMP_SNAPSHOT_DAYS (default 90). Changes between two snapshots are not seen one by one: only ' +
    'the difference. Masked addresses (a sign-in that is not an admin) are not compared. Requests: the directory\'s pages.',
  inputSchema: {
    since: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('Compare with the directory as it was at this time (ISO 8601, e.g. 2026-12-01T00:00:00Z). Default: the last snapshot kept.'),
  },
  outputSchema: {
    joined: z.array(snapshotPerson).describe('On the account now, not in the baseline.'),
    left: z.array(snapshotPerson).describe('In the baseline, now gone from the listing or removed (Tombstone); as they were then.'),
    changed: z.array(z.object({ person: z.object({ id: z.number(), name: z.string() }), field: z.enum(COMPARED_FIELDS), from: value, to: value })),
    baseline_at: z.string().describe('When the snapshot compared with was taken (ISO 8601); on a first call, this read.'),
    baseline_recorded: z.boolean().describe('true: no snapshot existed, this read was recorded as the baseline and nothing is compared yet.'),
    read_at: z.string().describe('When this read\'s snapshot was taken (the newest kept; an unchanged directory keeps the earlier one).'),
    people: z.number().describe('People in the listing now (removed people included).'),
    not_compared: z.array(z.enum(COMPARED_FIELDS)).describe('Fields this product\'s listing does not say (Basecamp 2: owner, client, title, company).'),
    snapshots: z.string().describe('Where the snapshots are kept.'),
    note: z.string().optional(),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (args.since !== undefined && Date.parse(args.since) > Date.now()) {
      throw new InvalidInputError(`since (${args.since}) is in the future: give a past time, or leave since out to compare with the last snapshot.`);
    }
  },
  async handler(args, ctx) {
    const { signal } = ctx;
    const store = ctx.snapshots;
    if (!store) throw new NotConfiguredError('This server keeps no snapshots of the people directory, so there is nothing to compare with.');
    const caps = await ctx.api.capabilities(signal);
    const account = await ctx.account.id(signal);
    const kept = await usingStore(store, 'read', () => store.list(account));
    await ctx.progress(0, 2, 'reading the people directory');
    const all = await ctx.directory.people({ signal, fresh: true });
    if (all.truncated) {
      throw new IncompleteDataError(
        `Could not read the whole people directory (${all.truncated}), so who left cannot be told (a person not read would look gone). Nothing was recorded; call again later.`,
      );
    }
    // The directory keeps a snapshot of every whole read by itself; this makes sure of it (and says so when it cannot).
    const { snapshot: now } = await usingStore(store, 'write', () => store.record(account, all.items));
    await ctx.progress(1, 2, 'comparing');
    const { fields, notCompared } = comparableFields(caps);
    const productNote = notCompared.length ? `${caps.productName}'s people listing has no ${notCompared.join(', ')}: not compared.` : '';
    const masked = hidesEmails(all.items) ? 'Basecamp masks other people\'s addresses for this sign-in (not an admin or owner): email changes are not compared.' : '';
    const common = { read_at: now.at, people: all.items.length, not_compared: notCompared, snapshots: store.where };
    if (!kept.length) {
      const note = [productNote, masked].filter(Boolean).join(' ');
      return {
        structured: { joined: [], left: [], changed: [], baseline_at: now.at, baseline_recorded: true, ...common, ...(note ? { note } : {}) },
        summary: `First call: no snapshot of the people directory existed, so this read (${all.items.length} people) was recorded as the baseline at ${now.at}; nothing to compare yet. Call again later to see who joined, left or changed.${note ? ` ${note}` : ''}`,
        text: '',
      };
    }
    const { baseline, older } = baselineFor(kept, args.since);
    const diff = diffPeople(baseline, now, fields);
    const notes = [
      older ? `No snapshot is as old as ${args.since!}: compared with the oldest kept (${baseline.at}).` : '',
      productNote,
      masked || (diff.maskedEmails ? `${diff.maskedEmails} address(es) were masked in one of the reads: their email changes are not compared.` : ''),
    ].filter(Boolean);
    const note = notes.join(' ');
    const count = diff.joined.length + diff.left.length + diff.changed.length;
    return {
      structured: { joined: diff.joined, left: diff.left, changed: diff.changed, baseline_at: baseline.at, baseline_recorded: false, ...common, ...(note ? { note } : {}) },
      summary:
        `Since ${baseline.at}: ${diff.joined.length} joined, ${diff.left.length} left, ${diff.changed.length} change(s)` +
        `${count ? '' : ' (the directory is as it was)'}; ${all.items.length} people now.${note ? ` ${note}` : ''}`,
      text: [
        ...diff.joined.map((p) => `joined: ${snapshotLine(p)}`),
        ...diff.left.map((p) => `left: ${snapshotLine(p)}`),
        ...diff.changed.map((c) => `changed: ${changeLine(c)}`),
      ].join('\n'),
    };
  },
});

/** The newest snapshot at or before `since` (the oldest when none is that old); without since, the newest kept. */
function baselineFor(kept: PeopleSnapshot[], since: string | undefined): { baseline: PeopleSnapshot; older: boolean } {
  if (since === undefined) return { baseline: kept[kept.length - 1]!, older: false };
  const at = Date.parse(since);
  const before = kept.filter((s) => Date.parse(s.at) <= at);
  return before.length ? { baseline: before[before.length - 1]!, older: false } : { baseline: kept[0]!, older: true };
}

/** A store that cannot be read or written: people_changes says so (the directory's own snapshots only warn). */
async function usingStore<T>(store: PeopleSnapshotStore, what: 'read' | 'write', run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof CancelledError || error instanceof KnownError) throw error;
    const why = error instanceof Error ? ((error as NodeJS.ErrnoException).code ?? error.message) : String(error);
    throw new SnapshotsUnavailableError(
      `The snapshots of the people directory (${store.where}) cannot be ${what === 'read' ? 'read' : 'written'} (${why}), so ` +
        `${what === 'read' ? 'there is no baseline to compare with' : 'this read cannot be kept as a baseline'}. Nothing in Basecamp was changed. ` +
        'Fix the file or folder (permissions, free space) or Redis, then call again.',
      { cause: error },
    );
  }
}
