import type { z } from 'zod';
import type { PeopleApi } from '../../basecamp/api.js';
import type { Directory } from '../../basecamp/directory.js';
import type { AuditLog } from '../../governance/audit-log.js';
import type { CallRecord } from '../../governance/audited-api.js';
import type { Plan, PlanSealer } from '../../governance/plan-token.js';
import type { PeopleSnapshotStore } from '../../governance/people-snapshots.js';
import type { Caller } from '../../caller.js';

export interface ToolAnnotationsSet {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

/** A human's answer; `refused`: an answer came back that does not count (given for another plan, or used before). */
export type ConfirmAnswer = 'accept' | 'decline' | 'cancel' | 'unsupported' | { refused: string };

/** The account the server is signed in to. */
export interface AccountAccess {
  id(signal?: AbortSignal): Promise<number>;
  /** The account's name as Launchpad lists it, when Launchpad was asked (undefined otherwise). */
  name(signal?: AbortSignal): Promise<string | undefined>;
}

/**
 * What tools may use of Basecamp: the typed calls, the cached directory and the account. Nothing here can send
 * a raw request or touch the rate budget: those rules live in the client, below the API.
 */
export interface ToolServices {
  api: PeopleApi;
  directory: Directory;
  account: AccountAccess;
  /** Snapshots of the people directory (people_changes); undefined when none are kept. */
  snapshots?: PeopleSnapshotStore;
}

/** What a call needs to plan, ask and record: see src/tools/lib/consent.ts and src/governance/. */
export interface ToolGovernance {
  plans: PlanSealer;
  /** auto: ask a human when the client can, else require a plan token; human: refuse when no human can be asked. */
  mode: 'auto' | 'human';
  trail?: AuditLog;
  call: CallRecord;
  /** Who is calling (src/caller.ts): what anything sealed for this call (a plan, a request state) is bound to, by callerKey. */
  caller: Caller;
}

/** What a handler gets besides its arguments. No MCP types leak past this. */
export interface ToolContext extends ToolServices {
  governance: ToolGovernance;
  signal: AbortSignal;
  /** Reports progress when the client asked for it (a no-op otherwise). */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
  /**
   * Asks the human (MCP elicitation) to confirm `plan` (as a plan token would seal it); 'unsupported' when the client
   * cannot ask. In the 2026 era the question ends this round (input_required) and the answer comes with the next
   * one, bound to the plan: see src/consent-2026.ts.
   */
  confirm(message: string, plan: Plan): Promise<ConfirmAnswer>;
  /** True when this call's human is asked in a later round (2026 era): a plan_token is then only checked, not used up. */
  asksInAnotherRound(): boolean;
}

export interface ToolOutput<O> {
  structured: O;
  /** One line a person or model reads first: what happened, and what to do next when anything is left. */
  summary: string;
  /**
   * What follows the summary in the text content. Default: the structured content as compact JSON. Listings
   * give one line per item instead (everything a model needs to act on, without the JSON's repeated keys).
   */
  text?: string;
  /** Files that come with the result as embedded resources (e.g. a CSV a person can save). */
  attachments?: { uri: string; mimeType: string; text: string }[];
}

export interface ToolDefinition<I extends z.ZodRawShape = z.ZodRawShape, O extends z.ZodRawShape = z.ZodRawShape> {
  name: string;
  title: string;
  description: string;
  inputSchema: I;
  outputSchema: O;
  annotations: ToolAnnotationsSet;
  /** Checks that zod cannot express (exactly one of, overlaps); throws InvalidInputError. Runs before any request. */
  validate?(args: z.infer<z.ZodObject<I>>): void;
  handler(args: z.infer<z.ZodObject<I>>, ctx: ToolContext): Promise<ToolOutput<z.infer<z.ZodObject<O>>>>;
}

/**
 * A tool as the registry holds it, its argument types erased: the server validates the arguments against
 * `inputSchema` (and `validate`) before calling the handler, so `never` is the honest static type here.
 */
export interface RegisteredTool {
  name: string;
  title: string;
  description: string;
  inputSchema: z.ZodRawShape;
  outputSchema: z.ZodRawShape;
  annotations: ToolAnnotationsSet;
  validate?(args: never): void;
  handler(args: never, ctx: ToolContext): Promise<ToolOutput<Record<string, unknown>>>;
}

export function defineTool<I extends z.ZodRawShape, O extends z.ZodRawShape>(tool: ToolDefinition<I, O>): ToolDefinition<I, O> {
  return tool;
}
