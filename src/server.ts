import { randomUUID } from 'node:crypto';
import {
  acceptedContent,
  CLIENT_CAPABILITIES_META_KEY,
  inputRequired,
  inputResponse,
  McpServer,
  type InputRequiredResult,
  type ServerContext,
  type StandardSchemaWithJSON,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ConfirmationFailedError, NotSignedInError, type AccountChoice } from './errors.js';
import { PRODUCT_NAMES } from './basecamp/launchpad.js';
import { VERSION } from './config.js';
import { withLogSink, type LogSink } from './log.js';
import { auditedApi, type CallRecord } from './governance/audited-api.js';
import type { Service } from './service.js';
import type { ConfirmAnswer, RegisteredTool, ToolContext } from './tools/lib/define.js';
import { afterPlanToken } from './tools/lib/consent.js';
import { selectTools } from './tools/index.js';
import { refuseForRole } from './tools/roles.js';
import { callerKey, type Caller } from './caller.js';
import { refuseMaskedAddresses } from './tools/lib/params.js';
import { errorResult, successResult } from './results.js';
import { portableSchema } from './portable-schema.js';
import { AskInAnotherRound, asksInAnotherRound, confirm2026, confirmForm, requestStateVerifier } from './consent-2026.js';

/**
 * The protocol era a server instance serves: `legacy` is MCP 2025-11-25 and older (initialize, sessions,
 * server→client requests), `modern` is 2026-07-28 (no sessions; every request carries its own envelope).
 * The transports pick it per connection (stdio) or per request (HTTP); the tools are the same in both.
 */
export type ProtocolEra = 'legacy' | 'modern';

export interface ServerOptions {
  readOnly?: boolean;
  /** How long a human has to answer a confirmation (elicitation). */
  confirmTimeoutMs?: number;
  /** Which era this instance serves (default legacy: a hand-connected transport speaks 2025-11-25). */
  era?: ProtocolEra;
  /** 2026 era: how long the retry after a URL sign-in waits for the browser to come back (default 30 s). */
  signInRetryWaitMs?: number;
}

/** What one server instance serves: the process's options, and who it serves (one caller per instance). */
export interface McpServerOptions extends ServerOptions {
  /** Who is calling (src/caller.ts): its role decides the tools it is offered, its name is recorded in the audit trail. */
  caller: Caller;
}

/** The tool list changes only with the process's settings: a client may keep it for five minutes (2026-07-28 lists). */
const LIST_CACHE = { ttlMs: 300_000, cacheScope: 'private' } as const;

/** One MCP server over the shared service; every transport builds its servers here. */
export function createMcpServer(service: Service, options: McpServerOptions): McpServer {
  const server = new McpServer(
    { name: 'basecamp-people-mcp', title: 'Basecamp People', version: VERSION },
    {
      capabilities: { logging: {}, tools: { listChanged: false } },
      cacheHints: { 'tools/list': LIST_CACHE, 'server/discover': LIST_CACHE },
      // A 2026-era requestState that was altered, expired or issued to another caller never reaches a tool (-32602).
      requestState: { verify: requestStateVerifier(service.governance.plans, callerKey(options.caller)) },
      instructions:
        'Administer the people of a Basecamp account (Basecamp 3/4/5 or Basecamp 2): team members and clients. get_account says ' +
        'which product it is and what its API cannot do. invite_person and invite_people invite to the account (and the HQ) ' +
        'or to projects (Basecamp 2 has no HQ: a project is required). On Basecamp 3/4/5 trash_person revokes every project and ' +
        'says how to finish in Adminland; on Basecamp 2 it removes the person from the account. Use dry_run before trash_person.',
    },
  );
  // A tool the caller's role may not use is not registered: absent from tools/list, and unknown if called (roles.ts).
  for (const tool of selectTools({ readOnly: options.readOnly, role: options.caller.role })) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        ...schemasOf(tool),
        annotations: { title: tool.title, ...tool.annotations },
      },
      (args: Record<string, unknown>, ctx: ServerContext) => runTool(server, service, tool, args, ctx, options),
    );
  }
  return server;
}

type ToolSchema = StandardSchemaWithJSON<Record<string, unknown>>;

/**
 * Each tool's schemas, made once per process. A server instance is built per request (every 2026-07-28 request
 * over HTTP, and 2025-era ones under --stateless), and the SDK converts the called tool's schemas to JSON Schema
 * per instance (the input's for Mcp-Param-* headers, the output's to shape the result): made afresh each time,
 * that conversion was about 40% of the server's CPU per get_person call (the bench's stateless HTTP throughput job).
 */
