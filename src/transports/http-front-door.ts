import type { IncomingMessage, ServerResponse } from 'node:http';
import { corsPreflightHeaders, corsResponseHeaders, hostAllowed, originAllowed, requestPath, type HostRules } from './http-guards.js';
import type { Caller } from '../caller.js';
import type { KeyRing } from './http-keys.js';
import type { OAuthServer } from '../oauth/server.js';

/*
 * THE FRONT DOOR of the HTTP transport: what a request passes before MCP sees it. The checks run in this
 * order, and the first one that fails answers (pinned by test/http-front-door.test.ts "the front door's order"):
 *   0. deadlines (Node's server, see http.ts): headers within headersTimeoutMs, the whole request within
 *      requestTimeoutMs; a body pausing longer than bodyIdleMs is cut off at step 7.
 *   1. the request target: not a path → 400.
 *   2. GET /healthz → answered (200, or 503 while draining): before Host and token, for probes by address.
 *   3. any path but /mcp → 404.
 *   4. Host (DNS rebinding) → 403.
 *   5. Origin, when sent: not allowed → 403; an allowed origin's preflight (OPTIONS) → 204 with the CORS
 *      grants, before the token (browsers never send one there); its other requests get the CORS headers.
 *   6. bearer token → 401 unless it is one of the keys (http-keys.ts: MCP_HTTP_TOKEN, MCP_HTTP_CLIENTS); the key
 *      says who is calling (src/caller.ts). With no key set (loopback only) every client is `anonymous`.
 *   7. draining → 503; then a POST's body: larger than maxBodyBytes → 413, stalled → 408, not JSON → 400.
 * Only then does the MCP handler (mcp-handler.ts) see it, with its caller: sessions, or a fresh server per request.
 *
 * With MCP_AUTH=oauth (src/oauth/server.ts) the same order, with two changes (pinned by the OAuth variant of that test):
 *   3. the authorization server's paths are known besides /mcp (metadata, /authorize, /token, /register, /revoke,
 *      /jwks, the consent and Launchpad pages); anything else is still 404. After Host (4) they are answered there:
 *      they skip Origin (5), their CORS being the provider's (a browser client calls /token cross-origin; nothing
 *      there rides on cookies), except the consent form, which must come from the public origin (interaction.ts).
 *   6. a named key first (as in keys mode; with none set nobody is `anonymous`), else an OAuth access token; a refusal
 *      is 401 with `WWW-Authenticate: Bearer … resource_metadata="<public>/.well-known/oauth-protected-resource/mcp"`.
 */

/**
 * Answers with a JSON-RPC error. When the request body has not been fully received, the connection is
 * closed after the answer (Node destroys the socket on `Connection: close`), so a refused client cannot hold
 * it open by trickling its body.
 */
