import { ForbiddenError } from '../../basecamp/errors.js';
import type { Capabilities, Membership, Person, Project } from '../../basecamp/types.js';
import type { CompactPerson, CompactProject } from './shapes.js';
import { personLabel, projectLabel } from './shapes.js';
import type { AuditChange } from '../../governance/audit-log.js';
import type { ToolContext } from './define.js';
import { stoppedPartway } from './partial-result.js';

/**
 * How a product offboards a person, one strategy per product behaviour, chosen by capabilities (never by the
 * product's name): Basecamp 2 removes the person from the account, every project with it (removeFromAccount);
 * Basecamp 3/4/5 has no such API and revokes each project the person is on. Each says its plan (sealed, audited,
 * read by a person) and carries it out.
 */
export interface OffboardingStrategy {
  /** How the person is on each planned project: the role revoked, or null where the whole account is left at once. */
  role: Membership | null;
  /** What is left for a person to do, or what the removal means: said after every plan and result. */
  finishNote: string;
  /** Whether there is anything to ask consent for (a removal always; revoking only with projects). */
  asks(plan: Project[]): boolean;
  sealedChanges(plan: Project[]): unknown[][];
  auditChanges(plan: Project[]): AuditChange[];
  /** The plan in one sentence, after "Would" or "Not done:". */
  summary(plan: Project[]): string;
  /** The plan as lines a person reads: the same in a dry run, a question to a human and a refusal. */
  steps(plan: Project[]): string[];
  question(plan: Project[]): string;
  run(ctx: ToolContext, plan: Project[], base: OffboardingBase, checked: number): Promise<{ structured: OffboardingResult; summary: string }>;
}

/** What every trash_person answer carries. */
export interface OffboardingBase {
  person: CompactPerson;
  projects: (CompactProject & { role: Membership | null })[];
  account_removed: boolean;
  adminland_url: string;
}

export type OffboardingResult = OffboardingBase & {
  dry_run: boolean;
  status: 'planned' | 'done' | 'partial' | 'cancelled';
  revoked_from: number[];
  failed: { project_id: number; error: string }[];
  note: string;
};

export function offboardingStrategy(caps: Capabilities, person: Person): OffboardingStrategy {
  return caps.removeFromAccount ? removalFromAccount(caps, person) : revocationPerProject(caps, person);
}

/** A project's name, with its status when that is not active (archived and trashed ones are in the plan too). */
export function label(project: Project): string {
  return project.status && project.status !== 'active' ? `${project.name} (${project.status})` : project.name;
}

const names = (plan: Project[]) => plan.map(label).join(', ');
const who = (person: Person) => `${person.name} (${person.email_address ?? `id ${person.id}`})`;

/** Basecamp 2: one DELETE of the person; every project goes with the account. */
function removalFromAccount(caps: Capabilities, person: Person): OffboardingStrategy {
  const ownerNote = caps.ownerKnown ? '' : ` ${caps.productName}'s API does not say who owns the account: if ${person.name} is the owner, Basecamp refuses and nothing changes.`;
  const finishNote = `Removing a person from a ${caps.productName} account takes away every project at once; Basecamp keeps what they made (messages, to-dos, files stay), and they are listed among the removed people (list_people include_removed: true).${ownerNote}`;
  return {
    role: null,
    finishNote,
    asks: () => true,
    sealedChanges: (plan) => [...plan.map((p) => [p.id, 'account']).sort((a, b) => Number(a[0]) - Number(b[0])), ['remove_from_account']],
    auditChanges: () => [{ person: person.id, action: 'remove_from_account' }],
    summary: (plan) => `remove ${person.name} from the ${caps.productName} account (and so from ${plan.length} project(s): ${names(plan) || 'none'})`,
    steps: (plan) => [`remove ${personLabel(person)} from the ${caps.productName} account`, ...plan.map((p) => `with it, their access to ${projectLabel(p)} ends`)],
    question: (plan) => `Remove ${who(person)} from the ${caps.productName} account, and so from ${plan.length} project(s)${plan.length ? `: ${names(plan)}` : ''}?`,
    async run(ctx, plan, base) {
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
      const gone = removal.alreadyGone ? ' (the first request got no clear answer; re-sent, Basecamp said they are already gone: the first one did it)' : '';
      const note = `Removed ${person.name} from the ${caps.productName} account${gone}; with it their access to ${plan.length} project(s) ended. ${finishNote}`;
      return {
        structured: { ...base, dry_run: false, status: 'done', revoked_from: plan.map((p) => p.id), failed: [], account_removed: true, note },
        summary: note,
      };
    },
  };
}

/** Basecamp 3/4/5: revoke each project, one write each; an admin finishes the removal in Adminland. */
function revocationPerProject(caps: Capabilities, person: Person): OffboardingStrategy {
  // A client is revoked through client_users.json (users.json drops client ids), everyone else through users.json.
  const role: Membership = person.client ? 'client' : 'team';
  const client = role === 'client' ? ' (a client)' : '';
  const finishNote =
    `${caps.productName}'s API cannot remove a person from the account. ${person.name} is still on the account until an admin ` +
    `removes them in Adminland: ${caps.peopleAdminUrl}. Only projects the signed-in person can see were checked.`;
  return {
    role,
    finishNote,
    asks: (plan) => plan.length > 0,
    sealedChanges: (plan) => plan.map((p) => [p.id, role]).sort((a, b) => Number(a[0]) - Number(b[0])),
    auditChanges: (plan) => plan.map((p) => ({ person: person.id, project_id: p.id, action: 'revoke' })),
    summary: (plan) => `revoke ${person.name}${client} from ${plan.length} project(s): ${names(plan) || 'none'}`,
    steps: (plan) => plan.map((p) => `revoke ${personLabel(person)}${client} from ${projectLabel(p)}`),
    question: (plan) => `Revoke ${who(person)} from ${plan.length} project(s): ${names(plan)}?`,
    async run(ctx, plan, base, checked) {
      const revoked: number[] = [];
      const failed: { project_id: number; error: string }[] = [];
      let stoppedBy: unknown;
      try {
        for (const [i, project] of plan.entries()) {
          await ctx.progress(checked + i, checked + plan.length, `Revoking from ${label(project)}`);
          try {
            const result = await ctx.api.updateProjectPeople(project.id, { revoke: [person.id] }, role, ctx.signal);
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
      if (status === 'partial') throw stoppedPartway(stoppedBy, { message: note, result: structured });
      return { structured, summary: note };
    },
  };
}
