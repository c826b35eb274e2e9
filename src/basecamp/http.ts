import { AsyncLocalStorage } from 'node:async_hooks';
import type { Dispatcher } from 'undici';
import { undici } from './undici.js';
import { CancelledError, UpstreamError, type RowRefusal, type UpstreamDetails } from './errors.js';
import { errorForFailure } from './rules/telling.js';
import { FIRST_ATTEMPT, step, type RequestShape, type Seen } from './rules/history.js';
import { nextPageUrl, withoutFragment } from './link-header.js';
import type { RateBudget } from './rate-budget.js';
import { log } from '../log.js';
import { assertSecureUrl } from '../security.js';

/** Where the bearer token comes from. The auth module (refresh, token file) implements this. */
export interface Credentials {
  /** The token to send now; may refresh first when the token is about to expire. */
  accessToken(signal?: AbortSignal): Promise<string>;
  /**
   * Called once after a 401 answered `rejectedToken`. Resolves true when a different token is now
   * available and the request should be retried once; false (or throws) otherwise.
   */
  recoverFromUnauthorized?(rejectedToken: string, basecampMessage: string | undefined, signal?: AbortSignal): Promise<boolean>;
  /** What to tell the user when a 401 cannot be recovered. */
  unauthorizedAdvice?(basecampMessage: string | undefined): string;
}

export interface HttpOptions {
  /** Account base, e.g. https://3.basecampapi.com/999; a function when it must be discovered first. */
  accountBase: string | ((signal?: AbortSignal) => Promise<string>);
  credentials: Credentials;
  userAgent: string;
  budget: RateBudget;
  connectTimeoutMs?: number;
  /** Whole request, headers and body, per attempt. */
  requestTimeoutMs?: number;
  /** Attempts for a retryable read (the first one included). */
  maxAttempts?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** Longest Retry-After we wait out inside one call; longer ones are reported to the caller. */
  maxRetryAfterMs?: number;
  /** Safety cap on pages for one collection. */
  maxPages?: number;
  dispatcher?: Dispatcher;
}

export type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  signal?: AbortSignal;
  /** A 429 without Retry-After means "no seat left" here (client_users.json): see rules/decide.ts. */
  seatLimited?: boolean;
  /**
   * An idempotent write (a Basecamp 2 DELETE): re-sent after an unknown outcome; with `goneOn404`, a 404 to a
   * re-send answers `alreadyGone` (the first one did it). See rules/decide.ts.
   */
  idempotent?: boolean;
  goneOn404?: boolean;
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  /** An idempotent DELETE whose re-send, after an unknown outcome, found the thing gone (404). */
  alreadyGone?: true;
}

/** Basecamp's X-Request-Id of an answer (for the audit trail and error messages). */
export function requestIdOf(res: { headers: Record<string, string | string[] | undefined> }): string | undefined {
  const id = res.headers['x-request-id'];
  return typeof id === 'string' ? id : undefined;
}

export interface Collection<T> {
  items: T[];
  /** X-Total-Count from the first page, when sent. */
  total?: number;
  pages: number;
  /** Set when not every page could be read; says why. */
  truncated?: string;
}

/** What a paged read has read so far: told after each page (progress on long reads). */
export interface PagesRead {
  pages: number;
  items: number;
  /** The collection's size, when Basecamp announced it (X-Total-Count on the first page). */
  total?: number;
}
export type PageListener = (read: PagesRead) => void;
const pageListener = new AsyncLocalStorage<PageListener>();

/**
 * Runs `fn` with `onPage` told after each page of every paged read it (and everything it awaits) makes, as log.ts
 * sends a call's log lines to its client: the paged reads' signatures stay as they are.
 */
export function withPageListener<T>(onPage: PageListener, fn: () => T): T {
  return pageListener.run(onPage, fn);
}

/**
 * The keep-alive agent a BasecampHttp makes for itself, or one shared by many (HttpOptions.dispatcher: under
 * MCP_AUTH=oauth every person's client uses one, closed with the shared parts).
 */
