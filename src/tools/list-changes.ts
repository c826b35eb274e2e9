import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { KnownError, NotConfiguredError } from '../errors.js';
import { CancelledError } from '../basecamp/errors.js';
import type { AuditChange, AuditLine } from '../governance/audit-log.js';
import { oneLine } from '../one-line.js';
import { defineTool, type ToolContext } from './lib/define.js';
import { email, personId, projectId } from './lib/params.js';

const change = z.object({
  person: z.union([z.number(), z.string()]).optional(),
  project_id: z.number().optional(),
  action: z.string(),
  outcome: z.string(),
  error: z.string().optional(),
  detail: z.string().optional(),
});

const entry = z.object({
  time: z.string(),
  id: z.string(),
  tool: z.string(),
  caller: z.string().nullable().describe('Who called this server (a key\'s name, MCP_HTTP_TOKEN, anonymous or stdio); null on entries recorded before callers were.'),
  kind: z.enum(['write', 'decision']).describe('write: a request sent to Basecamp; decision: planned, refused or cancelled before any write.'),
  request: z.string().optional(),
  request_id: z.string().optional(),
  identity: z.object({ id: z.number(), email_address: z.string().nullable() }).nullable(),
  account: z.number().nullable(),
  arguments: z.record(z.string(), z.unknown()),
  plan_token_id: z.string().optional(),
  changes: z.array(change),
  note: z.string().optional(),
});
type Entry = z.infer<typeof entry>;

export const listChanges = defineTool({
  name: 'list_changes',
  title: 'What was changed (audit trail)',
  description:
    'What this server changed in Basecamp, newest first, from its audit trail: every write (who called: the key\'s name; who was signed in; the ' +
    'tool and its arguments, per person and project the outcome: applied, failed, unknown, ignored, with Basecamp\'s ' +
    'request id) and every plan, refusal and cancellation. Answers "what did you change today?" or "who removed Jan, ' +
    'when, and from what?". Only changes made through this server (and others sharing its audit file) are here. ' +
    'person as an email is looked up in the account\'s people, so changes recorded by person id are found too.',
  inputSchema: {
    since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z).'),
    person: z
      .union([personId, email])
      .optional()
      .describe('Only entries about this person: an id, or an email (looked up in the account\'s people to match changes recorded by id).'),
    project_id: projectId.optional().describe('Only entries about this project.'),
    caller: z
      .string()
      .trim()
      .min(1)
      .max(320)
      .optional()
      .describe('Only entries made by this caller: a key\'s name from MCP_HTTP_CLIENTS, MCP_HTTP_TOKEN, anonymous or stdio (case aside).'),
    limit: z.number().int().min(1).max(500).optional().describe('Most entries to return (default 50).'),
  },
  outputSchema: {
    entries: z.array(entry),
    total: z.number().describe('Entries matching the filters (before limit).'),
    audit_log: z.string().describe('The file read.'),
    person_id: z.number().optional().describe('The person id the email in `person` belongs to (entries recorded by either are listed).'),
    note: z.string().optional().describe('Set when `person` was an email whose person id could not be found: entries recorded by id are then not listed.'),
    only_yours: z
      .boolean()
      .optional()
      .describe('true: you signed in as yourself (MCP_AUTH=oauth) and are not an admin of the Basecamp account, so only the changes you made are listed.'),
  },
  // Reads Basecamp only to find the person id of an email.
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  async handler(args, ctx) {
    const trail = ctx.governance.trail;
    if (!trail) throw new NotConfiguredError('The audit trail is off (BASECAMP_AUDIT_LOG=off), so there is nothing to list. Unset it (or point it at a file) to record changes.');
    // A person signed in as themselves sees everyone's changes only as an admin (or the owner) of the account, as in
    // Basecamp's own adminland; anyone else sees their own (the trail names people and addresses Basecamp hides from them).
    const mine = ctx.governance.caller.identity ? await ctx.api.myProfile(ctx.signal) : undefined;
    const onlyYours = mine !== undefined && !mine.admin && mine.owner !== true ? mine.id : undefined;
    const since = args.since ? Date.parse(args.since) : undefined;
    const who = typeof args.person === 'string' ? await personOf(ctx, args.person) : undefined;
    const id = typeof args.person === 'number' ? args.person : who?.id;
    const address = typeof args.person === 'string' ? normalEmail(args.person) : undefined;
    const about = (c: Pick<AuditChange, 'person' | 'project_id'>) =>
      (args.person === undefined || (id !== undefined && c.person === id) || (address !== undefined && typeof c.person === 'string' && normalEmail(c.person) === address)) &&
      (args.project_id === undefined || c.project_id === args.project_id);
    const matching = merge(await trail.read())
      .filter((e) => onlyYours === undefined || e.identity?.id === onlyYours)
      .filter((e) => since === undefined || Date.parse(e.time) >= since)
      .filter((e) => (args.person === undefined && args.project_id === undefined) || e.changes.some(about))
      .filter((e) => args.caller === undefined || e.caller?.toLowerCase() === args.caller.toLowerCase())
      .reverse();
    const entries = matching.slice(0, args.limit ?? 50);
    const line = (e: Entry) =>
      `${e.time} ${e.tool} ${e.kind === 'write' ? (e.request ?? '') : 'decision'} by ${e.identity?.email_address ?? e.identity?.id ?? 'unknown'}${e.caller ? ` (caller ${e.caller})` : ''}: ` +
      e.changes.map((c) => `${c.action} ${c.person ?? ''}${c.project_id ? ` on ${c.project_id}` : ''} ${c.outcome}`).join('; ') +
      (e.request_id ? ` (X-Request-Id ${e.request_id})` : '');
    const note = who && who.id === undefined ? `${who.why}, so only entries that recorded the address itself are listed, not changes recorded by person id: call again with person set to their id.` : undefined;
    return {
      structured: { entries, total: matching.length, audit_log: trail.path, ...(who?.id !== undefined ? { person_id: who.id } : {}), ...(note ? { note } : {}), ...(onlyYours !== undefined ? { only_yours: true } : {}) },
      summary: `${onlyYours !== undefined ? 'Only your own changes (you are not an admin of this Basecamp account). ' : ''}${matching.length} change(s) match${who?.id !== undefined ? ` (${args.person as string} is person ${who.id}; entries recorded by either are listed)` : ''}; showing the newest ${entries.length}.${note ? ` ${note}` : ''}`,
      text: entries.map((e) => oneLine(line(e))).join('\n'),
    };
  },
});

