import { CLIENT_CAPABILITIES_META_KEY, McpServer, type ServerContext, type StandardSchemaWithJSON } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { ConfirmationFailedError } from './errors.js';
import { VERSION } from './config.js';
import { withLogSink, type LogSink } from './log.js';
import { auditedApi, type CallRecord } from './governance/audited-api.js';
import type { Service } from './service.js';
import type { ConfirmAnswer, RegisteredTool, ToolContext } from './tools/lib/define.js';
import { afterPlanToken } from './tools/lib/consent.js';
import { selectTools } from './tools/index.js';
import { refuseForRole } from './tools/roles.js';
import type { Caller } from './caller.js';
import { refuseMaskedAddresses } from './tools/lib/params.js';
import { errorResult, successResult } from './results.js';
import { portableSchema } from './portable-schema.js';

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
        inputSchema: portable(z.object(tool.inputSchema)),
        outputSchema: portable(z.object(tool.outputSchema)),
        annotations: { title: tool.title, ...tool.annotations },
      },
      (args: Record<string, unknown>, ctx: ServerContext) => runTool(server, service, tool, args, ctx, options),
    );
  }
  return server;
}

/**
 * A zod schema whose listed JSON Schema is portable (see portable-schema.ts): the same validation, and
 * tools/list shows every input and output schema rewritten once, for every tool, whatever zod writes.
 */
function portable(schema: z.ZodObject): StandardSchemaWithJSON<Record<string, unknown>> {
  const std = schema['~standard'];
  return {
    '~standard': {
      version: std.version,
      vendor: std.vendor,
      validate: (value: unknown) => std.validate(value),
      jsonSchema: {
        input: (options) => portableSchema(std.jsonSchema.input(options)),
        output: (options) => portableSchema(std.jsonSchema.output(options)),
      },
    },
  };
}

async function runTool(server: McpServer, service: Service, tool: RegisteredTool, args: Record<string, unknown>, ctx: ServerContext, options: McpServerOptions) {
  // Log lines of this call also reach this client (and only this one) as MCP log messages, at the level it asked for.
  const toClient: LogSink = (level, data) => void ctx.mcpReq.log(level === 'warn' ? 'warning' : level, data, 'basecamp-people-mcp').catch(() => undefined);
  return withLogSink(toClient, async () => {
    const toolCtx = makeContext(server, service, tool, args, ctx, options);
    try {
      refuseForRole(options.caller, tool, args);
      refuseMaskedAddresses(args);
      tool.validate?.(args as never);
      const output = await tool.handler(args as never, toolCtx);
      return successResult(output);
    } catch (error) {
      return errorResult(tool.name, afterPlanToken(error, toolCtx.governance.call));
    }
  });
}

/** What the calling client declared it can do: from initialize (2025 era) or from this request's envelope (2026 era). */
function clientCapabilities(server: McpServer, ctx: ServerContext): { elicitation?: { form?: object; url?: object } } | undefined {
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
    async confirm(message): Promise<ConfirmAnswer> {
      // The 2026 era has no server→client requests: until it asks through input_required, the plan token applies there.
      if (options.era === 'modern') return 'unsupported';
      if (!clientCapabilities(server, ctx)?.elicitation) return 'unsupported';
      // Sent as a raw request: clients that declared `elicitation: {}` (form mode, older spec) are served too.
      const asked = ctx.mcpReq.send(
        {
          method: 'elicitation/create',
          params: {
            mode: 'form',
            message,
            requestedSchema: {
              type: 'object',
              properties: { confirm: { type: 'boolean', title: 'Yes, do it', description: message.split('\n')[0] } },
              required: ['confirm'],
            },
          },
        },
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
