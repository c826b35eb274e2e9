import { randomBytes } from 'node:crypto';
import type { SandboxData } from './bc3/seed.js';
import type { Reply, SandboxRequest } from './shared/http-kit.js';

/**
 * A fake Launchpad (37signals' OAuth 2 server), as docs/basecamp-api.md describes it: the browser consent
 * step, the token endpoint (exchange and refresh) and authorization.json. It also holds every access token,
 * because the fake Basecamp API accepts exactly the tokens Launchpad issued.
 */

export interface LaunchpadOptions {
  /** Lifetime of issued access tokens (Launchpad: two weeks). */
  tokenLifetimeSeconds?: number;
  /** Extra accounts listed by authorization.json (the sandbox account is always first). */
  extraAccounts?: { id: number; name: string; product?: string }[];
  /** OAuth client credentials the token endpoint accepts. */
  oauthClient?: { id: string; secret: string };
  /**
   * `/authorization/new` without `sandbox_person` answers a page with a link per identity (for trying a sign-in
   * by hand, e.g. with the Inspector) instead of approving as the owner at once (the default, which `login` and
   * the in-client sign-in's tests rely on).
   */
  personChooser?: boolean;
}

/** A Launchpad identity as the sandbox knows it. */
export interface SandboxIdentity {
  name: string;
  email_address: string | null;
  identity_id: number;
  /** The accounts this identity reaches; when absent, every account the sandbox lists (`LaunchpadIdentities.accounts`). */
  accounts?: { product: 'bc3' | 'bcx'; id: number; name: string }[];
}

/**
 * An identity on no account the sandbox serves: it reaches another Basecamp account only (its token works at
 * Launchpad, and the sandbox's account answers it 404, as Basecamp does without permission). For "a person
 * outside the account" tests. Its person id is no person of any seeded account.
 */
export const OUTSIDE_IDENTITY = {
  personId: 7_000_001,
  name: 'Nadia Elsewhere',
  email_address: 'nadia@elsewhere.example',
  identity_id: 16_000_001,
  accounts: [{ product: 'bc3' as const, id: 6_660_001, name: 'Elsewhere Ltd' }],
};

/**
 * Who the tokens stand for and which accounts authorization.json lists first, when the sandbox is not just
 * the one Basecamp 3/4/5 account of `data` (a Basecamp 2 account, or both products listed).
 */
export interface LaunchpadIdentities {
  /** The person tokens are issued to by default and who approves the consent step. */
  ownerId: number;
  /** The person behind a grant, on whichever account they are. */
  person(personId: number): SandboxIdentity | undefined;
  /** The people who may sign in (the chooser's list): person ids, in order. */
  list(): number[];
  /** Listed before `extraAccounts`, in this order. */
  accounts: { product: 'bc3' | 'bcx'; id: number; name: string }[];
}

export interface AccessGrant {
  personId: number;
  expiresAt: number;
}

export interface IssuedTokens {
  access_token: string;
  refresh_token: string;
  expires_in: number;
}

/** Launchpad's paths all start so; nothing on the Basecamp side does (those start with the account id). */
export const isLaunchpadPath = (path: string): boolean => path.startsWith('/authorization');

export class Launchpad {
  private readonly accessTokens = new Map<string, AccessGrant>();
  private readonly refreshTokens = new Map<string, { personId: number }>();
  /** Authorization codes handed out by /authorization/new and not yet exchanged. */
  private readonly codes = new Map<string, { personId: number; redirectUri: string }>();
  private readonly tokenLifetime: number;
  private readonly client: { id: string; secret: string };
  /** Once the user "changes their password", no refresh ever works again. */
  private grantsRevoked = false;
  /** Successful refresh grants, per person. */
  private readonly refreshCounts = new Map<number, number>();
  private readonly identities: LaunchpadIdentities;

  constructor(
    data: SandboxData,
    private readonly options: LaunchpadOptions = {},
    identities?: LaunchpadIdentities,
  ) {
    this.identities = identities ?? accountIdentities(data);
    this.tokenLifetime = options.tokenLifetimeSeconds ?? 1_209_600;
    this.client = options.oauthClient ?? { id: 'sandbox-client', secret: 'sandbox-secret' };
  }

