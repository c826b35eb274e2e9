import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basecampApi, type BasecampOptions } from './bc3/api.js';
import { seedAccount, type SandboxData } from './bc3/seed.js';
import { bcxApi } from './bcx/api.js';
import { seedBcxAccount, type BcxData, type BcxPerson } from './bcx/seed.js';
import { isLaunchpadPath, Launchpad, type LaunchpadIdentities, type LaunchpadOptions } from './launchpad.js';
import type { Authenticate, Reply, SandboxRequest } from './shared/http-kit.js';
import type { SeedOptions } from './shared/seed-kit.js';

/**
 * The sandbox: a fake Basecamp 3/4/5 API (./bc3/) and a fake Launchpad (./launchpad.ts) on one port of
 * 127.0.0.1, behaving as docs/basecamp-api.md says. Both products' APIs are route modules on one router
 * (./shared/router.ts) with one kit of HTTP helpers (./shared/http-kit.ts). This file is what they all share on
 * the wire: the request log, test interceptors, X-Request-Id, and the User-Agent check and rate limit in front
 * of the API.
 * Used by `serve --sandbox`, `sandbox`, the demo, the benchmark and the tests.
 *
 * With `product: 'bcx'` the sandbox's account is a Basecamp 2 one (./bcx/): its API is under
 * `/{account_id}/api/v1`, and a Basecamp 3/4/5 account (`data`, the usual seed) is served and listed beside it,
 * so choosing between products can be tried; `alsoList: true` does the same for a Basecamp 3/4/5 sandbox. The
 * owner is one Launchpad identity on both accounts (the same email address), so one token works on either.
 */

export interface SandboxOptions extends SeedOptions, BasecampOptions, LaunchpadOptions {
  port?: number;
  host?: string;
  /** Requests allowed per window before 429 (Basecamp 3/4/5: 50 per 10 s; Basecamp 2: 500 per 10 s). */
  rateLimit?: { max: number; windowMs: number };
  /**
   * The product of the sandbox's account: 'bc3' (Basecamp 3/4/5, the default) or 'bcx' (Basecamp 2). The seed
   * options (`people`, `seed`, `accountId`) shape that account.
   */
  product?: 'bc3' | 'bcx';
  /** Also serve, and list in authorization.json, an account of the other product (always so for 'bcx'). */
  alsoList?: boolean;
}

export interface RecordedRequest {
  at: number;
  method: string;
  path: string;
  /** The status answered; -1 when an interceptor dropped the connection. */
  status: number;
  userAgent?: string;
  /** The Authorization header as received (the sandbox is a test double; a real server would never keep this). */
  authorization?: string;
  body?: string;
}

/** A test hook: return a response to override the sandbox for one request. */
export type Interceptor = (req: { method: string; path: string; body: string; userAgent?: string }) =>
  | { status?: number; headers?: Record<string, string>; body?: unknown; destroy?: boolean; delayMs?: number }
  | undefined;

