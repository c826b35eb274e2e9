import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { log } from '../log.js';
import { corsPreflightHeaders, corsResponseHeaders, hostAllowed, originAllowed, requestPath, type HostRules } from './http-guards.js';
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
  /** When the session cap is reached, a session idle this long (and with no request in flight) is evicted. Default 60 s. */
  sessionEvictGraceMs?: number;
  /** Time allowed to receive a request's headers. Default 20 s. */
  headersTimeoutMs?: number;
  /** Time allowed to receive a whole request, headers and body (not the response: SSE streams are unaffected). Default 60 s. */
  requestTimeoutMs?: number;
  /** Longest pause between two chunks of a request body. Default 10 s. */
  bodyIdleMs?: number;
  /** How long an idle keep-alive connection is kept open between requests. Default 5 s. */
  keepAliveTimeoutMs?: number;
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

/**
 * Answers with a JSON-RPC error. When the request body has not been fully received, the connection is
 * closed after the answer (Node destroys the socket on `Connection: close`), so a refused client cannot hold
 * it open by trickling its body.
 */
function jsonError(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, code = -32000): void {
  if (res.headersSent) return;
  const close = req.complete ? {} : { connection: 'close' };
  res.writeHead(status, { 'content-type': 'application/json', ...close, ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

class BodyTooLarge extends Error {}
class BodyTooSlow extends Error {}

/** Reads the body up to `limit` bytes, failing when the client pauses longer than `idleMs` between chunks. */
function readBody(req: IncomingMessage, limit: number, idleMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    let idle: NodeJS.Timeout | undefined;
    const fail = (error: Error) => {
      clearTimeout(idle);
      req.pause();
      reject(error);
    };
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(() => fail(new BodyTooSlow()), idleMs);
    };
    armIdle();
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) return fail(new BodyTooLarge());
      chunks.push(c);
      armIdle();
    });
    req.on('end', () => {
      clearTimeout(idle);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', fail);
    req.on('close', () => clearTimeout(idle));
  });
}

const LIMIT_OPTIONS = ['maxBodyBytes', 'maxSessions', 'sessionIdleMs', 'sessionEvictGraceMs', 'headersTimeoutMs', 'requestTimeoutMs', 'bodyIdleMs', 'keepAliveTimeoutMs'] as const;

