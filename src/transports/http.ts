import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { isLoopbackHost, secretsEqual } from '../security.js';
import { createMcpServer, type ServerOptions } from '../server.js';
import type { Service } from '../service.js';

export interface HttpServeOptions extends ServerOptions {
  host?: string;
  port?: number;
  /** MCP_HTTP_TOKEN: clients must send `Authorization: Bearer <token>`. Required off loopback. */
  token?: string;
  /** MCP_ALLOWED_ORIGINS: extra origins allowed besides the server's own. */
  allowedOrigins?: string[];
  /** MCP_ALLOWED_HOSTS: Host header values accepted besides the bound address (e.g. behind a proxy). */
  allowedHosts?: string[];
  stateless?: boolean;
  maxBodyBytes?: number;
  maxSessions?: number;
  sessionIdleMs?: number;
}

export interface HttpServer {
  url: string;
  server: Server;
  sessions(): number;
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), then closes every session. */
  drain(graceMs?: number): Promise<void>;
}

/** Constant-time comparison of a presented bearer token with ours (hashing first equalises lengths). */
function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  return secretsEqual(m?.[1]?.trim() ?? '', token);
}

function jsonError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, code = -32000): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.pause();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

/**
 * Streamable HTTP at /mcp, secure by default: loopback unless told otherwise, bearer token (required off
 * loopback), Origin and Host validated on every request (the SDK checks neither by default), body size and
 * session limits, idle sessions expired. The client's token is never forwarded: tools use the server's own
 * Basecamp credentials.
 */
export async function serveHttp(service: Service, options: HttpServeOptions = {}): Promise<HttpServer> {
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  if (!loopback && !options.token) {
    throw new Error(`Refusing to serve on ${host} without MCP_HTTP_TOKEN: anyone who can reach it could administer your Basecamp people. Set MCP_HTTP_TOKEN, or bind to 127.0.0.1.`);
  }
  if (!options.token) log.warn('HTTP transport on loopback WITHOUT authentication (set MCP_HTTP_TOKEN to require a bearer token).');
  const maxBody = options.maxBodyBytes ?? 1_000_000;
  const maxSessions = options.maxSessions ?? 100;
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  const sessions = new Map<string, Session>();
  let inFlight = 0;
  let draining = false;
  let idleWaiters: (() => void)[] = [];

  let port = 0;
  const allowedHosts = (): Set<string> => {
    const hosts = new Set((options.allowedHosts ?? []).map((h) => h.toLowerCase()));
    const names = loopback ? ['127.0.0.1', 'localhost', '[::1]'] : [host.includes(':') ? `[${host}]` : host];
    for (const n of names) hosts.add(`${n}:${port}`);
    return hosts;
  };
  const allowedOrigins = (): Set<string> => {
    const origins = new Set((options.allowedOrigins ?? []).map((o) => o.replace(/\/+$/, '').toLowerCase()));
    for (const h of allowedHosts()) {
      origins.add(`http://${h}`);
      origins.add(`https://${h}`);
    }
    return origins;
  };

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const sessionId = req.headers['mcp-session-id'];
    let body: unknown;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, maxBody);
      } catch (error) {
        if (error instanceof BodyTooLarge) {
          jsonError(res, 413, `Request body larger than ${maxBody} bytes.`, { connection: 'close' });
          req.socket.destroy();
          return;
        }
        throw error;
      }
      try {
        body = JSON.parse(text);
      } catch {
        return jsonError(res, 400, 'Parse error: the body is not JSON.', {}, -32700);
      }
    }

    if (options.stateless) {
      if (method !== 'POST') return jsonError(res, 405, 'Method not allowed: this server is stateless (POST only).', { allow: 'POST' });
      const server = createMcpServer(service, options);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void server.close();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
      return;
    }

    if (typeof sessionId === 'string') {
      const session = sessions.get(sessionId);
      if (!session) return jsonError(res, 404, 'Session not found (expired or ended): start a new one with initialize.', {}, -32001);
      session.lastSeen = Date.now();
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(res, 400, 'Bad request: no Mcp-Session-Id header (send initialize first).');
    }
    if (sessions.size >= maxSessions) {
      expireIdle(0.5 * idleMs);
      if (sessions.size >= maxSessions) return jsonError(res, 503, `Too many sessions (${maxSessions}); try again later.`, { 'retry-after': '30' });
    }
    const server = createMcpServer(service, options);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, lastSeen: Date.now() });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  function expireIdle(olderThanMs: number): void {
    const cutoff = Date.now() - olderThanMs;
    for (const [id, s] of sessions) {
      if (s.lastSeen < cutoff) {
        sessions.delete(id);
        void s.transport.close();
        void s.server.close();
      }
    }
  }

  const httpServer = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname === '/healthz' && req.method === 'GET') {
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', sessions: sessions.size }));
      return;
    }
    if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
    // DNS rebinding: a browser page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!allowedHosts().has(hostHeader) && (loopback || options.allowedHosts?.length)) {
      return jsonError(res, 403, `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed.`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins().has(origin.replace(/\/+$/, '').toLowerCase())) {
      return jsonError(res, 403, `Forbidden: Origin ${JSON.stringify(origin)} is not allowed (set MCP_ALLOWED_ORIGINS to allow it).`);
    }
    if (options.token && !tokenMatches(req.headers.authorization, options.token)) {
      const error = req.headers.authorization ? ', error="invalid_token"' : '';
      return jsonError(res, 401, 'Unauthorized: send Authorization: Bearer <MCP_HTTP_TOKEN>.', {
        'www-authenticate': `Bearer realm="basecamp-people-mcp"${error}`,
      });
    }
    if (draining) return jsonError(res, 503, 'Shutting down; retry against another instance.', { connection: 'close' });
    inFlight++;
    let counted = true;
    const done = () => {
      if (!counted) return;
      counted = false;
      inFlight--;
      if (inFlight === 0) {
        const waiters = idleWaiters;
        idleWaiters = [];
        waiters.forEach((w) => w());
      }
    };
    // A GET opens a long-lived SSE stream; it must not hold up draining.
    if (req.method === 'GET') done();
    res.on('close', done);
    handleMcp(req, res).catch((error: unknown) => {
      log.error(`HTTP /mcp: ${error instanceof Error ? error.message : String(error)}`);
      jsonError(res, 500, 'Internal error.');
    });
  });
  httpServer.requestTimeout = 0; // SSE streams and long tool calls; idle sessions are expired separately
  httpServer.headersTimeout = 30_000;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 8787, host, () => resolve());
  });
  port = (httpServer.address() as AddressInfo).port;
  const sweeper = setInterval(() => expireIdle(idleMs), Math.min(60_000, Math.max(1_000, idleMs / 4)));
  sweeper.unref();
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/mcp`,
    server: httpServer,
    sessions: () => sessions.size,
    async drain(graceMs = 30_000) {
      draining = true;
      clearInterval(sweeper);
      httpServer.close();
      if (inFlight > 0) {
        await Promise.race([
          new Promise<void>((r) => idleWaiters.push(r)),
          new Promise<void>((r) => setTimeout(r, graceMs).unref()),
        ]);
      }
      for (const s of sessions.values()) {
        await s.transport.close().catch(() => undefined);
        await s.server.close().catch(() => undefined);
      }
      sessions.clear();
      httpServer.closeAllConnections();
    },
  };
}
