import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createMcpHandler, isInitializeRequest, isLegacyRequest, type AuthInfo, type McpHttpHandler, type McpServer } from '@modelcontextprotocol/server';
import { NodeStreamableHTTPServerTransport, toNodeHandler, toWebRequest, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import { jsonError } from './http-front-door.js';
import type { SessionPool } from './session-pool.js';
import { createMcpServer, type ServerOptions } from '../server.js';
import type { Service } from '../service.js';
import type { ServiceSource } from '../service-source.js';
import { log } from '../log.js';
import { callerAuthInfo, callerKey, callerOf, sameCaller, type Caller } from '../caller.js';

/** One MCP session over HTTP (2025-era clients): its server, the transport that carries it, and the caller that opened it. */
export interface McpSession {
  transport: NodeStreamableHTTPServerTransport;
  server: McpServer;
  /** Only this caller (the key that sent initialize) may use the session. */
  caller: Caller;
}

/** Ends a session: its transport, then its server (errors while closing are of no interest). */
export async function closeSession(session: McpSession): Promise<void> {
  await session.transport.close().catch(() => undefined);
  await session.server.close().catch(() => undefined);
}

/**
 * Requests to /mcp that passed the front door, body read. Two protocol eras share the endpoint:
 * - MCP 2026-07-28 requests (each carries its own `_meta` envelope) are served statelessly: a fresh server per
 *   request, by the SDK's `createMcpHandler`; a human is asked through `input_required` results, not a session.
 * - 2025-era clients (initialize, then `Mcp-Session-Id`) keep sessions, so the server can ask them (elicitation)
 *   and stream progress: a McpServer per session, kept in the pool. With `stateless`, they too are served with a
 *   fresh server per request (POST only), as a fleet behind a load balancer without sticky sessions needs.
 * Every server is built for one caller (src/caller.ts): the 2026 era's through the SDK's `authInfo` (set from the
 * caller here as `req.auth`), a session's from the key that opened it. A request on a session presenting another
 * key is answered 404 exactly as for an unknown session (so a key learns nothing of others' sessions; an SDK
 * client answered 404 starts a new session with its own key). Each server gets the service that acts for its caller
 * from the ServiceSource (the one service, or under MCP_AUTH=oauth the signed-in person's own).
 */
export class McpHandler {
  private readonly modern: McpHttpHandler;
  private readonly serveModern: NodeMcpRequestHandler;

  constructor(
    private readonly services: ServiceSource,
    private readonly options: ServerOptions & { stateless?: boolean; maxBodyBytes?: number },
    private readonly pool: SessionPool<McpSession>,
  ) {
    const onerror = (error: Error) => log.debug(`HTTP /mcp: ${error.message}`);
    this.modern = createMcpHandler(
      async ({ era, authInfo }) => {
        const caller = callerOf(authInfo);
        return createMcpServer(await this.services.for(caller), { ...this.options, era, caller });
      },
      {
      // Sessions for 2025-era clients are ours (below); under --stateless the SDK serves them per request.
        legacy: options.stateless ? 'stateless' : 'reject',
        onerror,
        ...(options.maxBodyBytes ? { maxRequestBodySize: options.maxBodyBytes } : {}),
      },
    );
    this.serveModern = toNodeHandler(this.modern, { onerror });
  }

  async handle(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller): Promise<void> {
    // The SDK hands req.auth to the server factory as authInfo (2026 era, and 2025 under --stateless).
    (req as IncomingMessage & { auth?: AuthInfo }).auth = callerAuthInfo(caller);
    if (this.options.stateless) {
      if (req.method !== 'POST') return jsonError(req, res, 405, 'Method not allowed: this server is stateless (POST only).', { allow: 'POST' });
      return this.serveModern(req, res, body);
    }
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.pool.get(sessionId);
      if (session && !sameCaller(session.caller, caller)) log.info(`HTTP /mcp: a session opened by "${session.caller.name}" was presented by "${caller.name}": answered as not found.`);
      if (!session || !sameCaller(session.caller, caller)) return jsonError(req, res, 404, 'Session not found (expired or ended): start a new one with initialize.', {}, -32001);
      res.once('close', this.pool.begin(sessionId, req.method !== 'GET'));
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method === 'POST' && !(await isLegacyRequest(await toWebRequest(req, body), body))) return this.serveModern(req, res, body);
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(req, res, 400, 'Bad request: no Mcp-Session-Id header (send initialize first, or speak MCP 2026-07-28).');
    }
    // The caller's service first (under MCP_AUTH=oauth it may be built now): nothing awaited after the cap check.
    const service = await this.services.for(caller);
    const full = this.pool.makeRoom(callerKey(caller));
    if (full) {
      const message =
        full.limit === 'owner'
          ? `Too many sessions for this caller (at most ${this.pool.maxPerOwner} per caller, MCP_MAX_SESSIONS_PER_CALLER), all in use; one of yours becomes free in ${full.retryAfterSeconds} s.`
          : `Too many sessions (${this.pool.maxSessions}), all in use; one becomes free in ${full.retryAfterSeconds} s.`;
      return jsonError(req, res, 503, message, {
        'retry-after': String(full.retryAfterSeconds),
      });
    }
    await this.initialize(req, res, body, caller, service);
  }

  /** Ends the 2026-era exchanges in flight (draining). */
  async close(): Promise<void> {
    await this.modern.close().catch(() => undefined);
  }

  /** A new session: it joins the pool once the SDK has given it an id, and leaves when it ends. */
  private async initialize(req: IncomingMessage, res: ServerResponse, body: unknown, caller: Caller, service: Service): Promise<void> {
    const server = createMcpServer(service, { ...this.options, era: 'legacy', caller });
    const transport: NodeStreamableHTTPServerTransport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => this.pool.add(id, { transport, server, caller }, callerKey(caller)),
      onsessionclosed: (id) => this.pool.forget(id),
    });
    transport.onclose = () => {
      if (transport.sessionId) this.pool.forget(transport.sessionId);
    };
    // No I/O between the cap check (makeRoom) and onsessioninitialized: concurrent initializes cannot overshoot.
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }
}
