import { ConfirmationRequiredError, HumanRequiredError, PlanChangedError, withNote } from '../../errors.js';
import type { AuditChange } from '../../governance/audit-log.js';
import { recordDecision, type CallRecord } from '../../governance/audited-api.js';
import { argumentsDigest, type Plan } from '../../governance/plan-token.js';
import { oneLine } from '../../one-line.js';
import { callerKey } from '../../caller.js';
import type { ToolContext } from './define.js';

/**
 * Consent before a destructive write: a human's answer, or an exact, unexpired plan.
 * - The client can ask a human (elicitation): ask, showing the plan (a given plan_token must still match).
 * - It cannot (no elicitation; a 2025-era client over stateless HTTP): a plan_token sealing exactly this plan is required; without one
 *   the call fails as `confirmation_required` with the plan and a fresh token, writing nothing.
 * - A plan_token that no longer matches (expired, altered, made for another caller, someone else, other arguments,
 *   the account changed, or already used): `plan_changed`, with the current plan and a fresh token, writing nothing. A token that matches
 *   is claimed before anything else happens (PlanSealer.redeem): it runs once, even if the run then fails.
 * - A token is handed out only once its plan is recorded in the audit trail: no trail, no token.
 * - BASECAMP_CONFIRM=human: a human must answer; without one the call fails as `human_required`.
 * - MCP 2026-07-28: the human is asked through `input_required` (src/consent-2026.ts), the answer bound to the plan:
 *   a plan that changed between the question and the answer (or an answer sent twice) is `plan_changed`, nothing written.
 * What it protects against, and what not, is in the README ("Governance").
 */
export interface ConsentRequest {
  /** The plan as it is now (tool, subject, exact changes; the account is added here). */
  plan: Omit<Plan, 'account' | 'caller'>;
  /** What the human is asked, in one line (the plan's steps follow it). */
  question: string;
  /**
   * The plan, one line per change (who, what, where: see personLabel and projectLabel in shapes.ts). Shown to the
   * human, and in the text of every answer that stops for consent: some clients drop structuredContent on errors,
   * and the agent must still be able to show the plan and act on its plan_token.
   */
  steps: string[];
  planToken: string | undefined;
  /** The audit trail's view of the plan, per person and project. */
  changes: AuditChange[];
  /** The tool's own result for "nothing done; here is the plan" (its output schema), with a token when one helps. */
  planned(token: { plan_token: string; expires_at: string } | undefined): Record<string, unknown>;
}

export type Consent = { given: true } | { given: false; answer: 'decline' | 'cancel' };

/** The plan as a token seals it: the tool's plan, the account, the caller (callerKey) and a digest of this call's arguments. */
export async function sealable(ctx: ToolContext, plan: Omit<Plan, 'account' | 'caller'>): Promise<Plan> {
  return { ...plan, account: (await ctx.account.id(ctx.signal)) ?? 0, caller: callerKey(ctx.governance.caller), arguments: argumentsDigest(ctx.governance.call.arguments) };
}

