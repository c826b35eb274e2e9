import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { log } from '../log.js';
import { admit, jsonError, readJsonBody, type FrontDoor } from './http-front-door.js';
import type { HostRules } from './http-guards.js';
import { closeSession, McpHandler, type McpSession } from './mcp-handler.js';
import { SessionPool } from './session-pool.js';
import { KeyRing, type HttpClientKey } from './http-keys.js';
import { isLoopbackHost } from '../security.js';
import type { ServerOptions } from '../server.js';
import type { Caller } from '../caller.js';
import type { OAuthServeOptions } from '../oauth/index.js';
import type { ServiceSource } from '../service-source.js';
import { defaultSessionsPerCaller, HTTP_DEFAULTS } from '../settings.js';

export interface HttpServeOptions extends ServerOptions {
  host?: string;
  port?: number;
  /** MCP_HTTP_TOKEN: clients must send `Authorization: Bearer <token>`; one admin key. This or `clients` is required off loopback. */
  token?: string;
  /** MCP_HTTP_CLIENTS: named keys with roles (read and checked by readHttpClients, http-keys.ts). */
  clients?: HttpClientKey[];
  /** MCP_ALLOWED_ORIGINS: extra origins allowed besides the server's own. */
  allowedOrigins?: string[];
  /** MCP_ALLOWED_HOSTS: Host header values accepted besides the bound address (e.g. behind a proxy). */
  allowedHosts?: string[];
  stateless?: boolean;
  maxBodyBytes?: number;
  maxSessions?: number;
  /** MCP_MAX_SESSIONS_PER_CALLER: live sessions one caller (by callerKey) may hold, at most maxSessions. Default: defaultSessionsPerCaller. */
  maxSessionsPerCaller?: number;
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
  /** MCP_AUTH=oauth: people sign in with Basecamp (src/oauth/server.ts, loaded only then); keys still work beside it. */
  oauth?: OAuthServeOptions;
}

export interface HttpServer {
  url: string;
  server: Server;
  sessions(): number;
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), then closes every session. */
  drain(graceMs?: number): Promise<void>;
}

const LIMIT_OPTIONS = ['maxBodyBytes', 'maxSessions', 'maxSessionsPerCaller', 'sessionIdleMs', 'sessionEvictGraceMs', 'headersTimeoutMs', 'requestTimeoutMs', 'bodyIdleMs', 'keepAliveTimeoutMs'] as const;

/** A zero, negative or non-numeric limit would refuse every request (or none): fail at start instead. */
function assertPositiveLimits(options: HttpServeOptions): void {
  for (const name of LIMIT_OPTIONS) {
    const value = options[name];
    if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
      throw new Error(`HTTP option ${name} must be a positive number; got ${String(value)}. Leave it unset for the default.`);
    }
  }
}

/** Requests being worked on (an SSE GET stream is not one): draining waits for them. */
class InFlight {
  private count = 0;
  private waiters: (() => void)[] = [];

  /** Counts a request until its response closes (a GET is not counted: it opens a long-lived stream). */
  track(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET') return;
    this.count++;
    res.once('close', () => {
      if (--this.count > 0) return;
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w());
    });
  }

  /** Resolves when none is left, or after graceMs. */
  async settled(graceMs: number): Promise<void> {
    if (this.count === 0) return;
    await Promise.race([new Promise<void>((r) => this.waiters.push(r)), new Promise<void>((r) => setTimeout(r, graceMs).unref())]);
  }
}

/**
 * Streamable HTTP at /mcp, secure by default: loopback unless told otherwise, bearer token (required off
 * loopback), Origin and Host validated on every request (the SDK checks neither by default), body size and
 * session limits, idle sessions expired. The client's token is never forwarded: tools use the Basecamp credentials
 * of the service `services` gives for the caller (the server's own; under MCP_AUTH=oauth the signed-in person's).
 * Draining leaves the services open (whoever made them closes them). Three parts: the front door (http-front-door.ts, its order stated there), the
 * session pool (session-pool.ts) and the MCP handler (mcp-handler.ts); this wires them to a Node server.
 */
