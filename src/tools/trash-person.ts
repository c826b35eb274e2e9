import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { oneLine } from '../one-line.js';
import { obtainConsent, planOnly, planText } from './lib/consent.js';
import { defineTool } from './lib/define.js';
import { alreadyRemoved, findOffboardee, planOffboarding, refuseProtected } from './lib/offboarding.js';
import { offboardingStrategy, type OffboardingBase } from './lib/offboarding-strategies.js';
import { email, personId, planToken } from './lib/params.js';
import { compactPerson, compactProject, personLabel, toCompactPerson, toCompactProject } from './lib/shapes.js';

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
    '(and for a 2025-era client over stateless HTTP) it needs the plan_token from a dry run, shown to the person you act for, and runs only if ' +
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
    const person = await findOffboardee(ctx, caps, args, signal);
    if (caps.removeFromAccount && person.personable_type === 'Tombstone') return alreadyRemoved(person, caps, args.dry_run === true);
    await refuseProtected(ctx, person, signal);
    const { plan, checked } = await planOffboarding(ctx, caps, person, signal, progress);
    // Basecamp 2 removes the person from the account, every project with it; Basecamp 3/4/5 revokes each project.
    const strategy = offboardingStrategy(caps, person);
    const { finishNote } = strategy;
    const base: OffboardingBase = {
      person: toCompactPerson(person),
      projects: plan.map((p) => ({ ...toCompactProject(p), role: strategy.role })),
      account_removed: false,
      adminland_url: caps.peopleAdminUrl,
    };
    const sealedPlan = { tool: 'trash_person', subject: `person:${person.id}`, changes: strategy.sealedChanges(plan) };
    const auditChanges = strategy.auditChanges(plan);
    const steps = strategy.steps(plan);

    if (args.dry_run) {
      const token = await planOnly(ctx, { plan: sealedPlan, changes: auditChanges });
      return {
        structured: {
          ...base,
          dry_run: true,
          status: 'planned' as const,
          revoked_from: [],
          failed: [],
          note: `Dry run: nothing was changed. Would ${strategy.summary(plan)}. ${finishNote}`,
          ...token,
        },
        summary: `Dry run for ${personLabel(person)}: nothing was changed. It would:`,
        text: `${planText(steps)}\nplan_token: ${token.plan_token} (valid until ${token.expires_at}) runs exactly this plan. ${oneLine(finishNote)}`,
      };
    }

    if (strategy.asks(plan)) {
      const consent = await obtainConsent(ctx, {
        plan: sealedPlan,
        question: strategy.question(plan),
        steps,
        planToken: args.plan_token,
        changes: auditChanges,
        planned: (token) => ({
          ...base,
          dry_run: false,
          status: 'planned' as const,
          revoked_from: [],
          failed: [],
          note: `Not done: ${strategy.summary(plan)}. ${finishNote}`,
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
    return strategy.run(ctx, plan, base, checked);
  },
});
