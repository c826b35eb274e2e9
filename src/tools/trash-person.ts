import { z } from 'zod';
import { BasecampError, CancelledError, ForbiddenError, IncompleteDataError, InvalidInputError, KnownError, NotFoundError, OutcomeUnknownError, RateLimitedError, ToolError, withResult } from '../basecamp/errors.js';
import type { Capabilities, Membership, Person, Project } from '../basecamp/types.js';
import type { ToolServices } from './lib/define.js';
import { oneLine } from '../one-line.js';
import { obtainConsent, planOnly, planText } from './lib/consent.js';
import { defineTool, type ToolContext } from './lib/define.js';
import { email, personId, planToken } from './lib/params.js';
import { normalEmail } from '../basecamp/directory.js';
import { compactPerson, compactProject, personLabel, projectLabel, toCompactPerson, toCompactProject, type CompactPerson, type CompactProject } from './lib/shapes.js';

/** Trashed projects too: they can be restored, and the person would be back on them. */
const statuses = ['active', 'archived', 'trashed'] as const;

export const trashPerson = defineTool({
  name: 'trash_person',
  title: 'Offboard a person',
  description:
    'Offboard one person (team member or client). On Basecamp 3/4/5: revoke their access to every project, team and the HQ (active, archived and trashed, since a ' +
    'trashed project can be restored) that the ' +
    'signed-in person can see; Basecamp\'s API has NO way to remove a person from the account itself, so after this ' +
    'an admin must finish the removal in Adminland (the result gives the link). On Basecamp 2: remove the person from the ' +
    'account itself (account_removed: true), which takes every project with it; their content stays. get_account says ' +
    'which product the account is. Run with dry_run: true first to see ' +
    'the exact plan and a plan_token. A real run asks the human to confirm when the client supports that; otherwise ' +
    '(and in stateless HTTP) it needs the plan_token from a dry run, shown to the person you act for, and runs only if ' +
    'the plan is still exactly the same. Touches no one else. ' +
    'The signed-in person cannot be offboarded, nor the account owner (refused here on Basecamp 3/4/5; on Basecamp 2, whose API ' +
    'does not say who the owner is, Basecamp itself refuses and nothing changes).',
  inputSchema: {
    person_id: personId.optional(),
    email: email.optional().describe('The person\'s email address.'),
    dry_run: z.boolean().optional().describe('true: only return the plan (with a plan_token); change nothing.'),
    plan_token: planToken,
  },
  outputSchema: {
    person: compactPerson,
    dry_run: z.boolean(),
    status: z.enum(['planned', 'done', 'partial', 'cancelled']),
    projects: z
      .array(
        compactProject.extend({
          role: z
            .enum(['team', 'client'])
            .nullable()
            .describe('How they are on it: revoked through Basecamp\'s team or client endpoint; null where the whole account is left at once (Basecamp 2).'),
        }),
      )
      .describe('Projects, teams and HQ the person is on (the plan); status says which are archived or trashed.'),
    revoked_from: z.array(z.number()).describe('Project ids access was revoked from.'),
    failed: z.array(z.object({ project_id: z.number(), error: z.string() })),
    account_removed: z.boolean().describe('true: the person was removed from the account itself (Basecamp 2). Always false on Basecamp 3/4/5, which has no API for it.'),
    adminland_url: z.string().describe('Where an admin manages the account\'s people by hand (Basecamp 3/4/5: Adminland, where the removal is finished).'),
    note: z.string(),
    plan_token: z.string().optional().describe('Seals this exact plan: pass it back to run it where no human can be asked.'),
    expires_at: z.string().optional().describe('When plan_token stops being accepted.'),
  },
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  validate(args) {
    if ((args.person_id === undefined) === (args.email === undefined)) throw new InvalidInputError('Give exactly one of person_id or email.');
  },
  async handler(args, ctx) {
    const { signal, progress } = ctx;
    const caps = await ctx.api.capabilities(signal);
    const person = await findPerson(ctx, caps, args, signal);
    if (caps.removeFromAccount && person.personable_type === 'Tombstone') return alreadyRemoved(person, caps, args.dry_run === true);
    await refuseProtected(ctx, person, signal);
    const { plan, checked } = await planOffboarding(ctx, caps, person, signal, progress);
    // Basecamp 2 removes the person from the account, every project with it; Basecamp 3/4/5 revokes each project.
    const removal = caps.removeFromAccount;
    // A client is revoked through client_users.json (users.json drops client ids), everyone else through users.json.
    const role: Membership = person.client ? 'client' : 'team';
    const base: OffboardingBase = {
      person: toCompactPerson(person),
      projects: plan.map((p) => ({ ...toCompactProject(p), role: removal ? null : role })),
      account_removed: false,
      adminland_url: caps.peopleAdminUrl,
    };
    const ownerNote = caps.ownerKnown ? '' : ` ${caps.productName}'s API does not say who owns the account: if ${person.name} is the owner, Basecamp refuses and nothing changes.`;
    const finishNote = removal
      ? `Removing a person from a ${caps.productName} account takes away every project at once; Basecamp keeps what they made (messages, to-dos, files stay), and they are listed among the removed people (list_people include_removed: true).${ownerNote}`
      : `${caps.productName}'s API cannot remove a person from the account. ${person.name} is still on the account until an admin ` +
        `removes them in Adminland: ${caps.peopleAdminUrl}. Only projects the signed-in person can see were checked.`;

    const sealedPlan = {
      tool: 'trash_person',
      subject: `person:${person.id}`,
      changes: [...plan.map((p) => [p.id, removal ? 'account' : role]).sort((a, b) => Number(a[0]) - Number(b[0])), ...(removal ? [['remove_from_account']] : [])],
    };
    const auditChanges = removal
      ? [{ person: person.id, action: 'remove_from_account' }]
      : plan.map((p) => ({ person: person.id, project_id: p.id, action: 'revoke' }));
    const planSummary = removal
      ? `remove ${person.name} from the ${caps.productName} account (and so from ${plan.length} project(s): ${plan.map(label).join(', ') || 'none'})`
      : `revoke ${person.name}${role === 'client' ? ' (a client)' : ''} from ${plan.length} project(s): ${plan.map(label).join(', ') || 'none'}`;

    // The plan as lines a person reads: the same in a dry run, a question to a human and a refusal.
    const steps = removal
      ? [
          `remove ${personLabel(person)} from the ${caps.productName} account`,
          ...plan.map((p) => `with it, their access to ${projectLabel(p)} ends`),
        ]
      : plan.map((p) => `revoke ${personLabel(person)}${role === 'client' ? ' (a client)' : ''} from ${projectLabel(p)}`);

    if (args.dry_run) {
      const token = await planOnly(ctx, { plan: sealedPlan, changes: auditChanges });
      return {
        structured: {
          ...base,
          dry_run: true,
          status: 'planned' as const,
          revoked_from: [],
          failed: [],
          note: `Dry run: nothing was changed. Would ${planSummary}. ${finishNote}`,
          ...token,
        },
        summary: `Dry run for ${personLabel(person)}: nothing was changed. It would:`,
        text: `${planText(steps)}\nplan_token: ${token.plan_token} (valid until ${token.expires_at}) runs exactly this plan. ${oneLine(finishNote)}`,
      };
    }

    if (plan.length > 0 || removal) {
      const consent = await obtainConsent(ctx, {
        plan: sealedPlan,
        question: removal
          ? `Remove ${person.name} (${person.email_address ?? `id ${person.id}`}) from the ${caps.productName} account, and so from ${plan.length} project(s)${plan.length ? `: ${plan.map(label).join(', ')}` : ''}?`
          : `Revoke ${person.name} (${person.email_address ?? `id ${person.id}`}) from ${plan.length} project(s): ${plan.map(label).join(', ')}?`,
        steps,
        planToken: args.plan_token,
        changes: auditChanges,
        planned: (token) => ({
          ...base,
          dry_run: false,
          status: 'planned' as const,
          revoked_from: [],
          failed: [],
          note: `Not done: ${planSummary}. ${finishNote}`,
          ...(token ?? {}),
        }),
      });
      if (!consent.given) {
        return {
          structured: { ...base, dry_run: false, status: 'cancelled' as const, revoked_from: [], failed: [], note: `The person asked answered ${consent.answer}; nothing was changed.` },
          summary: `Not confirmed: nothing was changed for ${person.name}.`,
        };
      }
    }

    if (removal) return removeFromAccount(ctx, caps, person, plan, base, finishNote);

    const revoked: number[] = [];
    const failed: { project_id: number; error: string }[] = [];
    let stoppedBy: unknown;
    try {
      for (const [i, project] of plan.entries()) {
        await progress(checked + i, checked + plan.length, `Revoking from ${label(project)}`);
        try {
          const result = await ctx.api.updateProjectPeople(project.id, { revoke: [person.id] }, signal, role);
          if (result.revoked.some((p) => p.id === person.id)) revoked.push(project.id);
          else failed.push({ project_id: project.id, error: 'Basecamp did not confirm the revocation.' });
        } catch (error) {
          // Stop at the first failure: never guess about the rest (a write is not re-sent unless proven unapplied).
          stoppedBy = error;
          failed.push({ project_id: project.id, error: error instanceof Error ? error.message : String(error) });
          break;
        }
      }
    } finally {
      ctx.directory.invalidate();
    }
    const untouched = plan.filter((p) => !revoked.includes(p.id) && !failed.some((f) => f.project_id === p.id));
    const status = failed.length || untouched.length ? ('partial' as const) : ('done' as const);
    const note =
      status === 'done'
        ? `Revoked ${person.name} from ${revoked.length} project(s). ${finishNote}`
        : `Partly done: revoked from ${revoked.length} of ${plan.length}; failed at ${failed.map((f) => `${f.project_id} (${f.error})`).join(', ')}; not attempted: ${untouched.map((p) => p.id).join(', ') || 'none'}. Run trash_person again (it re-reads membership) once the cause is fixed. ${finishNote}`;
    const structured = { ...base, dry_run: false, status, revoked_from: revoked, failed, note };
    if (status === 'partial') throw partialFailure(note, stoppedBy, structured);
    return { structured, summary: note };
  },
});

