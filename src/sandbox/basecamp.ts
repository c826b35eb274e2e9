import { createHash } from 'node:crypto';
import { setClientEnablement, updateProjectClients } from './clients.js';
import { enrollPeople } from './enrollments.js';
import { redactAnswer, viewOf } from './masking.js';
import { updateProjectPeople } from './project-people.js';
import { type Reply, type SandboxRequest, unauthorized } from './reply.js';
import type { SandboxData, SandboxPerson, SandboxProject } from './seed.js';

/**
 * A fake Basecamp 3/4/5 API for one account, `/{account_id}/...`, as docs/basecamp-api.md describes it: the
 * people and project endpoints the client uses (with clients, client enablement and account enrollments:
 * ./clients.ts, ./enrollments.ts), geared pages with an absolute Link and X-Total-Count,
 * ETag/304, 401 for a bad or expired token, 404 for everything else (including the endpoints third-party
 * guides invent). User-Agent and rate limiting are checked in front of it, by the server.
 */

export interface BasecampOptions {
  /** Pretend the account is inactive (every API call answers 404 with `Reason: Account Inactive`). */
  inactive?: boolean;
  /**
   * Client seats on the account (`data.clientSeats`, changeable later): a client_users.json create that would
   * need more answers 429 without Retry-After. Default: 50 more than the seeded clients.
   */
  clientSeats?: number;
  /**
   * Most team members (Users who are not clients) the account may have (`data.userLimit`, changeable later):
   * an enrollment that would create more answers 507. Default: no limit.
   */
  userLimit?: number;
  /** `false`: an account without enrollments (POST /account/enrollments/people.json answers 404). */
  enrollments?: boolean;
}

/** Who a bearer token belongs to; 'expired' and undefined (unknown token) both answer 401. */
export type Authenticate = (authorization: string | undefined) => { personId: number } | 'expired' | undefined;

const NOT_FOUND: Reply = { status: 404, body: { error: 'Not found' } };

export function basecampApi(data: SandboxData, options: BasecampOptions, authenticate: Authenticate): (req: SandboxRequest) => Reply {
  return (req) => {
    const auth = authenticate(req.headers.authorization);
    if (auth === 'expired' || !auth) return unauthorized(auth);
    const m = /^\/(\d+)(\/.*)$/.exec(req.url.pathname);
    if (!m || Number(m[1]) !== data.accountId) return NOT_FOUND;
    if (options.inactive) return { status: 404, body: { error: 'Account Inactive' }, headers: { Reason: 'Account Inactive' } };
    // Basecamp's official SDK leaves `.json` off single resources; both spellings work.
    const path = m[2]!.replace(/\.json$/, '');
    if (req.method === 'GET') return read(req, path, auth.personId, data) ?? NOT_FOUND;
    const me = data.people.get(auth.personId)!;
    // The people in a write's answer are masked for a non-admin as in any read (./masking.ts).
    const reply = write(req, path, data, me, options);
    return reply.body === undefined ? reply : { ...reply, body: redactAnswer(reply.body, me) };
  };
}

function write(req: SandboxRequest, path: string, data: SandboxData, me: SandboxPerson, options: BasecampOptions): Reply {
  let match = /^\/projects\/(\d+)\/people\/(users|client_users)$/.exec(path);
  if (req.method === 'PUT' && match) return (match[2] === 'users' ? updateProjectPeople : updateProjectClients)(data, Number(match[1]), me, req);
  match = /^\/projects\/(\d+)\/client_enablement$/.exec(path);
  if ((req.method === 'POST' || req.method === 'DELETE') && match) return setClientEnablement(data, Number(match[1]), me, req, req.method === 'POST');
  if (req.method === 'POST' && path === '/account/enrollments/people' && options.enrollments !== false) return enrollPeople(data, me, req);
  return NOT_FOUND;
}

function read(req: SandboxRequest, path: string, meId: number, data: SandboxData): Reply | undefined {
  const accountUrl = `${req.baseUrl}/${data.accountId}`;
  /** Projects the token's owner is not on are invisible, so 404, as in Basecamp. */
  const visibleProject = (id: string) => {
    const project = data.projects.get(Number(id));
    return project?.members.has(meId) ? project : undefined;
  };

  // Other people's addresses are masked unless the token's person is an admin or owner (./masking.ts).
  const view = viewOf(data.people.get(meId));
  if (path === '/people') return page(req, [...data.people.values()].map(view));
  if (path === '/my/profile') return withEtag(req, data.people.get(meId));
  if (path === '/account') return withEtag(req, accountJson(data));
  if (path === '/projects') {
    const status = req.url.searchParams.get('status') ?? 'active';
    if (!['active', 'archived', 'trashed'].includes(status)) return { status: 400, body: { error: `Invalid status ${status}` } };
    const list = [...data.projects.values()].filter((p) => p.status === status && p.members.has(meId));
    return page(req, list.map((p) => projectJson(p, accountUrl)));
  }
  let m = /^\/people\/(\d+)$/.exec(path);
  if (m) {
    const person = data.people.get(Number(m[1]));
    return person ? withEtag(req, view(person)) : NOT_FOUND;
  }
  m = /^\/projects\/(\d+)$/.exec(path);
  if (m) {
    const project = visibleProject(m[1]!);
    return project ? withEtag(req, projectJson(project, accountUrl)) : NOT_FOUND;
  }
  m = /^\/projects\/(\d+)\/people$/.exec(path);
  if (m) {
    const project = visibleProject(m[1]!);
    if (!project) return NOT_FOUND;
    return page(req, [...project.members].flatMap((id) => data.people.get(id) ?? []).map(view));
  }
  return undefined;
}

/** JSON with an ETag; 304 and no body when the client already has this version. */
export function withEtag(req: SandboxRequest, body: unknown, headers: Record<string, string> = {}): Reply {
  const etag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('hex').slice(0, 20)}"`;
  if (req.headers['if-none-match'] === etag) return { status: 304, headers: { ETag: etag, ...headers } };
  return { status: 200, body, headers: { ETag: etag, 'Cache-Control': 'max-age=0, private, must-revalidate', ...headers } };
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

function page(req: SandboxRequest, items: unknown[]): Reply {
  const pageNumber = requestedPage(req.url.searchParams.get('page'));
  const start = pageStart(pageNumber);
  const slice = items.slice(start, start + pageSize(pageNumber));
  const headers: Record<string, string> = { 'X-Total-Count': String(items.length) };
  if (start + slice.length < items.length) {
    const next = new URL(req.url.toString());
    next.searchParams.set('page', String(pageNumber + 1));
    headers.Link = `<${req.baseUrl}${next.pathname}${next.search}>; rel="next"`;
  }
  return withEtag(req, slice, headers);
}

/** A project as Basecamp sends it: no member list, and API URLs on this sandbox. */
function projectJson(p: SandboxProject, accountUrl: string): Record<string, unknown> {
  const { members: _members, app_url, ...rest } = p;
  return { ...rest, bookmark_url: `${accountUrl}/my/bookmarks/${p.id}.json`, url: `${accountUrl}/projects/${p.id}.json`, app_url };
}

function accountJson(data: SandboxData): Record<string, unknown> {
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
    limits: {
      can_create_projects: true,
      can_pin_projects: true,
      can_create_users: data.userLimit === undefined || [...data.people.values()].filter((p) => p.personable_type === 'User' && !p.client).length < data.userLimit,
      can_upload_files: true,
    },
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
    settings: { company_hq_enabled: [...data.projects.values()].some((p) => p.purpose === 'company_hq'), teams_enabled: true, projects_enabled: true },
  };
}
