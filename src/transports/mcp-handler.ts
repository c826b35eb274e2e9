import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { jsonError } from './http-front-door.js';
import type { SessionPool } from './session-pool.js';
import { createMcpServer, type ServerOptions } from '../server.js';
import type { Service } from '../service.js';

/** One MCP session over HTTP: its server and the transport that carries it. */
export interface McpSession {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

/** Ends a session: its transport, then its server (errors while closing are of no interest). */
export async function closeSession(session: McpSession): Promise<void> {
  await session.transport.close().catch(() => undefined);
  await session.server.close().catch(() => undefined);
}

/**
 * Requests to /mcp that passed the front door, body read: with sessions (a McpServer per session, kept in
 * the pool), or stateless (a fresh McpServer and transport per request, POST only).
 */
export class McpHandler {
  constructor(
    private readonly service: Service,
    private readonly options: ServerOptions & { stateless?: boolean },
    private readonly pool: SessionPool<McpSession>,
  ) {}

  async handle(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (this.options.stateless) return this.stateless(req, res, body);
    const sessionId = req.headers['mcp-session-id'];
    if (typeof sessionId === 'string') {
      const session = this.pool.get(sessionId);
      if (!session) return jsonError(req, res, 404, 'Session not found (expired or ended): start a new one with initialize.', {}, -32001);
      res.once('close', this.pool.begin(sessionId, req.method !== 'GET'));
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(req, res, 400, 'Bad request: no Mcp-Session-Id header (send initialize first).');
    }
    const full = this.pool.makeRoom();
    if (full) {
      return jsonError(req, res, 503, `Too many sessions (${this.pool.maxSessions}), all in use; one becomes free in ${full.retryAfterSeconds} s.`, {
        'retry-after': String(full.retryAfterSeconds),
      });
    }
    await this.initialize(req, res, body);
  }

  private async stateless(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    if (req.method !== 'POST') return jsonError(req, res, 405, 'Method not allowed: this server is stateless (POST only).', { allow: 'POST' });
    const server = createMcpServer(this.service, this.options);
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** A new session: it joins the pool once the SDK has given it an id, and leaves when it ends. */
  private async initialize(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    const server = createMcpServer(this.service, this.options);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => this.pool.add(id, { transport, server }),
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