/** What every trash_person answer carries. */
interface OffboardingBase {
  person: CompactPerson;
  projects: (CompactProject & { role: Membership | null })[];
  account_removed: boolean;
  adminland_url: string;
}

/** The one request of a Basecamp 2 offboarding: DELETE the person; every project goes with the account. */
async function removeFromAccount(
  ctx: ToolContext,
  caps: Capabilities,
  person: Person,
  plan: Project[],
  base: OffboardingBase,
  finishNote: string,
) {
  let removal;
  try {
    removal = await ctx.api.removeFromAccount(person.id, ctx.signal);
  } catch (error) {
    if (error instanceof ForbiddenError) {
      throw new ForbiddenError(
        `Basecamp refused to remove ${person.name} from the account (403): only admins may remove people, and the account owner can never be removed. Nothing was changed.`,
        error.upstream,
        { cause: error },
      );
    }
    throw error;
  } finally {
    ctx.directory.invalidate();
  }
  const gone = removal.alreadyGone
    ? ' (the first request got no clear answer; re-sent, Basecamp said they are already gone: the first one did it)'
    : '';
  const note = `Removed ${person.name} from the ${caps.productName} account${gone}; with it their access to ${plan.length} project(s) ended. ${finishNote}`;
  return {
    structured: {
      ...base,
      dry_run: false,
      status: 'done' as const,
      revoked_from: plan.map((p) => p.id),
      failed: [],
      account_removed: true,
      note,
    },
    summary: note,
  };
}

