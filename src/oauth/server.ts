import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { bearerAuthChallengeResponse, buildOAuthProtectedResourceMetadata, verifyBearerToken, type OAuthMetadata } from '@modelcontextprotocol/server';
import { callerOf, type Caller } from '../caller.js';
import { log } from '../log.js';
import { Interactions, errorPage } from './interaction.js';
import type { ProviderKeys } from './keys.js';
import { buildProvider, MCP_SCOPE, registrationProblem, type CimdFetch } from './provider.js';
import type { OAuthStore } from './store.js';
import { oauthVerifier } from './verifier.js';
import { AddressLimit } from './address-limit.js';

/**
 * `MCP_AUTH=oauth` as the HTTP transport sees it (loaded only then: its own chunk of the bundle, with oidc-provider):
 * which paths are the authorization server's, answering them, and turning a bearer token into a caller or the 401 whose
 * challenge starts a client's discovery (RFC 9728). The front door (src/transports/http-front-door.ts) decides the order.
 */

export interface OAuthServeOptions {
  /** MCP_PUBLIC_URL: an origin; the issuer, and `<it>/mcp` the one resource. */
  publicUrl: string;
  store: OAuthStore;
  keys: ProviderKeys;
  /** The upstream: Basecamp's Launchpad (or the sandbox's) and this server's app there. */
  launchpad: { url: string; clientId: string; clientSecret: string; userAgent: string };
  /** BASECAMP_ACCOUNT_ID: whoever signs in must reach it. */
  accountId: number;
  /** How the consent page names the account (default "account <id>"). */
  accountLabel?: string;
  /** MCP_OAUTH_ALLOWED. */
  allowed?: readonly string[];
  /** Access token lifetime in seconds (default 600; tests shorten it). */
  accessTokenTtlSeconds?: number;
  /** Per address: registrations (default 20) and sign-ins started (default 60) per 10 minutes; tests lower them. */
  limits?: { registrations?: number; authorizations?: number; windowMs?: number };
  /** How Client ID Metadata Documents are fetched: tests only (never an environment variable). */
  fetch?: CimdFetch;
}

export interface OAuthServer {
  /** `<public>/mcp`. */
  readonly resourceUrl: string;
  /** `<public>/.well-known/oauth-protected-resource/mcp`, named by every 401. */
  readonly resourceMetadataUrl: string;
  /** Whether a path is one of the authorization server's (anything else but /mcp is 404). */
  isRoute(path: string): boolean;
  /** The one OAuth route whose request must come from the public origin (the consent form). */
  needsOwnOrigin(path: string, method: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void>;
  /** The caller an Authorization header proves, or the answer to refuse it with (401 and its challenge). */
  authenticate(authorization: string | undefined): Promise<{ caller: Caller } | { refusal: Response }>;
}

export const PROTECTED_RESOURCE_PATH = '/.well-known/oauth-protected-resource/mcp';
const AS_METADATA_PATH = '/.well-known/oauth-authorization-server';
const OIDC_DISCOVERY_PATH = '/.well-known/openid-configuration';
const PROVIDER_ROUTE = /^\/(?:authorize(?:\/[A-Za-z0-9_-]{1,64})?|token|register(?:\/[A-Za-z0-9_.~-]{1,255})?|revoke|jwks)$/;
const MAX_REGISTRATION_BYTES = 56 * 1024;

export function createOAuthServer(options: OAuthServeOptions): OAuthServer {
  const publicUrl = options.publicUrl;
  const resourceUrl = `${publicUrl}/mcp`;
  const resourceMetadataUrl = `${publicUrl}${PROTECTED_RESOURCE_PATH}`;
  const provider = buildProvider({ publicUrl, store: options.store, keys: options.keys, accessTokenTtlSeconds: options.accessTokenTtlSeconds, errorPage, ...(options.fetch ? { fetch: options.fetch } : {}) });
  const interactions = new Interactions({
    provider,
    store: options.store,
    publicUrl,
    launchpad: options.launchpad,
    accountId: options.accountId,
    accountLabel: options.accountLabel ?? `account ${options.accountId}`,
    allowed: options.allowed,
    csrfKey: options.keys.cookieKeys[0] ?? '',
  });
  const callback = provider.callback();
  const { host: publicHost, protocol } = new URL(publicUrl);
  const publicProtocol = protocol.slice(0, -1);
  const verifier = oauthVerifier(provider, options.store, options.allowed);
  const windowMs = options.limits?.windowMs ?? 10 * 60_000;
  const registrations = new AddressLimit(options.limits?.registrations ?? 20, windowMs);
  const authorizations = new AddressLimit(options.limits?.authorizations ?? 60, windowMs);
  /** Whether this request must wait (answered 429 here): only what stores a record before anyone signed in counts. */
  const tooMany = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    const limit = path === '/register' && req.method === 'POST' ? registrations : path === '/authorize' ? authorizations : undefined;
    const waitMs = limit?.take(req.socket.remoteAddress ?? 'unknown') ?? 0;
    if (waitMs === 0) return false;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    log.warn(`OAuth ${path}: more than ${limit!.max} from ${req.socket.remoteAddress ?? 'an unknown address'} in ${Math.round(limit!.windowMs / 60_000)} minutes; answered 429 for ${seconds} s.`);
    res.writeHead(429, { 'content-type': 'application/json', 'cache-control': 'no-store', 'retry-after': String(seconds), connection: 'close' });
    res.end(JSON.stringify({ error: 'temporarily_unavailable', error_description: `Too many ${path === '/register' ? 'registrations' : 'sign-ins started'} from this address; try again in ${seconds} s.` }));
    return true;
  };
  // Built once at start: an issuer the SDK would refuse (http off loopback) fails here, not at the first client.
  const oauthMetadata: OAuthMetadata = {
    issuer: publicUrl,
    authorization_endpoint: `${publicUrl}/authorize`,
    token_endpoint: `${publicUrl}/token`,
    response_types_supported: ['code'],
  };
  const resourceMetadata = JSON.stringify(
    buildOAuthProtectedResourceMetadata({ oauthMetadata, resourceServerUrl: new URL(resourceUrl), scopesSupported: [MCP_SCOPE], resourceName: 'basecamp-people-mcp' }),
  );