  issueTokens(personId = this.identities.ownerId, lifetimeSeconds = this.tokenLifetime): IssuedTokens {
    const refresh = `sbr_${randomBytes(16).toString('hex')}`;
    this.refreshTokens.set(refresh, { personId });
    return { access_token: this.issueAccessToken(personId, lifetimeSeconds), refresh_token: refresh, expires_in: lifetimeSeconds };
  }

  expireToken(token: string): void {
    const grant = this.accessTokens.get(token);
    if (grant) grant.expiresAt = Date.now() - 1;
  }

  /** Expire every access token of one person (their refresh tokens still work). */
  expireTokensOf(personId: number): void {
    for (const grant of this.accessTokens.values()) if (grant.personId === personId) grant.expiresAt = Date.now() - 1;
  }

  /** How many refresh grants this person's refresh tokens have had answered. */
  refreshes(personId: number): number {
    return this.refreshCounts.get(personId) ?? 0;
  }

  revokeAllGrants(): void {
    this.grantsRevoked = true;
    this.refreshTokens.clear();
    for (const grant of this.accessTokens.values()) grant.expiresAt = 0;
  }

  /** The grant behind an `Authorization: Bearer` header: 'expired' past its lifetime, undefined if unknown. */
  grantFor(authorization: string | undefined): AccessGrant | 'expired' | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    const grant = m ? this.accessTokens.get(m[1]!) : undefined;
    if (!grant) return undefined;
    return grant.expiresAt <= Date.now() ? 'expired' : grant;
  }

  handle(req: SandboxRequest): Reply {
    const { method, url } = req;
    if (method === 'GET' && url.pathname === '/authorization.json') return this.authorizationJson(req);
    if (method === 'GET' && url.pathname === '/authorization/new') return this.approve(url);
    if (method === 'POST' && url.pathname === '/authorization/token') return this.token(new URLSearchParams(req.body));
    return { status: 404, body: { error: 'Not found' } };
  }

  private issueAccessToken(personId: number, lifetimeSeconds: number): string {
    const access = `sbx_${randomBytes(16).toString('hex')}`;
    this.accessTokens.set(access, { personId, expiresAt: Date.now() + lifetimeSeconds * 1000 });
    return access;
  }

  private authorizationJson(req: SandboxRequest): Reply {
    const grant = this.grantFor(req.headers.authorization);
    if (!grant || grant === 'expired') {
      return { status: 401, body: { error: grant ? 'OAuth token expired (old age).' : 'OAuth token is invalid' } };
    }
    const person = this.identity(grant.personId);
    if (!person) return { status: 401, body: { error: 'Unknown Basecamp ID.' } };
    const [first, ...rest] = person.name.split(' ');
    const hrefs = (a: { product: string; id: number }) =>
      // Basecamp 2 ("bcx") accounts have their API under /api/v1.
      a.product === 'bc3' ? { href: `${req.baseUrl}/${a.id}` } : { href: `${req.baseUrl}/${a.id}/api/v1` };
    const own = (person.accounts ?? this.identities.accounts).map((a) => ({
      ...a,
      ...hrefs(a),
      app_href: a.product === 'bc3' ? `https://3.basecamp.com/${a.id}` : `https://basecamp.com/${a.id}`,
    }));
    const extra = (this.options.extraAccounts ?? [])
      .map((a) => ({ product: a.product ?? 'bc3', id: a.id, name: a.name }))
      .map((a) => ({ ...a, ...hrefs(a), app_href: `https://3.basecamp.com/${a.id}` }));
    const accounts = [...own, ...extra];
    return {
      status: 200,
      body: {
        expires_at: new Date(grant.expiresAt).toISOString(),
        identity: { id: person.identity_id, first_name: first, last_name: rest.join(' '), email_address: person.email_address },
        accounts,
      },
    };
  }

  /** Whoever the sandbox knows as a Launchpad identity: an account's person, or the outside identity. */
  private identity(personId: number): SandboxIdentity | undefined {
    if (personId === OUTSIDE_IDENTITY.personId) return OUTSIDE_IDENTITY;
    return this.identities.person(personId);
  }

  /** Who may sign in: a known identity with an email address (not a sample person, an integration, a tombstone). */
  private signable(personId: number): SandboxIdentity | undefined {
    const person = this.identity(personId);
    return person?.email_address ? person : undefined;
  }

  /**
   * The user "approves" at once: redirect back with a code, as Launchpad does after consent. The identity is
   * `sandbox_person=<person id>`, else the owner (or, with `personChooser`, a page to choose one).
   */
  private approve(url: URL): Reply {
    const clientId = url.searchParams.get('client_id') ?? '';
    const redirectUri = url.searchParams.get('redirect_uri') ?? '';
    if (clientId !== this.client.id || !redirectUri) return { status: 400, body: { error: 'unknown client_id or missing redirect_uri' } };
    const chosen = url.searchParams.get('sandbox_person');
    if (chosen === null && this.options.personChooser) return this.chooser(url);
    let personId = this.identities.ownerId;
    if (chosen !== null) {
      if (!/^\d{1,15}$/.test(chosen) || !this.signable(Number(chosen))) {
        return { status: 400, body: { error: `unknown sandbox_person: ${JSON.stringify(chosen.slice(0, 40))} (a person id of the sandbox who has an email address)` } };
      }
      personId = Number(chosen);
    }
    const code = `sbc_${randomBytes(12).toString('hex')}`;
    this.codes.set(code, { personId, redirectUri });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = url.searchParams.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { Location: target.toString() } };
  }

  /** A page with a link per identity: the same request with `sandbox_person` added. */
  private chooser(url: URL): Reply {
    const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const ids = [...this.identities.list().filter((id) => this.signable(id)).slice(0, 100), OUTSIDE_IDENTITY.personId];
    const items = ids.map((id) => {
      const person = this.signable(id)!;
      const link = new URL(`${url.pathname}${url.search}`, 'http://sandbox.invalid');
      link.searchParams.set('sandbox_person', String(id));
      return `<li><a href="${escape(link.pathname + link.search)}">${escape(person.name)}</a> &lt;${escape(person.email_address ?? '')}&gt;</li>`;
    });
    return {
      status: 200,
      html: `<!doctype html><meta charset="utf-8"><title>Sandbox Launchpad: sign in as</title><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>Sign in as</h1><ul>${items.join('')}</ul></body>`,
    };
  }

  private token(form: URLSearchParams): Reply {
    const type = form.get('type') ?? (form.get('grant_type') === 'refresh_token' ? 'refresh' : 'web_server');
    if (form.get('client_id') !== this.client.id || form.get('client_secret') !== this.client.secret) {
      return { status: 401, body: { error: 'invalid_client' } };
    }
    if (type === 'refresh') {
      if (this.grantsRevoked) return { status: 400, body: { error: 'authorization_expired' } };
      const refresh = this.refreshTokens.get(form.get('refresh_token') ?? '');
      if (!refresh) return { status: 401, body: { error: 'Unknown Basecamp ID.' } };
      this.refreshCounts.set(refresh.personId, this.refreshes(refresh.personId) + 1);
      // Launchpad keeps the same refresh token on refresh; only the access token is new.
      const access = this.issueAccessToken(refresh.personId, this.tokenLifetime);
      return { status: 200, body: { access_token: access, token_type: 'Bearer', expires_in: this.tokenLifetime } };
    }
    const codeParam = form.get('code') ?? '';
    const code = this.codes.get(codeParam);
    if (!code || code.redirectUri !== form.get('redirect_uri')) return { status: 400, body: { error: 'invalid_grant' } };
    this.codes.delete(codeParam);
    return { status: 200, body: { ...this.issueTokens(code.personId), token_type: 'Bearer' } };
  }
}

/** The identities of a sandbox with one Basecamp 3/4/5 account: its people, identity id 9_000_000 + person id. */
function accountIdentities(data: SandboxData): LaunchpadIdentities {
  return {
    ownerId: data.ownerId,
    person(id) {
      const p = data.people.get(id);
      return p && { name: p.name, email_address: p.email_address, identity_id: 9_000_000 + p.id };
    },
    list: () => [...data.people.keys()],
    accounts: [{ product: 'bc3', id: data.accountId, name: data.accountName }],
  };
}
