import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makePerson, seedAccount, type SandboxData, type SandboxPerson, type SandboxProject, type SeedOptions } from './seed.js';

/**
 * A simulated Basecamp 4 API and Launchpad on 127.0.0.1, behaving as ../shared/basecamp-api.md says:
 * geared pages with absolute Link and X-Total-Count, 400 without User-Agent, 401 for a bad or expired
 * token, 415 for a body without a JSON content type, 429 with Retry-After past the rate limit (sliding
 * window), X-Request-Id, ETag/304, 404 for unknown routes (including the ones Basecamp 4 does not have),
 * and users.json semantics. Used by `serve --sandbox`, `sandbox`, the demo and the tests.
 */

export interface SandboxOptions extends SeedOptions {
  port?: number;
  host?: string;
  /** Requests allowed per window before 429 (Basecamp: 50 per 10 s). */
  rateLimit?: { max: number; windowMs: number };
  /** Pretend the account is inactive (every API call answers 404 with `Reason: Account Inactive`). */
  inactive?: boolean;
  /** Lifetime of issued access tokens (Launchpad: two weeks). */
  tokenLifetimeSeconds?: number;
  /** Extra accounts listed by authorization.json (the sandbox account is always first). */
  extraAccounts?: { id: number; name: string; product?: string }[];
  /** OAuth client credentials the token endpoint accepts. */
  oauthClient?: { id: string; secret: string };
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  status: number;
  userAgent?: string;
  /** The Authorization header as received (the sandbox is a test double; a real server would never keep this). */
  authorization?: string;
  contentType?: string;
  body?: string;
}

/** A test hook: return a response to override the sandbox for one request. */
export type Interceptor = (req: { method: string; path: string; body: string; userAgent?: string }) =>
  | { status?: number; headers?: Record<string, string>; body?: unknown; destroy?: boolean; delayMs?: number }
  | undefined;

interface TokenRecord {
  personId: number;
  expiresAt: number;
  refreshToken?: string;
  clientId?: string;
}

export interface Sandbox {
  url: string;
  /** A valid access token for the account owner. */
  token: string;
  accountId: number;
  data: SandboxData;
  requests: RecordedRequest[];
  /** Number of 429s answered. */
  throttled: number;
  /** Issue a fresh access token (and refresh token) for a person; the owner by default. */
  issueToken(personId?: number, lifetimeSeconds?: number): { access_token: string; refresh_token: string; expires_in: number };
  /** Make an access token expired, as if two weeks had passed. */
  expireToken(token: string): void;
  /** Kill every grant (as when the user changes their password): refresh answers authorization_expired. */
  revokeAllGrants(): void;
  intercept(fn: Interceptor | undefined): void;
  /** API requests only (not Launchpad), for "the sandbox saw no request" assertions. */
  apiRequests(): RecordedRequest[];
  close(): Promise<void>;
}

/** Geared pagination, as Basecamp does it: 15, 30, 50, then 100 per page. */
const PAGE_SIZES = [15, 30, 50];
const pageSize = (page: number) => PAGE_SIZES[page - 1] ?? 100;
/** Index of a page's first item, in closed form so an absurd `?page=` costs nothing. */
function pageStart(page: number): number {
  const geared = PAGE_SIZES.slice(0, Math.min(page - 1, PAGE_SIZES.length)).reduce((a, b) => a + b, 0);
  return geared + Math.max(0, page - 1 - PAGE_SIZES.length) * 100;
}
/**
 * The page a `?page=` asks for: a positive whole number, however large (past the end it is an empty page).
 * Anything else (missing, 0, negative, fractional, not a number) means the first page.
 */
function requestedPage(param: string | null): number {
  if (param === null || !/^\s*\+?\d+\s*$/.test(param)) return 1;
  const page = Number(param);
  return page >= 1 ? page : 1;
}

function personJson(p: SandboxPerson): Record<string, unknown> {
  const { company, ...rest } = p;
  return company ? { ...rest, company } : rest;
}