export async function serveHttp(services: ServiceSource, options: HttpServeOptions = {}): Promise<HttpServer> {
  const host = options.host ?? HTTP_DEFAULTS.host;
  const loopback = isLoopbackHost(host);
  const keys = new KeyRing(options.token, options.clients);
  // The authorization server and oidc-provider: their own chunk, loaded only when OAuth is on.
  const oauth = options.oauth ? (await import('../oauth/index.js')).createOAuthServer(options.oauth) : undefined;
  if (!loopback && keys.open && !oauth) {
    throw new Error(`Refusing to serve on ${host} without MCP_HTTP_TOKEN or MCP_HTTP_CLIENTS: anyone who can reach it could administer your Basecamp people. Set one, or bind to 127.0.0.1.`);
  }
  if (keys.open && !oauth) log.warn('HTTP transport on loopback WITHOUT authentication (set MCP_HTTP_TOKEN or MCP_HTTP_CLIENTS to require a bearer token).');
  assertPositiveLimits(options);
  const idleMs = options.sessionIdleMs ?? HTTP_DEFAULTS.sessionIdleSeconds * 1000;
  const maxSessions = options.maxSessions ?? HTTP_DEFAULTS.maxSessions;
  // Several callers when there are named keys or people signing in: each may then hold only its share of the sessions.
  const maxPerOwner = options.maxSessionsPerCaller ?? defaultSessionsPerCaller(maxSessions, (options.clients?.length ?? 0) > 0 || options.oauth !== undefined);
  if (maxPerOwner > maxSessions) throw new Error(`HTTP option maxSessionsPerCaller (${maxPerOwner}) must be at most maxSessions (${maxSessions}).`);
  const pool = new SessionPool<McpSession>(
    { maxSessions, maxPerOwner, idleMs, evictGraceMs: options.sessionEvictGraceMs ?? HTTP_DEFAULTS.evictGraceSeconds * 1000 },
    closeSession,
  );
  const handler = new McpHandler(services, options, pool);
  const limits = { maxBodyBytes: options.maxBodyBytes ?? 1_000_000, bodyIdleMs: options.bodyIdleMs ?? 10_000 };
  const inFlight = new InFlight();
  let draining = false;
  // With OAuth on, the public URL's host and origin are ours too (behind a proxy, the names browsers and clients use).
  const publicUrl = options.oauth ? new URL(options.oauth.publicUrl) : undefined;
  const hostRules: HostRules = { boundHost: host, port: 0, loopback, extraHosts: [...(options.allowedHosts ?? []), ...(publicUrl ? [publicUrl.host] : [])] };
  const allowedOrigins = [...(options.allowedOrigins ?? []), ...(publicUrl ? [publicUrl.origin] : [])];
  const door: FrontDoor = { keys, hostRules, allowedOrigins, health: () => ({ draining, sessions: pool.size }), ...(oauth ? { oauth } : {}) };

  async function serveMcp(req: IncomingMessage, res: ServerResponse, caller: Caller): Promise<void> {
    const read = await readJsonBody(req, res, limits);
    if (read !== 'refused') await handler.handle(req, res, read.body, caller);
  }

  function go(req: IncomingMessage, res: ServerResponse, caller: Caller | undefined): void {
    if (!caller) return;
    if (draining) return jsonError(req, res, 503, 'Shutting down; retry against another instance.', { connection: 'close' });
    inFlight.track(req, res);
    serveMcp(req, res, caller).catch((error: unknown) => {
      log.error(`HTTP /mcp: ${error instanceof Error ? error.message : String(error)}`);
      jsonError(req, res, 500, 'Internal error.');
    });
  }
  const httpServer = listener(options, (req, res) => {
    const admitted = admit(req, res, door);
    if (!(admitted instanceof Promise)) return go(req, res, admitted);
    admitted.then(
      (caller) => go(req, res, caller),
      (error: unknown) => {
        log.error(`HTTP: ${error instanceof Error ? error.message : String(error)}`);
        jsonError(req, res, 500, 'Internal error.');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port ?? HTTP_DEFAULTS.port, host, () => resolve());
  });
  hostRules.port = (httpServer.address() as AddressInfo).port;
  const sweeper = setInterval(() => pool.expireIdle(), Math.min(60_000, Math.max(1_000, idleMs / 4)));
  sweeper.unref();
  const shownHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${hostRules.port}/mcp`,
    server: httpServer,
    sessions: () => pool.size,
    async drain(graceMs = 30_000) {
      draining = true;
      clearInterval(sweeper);
      httpServer.close();
      await inFlight.settled(graceMs);
      await pool.closeAll();
      await handler.close();
      httpServer.closeAllConnections();
    },
  };
}

/**
 * The Node server with the deadlines of the front door's step 0. Node's requestTimeout covers receiving the
 * request (headers and body) and stops once it is complete or answered, so SSE responses and long tool calls
 * are unaffected.
 */
function listener(options: HttpServeOptions, onRequest: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const headersTimeout = options.headersTimeoutMs ?? 20_000;
  return createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(options.requestTimeoutMs ?? 60_000, headersTimeout),
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
      connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(headersTimeout / 4))),
    },
    (req, res) => {
      // Nothing a client sends may throw out of the listener: that would end the process.
      try {
        onRequest(req, res);
      } catch (error) {
        log.error(`HTTP: refused a request that broke the router: ${error instanceof Error ? error.message : String(error)}`);
        jsonError(req, res, 400, 'Bad request.');
      }
    },
  );
}