/** A zero, negative or non-numeric limit would refuse every request (or none): fail at start instead. */
function assertPositiveLimits(options: HttpServeOptions): void {
  for (const name of LIMIT_OPTIONS) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`HTTP option ${name} must be a positive number; got ${String(value)}. Leave it unset for the default.`);
    }
  }
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  /** When a request on it last started, or its last POST/DELETE finished. */
  lastSeen: number;
  /** POST/DELETE requests in flight; a busy session is never evicted. SSE GET streams do not count. */
  busy: number;
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
  assertPositiveLimits(options);
  const maxBody = options.maxBodyBytes ?? 1_000_000;
  const maxSessions = options.maxSessions ?? 100;
  const idleMs = options.sessionIdleMs ?? 30 * 60_000;
  // A session idle past sessionIdleMs is expired anyway, so it is evictable by then at the latest.
  const evictGraceMs = Math.min(options.sessionEvictGraceMs ?? 60_000, idleMs);
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? 60_000, headersTimeout);
  const bodyIdleMs = options.bodyIdleMs ?? 10_000;
  const sessions = new Map<string, Session>();
  let inFlight = 0;
  let draining = false;
  let idleWaiters: (() => void)[] = [];

  const hostRules: HostRules = { boundHost: host, port: 0, loopback, extraHosts: options.allowedHosts ?? [] };
  const allowedOrigins = options.allowedOrigins ?? [];

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const sessionId = req.headers['mcp-session-id'];
    let body: unknown;
    if (method === 'POST') {
      let text: string;
      try {
        text = await readBody(req, maxBody, bodyIdleMs);
      } catch (error) {
        if (error instanceof BodyTooLarge) return jsonError(req, res, 413, `Request body larger than ${maxBody} bytes.`);
        if (error instanceof BodyTooSlow) return jsonError(req, res, 408, `Request body stalled for more than ${bodyIdleMs} ms; send it in one go.`);
        throw error;
      }
      try {
        body = JSON.parse(text);
      } catch {
        return jsonError(req, res, 400, 'Parse error: the body is not JSON.', {}, -32700);
      }
    }

    if (options.stateless) {
      if (method !== 'POST') return jsonError(req, res, 405, 'Method not allowed: this server is stateless (POST only).', { allow: 'POST' });
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
      if (!session) return jsonError(req, res, 404, 'Session not found (expired or ended): start a new one with initialize.', {}, -32001);
      trackBusy(session, req, res);
      await session.transport.handleRequest(req, res, body);
      return;
    }
    if (method !== 'POST' || !isInitializeRequest(body)) {
      return jsonError(req, res, 400, 'Bad request: no Mcp-Session-Id header (send initialize first).');
    }
    if (sessions.size >= maxSessions) {
      const retryAfterMs = makeRoom();
      if (retryAfterMs !== undefined) {
        const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
        return jsonError(req, res, 503, `Too many sessions (${maxSessions}), all in use; one becomes free in ${seconds} s.`, { 'retry-after': String(seconds) });
      }
    }
    const server = createMcpServer(service, options);
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, lastSeen: Date.now(), busy: 0 });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) sessions.delete(transport.sessionId);
    };
    // No I/O between the cap check above and onsessioninitialized: concurrent initializes cannot overshoot.
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  /** A session is busy while a POST/DELETE on it runs; its idle time counts from when the last one ended. */
  function trackBusy(session: Session, req: IncomingMessage, res: ServerResponse): void {
    session.lastSeen = Date.now();
    if (req.method === 'GET') return; // an SSE stream is listening, not working
    session.busy++;
    res.once('close', () => {
      session.busy--;
      session.lastSeen = Date.now();
    });
  }

  /**
   * The cap is full: evicts the longest-idle session that has been idle at least the grace and has nothing
   * in flight. Returns undefined when a slot was freed, else how long until one becomes evictable.
   */
  function makeRoom(): number | undefined {
    let idlest: [string, Session] | undefined;
    for (const entry of sessions) {
      if (entry[1].busy === 0 && (!idlest || entry[1].lastSeen < idlest[1].lastSeen)) idlest = entry;
    }
    if (!idlest) return evictGraceMs; // every session is working; each needs the full grace once it stops
    const idleFor = Date.now() - idlest[1].lastSeen;
    if (idleFor < evictGraceMs) return evictGraceMs - idleFor;
    log.info(`HTTP session cap (${maxSessions}) reached: ended session ${idlest[0]}, idle ${Math.round(idleFor / 1000)} s, to admit a new client.`);
    endSession(idlest[0], idlest[1]);
    return undefined;
  }

  function endSession(id: string, session: Session): void {
    sessions.delete(id);
    void session.transport.close();
    void session.server.close();
  }

  function expireIdle(olderThanMs: number): void {
    const cutoff = Date.now() - olderThanMs;
    for (const [id, s] of sessions) {
      if (s.busy === 0 && s.lastSeen < cutoff) endSession(id, s);
    }
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const path = requestPath(req.url);
    if (path === undefined) return jsonError(req, res, 400, 'Bad request: the request target is not a path.');
    if (path === '/healthz' && req.method === 'GET') {
      res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', sessions: sessions.size }));
      return;
    }
    if (path !== '/mcp') return jsonError(req, res, 404, 'Not found: the MCP endpoint is /mcp.');
    // DNS rebinding: a browser page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
    if (!hostAllowed(req.headers.host, hostRules)) {
      return jsonError(req, res, 403, `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed (set MCP_ALLOWED_HOSTS to allow it).`);
    }
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!originAllowed(origin, allowedOrigins, hostRules)) {
        return jsonError(req, res, 403, `Forbidden: Origin ${JSON.stringify(origin)} is not allowed (set MCP_ALLOWED_ORIGINS to allow it).`);
      }
      // Browsers send no credentials on a preflight: it is answered before the token check.
      if (req.method === 'OPTIONS') {
        res.writeHead(204, corsPreflightHeaders(origin)).end();
        return;
      }
      for (const [name, value] of Object.entries(corsResponseHeaders(origin))) res.setHeader(name, value);
    }
    if (options.token && !tokenMatches(req.headers.authorization, options.token)) {
      const error = req.headers.authorization ? ', error="invalid_token"' : '';
      return jsonError(req, res, 401, 'Unauthorized: send Authorization: Bearer <MCP_HTTP_TOKEN>.', {
        'www-authenticate': `Bearer realm="basecamp-people-mcp"${error}`,
      });
    }
    if (draining) return jsonError(req, res, 503, 'Shutting down; retry against another instance.', { connection: 'close' });
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
      jsonError(req, res, 500, 'Internal error.');
    });
  }

  // Node's requestTimeout covers receiving the request (headers and body) and stops once it is complete or
  // answered, so SSE responses and long tool calls are unaffected.
  const httpServer = createServer(
    {
      headersTimeout,
      requestTimeout,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      // Nothing a client sends may throw out of the listener: that would end the process.
      try {
        route(req, res);
      } catch (error) {
        log.error(`HTTP: refused a request that broke the router: ${error instanceof Error ? error.message : String(error)}`);
        jsonError(req, res, 400, 'Bad request.');
      }
    },
  );

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? 8787, host, () => resolve());
  });
  hostRules.port = (httpServer.address() as AddressInfo).port;
  const sweeper = setInterval(() => expireIdle(idleMs), Math.min(60_000, Math.max(1_000, idleMs / 4)));
  sweeper.unref();
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${hostRules.port}/mcp`,
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
