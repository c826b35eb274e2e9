import { z } from 'zod';
import { normalEmail } from '../basecamp/directory.js';
import { InvalidInputError } from '../errors.js';
import { defineTool } from './lib/define.js';
import { prepareInvite, sendInvite, type InviteOutcome } from './lib/invitations.js';
import { email, planToken, projectId } from './lib/params.js';
import { obtainConsent } from './lib/consent.js';
import { oneLine } from '../one-line.js';
import { compactPerson, projectLabel, toCompactPerson } from './lib/shapes.js';

const text = (max: number) => z.string().trim().min(1).max(max);

/** Batches larger than this need a human's answer or a plan token: a mistaken list emails many strangers. */
export const CONFIRM_OVER = 10;

export const invitePeople = defineTool({
  name: 'invite_people',
  title: 'Invite people (a batch)',
  description:
    'Invite up to 50 people in one call, as team members (default) or clients (as_client: true, project_ids required), ' +
    'optionally giving them access to projects. People already on the account are never created again and get no ' +
    'second invitation (status existing); the same address twice in the batch is invited once. Team members are ' +
    'invited to the account in one request where Basecamp offers it, else through the first project (the HQ when ' +
    'none is given). Access is read back from Basecamp: projects lists who really got it (not_granted: skipped by ' +
    'Basecamp, e.g. a project the signed-in person cannot manage). Each person has their own status and error. A batch of ' +
    `more than ${CONFIRM_OVER} people asks the human first, or (where no human can be asked) answers confirmation_required ` +
    'with a plan_token to send it with.',
  inputSchema: {
    people: z
      .array(
        z.object({
          email_address: email.describe('Their email address; Basecamp sends the invitation there.'),
          name: text(200).optional().describe('Full name (default: the email address).'),
          title: text(200).optional().describe('Job title.'),
          company_name: text(200).optional().describe('Their company (created in Basecamp if new).'),
        }),
      )
      .min(1)
      .max(50)
      .describe('1-50 people.'),
    project_ids: z.array(projectId).max(50).optional().describe('Projects to give them access to (default: the HQ for team members).'),
    as_client: z.boolean().optional().describe('true: invite them as clients (project_ids required; clients see only what is shared with them).'),
    notify: z.boolean().optional().describe('false: do not email new people an invitation (only where Basecamp offers account-level invites). Default true.'),
    enable_clients: z.boolean().optional().describe('With as_client: turn clients on first on projects where they are off.'),
    plan_token: planToken,
  },
  outputSchema: {
    results: z
      .array(
        z.object({
          email_address: z.string(),
          status: z.enum(['created', 'existing', 'failed', 'planned']).describe('planned: not sent yet (a batch waiting for confirmation).'),
          person: compactPerson.optional(),
          error: z.string().optional(),
        }),
      )
      .describe('One per input person, in order.'),
    projects: z
      .array(
        z.object({
          id: z.number(),
          name: z.string(),
          granted: z.array(z.number()),
          not_granted: z.array(z.number()),
          unconfirmed: z.array(z.number()).optional().describe('Person ids whose access is unknown: the project\'s people could not be read back (to the end).'),
          warning: z.string().optional(),
        }),
      )
      .describe('Per project: the person ids Basecamp shows on it now, and those it did not grant.'),
    via: z.enum(['enrollment', 'project', 'none']).describe('enrollment: one account-level invitation; project: through a project\'s people; none: nothing sent.'),
    cancelled: z.boolean().optional().describe('true: the person asked said no; nobody was invited.'),
    plan_token: z.string().optional().describe(`With confirmation_required (batches over ${CONFIRM_OVER} people): seals this batch; pass it back to send it.`),
    expires_at: z.string().optional(),
    notes: z.array(z.string()),
  },
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if (args.as_client && !args.project_ids?.length) throw new InvalidInputError('as_client: true needs project_ids: clients are invited to projects. Find them with list_projects.');
    if (args.enable_clients && !args.as_client) throw new InvalidInputError('enable_clients goes with as_client: true.');
  },
  async handler(args, ctx) {
    // Everything refusable is refused here, before a human is asked or a plan token handed out.
    const prepared = await prepareInvite(
      ctx,
      {
        people: args.people.map((p) => ({ name: p.name ?? p.email_address, email_address: p.email_address, ...(p.title ? { title: p.title } : {}), ...(p.company_name ? { company_name: p.company_name } : {}) })),
        projectIds: args.project_ids ?? [],
        asClient: args.as_client === true,
        notify: args.notify !== false,
        enableClients: args.enable_clients,
      },
      ctx.signal,
    );
    if (prepared.unique.length > CONFIRM_OVER) {
      const projectIds = [...new Set(args.project_ids ?? [])].sort((a, b) => a - b);
      const where = prepared.projects.length ? ` with access to ${prepared.projects.map(projectLabel).join(', ')}` : ' to the account';
      const turnOn = prepared.projects.filter((p) => p.clients_enabled === false);
      const planned = args.people.map((p) => ({ email_address: p.email_address, status: 'planned' as const }));
      const consent = await obtainConsent(ctx, {
        // Everything the run will send: who (with the details Basecamp will store), where, as what, and whether emailed.
        plan: {
          tool: 'invite_people',
          subject: 'batch',
          changes: {
            people: sealedRows(args.people),
            project_ids: projectIds,
            as_client: args.as_client === true,
            notify: args.notify !== false,
            enable_clients: args.enable_clients === true,
          },
        },
        question: `Invite ${prepared.unique.length} people${args.as_client ? ' as clients' : ''}${where}?`,
        steps: [
          ...turnOn.map((p) => `turn clients on for ${projectLabel(p)} (Basecamp applies its default client visibility)`),
          ...prepared.unique.map((p) => {
            const known = prepared.existing.get(normalEmail(p.email_address));
            const name = p.name && p.name !== p.email_address ? `${oneLine(p.name)} ` : '';
            return known
              ? `give ${oneLine(known.name)} <${oneLine(p.email_address)}> (id ${known.id}, already on the account: no new invitation)${where}`
              : `invite ${name}<${oneLine(p.email_address)}>${args.as_client ? ' as a client' : ''}${where}${args.notify === false ? ' (no invitation email where Basecamp allows it)' : ''}`;
          }),
        ],
        planToken: args.plan_token,
        changes: prepared.unique.map((p) => ({ person: normalEmail(p.email_address), action: 'invite' })),
        planned: (token) => ({ results: planned, projects: [], via: 'none' as const, notes: [], ...(token ?? {}) }),
      });
      if (!consent.given) {
        return {
          structured: { results: planned, projects: [], via: 'none' as const, notes: [], cancelled: true },
          summary: `Not confirmed (the person asked answered ${consent.answer}): nobody was invited.`,
        };
      }
    }
    // A failed batch write carries every row's outcome, in this tool's shape.
    const outcome = await sendInvite(ctx, prepared, ctx.signal, structuredOf);
    const structured = structuredOf(outcome);
    // Nobody invited and nobody granted is a failure, reported as one (with every row's reason).
    if (outcome.results.every((r) => r.status === 'failed')) throw new InvalidInputError(`Nobody was invited. ${summarize(outcome)}`, { result: structured });
    return { structured, summary: summarize(outcome) };
  },
});