/** Offboarding someone already removed from the account (a retry after an unclear answer, or a second call): nothing to do. */
function alreadyRemoved(person: Person, caps: Capabilities, dryRun: boolean) {
  const note = `${person.name} was already removed from the ${caps.productName} account (they are among the removed people); nothing to do, nothing was changed.`;
  return {
    structured: {
      person: toCompactPerson(person),
      dry_run: dryRun,
      status: 'done' as const,
      projects: [],
      revoked_from: [],
      failed: [],
      account_removed: true,
      adminland_url: caps.peopleAdminUrl,
      note,
    },
    summary: note,
  };
}

/** A sweep that stopped part-way keeps the kind of what stopped it where the client acts on it (outcome unknown, wait and retry). */
function partialFailure(message: string, cause: unknown, result: Record<string, unknown>): KnownError {
  // Failures found here (the audit trail could not be written, the call was cancelled) keep their own kind, and
  // say what was done before them, not only what was not.
  if (cause instanceof ToolError || cause instanceof CancelledError) {
    cause.message = message;
    return withResult(cause, result) as KnownError;
  }
  if (cause instanceof OutcomeUnknownError) return new OutcomeUnknownError(message, {}, { cause, result });
  if (cause instanceof RateLimitedError) return new RateLimitedError(message, cause.retryAfterSeconds, {}, { cause, result });
  return new BasecampError(message, {}, { cause, result });
}