export async function keepAliveAgent(connectTimeoutMs = 10_000): Promise<Dispatcher> {
  const { Agent } = await undici();
  return new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000, connections: 16 });
}

type Wire = { request: (typeof import('undici'))['request']; dispatcher: Dispatcher };

/** One attempt on the wire. */
type Sent =
  | { type: 'answered'; status: number; headers: Record<string, string | string[] | undefined>; raw: string }
  | { type: 'failed'; code: string; timedOut: boolean; reason: string; error: unknown }
  | { type: 'cancelled'; error: unknown };

/** The body as JSON: null when empty, undefined when it is not JSON. */
function parseJson(raw: string): unknown {
  if (raw.length === 0) return null;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/** What an attempt got, as the rules read it (`data`: the parsed body of an answer, undefined when not JSON). */
function seenOf(sent: Sent, data: unknown): Seen {
  if (sent.type === 'cancelled') return { type: 'cancelled' };
  if (sent.type === 'failed') return { type: 'connection', code: sent.code, timedOut: sent.timedOut, reason: sent.reason };
  const { status, headers } = sent;
  return { type: 'status', status, retryAfterSeconds: parseRetryAfter(headers['retry-after']), bodyIsJson: data !== undefined, reasonHeader: header(headers, 'reason') };
}

/**
 * The longest Retry-After honoured. A larger one (a date in year 9999, or 400 digits read as Infinity) would
 * pause every call for good, and with REDIS_URL the pause key would outlive restarts of the whole fleet.
 */
export const MAX_RETRY_AFTER_SECONDS = 24 * 60 * 60;

export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  let seconds: number;
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) seconds = Number(text);
  else {
    const date = Date.parse(text);
    if (Number.isNaN(date)) return undefined;
    seconds = (date - now) / 1000;
  }
  return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(0, Math.ceil(seconds)));
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Every `Link` header of an answer as one list (RFC 8288: several headers mean the same as one joined by commas). */
function linkHeader(headers: Record<string, string | string[] | undefined>): string | undefined {
  const v = headers.link;
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Basecamp's error text from `{"error": "..."}` or `{"errors": {"field": ["msg"]}}`. */
function basecampMessageOf(body: unknown, raw: string): string | undefined {
  if (body && typeof body === 'object') {
    const b = body as { error?: unknown; errors?: unknown };
    if (typeof b.error === 'string') return b.error;
    if (Array.isArray(b.errors)) return b.errors.map(rowError).join('; ');
    if (b.errors && typeof b.errors === 'object') {
      return Object.entries(b.errors as Record<string, unknown>)
        .map(([field, msgs]) => `${field} ${Array.isArray(msgs) ? msgs.join(', ') : String(msgs)}`)
        .join('; ');
    }
  }
  const trimmed = raw.trim();
  return trimmed ? trimmed.slice(0, 300) : undefined;
}

/** The rows of a per-row 422 (`{"errors": [...]}`) as data, so no one parses them back out of the message. */
function rowRefusalsOf(body: unknown): RowRefusal[] | undefined {
  const errors = body && typeof body === 'object' ? (body as { errors?: unknown }).errors : undefined;
  return Array.isArray(errors) ? errors.map(rowRefusal) : undefined;
}

/**
 * One row of a per-row 422: `{index, messages}` (enrollments: the 0-based position in `people`) or `{email_address, messages}`
 * (client_users.json create; a blank row has email_address null).
 */
function rowRefusal(row: unknown): RowRefusal {
  const r = (row ?? {}) as { index?: unknown; email_address?: unknown; messages?: unknown };
  const message = Array.isArray(r.messages) ? r.messages.map(String).join(', ') : String(r.messages ?? 'invalid');
  if (typeof r.index === 'number') return { index: r.index, message };
  if ('email_address' in r) return { email_address: typeof r.email_address === 'string' ? r.email_address : null, message };
  return { message };
}

function rowError(row: unknown): string {
  const r = rowRefusal(row);
  if (r.index !== undefined) return `people[${r.index}]: ${r.message}`;
  if (r.email_address !== undefined) return `${r.email_address ?? '(blank row)'}: ${r.message}`;
  return r.message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new CancelledError('Cancelled.'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new CancelledError('Cancelled while waiting to retry.'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class BasecampHttp {
  private readonly options: Required<Omit<HttpOptions, 'dispatcher' | 'accountBase'>> & Pick<HttpOptions, 'accountBase'>;
  /** The keep-alive agent, made with the first request (undici is loaded only when a request is sent). */
  private dispatcher: Promise<Dispatcher> | undefined;
  private readonly ownsDispatcher: boolean;
  constructor(options: HttpOptions) {
    this.options = {
      connectTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      maxAttempts: 3,
      retryBaseMs: 1_000,
      retryMaxMs: 30_000,
      maxRetryAfterMs: 60_000,
      maxPages: 200,
      ...options,
    };
    if (typeof options.accountBase === 'string') assertSecureUrl(options.accountBase, 'BASECAMP_API_URL');
    this.ownsDispatcher = !options.dispatcher;
    if (options.dispatcher) this.dispatcher = Promise.resolve(options.dispatcher);
  }

  private agent(): Promise<Dispatcher> {
    return (this.dispatcher ??= keepAliveAgent(this.options.connectTimeoutMs));
  }

  get credentials(): Credentials {
    return this.options.credentials;
  }

  get budget(): RateBudget {
    return this.options.budget;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher && this.dispatcher) await (await this.dispatcher).close();
  }

  private async resolveUrl(pathOrUrl: string, query: RequestOptions['query'], signal?: AbortSignal): Promise<URL> {
    let url: URL;
    if (/^https?:\/\//.test(pathOrUrl)) {
      url = new URL(pathOrUrl);
    } else {
      const base =
        typeof this.options.accountBase === 'string' ? this.options.accountBase : await this.options.accountBase(signal);
      assertSecureUrl(base, 'The Basecamp account URL');
      url = new URL(base.replace(/\/+$/, '') + pathOrUrl);
    }
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  /**
   * One request: a thin loop around the rules (src/basecamp/rules/). Each attempt is sent, what it got is folded
   * into the request's history by `step`, and this loop does what `step` says next: return, wait and re-send,
   * pause the budget, refresh the credentials, or throw the failure as `errorForFailure` tells it.
   */
  async request<T>(method: Method, pathOrUrl: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
    const { signal } = opts;
    const url = await this.resolveUrl(pathOrUrl, opts.query, signal);
    const write = method !== 'GET';
    const path = url.pathname + url.search;
    const describe = (d: UpstreamDetails): UpstreamDetails => ({ method, path, ...d });
    const credentials = this.options.credentials;
    const shape: RequestShape = {
      write,
      maxAttempts: this.options.maxAttempts,
      canRefresh: credentials.recoverFromUnauthorized !== undefined,
      maxRetryAfterMs: this.options.maxRetryAfterMs,
      retryBaseMs: this.options.retryBaseMs,
      retryMaxMs: this.options.retryMaxMs,
      seatLimited: opts.seatLimited,
      idempotent: write && opts.idempotent === true,
      goneOn404: opts.goneOn404 === true,
    };
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);

    for (let history = FIRST_ATTEMPT; ; ) {
      if (signal?.aborted) throw new CancelledError('Cancelled; nothing more was sent.', describe({}));
      const token = await credentials.accessToken(signal);
      // Loaded before the grant: time spent between a grant and its arrival at Basecamp shifts the sliding window.
      const wire = await this.wire();
      await this.options.budget.acquire(signal);
      const sent = await this.send(wire, method, url, token, body, signal);
      const answered = sent.type === 'answered' ? { ...sent, data: parseJson(sent.raw) } : undefined;
      const details = answered
        ? describe({
            status: answered.status,
            requestId: header(answered.headers, 'x-request-id'),
            basecampMessage: answered.status >= 400 ? basecampMessageOf(answered.data, answered.raw) : undefined,
            rows: answered.status >= 400 ? rowRefusalsOf(answered.data) : undefined,
          })
        : describe({});

      let { history: after, next } = step(shape, history, seenOf(sent, answered?.data), Math.random());
      if (next.do === 'refresh') {
        const recovered = await credentials.recoverFromUnauthorized!(token, details.basecampMessage, signal);
        ({ history: after, next } = step(shape, after, { type: 'refreshed', recovered }, Math.random()));
      }
      history = after;
      const what = answered ? `${answered.status}` : sent.type === 'failed' ? sent.reason : 'cancelled';
      switch (next.do) {
        case 'send':
          continue;
        case 'retry':
          if (answered) log.debug(`${what} on ${method} ${url.pathname}; retrying in ${next.delayMs} ms`);
          else log.debug(`${method} ${url.pathname}: ${what}; retrying (attempt ${history.attempt})`);
          await sleep(next.delayMs, signal);
          continue;
        case 'pause-and-retry':
          log.info(`${what} from Basecamp on ${method} ${url.pathname}; pausing all requests for ${next.pauseMs} ms`);
          await this.options.budget.pause(next.pauseMs); // holds back every queued request; the next acquire waits
          continue;
        case 'return':
        case 'already-gone': {
          if (!answered) throw new Error(`request rules: ${next.do} after no answer`);
          const { status, headers } = answered;
          if (next.do === 'return') return { status, data: answered.data as T, headers, url: url.toString() };
          log.info(`${method} ${url.pathname}: 404 after an earlier attempt without a clear answer: the first one went through (already gone)`);
          return { status, data: null as T, headers, url: url.toString(), alreadyGone: true };
        }
        case 'fail':
          if (next.pauseMs !== undefined) await this.options.budget.pause(next.pauseMs); // a 429 holds back everyone
          throw errorForFailure({
            ...next.failed,
            details,
            cause: sent.type === 'answered' ? undefined : sent.error,
            unauthorizedAdvice: details.status === 401 ? credentials.unauthorizedAdvice?.(details.basecampMessage) : undefined,
          });
      }
    }
  }

  /** undici's request and the agent, loaded and made with the first request. */
  private async wire(): Promise<Wire> {
    const [{ request }, dispatcher] = await Promise.all([undici(), this.agent()]);
    return { request, dispatcher };
  }

  /** One attempt on the wire: its answer, or why there was none. Never throws. */
  private async send(wire: Wire, method: Method, url: URL, token: string, body: string | undefined, signal: AbortSignal | undefined): Promise<Sent> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      'user-agent': this.options.userAgent,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
    // One controller per attempt, fed by the caller's signal and our timeout; the listener is removed after,
    // so long loops over one MCP request do not pile listeners on its signal (AbortSignal.any leaks on Node 20).
    const attemptAbort = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      attemptAbort.abort(new Error('request timeout'));
    }, this.options.requestTimeoutMs);
    const forward = () => attemptAbort.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      const res = await wire.request(url, {
        method,
        headers,
        body,
        dispatcher: wire.dispatcher,
        signal: attemptAbort.signal,
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
      });
      return { type: 'answered', status: res.statusCode, headers: res.headers, raw: await res.body.text() };
    } catch (error) {
      if (signal?.aborted) return { type: 'cancelled', error };
      const code = (error as { code?: string }).code ?? (error as Error).name;
      const noAnswer = timedOut || /Timeout/i.test(code);
      const reason = noAnswer ? `no answer within ${this.options.requestTimeoutMs} ms` : `connection failed (${code})`;
      return { type: 'failed', code, timedOut: noAnswer, reason, error };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }

  /**
   * Reads every page of a collection by following `Link: rel="next"`, up to the page cap. A listing never
   * requests a URL twice and never returns an entity (same `id`) twice, so a looping Link chain costs one
   * page, not the cap; a chain that cannot go on is reported in `truncated`, never silently cut.
   */
  async getAll<T>(path: string, opts: { query?: RequestOptions['query']; signal?: AbortSignal; maxPages?: number } = {}): Promise<Collection<T>> {
    const maxPages = opts.maxPages ?? this.options.maxPages;
    const items: T[] = [];
    const seenIds = new Set<string | number>();
    const alreadyRead = new Set<string>();
    let total: number | undefined;
    let pages = 0;
    let next: string | undefined = path;
    let query = opts.query;
    while (next) {
      if (pages >= maxPages) {
        return { items, total, pages, truncated: `stopped after the safety cap of ${maxPages} pages` };
      }
      const res: HttpResponse<unknown> = await this.request<unknown>('GET', next, { query, signal: opts.signal });
      query = undefined; // the next link carries its own query
      pages++;
      alreadyRead.add(withoutFragment(res.url));
      if (!Array.isArray(res.data)) throw new UpstreamError(`Expected a list from GET ${path}, got something else.`);
      const added = addNewEntities(items, res.data as T[], seenIds);
      if (pages === 1) {
        const t = Number(header(res.headers, 'x-total-count'));
        if (Number.isFinite(t) && t >= 0) total = t;
      }
      pageListener.getStore()?.({ pages, items: items.length, ...(total !== undefined ? { total } : {}) });
      if (res.data.length > 0 && added === 0) {
        // Distinct URLs serving pages already read: a loop we cannot see in the links themselves.
        const why = `page ${pages} held only entries already read, so the next links are going round in a loop`;
        log.warn(`Stopped reading ${path}: ${why}`);
        return { items, total, pages, truncated: why };
      }
      const link = nextPageUrl(linkHeader(res.headers), res.url, alreadyRead);
      if (link.refused) {
        log.warn(`Not following the next page of ${path}: ${link.refused}`);
        return { items, total, pages, truncated: `the next page link could not be followed: ${link.refused}` };
      }
      next = link.url;
    }
    return { items, total, pages };
  }

  /**
   * Reads a collection paged by number (Basecamp 2's accesses: `?page=N`, no Link header): asks page N+1 only
   * while page N came back full (`perPage` entries), up to the page cap. Each page number is asked once, and an
   * entity (same `id`) is returned once; a full page that brings nothing new (the pages going round) and the
   * cap are reported in `truncated`, never silently cut. Reads only: the rules of `request` apply to each page.
   */
  async getAllByPage<T>(
    path: string,
    perPage: number,
    opts: { query?: RequestOptions['query']; signal?: AbortSignal; maxPages?: number } = {},
  ): Promise<Collection<T>> {
    if (!Number.isInteger(perPage) || perPage < 1) throw new RangeError(`getAllByPage: perPage must be a positive whole number, not ${perPage}`);
    const maxPages = opts.maxPages ?? this.options.maxPages;
    const items: T[] = [];
    const seenIds = new Set<string | number>();
    for (let page = 1; ; page++) {
      if (page > maxPages) {
        return { items, pages: page - 1, truncated: `stopped after the safety cap of ${maxPages} pages` };
      }
      const res = await this.request<unknown>('GET', path, { query: { ...opts.query, page }, signal: opts.signal });
      if (!Array.isArray(res.data)) throw new UpstreamError(`Expected a list from GET ${path} (page ${page}), got something else.`);
      const added = addNewEntities(items, res.data as T[], seenIds);
      pageListener.getStore()?.({ pages: page, items: items.length });
      if (res.data.length < perPage) {
        // A short page is the last one, unless the answer itself announces another: then it is not known to be.
        const next = nextPageUrl(linkHeader(res.headers), res.url);
        if (next.url === undefined && next.refused === undefined) return { items, pages: page };
        const why = `page ${page} was not full but announced a next page (${next.url ?? next.refused}), which paging by number does not follow`;
        log.warn(`Stopped reading ${path}: ${why}`);
        return { items, pages: page, truncated: why };
      }
      if (added === 0) {
        const why = `page ${page} held only entries already read, so the pages are going round in a loop`;
        log.warn(`Stopped reading ${path}: ${why}`);
        return { items, pages: page, truncated: why };
      }
    }
  }
}

/** Appends the items whose `id` was not seen yet (items without one always); returns how many were added. */
function addNewEntities<T>(into: T[], page: T[], seenIds: Set<string | number>): number {
  let added = 0;
  for (const item of page) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id === 'number' || typeof id === 'string') {
      if (seenIds.has(id)) continue;
      seenIds.add(id);
    }
    into.push(item);
    added++;
  }
  return added;
}
