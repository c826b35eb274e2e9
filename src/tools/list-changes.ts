import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { NotConfiguredError } from '../basecamp/errors.js';
import type { AuditChange, AuditLine } from '../governance/audit-log.js';
import { oneLine } from '../one-line.js';
import { defineTool } from './define.js';
import { email, personId, projectId } from './params.js';

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
    'What this server changed in Basecamp, newest first, from its audit trail: every write (who was signed in, the ' +
    'tool and its arguments, per person and project the outcome: applied, failed, unknown, ignored, with Basecamp\'s ' +
    'request id) and every plan, refusal and cancellation. Answers "what did you change today?" or "who removed Jan, ' +
    'when, and from what?". Only changes made through this server (and others sharing its audit file) are here.',
  inputSchema: {
    since: z.iso.datetime({ offset: true }).optional().describe('Only entries at or after this time (ISO 8601, e.g. 2026-12-01T00:00:00Z).'),
    person: z.union([personId, email]).optional().describe('Only entries about this person (id, or email for invitations).'),
    project_id: projectId.optional().describe('Only entries about this project.'),
    limit: z.number().int().min(1).max(500).optional().describe('Most entries to return (default 50).'),
  },
  outputSchema: {
    entries: z.array(entry),
    total: z.number().describe('Entries matching the filters (before limit).'),
    audit_log: z.string().describe('The file read.'),
  },
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(args, ctx) {
    const trail = ctx.governance.trail;
    if (!trail) throw new NotConfiguredError('The audit trail is off (BASECAMP_AUDIT_LOG=off), so there is nothing to list. Unset it (or point it at a file) to record changes.');
    const since = args.since ? Date.parse(args.since) : undefined;
    const about = (c: Pick<AuditChange, 'person' | 'project_id'>) =>
      (args.person === undefined || (typeof args.person === 'number' ? c.person === args.person : typeof c.person === 'string' && normalEmail(c.person) === normalEmail(args.person))) &&
      (args.project_id === undefined || c.project_id === args.project_id);
    const matching = merge(await trail.read())
      .filter((e) => since === undefined || Date.parse(e.time) >= since)
      .filter((e) => (args.person === undefined && args.project_id === undefined) || e.changes.some(about))
      .reverse();
    const entries = matching.slice(0, args.limit ?? 50);
    const line = (e: Entry) =>
      `${e.time} ${e.tool} ${e.kind === 'write' ? (e.request ?? '') : 'decision'} by ${e.identity?.email_address ?? e.identity?.id ?? 'unknown'}: ` +
      e.changes.map((c) => `${c.action} ${c.person ?? ''}${c.project_id ? ` on ${c.project_id}` : ''} ${c.outcome}`).join('; ') +
      (e.request_id ? ` (X-Request-Id ${e.request_id})` : '');
    return {
      structured: { entries, total: matching.length, audit_log: trail.path },
      summary: `${matching.length} change(s) match; showing the newest ${entries.length}.`,
      text: entries.map((e) => oneLine(line(e))).join('\n'),
    };
  },
});

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
