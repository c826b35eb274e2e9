import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { ElicitResultSchema, ListToolsRequestSchema, type ListToolsResult, type ServerNotification, type ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { ConfirmationFailedError } from './errors.js';
import { VERSION } from './config.js';
import { withLogSink, type LogSink } from './log.js';
import { auditedApi, type CallRecord } from './governance/audited-api.js';
import type { Service } from './service.js';
import type { ConfirmAnswer, RegisteredTool, ToolContext } from './tools/lib/define.js';
import { afterPlanToken } from './tools/lib/consent.js';
import { selectTools } from './tools/index.js';
import { refuseMaskedAddresses } from './tools/lib/params.js';
import { errorResult, successResult } from './results.js';
import { portableSchema } from './portable-schema.js';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ServerOptions {
  readOnly?: boolean;
  /** How long a human has to answer a confirmation (elicitation). */
  confirmTimeoutMs?: number;
}

/** One MCP server over the shared service; every transport builds its servers here. */
export function createMcpServer(service: Service, options: ServerOptions = {}): McpServer {
  const server = new McpServer(
    { name: 'basecamp-people-mcp', title: 'Basecamp People', version: VERSION },
    {
      capabilities: { logging: {} },
      instructions:
        'Administer the people of a Basecamp account (Basecamp 3/4/5 or Basecamp 2): team members and clients. get_account says ' +
        'which product it is and what its API cannot do. invite_person and invite_people invite to the account (and the HQ) ' +
        'or to projects (Basecamp 2 has no HQ: a project is required). On Basecamp 3/4/5 trash_person revokes every project and ' +
        'says how to finish in Adminland; on Basecamp 2 it removes the person from the account. Use dry_run before trash_person.',
    },
  );
  for (const tool of selectTools({ readOnly: options.readOnly })) {
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description: tool.description,
        inputSchema: tool.inputSchema,
        outputSchema: tool.outputSchema,
        annotations: { title: tool.title, ...tool.annotations },
      },
      (args: Record<string, unknown>, extra: Extra) => runTool(server, service, tool, args, extra, options),
    );
  }
  listPortableSchemas(server);
  return server;
}

type RequestHandler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * tools/list answers the SDK's listing with every input and output schema made portable (see
 * portable-schema.ts): one place for every tool, whatever zod writes. The SDK keeps its handlers in a private
 * map; if that ever changes, starting fails here (and the schema test) rather than serving unportable schemas.
 */
function listPortableSchemas(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers?: Map<string, RequestHandler> })._requestHandlers;
  const sdkList = handlers?.get('tools/list');
  if (!sdkList) throw new Error('The MCP SDK no longer exposes its tools/list handler: update listPortableSchemas (src/server.ts).');
  server.server.setRequestHandler(ListToolsRequestSchema, async (request, extra) => {
    const listed = (await sdkList(request, extra)) as ListToolsResult;
    return {
      ...listed,
      tools: listed.tools.map((t) => ({
        ...t,
        inputSchema: portableSchema(t.inputSchema),
        ...(t.outputSchema ? { outputSchema: portableSchema(t.outputSchema) } : {}),
      })),
    };
  });
}

async function runTool(
  server: McpServer,
  service: Service,
  tool: RegisteredTool,
  args: Record<string, unknown>,
  extra: Extra,
  options: ServerOptions,
) {
  // Log lines of this call also reach this client (and only this one) as MCP log messages.
  const toClient: LogSink = (level, data) =>
    void server.sendLoggingMessage({ level: level === 'warn' ? 'warning' : level, logger: 'basecamp-people-mcp', data }, extra.sessionId).catch(() => undefined);
  return withLogSink(toClient, async () => {
    const ctx = makeContext(server, service, tool, args, extra, options);
    try {
      refuseMaskedAddresses(args);
      tool.validate?.(args as never);
      const output = await tool.handler(args as never, ctx);
      return successResult(output);
    } catch (error) {
      return errorResult(tool.name, afterPlanToken(error, ctx.governance.call));
    }
  });
}

function makeContext(server: McpServer, service: Service, tool: RegisteredTool, args: Record<string, unknown>, extra: Extra, options: ServerOptions): ToolContext {
  const progressToken = extra._meta?.progressToken;
  let last = -1;
  const { governance } = service;
  // A plan token is recorded by its id only (set once it is verified), never as an argument.
  const { plan_token: _planToken, ...recorded } = args;
  const call: CallRecord = {
    tool: tool.name,
    arguments: recorded,
    identity: (signal) => governance.identity(signal).catch(() => null),
    sawIdentity: (person, signal) => governance.rememberIdentity(person, signal).catch(() => undefined),
    account: (signal) => service.accountId(signal).catch(() => null),
  };
  return {
    api: auditedApi(service.api, governance.audit, call),
    governance: { plans: governance.plans, mode: governance.confirm, trail: governance.audit, call },
    directory: service.directory,
    ...(service.snapshots ? { snapshots: service.snapshots } : {}),
    account: { id: (signal) => service.accountId(signal), name: async (signal) => (await service.account(signal)).name },
    signal: extra.signal,
    async progress(progress, total, message) {
      if (progressToken === undefined || progress <= last) return;
      last = progress;
      await extra
        .sendNotification({ method: 'notifications/progress', params: { progressToken, progress, total, message } })
        .catch(() => undefined);
    },
    async confirm(message): Promise<ConfirmAnswer> {
      const caps = server.server.getClientCapabilities();
      if (!caps?.elicitation) return 'unsupported';
      // Sent as a raw request: clients that declared `elicitation: {}` (form mode, older spec) are served too.
      const asked = server.server.request(
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
        ElicitResultSchema,
        { relatedRequestId: extra.requestId, timeout: options.confirmTimeoutMs ?? 10 * 60_000, signal: extra.signal },
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
