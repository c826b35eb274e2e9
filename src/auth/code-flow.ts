import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BasecampError } from '../basecamp/errors.js';
import { fetchAuthorization, usableAccounts, type Authorization, type LaunchpadAccount, type SupportedProduct } from '../basecamp/launchpad.js';
import { secretsEqual } from '../security.js';
import { exchangeCode, expiresAtFrom, type OAuthClient, type TokenResponse } from './oauth.js';
import type { TokenStore } from './token-store.js';

/**
 * The pieces of the OAuth authorization-code flow against Launchpad that `login` (a terminal) and the in-client
 * sign-in (src/auth/in-client-sign-in.ts, a tool call) share: the loopback callback listener with its random
 * `state`, the authorization URL, the code exchange with the account list, and the token file written the same way.
 */

/** How long a sign-in waits for the browser, unless told otherwise. */
export const SIGN_IN_TIMEOUT_MS = 5 * 60_000;

/** A fresh, unguessable `state` for one sign-in. */
export const newState = (): string => randomBytes(24).toString('base64url');

/** Launchpad's consent page for this client, coming back to `redirectUri` with `state`. */
export function authorizationUrl(launchpadUrl: string, clientId: string, redirectUri: string, state: string): string {
  const authorize = new URL(`${launchpadUrl}/authorization/new`);
  authorize.searchParams.set('type', 'web_server');
  authorize.searchParams.set('client_id', clientId);
  authorize.searchParams.set('redirect_uri', redirectUri);
  authorize.searchParams.set('state', state);
  return authorize.toString();
}

/** The page the browser shows after the callback. */
export interface CallbackPage {
  status: number;
  title: string;
  text: string;
}

function html(page: Omit<CallbackPage, 'status'>): string {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><title>${escape(page.title)}</title><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${escape(page.title)}</h1><p>${escape(page.text)}</p></body>`;
}

export interface CallbackListenerOptions {
  /** The registered redirect URI, sent as written (loopback http; see redirectUriProblem); undefined: http://127.0.0.1:<port>/callback. */
  redirectUri?: string;
  /** Used when there is no redirect URI (0: any free port). */
  port?: number;
  state: string;
  /** Where to start again, for the page a callback with the wrong state gets ("from the terminal"). */
  startAgain: string;
  /** A callback with the wrong state was refused (the sign-in keeps waiting for the real one). */
  onWrongState?(): void;
  /**
   * The one callback carrying our state: Launchpad's code, or its refusal. The browser's page answers when this
   * settles, so it tells how the sign-in really ended. Later callbacks are refused.
   */
  onCallback(result: { code: string } | { error: string }): Promise<CallbackPage>;
  /** The error for a port already in use (the fix depends on who chose the port). */
  portInUse(port: number): Error;
}

export interface CallbackListener {
  /** The redirect URI to send to Launchpad (the registered one, or the loopback address actually bound). */
  redirectUri: string;
  close(): Promise<void>;
}

/** Listens on loopback only for Launchpad's redirect back; nothing a client sends can throw out of it. */
export async function listenForCallback(options: CallbackListenerOptions): Promise<CallbackListener> {
  const requested = options.redirectUri === undefined ? undefined : new URL(options.redirectUri);
  const port = requested ? Number(requested.port || 80) : (options.port ?? 0);
  const callbackPath = requested?.pathname ?? '/callback';
  // Loopback only: the redirect URI's own address ([::1], 127.x.y.z), or 127.0.0.1 for localhost.
  const named = requested?.hostname.replace(/^\[|\]$/g, '');
  const host = named === '::1' || (named && /^127\./.test(named)) ? named : '127.0.0.1';
  const mine = 'This is the sign-in callback of basecamp-people-mcp.';
  let claimed = false;
  const server: Server = createServer((req, res) => {
    // Connection: close: a browser must not keep a connection to this listener and send the next sign-in's callback
    // (same port, new listener) to a closed one's.
    const send = (page: CallbackPage) =>
      res.writeHead(page.status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' }).end(html(page));
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      send({ status: 400, title: 'Bad request', text: mine });
      return;
    }
    if (url.pathname !== callbackPath) {
      send({ status: 404, title: 'Not found', text: mine });
      return;
    }
    if (!secretsEqual(url.searchParams.get('state') ?? '', options.state)) {
      // Not ours (or forged): refuse, and keep waiting for the real callback.
      send({ status: 400, title: 'Sign-in refused', text: `The state did not match this sign-in. ${options.startAgain}` });
      options.onWrongState?.();
      return;
    }
    if (claimed) {
      send({ status: 409, title: 'Already used', text: `This sign-in link has already been used. ${options.startAgain}` });
      return;
    }
    claimed = true;
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    options
      .onCallback(error || !code ? { error: error ?? 'no code in the callback' } : { code })
      .then(send, (e: unknown) => send({ status: 500, title: 'Sign-in failed', text: e instanceof Error ? e.message : String(e) }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? options.portInUse(port) : new BasecampError(e.message)));
    server.listen(port, host, () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    redirectUri: options.redirectUri !== undefined ? options.redirectUri : `http://127.0.0.1:${actualPort}${callbackPath}`,
    /** Stops listening; a page being answered is still sent (for at most a second), idle connections end at once. */
    async close() {
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      const force = setTimeout(() => server.closeAllConnections(), 1000);
      await closed;
      clearTimeout(force);
    },
  };
}

/** What a code is worth: the tokens, who signed in and the accounts this server can use. */
export interface SignInGrant {
  tokens: TokenResponse;
  auth: Authorization;
  accounts: (LaunchpadAccount & { product: SupportedProduct })[];
  /** "First Last", when Launchpad said. */
  identity?: string;
}

/** Exchanges the code and asks Launchpad which accounts the new token reaches. */
export async function redeemCode(options: { launchpadUrl: string; userAgent: string; client: OAuthClient; redirectUri: string; code: string }): Promise<SignInGrant> {
  const tokens = await exchangeCode(options.launchpadUrl, options.client, options.code, options.redirectUri, options.userAgent);
  const auth = await fetchAuthorization(options.launchpadUrl, tokens.access_token, options.userAgent);
  const identity = auth.identity ? `${auth.identity.first_name ?? ''} ${auth.identity.last_name ?? ''}`.trim() || undefined : undefined;
  return { tokens, auth, accounts: usableAccounts(auth), ...(identity ? { identity } : {}) };
}

/**
 * Writes the token file (atomic, 0600: TokenStore.write) with the refresh token, the OAuth client (to refresh
 * months later) and the account with its product; without an account when one is still to be chosen.
 */
export function saveSignIn(store: TokenStore, grant: SignInGrant, client: OAuthClient, account?: LaunchpadAccount): void {
  store.write({
    access_token: grant.tokens.access_token,
    ...(grant.tokens.refresh_token ? { refresh_token: grant.tokens.refresh_token } : {}),
    expires_at: expiresAtFrom(grant.tokens.expires_in),
    ...(account ? { account_id: account.id, account_product: account.product } : {}),
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
}