export function jsonError(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}, code = -32000): void {
  if (res.headersSent) return;
  const close = req.complete ? {} : { connection: 'close' };
  res.writeHead(status, { 'content-type': 'application/json', ...close, ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
}

export interface FrontDoor {
  /** The keys clients must send as `Authorization: Bearer <token>` (none: anonymous, loopback only). */
  keys: KeyRing;
  hostRules: HostRules;
  allowedOrigins: readonly string[];
  /** What /healthz reports. */
  health(): { draining: boolean; sessions: number };
  /** MCP_AUTH=oauth: the authorization server's routes and its access tokens. */
  oauth?: OAuthServer;
}

/**
 * Steps 1 to 6: who is calling, when the request may go on to /mcp; otherwise (undefined) it has been answered.
 * With OAuth on, an OAuth route is answered and a bearer token checked asynchronously (a promise of the same).
 */
export function admit(req: IncomingMessage, res: ServerResponse, door: FrontDoor): Caller | undefined | Promise<Caller | undefined> {
  const path = requestPath(req.url);
  if (path === undefined) return refuse(req, res, 400, 'Bad request: the request target is not a path.');
  if (path === '/healthz' && req.method === 'GET') {
    const { draining, sessions } = door.health();
    res.writeHead(draining ? 503 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ status: draining ? 'draining' : 'ok', sessions }));
    return undefined;
  }
  const oauthRoute = door.oauth?.isRoute(path) === true;
  if (path !== '/mcp' && !oauthRoute) return refuse(req, res, 404, 'Not found: the MCP endpoint is /mcp.');
  // DNS rebinding: a browser page on evil.example resolving to 127.0.0.1 still sends Host: evil.example.
  if (!hostAllowed(req.headers.host, door.hostRules)) {
    return refuse(req, res, 403, `Forbidden: Host ${JSON.stringify(req.headers.host ?? '')} is not allowed (set MCP_ALLOWED_HOSTS to allow it).`);
  }
  if (oauthRoute) return door.oauth!.handle(req, res, path).then(() => undefined);
  const origin = req.headers.origin;
  if (origin !== undefined) {
    if (!originAllowed(origin, door.allowedOrigins, door.hostRules)) {
      return refuse(req, res, 403, `Forbidden: Origin ${JSON.stringify(origin)} is not allowed (set MCP_ALLOWED_ORIGINS to allow it).`);
    }
    // Browsers send no credentials on a preflight: it is answered before the token check.
    if (req.method === 'OPTIONS') {
      res.writeHead(204, corsPreflightHeaders(origin, req.headers['access-control-request-headers'])).end();
      return undefined;
    }
    for (const [name, value] of Object.entries(corsResponseHeaders(origin))) res.setHeader(name, value);
  }
  if (door.oauth) return keyOrAccessToken(req, res, door.keys, door.oauth);
  const caller = door.keys.identify(req.headers.authorization);
  if (!caller) {
    const error = req.headers.authorization ? ', error="invalid_token"' : '';
    return refuse(req, res, 401, `Unauthorized: send Authorization: Bearer ${door.keys.hint}.`, { 'www-authenticate': `Bearer realm="basecamp-people-mcp"${error}` });
  }
  return caller;
}

/** Step 6 with OAuth on: a named key (never `anonymous`), else an access token; else the SDK's 401 and its challenge. */
async function keyOrAccessToken(req: IncomingMessage, res: ServerResponse, keys: KeyRing, oauth: OAuthServer): Promise<Caller | undefined> {
  const key = keys.open ? undefined : keys.identify(req.headers.authorization);
  if (key) return key;
  const verdict = await oauth.authenticate(req.headers.authorization);
  if ('caller' in verdict) return verdict.caller;
  const { refusal } = verdict;
  const body = await refusal.text();
  if (!res.headersSent) {
    res.writeHead(refusal.status, { ...Object.fromEntries(refusal.headers), ...(req.complete ? {} : { connection: 'close' }) });
    res.end(body);
  }
  return undefined;
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): undefined {
  jsonError(req, res, status, message, headers);
  return undefined;
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

export interface BodyLimits {
  maxBodyBytes: number;
  /** Longest pause between two chunks of the body. */
  bodyIdleMs: number;
}

/** Step 7's body: a POST's JSON (undefined for other methods), or `refused` when it has been answered. */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limits: BodyLimits): Promise<{ body: unknown } | 'refused'> {
  if (req.method !== 'POST') return { body: undefined };
  let text: string;
  try {
    text = await readBody(req, limits.maxBodyBytes, limits.bodyIdleMs);
  } catch (error) {
    if (error instanceof BodyTooLarge) jsonError(req, res, 413, `Request body larger than ${limits.maxBodyBytes} bytes.`);
    else if (error instanceof BodyTooSlow) jsonError(req, res, 408, `Request body stalled for more than ${limits.bodyIdleMs} ms; send it in one go.`);
    else throw error;
    return 'refused';
  }
  try {
    return { body: JSON.parse(text) };
  } catch {
    jsonError(req, res, 400, 'Parse error: the body is not JSON.', {}, -32700);
    return 'refused';
  }
}