export interface Sandbox {
  url: string;
  /** A valid access token for the account owner. */
  token: string;
  /** The sandbox account's id (the Basecamp 2 one when `product` is 'bcx'). */
  accountId: number;
  /** The product of the account `accountId` names. */
  product?: 'bc3' | 'bcx';
  /** That account's API base, as authorization.json's `href`: `${url}/${accountId}` (bc3) or `${url}/${accountId}/api/v1` (bcx). */
  apiBase?: string;
  /** The Basecamp 3/4/5 account's data (beside the Basecamp 2 one when `product` is 'bcx'). */
  data: SandboxData;
  /** The Basecamp 2 account's data, when there is one (`product: 'bcx'` or `alsoList`). */
  bcx?: BcxData;
  requests: RecordedRequest[];
  /** Number of 429s answered. */
  throttled: number;
  /** Issue a fresh access token (and refresh token) for a person; the owner by default. */
  issueToken(personId?: number, lifetimeSeconds?: number): { access_token: string; refresh_token: string; expires_in: number };
  /** Make an access token expired, as if two weeks had passed. */
  expireToken(token: string): void;
  /** Kill every grant (as when the user changes their password): refresh answers authorization_expired. */
  revokeAllGrants(): void;
  /** Make every access token of one person expired (their refresh token still works). */
  expireTokensOf(personId: number): void;
  /** How many times a person's refresh token was used to get a new access token. */
  refreshes(personId: number): number;
  intercept(fn: Interceptor | undefined): void;
  /** API requests only (not Launchpad), for "the sandbox saw no request" assertions. */
  apiRequests(): RecordedRequest[];
  close(): Promise<void>;
}

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const product = options.product ?? 'bc3';
  const isBcx = product === 'bcx';
  // The seed options shape the sandbox's own account; the account beside it gets the usual seed.
  const data = seedAccount(isBcx ? { seed: options.seed } : options);
  if (options.clientSeats !== undefined) data.clientSeats = options.clientSeats;
  if (options.userLimit !== undefined) data.userLimit = options.userLimit;
  const bcx = isBcx ? seedBcxAccount(options) : options.alsoList ? seedBcxAccount({ seed: options.seed }) : undefined;
  const launchpad = new Launchpad(data, options, bcx && identities(data, bcx, isBcx));
  const ownerToken = launchpad.issueTokens().access_token;
  const grantFor: Authenticate = (authorization) => launchpad.grantFor(authorization);
  const basecamp = basecampApi(data, options, bcx ? bc3Person(data, bcx, grantFor) : grantFor);
  const basecamp2 = bcx && bcxApi(bcx, grantFor, (id) => samePerson(bcx.people.get(id), data.people.get(id)?.email_address, bcx.people));
  const bcxPrefix = bcx && `/${bcx.accountId}/api/v1/`;
  const admit = slidingWindow(options.rateLimit ?? { max: isBcx ? 500 : 50, windowMs: 10_000 });
  const requests: RecordedRequest[] = [];
  let interceptor: Interceptor | undefined;
  let throttled = 0;
  let baseUrl = '';

  /** Launchpad is a separate service: it has no User-Agent rule and no share of the API's rate limit. */
  function route(req: SandboxRequest): Reply {
    if (isLaunchpadPath(req.url.pathname)) return launchpad.handle(req);
    if (!req.headers['user-agent']) {
      return { status: 400, body: { error: 'You must include a User-Agent header with the name of your app and a contact URL or email' } };
    }
    const retryAfter = admit(Date.now());
    if (retryAfter !== undefined) {
      throttled++;
      return { status: 429, body: { error: 'Rate limit exceeded' }, headers: { 'Retry-After': String(retryAfter) } };
    }
    if (basecamp2 && bcxPrefix && req.url.pathname.startsWith(bcxPrefix)) return basecamp2(req);
    return basecamp(req);
  }

  async function handle(req: IncomingMessage, res: ServerResponse, body: string): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sandbox.invalid');
    const method = req.method ?? 'GET';
    const userAgent = req.headers['user-agent'];
    const record: RecordedRequest = {
      at: Date.now(),
      method,
      path: url.pathname + url.search,
      status: 0,
      userAgent,
      authorization: req.headers.authorization,
      body: body || undefined,
    };
    requests.push(record);
    if (requests.length > 50_000) requests.splice(0, 10_000); // a long benchmark must not grow without bound

    const override = interceptor?.({ method, path: record.path, body, userAgent });
    if (override?.delayMs) await new Promise((resolve) => setTimeout(resolve, override.delayMs));
    if (override?.destroy) {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    // An override without a status only delays: the request then goes on as usual.
    const reply: Reply =
      override?.status !== undefined
        ? { status: override.status, body: override.body, headers: override.headers }
        : route({ method, url, headers: req.headers, body, baseUrl });
    record.status = reply.status;
    write(res, reply);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        if (!res.headersSent) write(res, { status: 500, body: { error: String(error) } });
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const accountId = isBcx ? bcx!.accountId : data.accountId;

  return {
    url: baseUrl,
    token: ownerToken,
    accountId,
    product,
    apiBase: isBcx ? `${baseUrl}/${accountId}/api/v1` : `${baseUrl}/${accountId}`,
    data,
    ...(bcx ? { bcx } : {}),
    requests,
    get throttled() {
      return throttled;
    },
    issueToken: (personId, lifetimeSeconds) => launchpad.issueTokens(personId, lifetimeSeconds),
    expireToken: (token) => launchpad.expireToken(token),
    revokeAllGrants: () => launchpad.revokeAllGrants(),
    expireTokensOf: (personId) => launchpad.expireTokensOf(personId),
    refreshes: (personId) => launchpad.refreshes(personId),
    intercept(fn) {
      interceptor = fn;
    },
    apiRequests: () => requests.filter((r) => !isLaunchpadPath(r.path)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Launchpad's view when both products are served: the sandbox's own account is listed first. */
function identities(data: SandboxData, bcx: BcxData, bcxFirst: boolean): LaunchpadIdentities {
  const bc3Account = { product: 'bc3' as const, id: data.accountId, name: data.accountName };
  const bcxAccount = { product: 'bcx' as const, id: bcx.accountId, name: bcx.accountName };
  return {
    ownerId: bcxFirst ? bcx.ownerId : data.ownerId,
    person(id) {
      const p = bcx.people.get(id) ?? bcx.trashedPeople.get(id);
      if (p) return p;
      const q = data.people.get(id);
      // As without a Basecamp 2 account; the owners of both accounts are one identity (10000001) by seed.
      return q && { name: q.name, email_address: q.email_address, identity_id: 9_000_000 + q.id };
    },
    // The owner of both accounts is one identity: the Basecamp 3/4/5 account's owner is not listed again.
    list: () => [...bcx.people.keys(), ...[...data.people.keys()].filter((id) => !samePerson(undefined, data.people.get(id)?.email_address, bcx.people))],
    accounts: bcxFirst ? [bcxAccount, bc3Account] : [bc3Account, bcxAccount],
  };
}

/** A person of `people` — the one given, or else the one with that email address (the same identity). */
function samePerson<P extends { email_address: string | null }>(given: P | undefined, email: string | null | undefined, people: Map<number, P>): P | undefined {
  if (given) return given;
  const wanted = email?.toLowerCase();
  return wanted ? [...people.values()].find((p) => p.email_address?.toLowerCase() === wanted) : undefined;
}

/** Basecamp 3/4/5 authentication when tokens may stand for Basecamp 2 people: they act as the same identity there. */
function bc3Person(data: SandboxData, bcx: BcxData, grantFor: Authenticate): Authenticate {
  return (authorization) => {
    const grant = grantFor(authorization);
    if (!grant || grant === 'expired' || data.people.has(grant.personId)) return grant;
    const bcxPerson: BcxPerson | undefined = bcx.people.get(grant.personId) ?? bcx.trashedPeople.get(grant.personId);
    const person = samePerson(undefined, bcxPerson?.email_address, data.people);
    // Someone who is not on this account still holds a valid token: the API answers them 404, not 401.
    return person ? { personId: person.id } : grant;
  };
}

/** Every response, like Basecamp's, carries an X-Request-Id; bodies are JSON. */
function write(res: ServerResponse, { status, body, html, headers = {} }: Reply): void {
  res.statusCode = status;
  res.setHeader('X-Request-Id', randomBytes(8).toString('hex'));
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (html !== undefined) {
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.end(html);
    return;
  }
  if (body === undefined || status === 204 || status === 304) {
    res.end();
    return;
  }
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

/**
 * Basecamp's limit is a sliding window per IP, and every sandbox client is the one loopback IP. Admits a
 * request (undefined) or says how many seconds until one would be admitted.
 */
function slidingWindow({ max, windowMs }: { max: number; windowMs: number }): (now: number) => number | undefined {
  const admitted: number[] = [];
  return (now) => {
    while (admitted.length && admitted[0]! <= now - windowMs) admitted.shift();
    if (admitted.length >= max) return Math.max(1, Math.ceil((admitted[0]! + windowMs - now) / 1000));
    admitted.push(now);
    return undefined;
  };
}