function structuredOf(outcome: InviteOutcome) {
  return {
    results: outcome.results.map((r) => ({ email_address: r.email_address, status: r.status, ...(r.person ? { person: toCompactPerson(r.person) } : {}), ...(r.error ? { error: r.error } : {}) })),
    projects: outcome.projects,
    via: outcome.via,
    notes: outcome.notes,
  };
}

/**
 * Each address once (its first spelling's details win, as when sending), with what Basecamp will store, in a stable
 * order. The address is sealed as it will be sent, letter case and all: a call that spells it otherwise is another plan.
 */
function sealedRows(people: { email_address: string; name?: string; title?: string; company_name?: string }[]): (string | null)[][] {
  const rows = new Map<string, (string | null)[]>();
  for (const p of people) {
    const key = normalEmail(p.email_address);
    if (!rows.has(key)) rows.set(key, [key, p.email_address, p.name ?? null, p.title ?? null, p.company_name ?? null]);
  }
  return [...rows.values()].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
}

function summarize(outcome: InviteOutcome): string {
  // People, not rows: an address given twice is one person.
  const count = (s: string) => new Set(outcome.results.filter((r) => r.status === s).map((r) => normalEmail(r.email_address))).size;
  const failed = count('failed');
  const partly = outcome.projects.filter((p) => p.not_granted.length);
  return [
    `${count('created')} invited, ${count('existing')} already on the account${failed ? `, ${failed} FAILED (see each error)` : ''}.`,
    ...outcome.projects.map(
      (p) => `${p.name}: ${p.granted.length} with access${p.not_granted.length ? `, ${p.not_granted.length} NOT granted` : ''}${p.unconfirmed?.length ? `, ${p.unconfirmed.length} UNCONFIRMED (${p.warning})` : ''}.`,
    ),
    ...(partly.length ? ['Not granted means Basecamp skipped them there (the signed-in person may not manage that project).'] : []),
    ...outcome.notes,
  ].join(' ');
}