const toolSchemas = new WeakMap<RegisteredTool, { inputSchema: ToolSchema; outputSchema: ToolSchema }>();
function schemasOf(tool: RegisteredTool): { inputSchema: ToolSchema; outputSchema: ToolSchema } {
  let schemas = toolSchemas.get(tool);
  if (!schemas) toolSchemas.set(tool, (schemas = { inputSchema: portable(z.object(tool.inputSchema)), outputSchema: portable(z.object(tool.outputSchema)) }));
  return schemas;
}

/**
 * A zod schema whose listed JSON Schema is portable (see portable-schema.ts): the same validation, and
 * tools/list shows every input and output schema rewritten once, for every tool, whatever zod writes.
 * Each JSON Schema is written once per target and then shared (frozen: no instance may change another's).
 */
function portable(schema: z.ZodObject): ToolSchema {
  const std = schema['~standard'];
  const written = new Map<string, Record<string, unknown>>();
  const json = (io: 'input' | 'output', options: { target: string; libraryOptions?: Record<string, unknown> }) => {
    if (options.libraryOptions) return portableSchema(std.jsonSchema[io](options));
    const key = `${io} ${options.target}`;
    let schema = written.get(key);
    if (!schema) written.set(key, (schema = deepFreeze(portableSchema(std.jsonSchema[io](options)))));
    return schema;
  };
  return {
    '~standard': {
      version: std.version,
      vendor: std.vendor,
      validate: (value: unknown) => std.validate(value),
      jsonSchema: { input: (options) => json('input', options), output: (options) => json('output', options) },
    },
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

async function runTool(server: McpServer, service: Service, tool: RegisteredTool, args: Record<string, unknown>, ctx: ServerContext, options: McpServerOptions) {
  // Log lines of this call also reach this client (and only this one) as MCP log messages, at the level it asked for.
  const toClient: LogSink = (level, data) => void ctx.mcpReq.log(level === 'warn' ? 'warning' : level, data, 'basecamp-people-mcp').catch(() => undefined);
  return withLogSink(toClient, async () => {
    // Each way of asking the person to sign in is used once per call: a second not_signed_in is answered as it is.
    const asked = new Set<SignInAsk>();
    for (;;) {
      const toolCtx = makeContext(server, service, tool, args, ctx, options);
      try {
        refuseForRole(options.caller, tool, args);
        refuseMaskedAddresses(args);
        tool.validate?.(args as never);
        if (service.signIn) {
          // 2026 era: the retry that carries the account the person chose finishes the sign-in first (an admin's only).
          if (options.caller.role === 'admin') await takeAccountAnswer(service, ctx);
          // Not signed in: found here, before the tool sends anything.
          await service.http.credentials.accessToken(ctx.mcpReq.signal);
        }
        const output = await tool.handler(args as never, toolCtx);
        return successResult(output);
      } catch (error) {
        if (error instanceof AskInAnotherRound) return error.result; // 2026 era: the human is asked (consent-2026.ts)
        let failure = error;
        // The server's sign-in is every caller's identity: only an admin is given its URL, asked, or chooses the account.
        if (error instanceof NotSignedInError && options.caller.role !== 'admin') failure = notSignedInForRole(options.caller);
        else if (error instanceof NotSignedInError && error.flow && !ctx.mcpReq.signal.aborted) {
          try {
            const next = await askToSignIn(server, error, ctx, options, asked);
            if (next === 'again') continue;
            if (next) return next;
          } catch (asking) {
            failure = asking; // an account that was not offered, a sign-in that cannot start
          }
        }
        return errorResult(tool.name, afterPlanToken(failure, toolCtx.governance.call));
      }
    }
  });
}

type SignInAsk = 'url' | 'account';

/**
 * not_signed_in for a caller that is not an admin (a reader or operator key): no URL, no accounts, no flow. Whoever
 * completes the sign-in (or chooses the account) decides who the server is for every caller, so that is an admin's.
 */
function notSignedInForRole(caller: Caller): NotSignedInError {
  return new NotSignedInError(
    `This server is not signed in to Basecamp (or its sign-in waits for an account to be chosen), and signing it in is for an admin: the caller "${caller.name}" ` +
      `has the role ${caller.role}. Nothing was sent to Basecamp. Ask an admin to call one of its tools and sign in, then call again.`,
  );
}

/** The key of the embedded requests of an in-client sign-in (2026 era, input_required). */
const SIGN_IN_KEY = 'basecamp_sign_in';
const ACCOUNT_KEY = 'basecamp_account';

const accountAnswer = z.object({ account: z.string().regex(/^\d+$/) });

/** A 2026-era retry answering the account question: the choice is written (an id not offered is invalid input). */
async function takeAccountAnswer(service: Service, ctx: ServerContext): Promise<void> {
  const signIn = service.signIn;
  if (!signIn || signIn.state().state !== 'choose') return;
  const chosen = acceptedContent(ctx.mcpReq.inputResponses, ACCOUNT_KEY, accountAnswer);
  if (chosen) await signIn.choose(Number(chosen.account));
}

const signInMessage = (minutes: number) =>
  `Sign in to Basecamp: open this address and approve access for basecamp-people-mcp (within ${minutes} min). The call goes on once you are back.`;

/** The form that asks which account to use (a single choice, titled with each account's name and product). */
function accountForm(accounts: AccountChoice[]) {
  return {
    type: 'object' as const,
    properties: {
      account: {
        type: 'string' as const,
        title: 'Basecamp account',
        oneOf: accounts.map((a) => ({ const: String(a.id), title: `${a.name} (${PRODUCT_NAMES[a.product] ?? a.product}, ${a.id})` })),
      },
    },
    required: ['account'],
  };
}

const accountMessage = (error: NotSignedInError) =>
  `You are signed in to Basecamp, and this sign-in reaches ${error.accounts!.length} accounts. Which one should basecamp-people-mcp use?`;

/**
 * A call hit "not signed in" and the client can ask the person: the sign-in URL (URL elicitation), then, when the
 * sign-in reaches several accounts, which one (a form). 2025 era: asked now, over the session; the call waits for the
 * browser (until the sign-in's time limit) and goes on ('again'). 2026 era: an input_required result; the client's
 * retry finds the sign-in done (or answers the account question). Undefined: the client cannot ask, or the person
 * did not go on: the call answers not_signed_in as it is.
 */
async function askToSignIn(
  server: McpServer,
  error: NotSignedInError,
  ctx: ServerContext,
  options: ServerOptions,
  asked: Set<SignInAsk>,
): Promise<'again' | InputRequiredResult | undefined> {
  const flow = error.flow!;
  const elicitation = clientCapabilities(server, ctx, options.era)?.elicitation;
  const canUrl = Boolean(elicitation?.url);
  // An empty `elicitation: {}` is form mode (the older spec).
  const canForm = Boolean(elicitation && (elicitation.form || !elicitation.url));
  const pending = flow.state();
  const minutes = pending.state === 'pending' ? Math.max(1, Math.round((pending.expiresAt - Date.now()) / 60_000)) : 5;

  if (options.era === 'modern') {
    if (error.signInUrl && canUrl) {
      const answered = inputResponse(ctx.mcpReq.inputResponses, SIGN_IN_KEY);
      if (answered.kind === 'elicit') {
        // The retry after the person was sent to the browser: a short wait for the callback, then ask no more.
        if (answered.action !== 'accept' || asked.has('url')) return undefined;
        asked.add('url');
        const state = await flow.wait(AbortSignal.any([ctx.mcpReq.signal, AbortSignal.timeout(options.signInRetryWaitMs ?? 30_000)]));
        return state.state === 'pending' ? undefined : 'again';
      }
      return inputRequired({ inputRequests: { [SIGN_IN_KEY]: inputRequired.elicitUrl({ message: signInMessage(minutes), url: error.signInUrl }) } });
    }
    // Asked once: a retry that answers the question otherwise (declined, cancelled, not an offered id) is not asked again.
    if (error.accounts && canForm && inputResponse(ctx.mcpReq.inputResponses, ACCOUNT_KEY).kind === 'missing') {
      return inputRequired({ inputRequests: { [ACCOUNT_KEY]: inputRequired.elicit({ message: accountMessage(error), requestedSchema: accountForm(error.accounts) }) } });
    }
    return undefined;
  }

  // 2025 era: server→client requests over the session.
  if (error.signInUrl && canUrl && !asked.has('url')) {
    asked.add('url');
    const remaining = pending.state === 'pending' ? Math.max(1_000, pending.expiresAt - Date.now()) : 5 * 60_000;
    const untilExpiry = AbortSignal.any([ctx.mcpReq.signal, AbortSignal.timeout(remaining)]);
    const elicitationId = randomUUID();
    const complete = server.server.createElicitationCompletionNotifier(elicitationId, { relatedRequestId: ctx.mcpReq.id });
    // The browser came back (or the sign-in ended): tell the client, which may hold its answer until then.
    void flow.wait(untilExpiry).then((state) => (state.state === 'pending' ? undefined : complete().catch(() => undefined)));
    let answer;
    try {
      answer = await ctx.mcpReq.send(
        { method: 'elicitation/create', params: { mode: 'url', message: signInMessage(minutes), url: error.signInUrl, elicitationId } },
        { timeout: remaining, signal: ctx.mcpReq.signal },
      );
    } catch {
      return undefined; // the client could not ask: the URL is in the answer
    }
    if (answer.action !== 'accept') return undefined;
    const state = await flow.wait(untilExpiry);
    return state.state === 'pending' ? undefined : 'again';
  }
  if (error.accounts && canForm && !asked.has('account')) {
    asked.add('account');
    let answer;
    try {
      answer = await ctx.mcpReq.send(
        { method: 'elicitation/create', params: { mode: 'form', message: accountMessage(error), requestedSchema: accountForm(error.accounts) } },
        { timeout: options.confirmTimeoutMs ?? 10 * 60_000, signal: ctx.mcpReq.signal },
      );
    } catch {
      return undefined;
    }
    const chosen = answer.action === 'accept' ? accountAnswer.safeParse(answer.content) : undefined;
    if (!chosen?.success) return undefined;
    await flow.choose(Number(chosen.data.account));
    return 'again';
  }
  return undefined;
}

/**
 * What the calling client declared it can do: from this request's envelope (2026 era) or from initialize (2025 era).
 * A 2025-era request's `_meta` is not read: under --stateless a request sent to it could never be answered (the
 * answer would reach another per-request server), so the call would hang until its timeout instead of falling back.
 */
function clientCapabilities(server: McpServer, ctx: ServerContext, era: ProtocolEra | undefined): { elicitation?: { form?: object; url?: object } } | undefined {
  if (era !== 'modern') return server.server.getClientCapabilities();
  const fromEnvelope = (ctx.mcpReq.envelope as Record<string, unknown> | undefined)?.[CLIENT_CAPABILITIES_META_KEY];
  return (fromEnvelope as ReturnType<typeof clientCapabilities>) ?? server.server.getClientCapabilities();
}

function makeContext(server: McpServer, service: Service, tool: RegisteredTool, args: Record<string, unknown>, ctx: ServerContext, options: McpServerOptions): ToolContext {
  const progressToken = ctx.mcpReq._meta?.progressToken;
  let last = -1;
  const { governance } = service;
  // A plan token is recorded by its id only (set once it is verified), never as an argument.
  const { plan_token: _planToken, ...recorded } = args;
  const call: CallRecord = {
    caller: options.caller.name,
    tool: tool.name,
    arguments: recorded,
    identity: (signal) => governance.identity(signal).catch(() => null),
    sawIdentity: (person, signal) => governance.rememberIdentity(person, signal).catch(() => undefined),
    account: (signal) => service.accountId(signal).catch(() => null),
  };
  return {
    api: auditedApi(service.api, governance.audit, call),
    governance: { plans: governance.plans, mode: governance.confirm, trail: governance.audit, call, caller: options.caller },
    directory: service.directory,
    ...(service.snapshots ? { snapshots: service.snapshots } : {}),
    account: { id: (signal) => service.accountId(signal), name: async (signal) => (await service.account(signal)).name },
    signal: ctx.mcpReq.signal,
    async progress(progress, total, message) {
      if (progressToken === undefined || progress <= last) return;
      last = progress;
      await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total, message } }).catch(() => undefined);
    },
    asksInAnotherRound: () => options.era === 'modern' && asksInAnotherRound(ctx, clientCapabilities(server, ctx, options.era)),
    async confirm(message, plan): Promise<ConfirmAnswer> {
      // The 2026 era has no server→client requests: the call answers input_required and the answer comes with the next one.
      if (options.era === 'modern') {
        const lifetimeMs = options.confirmTimeoutMs ?? 10 * 60_000;
        return confirm2026(ctx, { plans: governance.plans, capabilities: clientCapabilities(server, ctx, options.era), tool: tool.name, caller: callerKey(options.caller), message, plan, lifetimeMs });
      }
      if (!clientCapabilities(server, ctx, options.era)?.elicitation) return 'unsupported';
      // Sent as a raw request: clients that declared `elicitation: {}` (form mode, older spec) are served too.
      const asked = ctx.mcpReq.send(
        { method: 'elicitation/create', params: { mode: 'form', message, requestedSchema: confirmForm(message) } },
        { timeout: options.confirmTimeoutMs ?? 10 * 60_000, signal: ctx.mcpReq.signal },
      );
      // A client that fails or times out answering is not a bug here: say so, and that nothing changed.
      const result = await asked.catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        throw new ConfirmationFailedError(`Could not ask for confirmation: ${reason}; nothing was changed. Retry, or use dry_run to review the plan.`, { cause: error });
      });
      if (result.action !== 'accept') return result.action;
      return z.object({ confirm: z.literal(true) }).safeParse(result.content).success ? 'accept' : 'decline';
    },
  };
}
