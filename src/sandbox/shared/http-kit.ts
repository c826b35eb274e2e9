import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/**
 * What both fake products (./../bc3/, ./../bcx/) and the fake Launchpad share about HTTP: the request they
 * see and the reply they give, the 401 and 404 answers, ETag/304, pages (`?page=N`, Link headers), and
 * reading a write's JSON body. Each product keeps its own rules; only the mechanics live here.
 */

/** What the fake Basecamp and the fake Launchpad see of a request: already read whole, nothing to stream. */
export interface SandboxRequest {
  method: string;
  /** Parsed against a placeholder origin: only the path and query are the client's. */
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
  /** The sandbox's own origin, for the absolute URLs the real services hand out (Link, href). */
  baseUrl: string;
}

/** An answer, written by the server: `body` becomes JSON (or `html` is sent as a page); none is sent for 204 and 304. */
export interface Reply {
  status: number;
  body?: unknown;
  /** A page instead of JSON (the sandbox Launchpad's chooser). */
  html?: string;
  headers?: Record<string, string>;
}

/** Who a bearer token belongs to; 'expired' and undefined (unknown token) both answer 401. */
export type Authenticate = (authorization: string | undefined) => { personId: number } | 'expired' | undefined;

export const NOT_FOUND: Reply = { status: 404, body: { error: 'Not found' } };

/** Both APIs' answer to a token they cannot use: expired (Basecamp's own wording) or unknown. */
export function unauthorized(auth: 'expired' | undefined): Reply {
  return auth === 'expired'
    ? { status: 401, body: { error: 'OAuth token expired (old age). Refresh your token or acquire a new one at https://launchpad.37signals.com/authorization/new' } }
    : { status: 401, body: { error: 'OAuth token is invalid' }, headers: { 'WWW-Authenticate': 'Bearer realm="Basecamp"' } };
}

/** JSON with an ETag; 304 and no body when the client already has this version. */
export function withEtag(req: SandboxRequest, body: unknown, headers: Record<string, string> = {}): Reply {
  const etag = `W/"${createHash('sha1').update(JSON.stringify(body)).digest('hex').slice(0, 20)}"`;
  if (req.headers['if-none-match'] === etag) return { status: 304, headers: { ETag: etag, ...headers } };
  return { status: 200, body, headers: { ETag: etag, 'Cache-Control': 'max-age=0, private, must-revalidate', ...headers } };
}

/**
 * The page a `?page=` asks for: a positive whole number, however large (past the end it is an empty page).
 * Anything else (missing, 0, negative, fractional, not a number) means the first page.
 */
export function requestedPage(req: SandboxRequest): number {
  const param = req.url.searchParams.get('page');
  if (param === null || !/^\s*\+?\d+\s*$/.test(param)) return 1;
  const page = Number(param);
  return page >= 1 ? Math.min(page, Number.MAX_SAFE_INTEGER) : 1;
}

/** Geared pagination, as Basecamp 3/4/5 does it: 15, 30, 50, then 100 per page. */
const GEARED_SIZES = [15, 30, 50];
const gearedSize = (page: number) => GEARED_SIZES[page - 1] ?? 100;

/** Index of a geared page's first item, in closed form so an absurd `?page=` costs nothing. */
function gearedStart(page: number): number {
  const geared = GEARED_SIZES.slice(0, Math.min(page - 1, GEARED_SIZES.length)).reduce((a, b) => a + b, 0);
  return geared + Math.max(0, page - 1 - GEARED_SIZES.length) * 100;
}

/** One geared page of `items`, with X-Total-Count and, when more follow, an absolute `Link: <…>; rel="next"`. */
export function gearedPage(req: SandboxRequest, items: unknown[]): Reply {
  const pageNumber = requestedPage(req);
  const start = gearedStart(pageNumber);
  const slice = items.slice(start, start + gearedSize(pageNumber));
  const headers: Record<string, string> = { 'X-Total-Count': String(items.length) };
  if (start + slice.length < items.length) {
    const next = new URL(req.url.toString());
    next.searchParams.set('page', String(pageNumber + 1));
    headers.Link = `<${req.baseUrl}${next.pathname}${next.search}>; rel="next"`;
  }
  return withEtag(req, slice, headers);
}

/** One page of `perPage` items, Basecamp 2's way: no Link and no total; a short page is the last. */
export function numberedPage(req: SandboxRequest, items: unknown[], perPage: number): Reply {
  const start = (requestedPage(req) - 1) * perPage;
  return withEtag(req, items.slice(start, start + perPage));
}

/** A write turned down before it did anything: the reply to send instead. */
export class Refusal {
  constructor(readonly reply: Reply) {}
}

/** Basecamp reads a write's body only when it is declared JSON (415 otherwise). */
export function requireJson(req: SandboxRequest): Reply | undefined {
  if (/^application\/json/i.test(req.headers['content-type'] ?? '')) return undefined;
  return { status: 415, body: { error: 'Content-Type must be application/json' } };
}

/** The body as a JSON object, or 400: `null`, a number or a list is JSON too, but not a body Basecamp can read. */
export function parseBody(req: SandboxRequest): Record<string, unknown> | Refusal {
  const malformed = new Refusal({ status: 400, body: { error: 'Malformed JSON' } });
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body);
  } catch {
    return malformed;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return malformed;
  return parsed as Record<string, unknown>;
}

/** The whole numbers of a list of ids; anything else is no id at all. */
export const ids = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number).filter((n) => Number.isInteger(n)) : []);

export const isEmail = (s: string): boolean => /^[^@\s]+@[^@\s]+$/.test(s);
