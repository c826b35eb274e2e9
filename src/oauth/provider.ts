import Provider, { errors, type KoaContext } from 'oidc-provider';
import { adapterFor } from './adapter.js';
import type { ProviderKeys } from './keys.js';
import type { OAuthStore } from './store.js';
import { log } from '../log.js';
import { isLoopbackHost } from '../security.js';

/**
 * The OAuth 2.1 authorization server of `MCP_AUTH=oauth` (docs/design/oauth.md §2.2): oidc-provider 9.13.3, configured
 * so that it issues opaque access tokens for one resource (`<public>/mcp`) only, requires PKCE (S256, the only method it
 * has), registers clients openly (their redirect URIs checked by the router first: registrationProblem), rotates refresh
 * tokens (a reused one revokes its whole grant) and revokes. Everything it would otherwise nag about on stderr is set.
 * People sign in through the pages of interaction.ts (our consent page, then Launchpad), never through its own.
 */

/** A sign-in lasts at most this long: the Grant and every refresh token of it (absolute, not renewed by rotation). */
export const SIGN_IN_TTL_SECONDS = 30 * 24 * 60 * 60;
/** Access tokens are short: a revoked sign-in stops working within this. */
export const ACCESS_TOKEN_TTL_SECONDS = 10 * 60;
/** The pages between /authorize and Launchpad must be done within this (also oidc-provider's own session). */
export const INTERACTION_TTL_SECONDS = 10 * 60;

/** The one scope of the resource (the MCP endpoint): what clients find in the protected-resource metadata. */
export const MCP_SCOPE = 'mcp';

/** oidc-provider's `fetch` option: its request options carry an SSRF-guarding undici dispatcher. */
export type CimdFetch = (url: string, init: RequestInit & { dispatcher?: unknown }) => Promise<Response>;

export interface ProviderOptions {
  /** MCP_PUBLIC_URL: the issuer. */
  publicUrl: string;
  store: OAuthStore;
  keys: ProviderKeys;
  /** Access token lifetime (tests shorten it). */
  accessTokenTtlSeconds?: number;
  /** How Client ID Metadata Documents are fetched (tests map https://cimd.test/… to loopback; default: global fetch, SSRF-guarded). */
  fetch?: CimdFetch;
  /** Renders a refusal as a page (the browser's way; JSON endpoints answer JSON on their own). */
  errorPage(title: string, text: string): string;
}

/** The redirect URIs a registered client may use: https off loopback, or http on loopback (RFC 8252 §7.3). */
export function redirectUriAllowed(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  // What the WHATWG parser quietly fixes (a backslash read as a slash, whitespace and controls dropped) other parsers
  // read differently: http://127.0.0.1\@evil.example/ is loopback here and evil.example to an RFC 3986 parser.
  if (/[\\\s\u0000-\u001f\u007f]/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.hash || url.username || url.password) return false;
  if (url.protocol === 'http:') return isLoopbackHost(url.hostname);
  return url.protocol === 'https:' && !isLoopbackHost(url.hostname);
}

/** Why a client registration (a POST /register body) is refused before oidc-provider sees it, or undefined. */
export function registrationProblem(body: unknown): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined; // the provider answers malformed bodies itself
  const uris = (body as { redirect_uris?: unknown }).redirect_uris;
  if (uris === undefined) return undefined;
  if (!Array.isArray(uris)) return 'redirect_uris must be an array';
  const bad = uris.find((u) => !redirectUriAllowed(u));
  return bad === undefined ? undefined : `redirect_uris may only be https (off loopback) or http on 127.0.0.1, [::1] or localhost; refused: ${JSON.stringify(String(bad)).slice(0, 200)}`;
}

export function buildProvider(options: ProviderOptions): Provider {
  const resource = `${options.publicUrl}/mcp`;
  const accessTtl = options.accessTokenTtlSeconds ?? ACCESS_TOKEN_TTL_SECONDS;
  const provider = new Provider(options.publicUrl, {
    adapter: adapterFor(options.store),
    clients: [],
    jwks: { keys: [options.keys.signingJwk] },
    cookies: {
      keys: options.keys.cookieKeys,
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: { authorization: '/authorize', token: '/token', registration: '/register', revocation: '/revoke', jwks: '/jwks' },
    // `mcp` is the resource's scope; it is listed here too because clients register with the scopes the protected-resource
    // metadata names, and registration accepts only these (checked: without it, the SDK client's registration is refused).
    scopes: ['offline_access', MCP_SCOPE],
    claims: { openid: ['sub'] },
    responseTypes: ['code'],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      registration: { enabled: true },
      // A client revokes only its own tokens (every client here is public: another's token is answered 200 and kept, RFC 7009).
      revocation: { enabled: true, allowedPolicy: (_ctx: unknown, client: { clientId: string }, token: { clientId?: string }) => token.clientId === client.clientId },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      // A client may be its own metadata document's https URL (the 2026 revision's way): its redirect URIs follow the
      // same rule as a registration's, and it may hold no secret (oidc-provider refuses those itself).
      clientIdMetadataDocument: {
        enabled: true,
        ack: 'draft-02',
        allowClient: (_ctx: unknown, client: { redirectUris?: string[] }) => (client.redirectUris ?? []).every(redirectUriAllowed),
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, indicator: string) => {
          if (indicator !== resource) throw new errors.InvalidTarget(`the only resource here is ${resource}`);
          return { scope: MCP_SCOPE, audience: resource, accessTokenTTL: accessTtl, accessTokenFormat: 'opaque' };
        },
      },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/oauth/interaction/${interaction.uid}` },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    // Refresh tokens for every client allowed the grant (not only with offline_access), never tied to the short session.
    issueRefreshToken: (_ctx: unknown, client: { grantTypeAllowed(type: string): boolean }) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: () => accessTtl,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      BackchannelAuthenticationRequest: 600,
      PreAuthorizedCode: 600,
      IdToken: 600,
      Grant: SIGN_IN_TTL_SECONDS,
      Interaction: INTERACTION_TTL_SECONDS,
      Session: INTERACTION_TTL_SECONDS,
      // A rotated refresh token keeps what was left of the one it replaces: the sign-in's 30 days are absolute.
      RefreshToken: (ctx: { oidc?: { entities?: { RotatedRefreshToken?: { remainingTTL: number } } } } | undefined) =>
        ctx?.oidc?.entities?.RotatedRefreshToken?.remainingTTL ?? SIGN_IN_TTL_SECONDS,
    },
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
      id_token_signed_response_alg: 'EdDSA',
    },
    // Tokens are bound to PKCE and to the client: a browser client (the Inspector) may call /token from its origin.
    clientBasedCORS: () => true,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    renderError: (ctx: KoaContext, out: { error?: string; error_description?: string }) => {
      ctx.type = 'html';
      ctx.body = options.errorPage('Sign-in failed', `${out.error ?? 'error'}: ${out.error_description ?? 'the request was refused'}`);
    },
  });
  if (options.publicUrl.startsWith('https:')) provider.proxy = true; // TLS ends at a proxy in front (X-Forwarded-Proto)
  provider.on('server_error', (_ctx, error) => log.error(`OAuth: ${error instanceof Error ? error.message : String(error)}`));
  // Koa's own errors (a client's broken request, a socket gone): said at debug level, never Koa's stack dump on stderr.
  provider.on('error', (error) => log.debug(`OAuth: ${error instanceof Error ? error.message : String(error)}`));
  return provider;
}
