import { createHmac } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { InteractionDetails, Provider } from 'oidc-provider';
import { authorizationUrl, newState, redeemCode } from '../auth/code-flow.js';
import { expiresAtFrom } from '../auth/oauth.js';
import { log } from '../log.js';
import { secretsEqual } from '../security.js';
import { INTERACTION_TTL_SECONDS, MCP_SCOPE, SIGN_IN_TTL_SECONDS } from './provider.js';
import { personKey, type OAuthStore, type PersonRecord } from './store.js';
import { grantsOfKey } from './adapter.js';

/*
 * THE BROWSER'S WAY between /authorize and the client's redirect URI (docs/design/oauth.md §2.3):
 *   1. /authorize (oidc-provider) checks client, redirect URI, PKCE and resource, then 303 → /oauth/interaction/<uid>
 *      with a cookie scoped to that path (only this browser can go on with this uid).
 *   2. GET  /oauth/interaction/<uid>: our consent page, naming the client, where it sends the browser back, and the
 *      account; Allow / Deny POST a CSRF value tied to the uid.
 *   3. POST /oauth/interaction/<uid>/consent (from the public origin only): Deny → access_denied to the client;
 *      Allow → a one-use `state` (lp-state:<state> → uid), bound to this browser by a cookie only the callback sees,
 *      303 → Launchpad's authorization/new.
 *   4. GET  /oauth/launchpad/callback?code&state: the state is taken (unknown or used, or this browser does not hold
 *      its cookie: a Launchpad link passed to someone else → 400 page); the code is
 *      redeemed; the identity must reach BASECAMP_ACCOUNT_ID and pass MCP_OAUTH_ALLOWED. Pass: the person's Basecamp
 *      tokens are written as `person:<identity id>`; either way the outcome is kept (lp-result:<uid>, one use), 303 →
 *   5. GET  /oauth/interaction/<uid>/done (the interaction cookie comes back here, so a callback opened in another
 *      browser cannot finish this one): login and consent at once, or the refusal; oidc-provider redirects to the client.
 * No Launchpad token ever leaves the server; the client's tokens never reach Launchpad or Basecamp.
 */

export interface InteractionOptions {
  provider: Provider;
  store: OAuthStore;
  publicUrl: string;
  launchpad: { url: string; clientId: string; clientSecret: string; userAgent: string };
  /** BASECAMP_ACCOUNT_ID: whoever signs in must reach it. */
  accountId: number;
  /** How the consent page names the account. */
  accountLabel: string;
  /** MCP_OAUTH_ALLOWED: emails (`ann@x.com`) or domains (`x.com`, `@x.com`); undefined: anyone on the account. */
  allowed?: readonly string[];
  /** Signs the consent form's CSRF value (a cookie key: the same on every instance). */
  csrfKey: string;
}

/** What the Launchpad callback decided, kept for /done. */
type Outcome = { identityId: number } | { error: 'access_denied'; description: string };

const INTERACTION = /^\/oauth\/interaction\/([A-Za-z0-9_-]{1,64})(\/consent|\/done)?$/;
export const LAUNCHPAD_CALLBACK = '/oauth/launchpad/callback';
const MAX_FORM_BYTES = 4_096;

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain page (refusals and the consent page share its look). */
export function page(title: string, body: string): string {
  return `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${escape(title)}</title><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${escape(title)}</h1>${body}</body>`;
}
export const errorPage = (title: string, text: string): string => page(title, `<p>${escape(text)}</p>`);

/**
 * No `form-action`: Chrome and Safari check it against every redirect a form's submission goes through, and the consent
 * form ends at Launchpad (Allow) or the client's redirect URI (Deny, or Launchpad approving at once). Its action is
 * ours, and nothing on these pages can add a form or a script (everything shown is escaped; default-src 'none').
 */
function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'", ...headers });
  res.end(html);
}