function projectJson(p: SandboxProject, base: string): Record<string, unknown> {
  const { members: _members, ...rest } = p;
  return {
    ...rest,
    url: `${base}/projects/${p.id}.json`,
    bookmark_url: `${base}/my/bookmarks/${p.id}.json`,
  };
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const data = seedAccount(options);
  const rate = options.rateLimit ?? { max: 50, windowMs: 10_000 };
  const tokenLifetime = options.tokenLifetimeSeconds ?? 1_209_600;
  const oauthClient = options.oauthClient ?? { id: 'sandbox-client', secret: 'sandbox-secret' };
  const tokens = new Map<string, TokenRecord>();
  const refreshTokens = new Map<string, { personId: number; clientId?: string }>();
  const codes = new Map<string, { personId: number; redirectUri: string; clientId: string }>();
  const recent: number[] = []; // accepted API request times, for the sliding window
  const requests: RecordedRequest[] = [];
  let interceptor: Interceptor | undefined;
  let throttled = 0;
  let grantsRevoked = false;
  let baseUrl = '';

  const issueToken = (personId = data.ownerId, lifetime = tokenLifetime, clientId?: string) => {
    const access = `sbx_${randomBytes(16).toString('hex')}`;
    const refresh = `sbr_${randomBytes(16).toString('hex')}`;
    tokens.set(access, { personId, expiresAt: Date.now() + lifetime * 1000, refreshToken: refresh, clientId });
    refreshTokens.set(refresh, { personId, clientId });
    return { access_token: access, refresh_token: refresh, expires_in: lifetime };
  };
  const ownerToken = issueToken().access_token;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        if (!res.headersSent) send(res, 500, { error: String(error) });
      });
    });
  });

  function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    res.statusCode = status;
    res.setHeader('X-Request-Id', randomBytes(8).toString('hex'));
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
    if (body === undefined || status === 204 || status === 304) {
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
  }

  /** JSON with ETag; 304 when the client already has it. */
  function sendJson(req: IncomingMessage, res: ServerResponse, body: unknown, headers: Record<string, string> = {}): number {
    const text = JSON.stringify(body);
    const etag = `W/"${createHash('sha1').update(text).digest('hex').slice(0, 20)}"`;
    if (req.headers['if-none-match'] === etag) {
      send(res, 304, undefined, { ETag: etag, ...headers });
      return 304;
    }
    send(res, 200, body, { ETag: etag, 'Cache-Control': 'max-age=0, private, must-revalidate', ...headers });
    return 200;
  }

  function paginate<T>(req: IncomingMessage, res: ServerResponse, url: URL, items: T[]): number {
    const page = requestedPage(url.searchParams.get('page'));
    const start = pageStart(page);
    const slice = items.slice(start, start + pageSize(page));
    const headers: Record<string, string> = { 'X-Total-Count': String(items.length) };
    if (start + slice.length < items.length) {
      const next = new URL(url.toString());
      next.searchParams.set('page', String(page + 1));
      headers.Link = `<${baseUrl}${next.pathname}${next.search}>; rel="next"`;
    }
    return sendJson(req, res, slice, headers);
  }

  function bearer(req: IncomingMessage): TokenRecord | 'expired' | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const rec = m ? tokens.get(m[1]!) : undefined;
    if (!rec) return undefined;
    if (rec.expiresAt <= Date.now()) return 'expired';
    return rec;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = req.method ?? 'GET';
    const record: RecordedRequest = {
      at: Date.now(),
      method,
      path: url.pathname + url.search,
      status: 0,
      userAgent: req.headers['user-agent'],
      authorization: req.headers.authorization,
      contentType: req.headers['content-type'],
      body: body || undefined,
    };
    requests.push(record);
    if (requests.length > 50_000) requests.splice(0, 10_000);
    const finish = (status: number) => {
      record.status = status;
    };

    const override = interceptor?.({ method, path: record.path, body, userAgent: req.headers['user-agent'] });
    if (override) {
      if (override.delayMs) await new Promise((r) => setTimeout(r, override.delayMs));
      if (override.destroy) {
        finish(-1);
        req.socket.destroy();
        return;
      }
      if (override.status !== undefined) {
        finish(override.status);
        return send(res, override.status, override.body, override.headers);
      }
      // Only a delay: carry on as usual.
    }

    // ---- Launchpad ----
    if (url.pathname.startsWith('/authorization')) return finish(handleLaunchpad(req, res, url, method, body));

    // ---- Basecamp 4 API: /{account_id}/... ----
    if (!req.headers['user-agent']) {
      finish(400);
      return send(res, 400, { error: 'You must include a User-Agent header with the name of your app and a contact URL or email' });
    }
    // Sliding-window rate limit, per client (everything here is one loopback IP).
    const now = Date.now();
    while (recent.length && recent[0]! <= now - rate.windowMs) recent.shift();
    if (recent.length >= rate.max) {
      throttled++;
      const retryAfter = Math.max(1, Math.ceil((recent[0]! + rate.windowMs - now) / 1000));
      finish(429);
      return send(res, 429, { error: 'Rate limit exceeded' }, { 'Retry-After': String(retryAfter) });
    }
    recent.push(now);

    const auth = bearer(req);
    if (auth === 'expired') {
      finish(401);
      return send(res, 401, {
        error: 'OAuth token expired (old age). Refresh your token or acquire a new one at https://launchpad.37signals.com/authorization/new',
      });
    }
    if (!auth) {
      finish(401);
      return send(res, 401, { error: 'OAuth token is invalid' }, { 'WWW-Authenticate': 'Bearer realm="Basecamp"' });
    }
    const m = /^\/(\d+)(\/.*)$/.exec(url.pathname);
    if (!m || Number(m[1]) !== data.accountId) {
      finish(404);
      return send(res, 404, { error: 'Not found' });
    }
    if (options.inactive) {
      finish(404);
      return send(res, 404, { error: 'Account Inactive' }, { Reason: 'Account Inactive' });
    }
    const path = m[2]!.replace(/\.json$/, '');
    const me = data.people.get(auth.personId)!;
    const base = `${baseUrl}/${data.accountId}`;

    if (method === 'GET') {
      if (path === '/people') return finish(paginate(req, res, url, [...data.people.values()].map(personJson)));
      if (path === '/circles/people') {
        const pingable = [...data.people.values()].filter((p) => p.can_ping && p.personable_type === 'User');
        return finish(sendJson(req, res, pingable.map(personJson)));
      }
      if (path === '/my/profile') return finish(sendJson(req, res, personJson(me)));
      if (path === '/account') return finish(sendJson(req, res, accountJson()));
      if (path === '/projects') {
        const status = url.searchParams.get('status') ?? 'active';
        if (!['active', 'archived', 'trashed'].includes(status)) {
          finish(400);
          return send(res, 400, { error: `Invalid status ${status}` });
        }
        const list = [...data.projects.values()]
          .filter((p) => p.status === status && p.members.has(me.id))
          .map((p) => projectJson(p, base));
        return finish(paginate(req, res, url, list));
      }
      let pm = /^\/people\/(\d+)$/.exec(path);
      if (pm) {
        const p = data.people.get(Number(pm[1]));
        if (!p) {
          finish(404);
          return send(res, 404, { error: 'Not found' });
        }
        return finish(sendJson(req, res, personJson(p)));
      }
      pm = /^\/projects\/(\d+)$/.exec(path);
      if (pm) {
        const project = data.projects.get(Number(pm[1]));
        if (!project || !project.members.has(me.id)) {
          finish(404);
          return send(res, 404, { error: 'Not found' });
        }
        return finish(sendJson(req, res, projectJson(project, base)));
      }
      pm = /^\/projects\/(\d+)\/people$/.exec(path);
      if (pm) {
        const project = data.projects.get(Number(pm[1]));
        if (!project || !project.members.has(me.id)) {
          finish(404);
          return send(res, 404, { error: 'Not found' });
        }
        const list = [...project.members].map((id) => data.people.get(id)!).filter(Boolean).map(personJson);
        return finish(paginate(req, res, url, list));
      }
    }

    if (method === 'PUT') {
      const pm = /^\/projects\/(\d+)\/people\/users$/.exec(path);
      if (pm) return finish(updateAccess(req, res, Number(pm[1]), me, body));
    }

    // Everything else, including POST /people/users.json and DELETE /people/:id.json, which Basecamp 4 does not have.
    finish(404);
    return send(res, 404, { error: 'Not found' });
  }

  function updateAccess(req: IncomingMessage, res: ServerResponse, projectId: number, me: SandboxPerson, body: string): number {
    if (!/^application\/json/i.test(req.headers['content-type'] ?? '')) {
      send(res, 415, { error: 'Content-Type must be application/json' });
      return 415;
    }
    const project = data.projects.get(projectId);
    if (!project || !project.members.has(me.id)) {
      send(res, 404, { error: 'Not found' });
      return 404;
    }
    if (!me.admin && !me.can_manage_people) {
      send(res, 403, { error: 'You are not allowed to manage people on this project' });
      return 403;
    }
    let parsed: { grant?: unknown; revoke?: unknown; create?: unknown };
    try {
      parsed = JSON.parse(body) as typeof parsed;
    } catch {
      send(res, 400, { error: 'Malformed JSON' });
      return 400;
    }
    const ids = (v: unknown) => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n)) : []);
    const grant = ids(parsed.grant);
    const revoke = ids(parsed.revoke);
    const create = Array.isArray(parsed.create) ? (parsed.create as Record<string, unknown>[]) : [];
    if (!grant.length && !revoke.length && !create.length) {
      send(res, 422, { errors: { base: ['must include at least one of grant, revoke or create'] } });
      return 422;
    }
    for (const c of create) {
      if (typeof c?.name !== 'string' || !c.name.trim() || typeof c.email_address !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(c.email_address)) {
        send(res, 422, { errors: { create: ['each person needs a name and a valid email_address'] } });
        return 422;
      }
    }
    const granted: SandboxPerson[] = [];
    const revoked: SandboxPerson[] = [];
    // users.json manages team members only: removed people and clients are silently dropped, like Basecamp.
    const teamMember = (p: SandboxPerson | undefined): p is SandboxPerson => !!p && p.personable_type !== 'Tombstone' && !p.client;
    for (const id of grant) {
      const p = data.people.get(id);
      if (!teamMember(p)) continue;
      project.members.add(p.id);
      granted.push(p);
    }
    for (const c of create) {
      const email = String(c.email_address).toLowerCase();
      let p = [...data.people.values()].find((x) => x.email_address?.toLowerCase() === email);
      if (!p) {
        const companyName = typeof c.company_name === 'string' && c.company_name.trim() ? c.company_name.trim() : undefined;
        let company: { id: number; name: string } | undefined;
        if (companyName) {
          company = data.companies.get(companyName.toLowerCase());
          if (!company) {
            company = { id: 800_000 + data.companies.size + 1, name: companyName };
            data.companies.set(companyName.toLowerCase(), company);
          }
        }
        p = makePerson(data.nextPersonId++, {
          name: String(c.name).trim(),
          email_address: String(c.email_address),
          title: typeof c.title === 'string' ? c.title : null,
          ...(company ? { company } : {}),
        });
        const stamp = new Date().toISOString();
        p.created_at = stamp;
        p.updated_at = stamp;
        data.people.set(p.id, p);
      }
      project.members.add(p.id);
      granted.push(p);
    }
    for (const id of revoke) {
      const p = data.people.get(id);
      if (!teamMember(p)) continue;
      project.members.delete(p.id);
      revoked.push(p);
    }
    send(res, 200, { granted: granted.map(personJson), revoked: revoked.map(personJson) });
    return 200;
  }

  function accountJson(): Record<string, unknown> {
    const hq = [...data.projects.values()].some((p) => p.purpose === 'company_hq');
    return {
      id: data.accountId,
      name: data.accountName,
      owner_name: data.people.get(data.ownerId)?.name,
      active: true,
      created_at: '2024-01-15T09:00:00.000Z',
      updated_at: '2026-01-01T09:00:00.000Z',
      trial: false,
      trial_ends_on: null,
      frozen: false,
      paused: false,
      limits: { can_create_projects: true, can_pin_projects: true, can_create_users: true, can_upload_files: true },
      subscription: {
        short_name: 'pro_unlimited',
        proper_name: 'Basecamp Pro Unlimited',
        project_limit: null,
        teams: true,
        clients: true,
        templates: true,
        logo: true,
        timesheet: true,
      },
      settings: { company_hq_enabled: hq, teams_enabled: true, projects_enabled: true },
    };
  }

  function handleLaunchpad(req: IncomingMessage, res: ServerResponse, url: URL, method: string, body: string): number {
    if (method === 'GET' && url.pathname === '/authorization.json') {
      const auth = bearer(req);
      if (!auth || auth === 'expired') {
        send(res, 401, { error: auth ? 'OAuth token expired (old age).' : 'OAuth token is invalid' });
        return 401;
      }
      const person = data.people.get(auth.personId)!;
      const [first, ...rest] = person.name.split(' ');
      const accounts = [
        { product: 'bc3', id: data.accountId, name: data.accountName },
        ...(options.extraAccounts ?? []).map((a) => ({ product: a.product ?? 'bc3', id: a.id, name: a.name })),
      ].map((a) => ({
        ...a,
        href: a.product === 'bc3' ? `${baseUrl}/${a.id}` : `${baseUrl}/${a.id}/api/v1`,
        app_href: `https://3.basecamp.com/${a.id}`,
      }));
      send(res, 200, {
        expires_at: new Date(auth.expiresAt).toISOString(),
        identity: { id: 9_000_000 + person.id, first_name: first, last_name: rest.join(' '), email_address: person.email_address },
        accounts,
      });
      return 200;
    }
    if (method === 'GET' && url.pathname === '/authorization/new') {
      // The user "approves" at once: redirect back with a code, as Launchpad does after consent.
      const clientId = url.searchParams.get('client_id') ?? '';
      const redirectUri = url.searchParams.get('redirect_uri') ?? '';
      if (clientId !== oauthClient.id || !redirectUri) {
        send(res, 400, { error: 'unknown client_id or missing redirect_uri' });
        return 400;
      }
      const code = `sbc_${randomBytes(12).toString('hex')}`;
      codes.set(code, { personId: data.ownerId, redirectUri, clientId });
      const target = new URL(redirectUri);
      target.searchParams.set('code', code);
      const state = url.searchParams.get('state');
      if (state !== null) target.searchParams.set('state', state);
      send(res, 302, undefined, { Location: target.toString() });
      return 302;
    }
    if (method === 'POST' && url.pathname === '/authorization/token') {
      const form = new URLSearchParams(body);
      const type = form.get('type') ?? (form.get('grant_type') === 'refresh_token' ? 'refresh' : 'web_server');
      if (form.get('client_id') !== oauthClient.id || form.get('client_secret') !== oauthClient.secret) {
        send(res, 401, { error: 'invalid_client' });
        return 401;
      }
      if (type === 'refresh') {
        if (grantsRevoked) {
          send(res, 400, { error: 'authorization_expired' });
          return 400;
        }
        const rec = refreshTokens.get(form.get('refresh_token') ?? '');
        if (!rec) {
          send(res, 401, { error: 'Unknown Basecamp ID.' });
          return 401;
        }
        const issued = issueToken(rec.personId, tokenLifetime, form.get('client_id') ?? undefined);
        // Launchpad keeps the same refresh token on refresh; the new access token is what changes.
        refreshTokens.delete(issued.refresh_token);
        send(res, 200, { access_token: issued.access_token, token_type: 'Bearer', expires_in: issued.expires_in });
        return 200;
      }
      const code = codes.get(form.get('code') ?? '');
      if (!code || code.redirectUri !== form.get('redirect_uri')) {
        send(res, 400, { error: 'invalid_grant' });
        return 400;
      }
      codes.delete(form.get('code')!);
      const issued = issueToken(code.personId, tokenLifetime, code.clientId);
      send(res, 200, { ...issued, token_type: 'Bearer' });
      return 200;
    }
    send(res, 404, { error: 'Not found' });
    return 404;
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  return {
    url: baseUrl,
    token: ownerToken,
    accountId: data.accountId,
    data,
    requests,
    get throttled() {
      return throttled;
    },
    issueToken: (personId, lifetime) => issueToken(personId, lifetime),
    expireToken(token) {
      const rec = tokens.get(token);
      if (rec) rec.expiresAt = Date.now() - 1;
    },
    revokeAllGrants() {
      grantsRevoked = true;
      refreshTokens.clear();
      for (const rec of tokens.values()) rec.expiresAt = 0;
    },
    intercept(fn) {
      interceptor = fn;
    },
    apiRequests: () => requests.filter((r) => !r.path.startsWith('/authorization')),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