  async function register(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') return callback(req, res);
    const body = await readLimited(req, MAX_REGISTRATION_BYTES);
    if (body === undefined) return json(res, 413, { error: 'invalid_request', error_description: `registration larger than ${MAX_REGISTRATION_BYTES} bytes` }, true);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      parsed = undefined; // oidc-provider answers it
    }
    const problem = registrationProblem(parsed);
    if (problem) return json(res, 400, { error: 'invalid_redirect_uri', error_description: problem });
    callback(replay(req, body), res);
  }

  return {
    resourceUrl,
    resourceMetadataUrl,
    isRoute: (path) => path === PROTECTED_RESOURCE_PATH || path === AS_METADATA_PATH || path === OIDC_DISCOVERY_PATH || PROVIDER_ROUTE.test(path) || Interactions.isRoute(path),
    needsOwnOrigin: (path, method) => Interactions.needsOwnOrigin(path, method),
    async handle(req, res, path) {
      // Every URL the provider makes (metadata endpoints, resume redirects) is on the public URL: never the forwarded
      // host or scheme a client sent (Koa trusts X-Forwarded-* once provider.proxy is on), so a cached discovery
      // document cannot be made to point elsewhere.
      req.headers.host = publicHost;
      delete req.headers['x-forwarded-host'];
      req.headers['x-forwarded-proto'] = publicProtocol;
      try {
        if (tooMany(req, res, path)) return;
        if (path === PROTECTED_RESOURCE_PATH) {
          res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300', 'access-control-allow-origin': '*' });
          res.end(resourceMetadata);
          return;
        }
        if (Interactions.isRoute(path)) return await interactions.handle(req, res, path);
        if (path === '/register') return await register(req, res);
        // RFC 8414's address for the provider's own discovery document (the same document, the same issuer).
        if (path === AS_METADATA_PATH) req.url = OIDC_DISCOVERY_PATH + (req.url?.slice(path.length) ?? '');
        callback(req, res);
      } catch (error) {
        log.error(`OAuth ${path}: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) json(res, 500, { error: 'server_error', error_description: 'internal error' });
      }
    },
    async authenticate(authorization) {
      try {
        const info = await verifyBearerToken(authorization, { verifier, expectedResource: new URL(resourceUrl), resourceMetadataUrl });
        return { caller: callerOf(info) };
      } catch (error) {
        return { refusal: bearerAuthChallengeResponse(error, { resourceMetadataUrl }) };
      }
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store', ...(close ? { connection: 'close' } : {}) });
  res.end(JSON.stringify(body));
}

/** The body, or undefined past `limit` bytes. */
async function readLimited(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** The same request with its body read once more (the registration was checked first): for oidc-provider's own parser. */
function replay(req: IncomingMessage, body: Buffer): IncomingMessage {
  const copy = Readable.from([body], { objectMode: false }) as unknown as IncomingMessage;
  return Object.assign(copy, {
    headers: req.headers,
    rawHeaders: req.rawHeaders,
    method: req.method,
    url: req.url,
    httpVersion: req.httpVersion,
    httpVersionMajor: req.httpVersionMajor,
    httpVersionMinor: req.httpVersionMinor,
    socket: req.socket,
    connection: req.socket,
    complete: true,
  });
}
