import { z } from 'zod';
import { BasecampError, CancelledError, IncompleteDataError, InvalidInputError, KnownError, NotFoundError, OutcomeUnknownError, RateLimitedError, ToolError, withResult } from '../basecamp/errors.js';
import type { Membership, Person, Project } from '../basecamp/types.js';
import type { ToolServices } from './define.js';
import { recordDecision } from '../governance/audited-api.js';
import { obtainConsent } from './consent.js';
import { defineTool, type ToolContext } from './define.js';
import { email, personId, planToken } from './params.js';
import { compactPerson, compactProject, toCompactPerson, toCompactProject } from './shapes.js';

/** Trashed projects too: they can be restored, and the person would be back on them. */
const statuses = ['active', 'archived', 'trashed'] as const;

export const trashPerson = defineTool({
  name: 'trash_person',
  title: 'Offboard a person (revoke everywhere)',
  description:
    'Offboard one person (team member or client): revoke their access to every project, team and the HQ (active, archived and trashed, since a ' +
    'trashed project can be restored) that the ' +
    'signed-in person can see. Basecamp 4\'s API has NO way to remove a person from the account itself: after this, ' +
    'an admin must finish the removal in Adminland (the result gives the link). Run with dry_run: true first to see ' +
    'the exact plan and a plan_token. A real run asks the human to confirm when the client supports that; otherwise ' +
    '(and in stateless HTTP) it needs the plan_token from a dry run, shown to the person you act for, and runs only if ' +
    'the plan is still exactly the same. Touches no one else. ' +
    'The account owner and the signed-in person cannot be offboarded.',
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
      .array(compactProject.extend({ role: z.enum(['team', 'client']).describe('How they are on it: revoked through Basecamp\'s team or client endpoint.') }))
      .describe('Projects, teams and HQ the person is on (the plan); status says which are archived or trashed.'),
    revoked_from: z.array(z.number()).describe('Project ids access was revoked from.'),
    failed: z.array(z.object({ project_id: z.number(), error: z.string() })),
    account_removed: z.literal(false).describe('Always false: Basecamp 4 has no API for this.'),
    adminland_url: z.string(),
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
    const person = await findPerson(ctx, args, signal);
    await refuseProtected(ctx, person, signal);
    const adminland = await ctx.account.adminlandPeopleUrl(signal);
    const { plan, checked } = await planOffboarding(ctx, person, signal, progress);
    // A client is revoked through client_users.json (users.json drops client ids), everyone else through users.json.
    const role: Membership = person.client ? 'client' : 'team';
    const base = {
      person: toCompactPerson(person),
      projects: plan.map((p) => ({ ...toCompactProject(p), role })),
      account_removed: false as const,
      adminland_url: adminland,
    };
    const finishNote =
      `Basecamp 4's API cannot remove a person from the account. ${person.name} is still on the account until an admin ` +
      `removes them in Adminland: ${adminland}. Only projects the signed-in person can see were checked.`;

    const sealedPlan = {
      tool: 'trash_person',
      subject: `person:${person.id}`,
      changes: plan.map((p) => [p.id, role]).sort((a, b) => Number(a[0]) - Number(b[0])),
    };
    const auditChanges = plan.map((p) => ({ person: person.id, project_id: p.id, action: 'revoke' }));
    const planSummary = `revoke ${person.name}${role === 'client' ? ' (a client)' : ''} from ${plan.length} project(s): ${plan.map(label).join(', ') || 'none'}`;

    if (args.dry_run) {
      const token = ctx.governance.plans.seal({ ...sealedPlan, account: await ctx.account.id(signal) });
      // A plan that hands out a token is recorded, or not handed out.
      await recordDecision(ctx.governance.trail, ctx.governance.call, 'planned', auditChanges, 'dry run', signal, { required: true });
      return {
        structured: {
          ...base,
          dry_run: true,
          status: 'planned' as const,
          revoked_from: [],
          failed: [],
          note: `Dry run: nothing was changed. Would revoke ${person.name} from ${plan.length} project(s). ${finishNote}`,
          plan_token: token.token,
          expires_at: token.expires_at,
        },
        summary: `Plan: ${planSummary}. Nothing changed. plan_token (valid until ${token.expires_at}) runs exactly this plan.`,
      };
    }

    if (plan.length > 0) {
      const consent = await obtainConsent(ctx, {
        plan: sealedPlan,
        question: `Revoke ${person.name} (${person.email_address ?? `id ${person.id}`}) from ${plan.length} project(s): ${plan.map(label).join(', ')}?`,
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

/** A sweep that stopped part-way keeps the kind of what stopped it where the client acts on it (outcome unknown, wait and retry). */
function partialFailure(message: string, cause: unknown, result: Record<string, unknown>): KnownError {
  // Failures found here (the audit trail could not be written, the call was cancelled) keep their own kind.
  if (cause instanceof ToolError || cause instanceof CancelledError) return withResult(cause, result) as KnownError;
  if (cause instanceof OutcomeUnknownError) return new OutcomeUnknownError(message, {}, { cause, result });
  if (cause instanceof RateLimitedError) return new RateLimitedError(message, cause.retryAfterSeconds, {}, { cause, result });
  return new BasecampError(message, {}, { cause, result });
}

async function findPerson(ctx: ToolServices, args: { person_id?: number; email?: string }, signal: AbortSignal): Promise<Person> {
  if (args.email === undefined) return ctx.api.getPerson(args.person_id!, signal);
  const found = await ctx.directory.findByEmail(args.email, signal);
  if (!found) throw new NotFoundError(`No person with email ${args.email} is on this account. Nothing was changed.`);
  return found;
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

/** Every visible project, team and HQ the person is on. Fresh reads: a plan must not come from a stale cache. */
async function planOffboarding(
  ctx: ToolServices,
  person: Person,
  signal: AbortSignal,
  progress: ToolContext['progress'],
): Promise<{ plan: Project[]; checked: number }> {
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