/** Whether an email passes MCP_OAUTH_ALLOWED: an exact address, or its domain (`x.com` or `@x.com`), case aside. */
export function emailAllowed(email: string | null | undefined, allowed: readonly string[] | undefined): boolean {
  if (!allowed) return true;
  if (!email) return false;
  const address = email.trim().toLowerCase();
  const at = address.lastIndexOf('@');
  if (at < 1) return false; // not an address: its whole text would otherwise be taken for a domain
  const domain = address.slice(at + 1);
  return allowed.some((entry) => {
    const e = entry.trim().toLowerCase();
    if (e.includes('@') && !e.startsWith('@')) return e === address;
    return e.replace(/^@/, '') === domain;
  });
}

export class Interactions {
  constructor(private readonly o: InteractionOptions) {}

  /** Whether this path is one of the pages here. */
  static isRoute(path: string): boolean {
    return path === LAUNCHPAD_CALLBACK || INTERACTION.test(path);
  }

  /** The consent POST is the one OAuth route that must come from our own origin (the front door skips Origin for the rest). */
  static needsOwnOrigin(path: string, method: string | undefined): boolean {
    return method === 'POST' && path.endsWith('/consent');
  }

  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    if (path === LAUNCHPAD_CALLBACK) {
      if (req.method !== 'GET') return send(res, 405, errorPage('Not allowed', 'Launchpad comes back here with GET.'), { allow: 'GET' });
      return this.callback(req, res);
    }
    const [, uid = '', step] = INTERACTION.exec(path) ?? [];
    if (step === '/consent') {
      if (req.method !== 'POST') return send(res, 405, errorPage('Not allowed', 'The consent form is sent with POST.'), { allow: 'POST' });
      return this.decide(req, res, uid);
    }
    if (req.method !== 'GET') return send(res, 405, errorPage('Not allowed', 'This page is read with GET.'), { allow: 'GET' });
    return step === '/done' ? this.done(req, res, uid) : this.consentPage(req, res, uid);
  }

  /** The interaction of this browser for this uid, or a refusal page (no cookie, expired, another uid). */
  private async details(req: IncomingMessage, res: ServerResponse, uid: string): Promise<InteractionDetails | undefined> {
    let details: InteractionDetails;
    try {
      details = await this.o.provider.interactionDetails(req, res);
    } catch {
      send(res, 400, errorPage('Sign-in expired or not yours', 'This sign-in was not started in this browser, or took longer than 10 minutes. Start again from your MCP client.'));
      return undefined;
    }
    if (details.uid !== uid) {
      send(res, 400, errorPage('Sign-in not yours', 'This page belongs to another sign-in. Start again from your MCP client.'));
      return undefined;
    }
    return details;
  }

  private csrf(uid: string): string {
    return createHmac('sha256', this.o.csrfKey).update(`consent:${uid}`).digest('base64url');
  }

  private async consentPage(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await this.details(req, res, uid);
    if (!details) return;
    const client = await this.o.provider.Client.find(details.params.client_id ?? '');
    const clientId = String(details.params.client_id ?? '');
    // A client known by its metadata document (CIMD) chose its own name: the document's host is what vouches for it.
    const documentHost = /^https:\/\//.test(clientId) ? safeHost(clientId) : undefined;
    const name = `${client?.clientName ?? (clientId || 'An MCP client')}${documentHost && client?.clientName ? `, described by ${documentHost}` : ''}`;
    let host = '';
    try {
      host = new URL(details.params.redirect_uri ?? '').host;
    } catch {
      host = '?';
    }
    const action = `/oauth/interaction/${uid}/consent`;
    const button = (decision: string, label: string) => `<button type="submit" name="decision" value="${decision}">${label}</button>`;
    const body =
      `<p><strong>${escape(name)}</strong> (returning to <strong>${escape(host)}</strong>) wants to act as you on Basecamp ${escape(this.o.accountLabel)} ` +
      `through basecamp-people-mcp: read and change its people and their project access, as your own permissions allow.</p>` +
      `<p>Next, Basecamp asks you to sign in. Only allow a client you just added yourself.</p>` +
      `<form method="post" action="${escape(action)}"><input type="hidden" name="csrf" value="${escape(this.csrf(uid))}">${button('allow', 'Allow')} ${button('deny', 'Deny')}</form>`;
    send(res, 200, page('Allow access to Basecamp?', body));
  }

  private async decide(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    if (req.headers.origin !== this.o.publicUrl) {
      return send(res, 403, errorPage('Refused', 'The consent form must be sent from this server\'s own page.'));
    }
    const form = await readForm(req);
    if (!form) return send(res, 400, errorPage('Bad request', 'The consent form could not be read.'), { connection: 'close' });
    if (!secretsEqual(form.get('csrf') ?? '', this.csrf(uid))) return send(res, 403, errorPage('Refused', 'The consent form is not this sign-in\'s. Start again from your MCP client.'));
    const details = await this.details(req, res, uid);
    if (!details) return;
    if (form.get('decision') !== 'allow') {
      return this.o.provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'the person denied access at the consent page' }, { mergeWithLastSubmission: false });
    }
    const state = newState();
    await this.o.store.set(`lp-state:${state}`, JSON.stringify({ uid }), INTERACTION_TTL_SECONDS * 1000);
    const to = authorizationUrl(this.o.launchpad.url, this.o.launchpad.clientId, `${this.o.publicUrl}${LAUNCHPAD_CALLBACK}`, state);
    // The state is bound to this browser: only the browser that allowed here may bring Launchpad's answer back.
    res.writeHead(303, { location: to, 'cache-control': 'no-store', 'set-cookie': this.stateCookie(state, this.stateBinding(state), INTERACTION_TTL_SECONDS) }).end();
  }

  /**
   * What the browser that allowed at the consent page holds for a Launchpad state (a cookie only the callback sees). Without
   * it, a victim who follows an attacker's Launchpad link would finish the attacker's sign-in as the victim.
   */
  private stateBinding(state: string): string {
    return createHmac('sha256', this.o.csrfKey).update(`launchpad-state:${state}`).digest('base64url');
  }

  private stateCookie(state: string, value: string, maxAge: number): string {
    const name = `bpm_lp_${createHmac('sha256', this.o.csrfKey).update(`launchpad-cookie:${state}`).digest('hex').slice(0, 16)}`;
    const secure = this.o.publicUrl.startsWith('https:') ? '; Secure' : '';
    return `${name}=${value}; Path=${LAUNCHPAD_CALLBACK}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
  }

  private holdsState(req: IncomingMessage, state: string): boolean {
    const [name] = this.stateCookie(state, '', 0).split('=');
    const expected = this.stateBinding(state);
    const cookies = (req.headers.cookie ?? '').split(';').map((c) => c.trim());
    return cookies.some((c) => c.startsWith(`${name}=`) && secretsEqual(c.slice(name!.length + 1), expected));
  }

  private async callback(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.o.publicUrl);
    const state = url.searchParams.get('state') ?? '';
    const saved = state ? await this.o.store.take(`lp-state:${state}`) : undefined;
    if (!saved) return send(res, 400, errorPage('Sign-in refused', 'This Basecamp sign-in is unknown or was already used. Start again from your MCP client.'));
    const clear = { 'set-cookie': this.stateCookie(state, '', 0) };
    if (!this.holdsState(req, state)) {
      log.info('OAuth: refused a Launchpad callback in a browser that did not start that sign-in');
      return send(res, 400, errorPage('Sign-in refused', 'This Basecamp sign-in was not started in this browser. Start again from your MCP client.'));
    }
    const { uid } = JSON.parse(saved) as { uid: string };
    const outcome = await this.redeem(url).catch((error: unknown): Outcome => {
      log.warn(`OAuth: a Basecamp sign-in failed: ${error instanceof Error ? error.message : String(error)}`);
      return { error: 'access_denied', description: 'Basecamp did not complete the sign-in' };
    });
    await this.o.store.set(`lp-result:${uid}`, JSON.stringify(outcome), INTERACTION_TTL_SECONDS * 1000);
    res.writeHead(303, { location: `/oauth/interaction/${uid}/done`, 'cache-control': 'no-store', ...clear }).end();
  }

  /** Launchpad's answer: the code redeemed and checked; on success the person's Basecamp tokens are stored. */
  private async redeem(url: URL): Promise<Outcome> {
    const code = url.searchParams.get('code');
    if (url.searchParams.get('error') || !code) return { error: 'access_denied', description: 'the sign-in was declined at Basecamp' };
    const { launchpad } = this.o;
    const grant = await redeemCode({
      launchpadUrl: launchpad.url,
      userAgent: launchpad.userAgent,
      client: { clientId: launchpad.clientId, clientSecret: launchpad.clientSecret },
      redirectUri: `${this.o.publicUrl}${LAUNCHPAD_CALLBACK}`,
      code,
    });
    const identity = grant.auth.identity;
    if (!identity || !Number.isSafeInteger(identity.id)) return { error: 'access_denied', description: 'Basecamp did not say who signed in' };
    const account = grant.accounts.find((a) => a.id === this.o.accountId);
    const email = identity.email_address ?? null;
    if (!account) {
      log.info(`OAuth: refused a sign-in: Basecamp identity ${identity.id} does not reach account ${this.o.accountId}`);
      return { error: 'access_denied', description: `not a member of the Basecamp account ${this.o.accountId}` };
    }
    if (!emailAllowed(email, this.o.allowed)) {
      log.info(`OAuth: refused a sign-in: Basecamp identity ${identity.id} is not allowed by MCP_OAUTH_ALLOWED`);
      return { error: 'access_denied', description: 'not allowed by MCP_OAUTH_ALLOWED' };
    }
    const record: PersonRecord = {
      identity: { id: identity.id, email, ...(grant.identity ? { name: grant.identity } : {}) },
      access_token: grant.tokens.access_token,
      ...(grant.tokens.refresh_token ? { refresh_token: grant.tokens.refresh_token } : {}),
      expires_at: expiresAtFrom(grant.tokens.expires_in),
      account: { id: account.id, product: account.product, name: account.name, href: account.href },
      signed_in_at: new Date().toISOString(),
    };
    await this.o.store.set(personKey(identity.id), JSON.stringify(record), SIGN_IN_TTL_SECONDS * 1000);
    return { identityId: identity.id };
  }

  private async done(req: IncomingMessage, res: ServerResponse, uid: string): Promise<void> {
    const details = await this.details(req, res, uid);
    if (!details) return;
    const saved = await this.o.store.take(`lp-result:${uid}`);
    if (!saved) return send(res, 400, errorPage('Sign-in not finished', 'Basecamp has not sent this sign-in back yet, or it was already finished. Start again from your MCP client.'));
    const outcome = JSON.parse(saved) as Outcome;
    if ('error' in outcome) {
      return this.o.provider.interactionFinished(req, res, { error: outcome.error, error_description: outcome.description }, { mergeWithLastSubmission: false });
    }
    // Login and consent at once: the grant holds what the client asked for (the resource's scope, offline access).
    const accountId = `bc:${outcome.identityId}`;
    const grant = new this.o.provider.Grant({ accountId, clientId: details.params.client_id ?? '' });
    const asked = (details.params.scope ?? '').split(' ').filter(Boolean);
    // `mcp` is both an OIDC scope (registration needs it there, provider.ts) and the resource's: granted as both.
    for (const scope of asked.filter((s) => s === 'openid' || s === 'offline_access' || s === MCP_SCOPE)) grant.addOIDCScope(scope);
    const resource = details.params.resource ?? `${this.o.publicUrl}/mcp`;
    const resourceScopes = asked.filter((s) => s !== 'openid' && s !== 'offline_access');
    if (resourceScopes.length) grant.addResourceScope(resource, resourceScopes.join(' '));
    const grantId = await grant.save();
    await this.o.store.addToSet(grantsOfKey(outcome.identityId), grantId, SIGN_IN_TTL_SECONDS * 1000);
    await this.o.provider.interactionFinished(req, res, { login: { accountId }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }
}

/** A small urlencoded form (the consent POST), or undefined when it is too large or not a form. */
async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function safeHost(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}
