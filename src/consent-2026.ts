import { inputRequired, inputResponse, type InputRequiredResult, type ServerContext } from '@modelcontextprotocol/server';
import { withNote } from './errors.js';
import { planDigest, type Plan, type PlanSealer } from './governance/plan-token.js';
import type { ConfirmAnswer } from './tools/lib/define.js';

/**
 * Consent in the MCP 2026-07-28 era, where a server cannot send the client a request: the tool call answers
 * `input_required` with a form (one boolean, `confirm`; the message names the people and projects) and a sealed
 * `requestState`; the client asks its human and calls again with the answer and the state echoed. The handler runs
 * again from the start: it re-reads Basecamp, re-plans, and reaches its consent point with the answer in hand
 * (src/tools/lib/consent.ts). Works the same on stdio, HTTP and `--stateless` HTTP: nothing is kept between rounds.
 *
 * The state is sealed with the plan tokens' key (PlanSealer.sealState: HMAC, BASECAMP_PLAN_SECRET shared by a fleet)
 * and binds the tool, the exact plan (planDigest of the plan a plan token would seal), the caller and an expiry.
 * - Altered, expired, or issued to another caller: refused before any handler runs (the SDK answers -32602).
 * - Another tool, or the plan as it is now differs: `plan_changed`, nothing written.
 * - An answer runs once: the state is claimed like a plan token (in-process, audit-trail claim files, Redis), so the
 *   same state sent again, here or on another instance, is refused (`plan_changed`), nothing written.
 */

/** What a consent requestState carries (besides its id and expiry, added by the sealer). Signed, not secret. */
export interface ConsentState {
  kind: 'consent';
  tool: string;
  caller: string;
  /** planDigest of the plan the human was asked about. */
  plan: string;
}

type Opened = ConsentState & { id: string; exp: number };

/** The key of the one embedded request: the human's answer comes back under it. */
const CONFIRM_KEY = 'confirm';

/** The form a human is shown: one boolean, `confirm`. The same in both eras. */
export function confirmForm(message: string) {
  return {
    type: 'object' as const,
    properties: { confirm: { type: 'boolean' as const, title: 'Yes, do it', description: message.split('\n')[0] } },
    required: ['confirm'],
  };
}

/**
 * `McpServer`'s `requestState.verify` hook: the HMAC, the expiry and the caller. Whatever it throws is answered
 * -32602 by the SDK before the handler runs (the reason goes to onerror only). Resolves the opened state.
 */
export function requestStateVerifier(plans: PlanSealer, caller: string) {
  return (state: string): Opened => {
    const opened = plans.openState<ConsentState>(state);
    if (!opened.ok) throw new Error(opened.why);
    const { ok: _ok, ...payload } = opened;
    if (payload.caller !== caller) throw new Error('the requestState was issued to another caller');
    return payload;
  };
}

/** A tool call that stops here to ask its human in another round: runTool answers with `result`. */
export class AskInAnotherRound extends Error {
  constructor(readonly result: InputRequiredResult) {
    super('input_required: a human is asked');
  }
}

/** Whether a 2026-era request can be answered with a form: its envelope declared form elicitation (`{}` is form). */
export function canAskForm(capabilities: { elicitation?: { form?: object; url?: object } } | undefined): boolean {
  const e = capabilities?.elicitation;
  return e !== undefined && (e.form !== undefined || e.url === undefined);
}

/** The verified consent state this request carries, if any. */
function consentState(ctx: ServerContext): Opened | undefined {
  const state = ctx.mcpReq.requestState<Opened>();
  return typeof state === 'object' && state !== null && state.kind === 'consent' ? state : undefined;
}

/** True when this 2026-era call asks its human in a later round (so nothing may be claimed in this one). */
export function asksInAnotherRound(ctx: ServerContext, capabilities: Parameters<typeof canAskForm>[0]): boolean {
  return canAskForm(capabilities) && consentState(ctx) === undefined;
}

/**
 * The 2026-era `confirm`: asks (throws AskInAnotherRound with the form and a sealed state), or reads the answer
 * that came back with a verified state: refused when it was given for another tool or plan or was used before.
 */
export async function confirm2026(
  ctx: ServerContext,
  ask: { plans: PlanSealer; capabilities: Parameters<typeof canAskForm>[0]; tool: string; caller: string; message: string; plan: Plan; lifetimeMs: number },
): Promise<ConfirmAnswer> {
  if (!canAskForm(ask.capabilities)) return 'unsupported';
  const digest = planDigest(ask.plan);
  const state = consentState(ctx);
  if (!state) {
    const sealed = ask.plans.sealState<ConsentState>({ kind: 'consent', tool: ask.tool, caller: ask.caller, plan: digest }, ask.lifetimeMs);
    throw new AskInAnotherRound(
      inputRequired({
        inputRequests: { [CONFIRM_KEY]: inputRequired.elicit({ message: ask.message, requestedSchema: confirmForm(ask.message) }) },
        requestState: sealed.state,
      }),
    );
  }
  if (state.tool !== ask.tool) return { refused: `the answer came back for ${state.tool}, not ${ask.tool}` };
  if (state.plan !== digest) return { refused: 'the plan changed between the question and the answer (it would now do something else)' };
  // Claimed before the answer counts, whatever it is: one state, one answer, on every instance sharing the claims.
  const claimed = await ask.plans.claim(state.id, state.exp, ctx.mcpReq.signal).catch((error: unknown) => {
    // A store that cannot tell stops the call, as for a plan token (fail closed).
    throw withNote(error, 'What could not be claimed was the human\'s answer (requestState); nothing was changed. Call again to be asked again.');
  });
  if (!claimed) return { refused: 'this answer was already used (an answer runs its plan once)' };
  const view = inputResponse(ctx.mcpReq.inputResponses, CONFIRM_KEY);
  if (view.kind !== 'elicit') return 'cancel';
  if (view.action !== 'accept') return view.action;
  return (view.content as { confirm?: unknown } | undefined)?.confirm === true ? 'accept' : 'decline';
}