/**
 * The person id of an email, from the account's people (and its removed people, where the product lists them: an
 * offboarded person's changes are what is looked for most). Not found or not readable: why, instead of an id.
 */
async function personOf(ctx: ToolContext, address: string): Promise<{ id: number; why?: undefined } | { id?: undefined; why: string }> {
  try {
    const found = await ctx.directory.findByEmail(address, ctx.signal);
    if (found) return { id: found.id };
    if ((await ctx.api.capabilities(ctx.signal)).removedPeople) {
      const removed = await ctx.directory.removedPeople({ signal: ctx.signal });
      const gone = removed.items.find((p) => typeof p.email_address === 'string' && normalEmail(p.email_address) === normalEmail(address));
      if (gone) return { id: gone.id };
    }
    return { why: `No person with ${address} is on the account` };
  } catch (error) {
    if (error instanceof CancelledError || !(error instanceof KnownError)) throw error;
    return { why: `The person id of ${address} could not be found (${error.message})` };
  }
}

/** One entry per write (its outcome where recorded, else its intent marked unknown) and per decision, oldest first. */
function merge(lines: AuditLine[]): Entry[] {
  const outcomes = new Map(lines.filter((l) => l.phase === 'outcome').map((l) => [l.id, l]));
  return lines
    .filter((l) => l.phase !== 'outcome')
    .map((l) => {
      const done = outcomes.get(l.id);
      const changes =
        l.phase === 'decision'
          ? l.changes
          : (done?.changes ?? l.changes.map((c) => ({ ...c, outcome: 'unknown' as const, error: 'no outcome was recorded (the process stopped during the write?)' })));
      return {
        time: l.time,
        id: l.id,
        caller: l.caller ?? null,
        tool: l.tool,
        kind: l.phase === 'decision' ? ('decision' as const) : ('write' as const),
        ...(l.request ? { request: l.request } : {}),
        ...(done?.request_id ? { request_id: done.request_id } : {}),
        identity: l.identity,
        account: l.account,
        arguments: l.arguments,
        ...(l.plan_token_id ? { plan_token_id: l.plan_token_id } : {}),
        changes: changes.map((c) => ({ ...c, outcome: c.outcome ?? 'unknown' })),
        ...(l.note ? { note: l.note } : {}),
      };
    });
}