export async function obtainConsent(ctx: ToolContext, req: ConsentRequest): Promise<Consent> {
  const { governance, signal } = ctx;
  const plan = await sealable(ctx, req.plan);
  const refuse = async (note: string) => recordDecision(governance.trail, governance.call, 'refused', req.changes, note, signal);
  /** A fresh token, once the refusal that hands it out is recorded (an unwritable trail: audit_unavailable, no token). */
  const fresh = async (note: string) => {
    await recordDecision(governance.trail, governance.call, 'refused', req.changes, note, signal, { required: true });
    const sealed = governance.plans.seal(plan);
    return { plan_token: sealed.token, expires_at: sealed.expires_at };
  };

  let tokenOk = false;
  if (req.planToken !== undefined) {
    // Verified and claimed at once: of overlapping calls with this token (here or on any instance sharing the
    // audit trail or Redis) one gets ok, the others "already used". A store that cannot tell stops the call.
    // A 2026-era call that asks its human in another round only checks the token now; the round with the answer claims it.
    const verdict = ctx.asksInAnotherRound()
      ? governance.plans.verify(req.planToken, plan)
      : await governance.plans.redeem(req.planToken, plan, signal).catch(async (error: unknown) => {
          await refuse(`plan_token not run: ${error instanceof Error ? error.message : String(error)}`);
          throw error;
        });
    if (!verdict.ok) {
      const token = await fresh(`plan_changed: ${verdict.why}`);
      throw new PlanChangedError(
        `Nothing was changed: ${verdict.why}. Below is the plan as it is now: review it (with the person you act for) and call ${req.plan.tool} ` +
          'again with the same arguments and the new plan_token.',
        { result: req.planned(token), text: `The plan as it is now:\n${planText(req.steps)}\n${tokenLine(token)}` },
      );
    }
    tokenOk = true;
    governance.call.planTokenId = verdict.id;
  }

  const shown = planText(req.steps);
  const answer = await ctx.confirm(`${oneLine(req.question)}\n${shown}`, plan);
  if (typeof answer === 'object') {
    // 2026 era: the answer came back for another plan than the one there is now (or was used before).
    await refuse(`plan_changed: ${answer.refused}`);
    throw new PlanChangedError(
      `Nothing was changed: ${answer.refused}. Below is the plan as it is now: call ${req.plan.tool} again with the same arguments to be asked about it.`,
      { result: req.planned(undefined), text: `The plan as it is now:\n${shown}` },
    );
  }
  if (answer === 'accept') return { given: true };
  if (answer === 'decline' || answer === 'cancel') {
    await recordDecision(governance.trail, governance.call, 'cancelled', req.changes, `the person asked answered ${answer}`, signal);
    return { given: false, answer };
  }
  // The client cannot ask a human.
  if (governance.mode === 'human') {
    await refuse('human_required: BASECAMP_CONFIRM=human and the client cannot ask a human');
    throw new HumanRequiredError(
      'Nothing was changed: this server is set to always ask a human (BASECAMP_CONFIRM=human) before this change, and this client cannot ask ' +
        '(it does not support MCP elicitation, or it speaks a 2025-era protocol to a stateless server). Make the change below from a client that can ask, or in Basecamp.',
      { result: req.planned(undefined), text: `The change:\n${shown}` },
    );
  }
  if (tokenOk) return { given: true };
  const token = await fresh('confirmation_required: no human could be asked and no plan_token was given');
  throw new ConfirmationRequiredError(
    `Nothing was changed: this change needs a human's confirmation, and this client cannot ask for one. Show the plan below to the person ` +
      `you act for; if they agree, call ${req.plan.tool} again with the same arguments and the plan_token below. The plan is re-checked then: ` +
      'if anything changed, nothing is done.',
    { result: req.planned(token), text: `The plan:\n${shown}\n${tokenLine(token)}` },
  );
}

/** The plan as lines of text: what a person (or a model whose client dropped the structured content) reads. */
export function planText(steps: string[]): string {
  return steps.length ? steps.map((s) => `  - ${s}`).join('\n') : '  - nothing to change';
}

const tokenLine = (token: { plan_token: string; expires_at: string }) => `plan_token: ${token.plan_token} (valid until ${token.expires_at})`;

/**
 * A dry run: the plan sealed as a plan_token, without asking anyone or changing anything. A plan that hands out a
 * token is recorded in the audit trail first, or not handed out.
 */
export async function planOnly(ctx: ToolContext, req: Pick<ConsentRequest, 'plan' | 'changes'>): Promise<{ plan_token: string; expires_at: string }> {
  const { governance, signal } = ctx;
  const sealed = governance.plans.seal(await sealable(ctx, req.plan));
  await recordDecision(governance.trail, governance.call, 'planned', req.changes, 'dry run', signal, { required: true });
  return { plan_token: sealed.token, expires_at: sealed.expires_at };
}

/**
 * A call that failed after its plan_token was claimed says the token is spent (it runs its plan once, even when the
 * run stopped before sending anything), and how to go on.
 */
export function afterPlanToken(error: unknown, call: CallRecord): unknown {
  if (!call.planTokenId) return error;
  return withNote(error, 'The plan_token was used by this call and will not run again (a token runs its plan once): to go on, call again without plan_token (or with dry_run) for a fresh plan of what is left.');
}