async function findPerson(ctx: ToolServices, caps: Capabilities, args: { person_id?: number; email?: string }, signal: AbortSignal): Promise<Person> {
  if (args.email === undefined) return ctx.api.getPerson(args.person_id!, signal);
  const found = await ctx.directory.findByEmail(args.email, signal);
  if (found) return found;
  // Removed already (a retry after an unclear answer)? Where the removed people can be listed, they say so.
  if (caps.removedPeople) {
    const wanted = normalEmail(args.email);
    const removed = await ctx.directory.removedPeople({ signal, fresh: true }).catch(() => undefined);
    const gone = removed?.items.find((p) => typeof p.email_address === 'string' && normalEmail(p.email_address) === wanted);
    if (gone) return { ...gone, personable_type: 'Tombstone' };
  }
  throw new NotFoundError(`No person with email ${args.email} is on this account. Nothing was changed.`);
}

/** The owner cannot be removed, and offboarding the signed-in person would cut this server off. */
async function refuseProtected(ctx: ToolServices, person: Person, signal: AbortSignal): Promise<void> {
  if (person.owner) {
    throw new InvalidInputError(`${person.name} is the account owner and cannot be offboarded. Transfer ownership in Adminland first. Nothing was changed.`);
  }
  const me = await ctx.api.myProfile(signal);
  if (me.id === person.id) {
    throw new InvalidInputError('That is the signed-in person; offboarding yourself would cut this server off. Nothing was changed.');
  }
}

/**
 * Every visible project, team and HQ the person is on. Fresh reads: a plan must not come from a stale cache.
 * Where the product lists one person's projects (Basecamp 2), that one request is the plan.
 */
async function planOffboarding(
  ctx: ToolServices,
  caps: Capabilities,
  person: Person,
  signal: AbortSignal,
  progress: ToolContext['progress'],
): Promise<{ plan: Project[]; checked: number }> {
  if (caps.personProjects) {
    const projects = await ctx.api.personProjects(person.id, signal);
    if (projects.truncated) throw new IncompleteDataError(`Could not read every project of ${person.name} (${projects.truncated}); nothing was changed.`);
    return { plan: projects.items, checked: 0 };
  }
  const candidates: Project[] = [];
  for (const status of statuses) {
    const projects = await ctx.directory.projects(status, { signal, fresh: true });
    if (projects.truncated) {
      throw new IncompleteDataError(`Could not read every ${status} project (${projects.truncated}); nothing was changed.`);
    }
    candidates.push(...projects.items);
  }
  const plan: Project[] = [];
  for (const [i, project] of candidates.entries()) {
    await progress(i, candidates.length * 2, `Checking ${label(project)}`);
    const members = await ctx.api.listProjectPeople(project.id, signal);
    if (members.truncated) {
      throw new IncompleteDataError(`Could not read every member of ${project.name} (${members.truncated}); nothing was changed.`);
    }
    if (members.items.some((p) => p.id === person.id)) plan.push(project);
  }
  return { plan, checked: candidates.length };
}

/** A project's name, with its status when that is not active (archived and trashed ones are in the plan too). */
function label(project: Project): string {
  return project.status && project.status !== 'active' ? `${project.name} (${project.status})` : project.name;
}
