/**
 * A headless browser for OAuth tests (docs/design/oauth.md §3): follows redirects by hand (`redirect: 'manual'`)
 * with a cookie jar keyed by cookie name, says who signs in at the sandbox's Launchpad (`sandbox_person`), and stops
 * at the client's redirect URI (never listened on), returning its query. Only 127.0.0.1 is ever contacted.
 */

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { ProviderKeys } from '../src/oauth/keys.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/client';

/** Provider keys for a test server (production derives them from MCP_TOKEN_KEY). */
export function testProviderKeys(): ProviderKeys {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as { d: string; x: string };
  return {
    cookieKeys: [randomBytes(32).toString('base64url')],
    signingJwk: { kty: 'OKP', crv: 'Ed25519', d: jwk.d, x: jwk.x, kid: randomBytes(8).toString('hex'), alg: 'EdDSA', use: 'sig' },
  };
}

export interface BrowseOptions {
  /** Where the flow ends: the first URL starting with this is not fetched; its query is the answer. */
  stopAt: string;
  /** The person id to sign in as at the sandbox's Launchpad (`sandbox_person`); without it, the sandbox's default. */
  as?: number | string;
  /** At most this many hops (a loop is a failure, not a hang). */
  maxHops?: number;
  /** At the server's consent page: post its form with this decision (else the page stops the browse). */
  consent?: 'allow' | 'deny';
  /** The cookie jar (by name): pass one to go on in the same browser, or a fresh one to be another browser. */
  jar?: Map<string, string>;
  /** The Origin the consent form is posted from (default: the page's own). */
  origin?: string;
  /** The consent form's csrf value, replaced (a forgery test). */
  csrf?: string;
}

export interface BrowseResult {
  /** The redirect URI reached, with its query. */
  url: URL;
  query: URLSearchParams;
  /** Every URL fetched on the way, in order. */
  hops: string[];
}

/** A page the browser cannot go on from (no redirect): its status and text, so a test can assert on a refusal. */
export class BrowseStopped extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly text: string,
  ) {
    super(`browse stopped at ${url}: ${status} ${text.slice(0, 200)}`);
  }
}

/** The consent page's form: where it posts and its csrf value. */
export function consentForm(html: string): { action: string; csrf: string } | undefined {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const csrf = /name="csrf" value="([^"]*)"/.exec(html)?.[1];
  return action && csrf !== undefined ? { action: action.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))), csrf } : undefined;
}

export async function browse(start: string, options: BrowseOptions): Promise<BrowseResult> {
  const jar = options.jar ?? new Map<string, string>();
  const hops: string[] = [];
  let next = new URL(start);
  let form: { body: string; origin: string } | undefined;
  for (let hop = 0; hop < (options.maxHops ?? 20); hop++) {
    if (next.toString().startsWith(options.stopAt)) return { url: next, query: next.searchParams, hops };
    if (next.hostname !== '127.0.0.1') throw new Error(`browse: refusing to leave 127.0.0.1 (${next.origin})`);
    if (next.pathname === '/authorization/new' && options.as !== undefined) next.searchParams.set('sandbox_person', String(options.as));
    hops.push(form ? `POST ${next.toString()}` : next.toString());
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const headers: Record<string, string> = cookie ? { cookie } : {};
    const init: RequestInit = form
      ? { method: 'POST', body: form.body, headers: { ...headers, origin: form.origin, 'content-type': 'application/x-www-form-urlencoded' } }
      : { headers };
    form = undefined;
    const res = await fetch(next, { redirect: 'manual', ...init });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      next = new URL(location, next);
      continue;
    }
    const text = await res.text();
    const found = res.status === 200 && options.consent ? consentForm(text) : undefined;
    if (found) {
      form = { body: new URLSearchParams({ csrf: options.csrf ?? found.csrf, decision: options.consent! }).toString(), origin: options.origin ?? next.origin };
      next = new URL(found.action, next);
      continue;
    }
    throw new BrowseStopped(next.toString(), res.status, text);
  }
  throw new Error(`browse: more than ${options.maxHops ?? 20} hops from ${start}`);
}

/** Where the test clients return: never listened on, so browse stops there. */
export const TEST_REDIRECT = 'http://127.0.0.1:9/callback';

/** An MCP client's side of OAuth, in memory (both SDKs' providers have this shape). */
export class TestClientAuth implements OAuthClientProvider {
  info: Parameters<NonNullable<OAuthClientProvider['saveClientInformation']>>[0] | undefined;
  saved: Parameters<OAuthClientProvider['saveTokens']>[0] | undefined;
  verifier: string | undefined;
  authorizationUrl: URL | undefined;
  constructor(readonly redirect = TEST_REDIRECT) {}
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientProvider['clientMetadata'] {
    return { redirect_uris: [this.redirect], client_name: 'Test Client', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info: NonNullable<TestClientAuth['info']>) {
    this.info = info;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(tokens: NonNullable<TestClientAuth['saved']>) {
    this.saved = tokens;
  }
  redirectToAuthorization(url: URL) {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string) {
    this.verifier = verifier;
  }
  codeVerifier() {
    return this.verifier!;
  }
  discovery: Parameters<NonNullable<OAuthClientProvider['saveDiscoveryState']>>[0] | undefined;
  saveDiscoveryState(state: NonNullable<TestClientAuth['discovery']>) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
}
