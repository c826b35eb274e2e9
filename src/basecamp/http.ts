import { Agent, request as undiciRequest, type Dispatcher } from 'undici';
import {
  AccountInactiveError,
  AuthenticationError,
  BasecampError,
  CancelledError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  OutcomeUnknownError,
  PlanLimitError,
  RateLimitedError,
  UpstreamError,
  ValidationRejectedError,
  type UpstreamDetails,
} from './errors.js';
import { nextPageUrl, withoutFragment } from './link-header.js';
import type { RateBudget } from './rate-budget.js';
import { log } from '../log.js';
import { isLoopbackHost } from '../security.js';

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
}

export interface HttpResponse<T> {
  status: number;
  data: T;
  headers: Record<string, string | string[] | undefined>;
  url: string;
}

export interface Collection<T> {
  items: T[];
  /** X-Total-Count from the first page, when sent. */
  total?: number;
  pages: number;
  /** Set when not every page could be read; says why. */
  truncated?: string;
}

const RETRYABLE_READ_STATUS = new Set([429, 502, 503, 504]);
/** Statuses that prove Basecamp did not apply a write, so re-sending it is safe. */
const WRITE_NOT_APPLIED_STATUS = new Set([429, 503]);
/** Connection errors that prove the request never left this machine. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** HTTPS everywhere except loopback (the sandbox and tests). */
export function assertSecureUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BasecampError(`${what} is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return parsed;
  throw new BasecampError(
    `${what} must use https (plain http is allowed only for 127.0.0.1, localhost and [::1]); got ${parsed.origin}`,
  );
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

/** Basecamp's error text from `{"error": "..."}` or `{"errors": {"field": ["msg"]}}`. */
function basecampMessageOf(body: unknown, raw: string): string | undefined {
  if (body && typeof body === 'object') {
    const b = body as { error?: unknown; errors?: unknown };
    if (typeof b.error === 'string') return b.error;
    if (b.errors && typeof b.errors === 'object') {
      return Object.entries(b.errors as Record<string, unknown>)
        .map(([field, msgs]) => `${field} ${Array.isArray(msgs) ? msgs.join(', ') : String(msgs)}`)
        .join('; ');
    }
  }
  const trimmed = raw.trim();
  return trimmed ? trimmed.slice(0, 300) : undefined;
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
  private readonly dispatcher: Dispatcher;
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
    this.dispatcher =
      options.dispatcher ??
      new Agent({
        connect: { timeout: this.options.connectTimeoutMs },
        keepAliveTimeout: 10_000,
        connections: 16,
      });
  }

  get credentials(): Credentials {
    return this.options.credentials;
  }

  get budget(): RateBudget {
    return this.options.budget;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
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

  private backoff(attempt: number): number {
    const exp = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
    return Math.round(exp / 2 + Math.random() * (exp / 2)); // "equal jitter"
  }

  async request<T>(method: Method, pathOrUrl: string, opts: RequestOptions = {}): Promise<HttpResponse<T>> {
    const { signal } = opts;
    const url = await this.resolveUrl(pathOrUrl, opts.query, signal);
    const isWrite = method !== 'GET';
    const path = url.pathname + url.search;
    const describe = (d: UpstreamDetails): UpstreamDetails => ({ method, path, ...d });
    let refreshedAfter401 = false;
    /** What each request sent so far got (a status, or why there was none), for errors that tell what happened. */
    const answers: string[] = [];

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) throw new CancelledError('Cancelled; nothing more was sent.', describe({}));
      const token = await this.options.credentials.accessToken(signal);
      await this.options.budget.acquire(signal);
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        'user-agent': this.options.userAgent,
        accept: 'application/json',
      };
      let body: string | undefined;
      if (opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json; charset=utf-8';
      }

      // One controller per attempt, fed by the caller's signal and our timeout; the listener is removed after,
      // so long loops over one MCP request do not pile listeners on its signal (AbortSignal.any leaks on Node 20).
      const attemptAbort = new AbortController();
      const timeout = { aborted: false };
      const timer = setTimeout(() => {
        timeout.aborted = true;
        attemptAbort.abort(new Error('request timeout'));
      }, this.options.requestTimeoutMs);
      const forward = () => attemptAbort.abort(signal?.reason);
      signal?.addEventListener('abort', forward, { once: true });
      const combined = attemptAbort.signal;
      let status: number;
      let resHeaders: Record<string, string | string[] | undefined>;
      let raw: string;
      try {
        const res = await undiciRequest(url, {
          method,
          headers,
          body,
          dispatcher: this.dispatcher,
          signal: combined,
          headersTimeout: this.options.requestTimeoutMs,
          bodyTimeout: this.options.requestTimeoutMs,
        });
        status = res.statusCode;
        resHeaders = res.headers;
        raw = await res.body.text();
      } catch (error) {
        clearTimeout(timer);
        signal?.removeEventListener('abort', forward);
        if (signal?.aborted) {
          const msg = isWrite
            ? `Cancelled while ${method} ${url.pathname} was in flight: Basecamp may or may not have applied it. Check before trying again.`
            : 'Cancelled.';
          throw isWrite
            ? new OutcomeUnknownError(msg, describe({}), { cause: error })
            : new CancelledError(msg, describe({}), { cause: error });
        }
        const code = (error as { code?: string }).code ?? (error as Error).name;
        const timedOut = timeout.aborted || /Timeout/i.test(code);
        const reason = timedOut ? `no answer within ${this.options.requestTimeoutMs} ms` : `connection failed (${code})`;
        answers.push(timedOut ? 'no answer' : 'connection failed');
        if (isWrite) {
          if (code && NOT_SENT_CODES.has(code)) {
            throw new NetworkError(
              `Could not reach Basecamp (${reason}); the change was not sent${answers.length > 1 ? ` this time, and the earlier answers (${answers.slice(0, -1).join(', ')}) mean it was not applied before` : ''}, so nothing changed. Try again later.`,
              describe({}),
              { cause: error },
            );
          }
          throw new OutcomeUnknownError(
            `${method} ${url.pathname}: ${reason} after the request was sent. Basecamp may or may not have applied it. ${resendHistory(answers)} Check the current state before trying again.`,
            describe({}),
            { cause: error },
          );
        }
        if (attempt < this.options.maxAttempts) {
          log.debug(`GET ${url.pathname}: ${reason}; retrying (attempt ${attempt + 1})`);
          await sleep(this.backoff(attempt), signal);
          continue;
        }
        throw new NetworkError(`Could not read from Basecamp: ${reason}${attemptsNote(answers)}.`, describe({}), {
          cause: error,
        });
      }

      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
      answers.push(String(status));
      let parsed: unknown = null;
      if (raw.length > 0) {
        try {
          parsed = JSON.parse(raw);
        } catch {
          parsed = undefined;
        }
      }
      const details = describe({
        status,
        requestId: header(resHeaders, 'x-request-id'),
        basecampMessage: status >= 400 ? basecampMessageOf(parsed, raw) : undefined,
      });

      if (status >= 200 && status < 300) {
        if (parsed === undefined && isWrite) {
          // A 2xx says Basecamp took the change; without a readable answer we cannot say what it did.
          throw new OutcomeUnknownError(
            `Basecamp answered ${status} to ${method} ${url.pathname} with a body that is not JSON, so what it changed is unknown (it most likely applied it). ${resendHistory(answers)} Check the current state before trying again.`,
            details,
          );
        }
        if (parsed === undefined) throw new UpstreamError(`Basecamp answered ${status} with a body that is not JSON.`, details);
        return { status, data: parsed as T, headers: resHeaders, url: url.toString() };
      }
      if (status === 304) return { status, data: null as T, headers: resHeaders, url: url.toString() };

      // Retryable: 429 and 503 for everything; 502/504 for reads only.
      const retryable = isWrite ? WRITE_NOT_APPLIED_STATUS.has(status) : RETRYABLE_READ_STATUS.has(status);
      if (retryable) {
        const retryAfterS = parseRetryAfter(resHeaders['retry-after']);
        if (status === 429) {
          const pauseMs = (retryAfterS ?? Math.ceil(this.backoff(attempt) / 1000)) * 1000;
          await this.options.budget.pause(pauseMs); // holds back every queued request, not just this one
          if (attempt >= this.options.maxAttempts || pauseMs > this.options.maxRetryAfterMs) {
            const s = Math.ceil(pauseMs / 1000);
            const attempts = answers.length > 1 ? attemptsNote(answers) : ' (429)';
            const notApplied = isWrite ? ` ${notAppliedHistory(answers)}.` : '';
            throw new RateLimitedError(
              `Basecamp's rate limit was reached${attempts}.${notApplied} Try again in ${s} s.`,
              s,
              details,
            );
          }
          log.info(`429 from Basecamp on ${method} ${url.pathname}; pausing all requests for ${pauseMs} ms`);
          continue; // the pause makes the next acquire wait
        }
        if (attempt < this.options.maxAttempts) {
          const delay = retryAfterS !== undefined ? Math.min(retryAfterS * 1000, this.options.maxRetryAfterMs) : this.backoff(attempt);
          log.debug(`${status} on ${method} ${url.pathname}; retrying in ${delay} ms`);
          await sleep(delay, signal);
          continue;
        }
        throw this.retriesExhausted(status, details, isWrite, answers);
      }

      if (status === 401 && !refreshedAfter401 && this.options.credentials.recoverFromUnauthorized) {
        refreshedAfter401 = true;
        if (await this.options.credentials.recoverFromUnauthorized(token, details.basecampMessage, signal)) {
          attempt--; // a refresh is not a retry of a failed attempt
          continue;
        }
      }
      throw this.errorFor(status, details, isWrite, resHeaders, answers);
    }
  }

  /** The last of the allowed attempts got a retryable status (not 429, which has its own error). */
  private retriesExhausted(status: number, details: UpstreamDetails, isWrite: boolean, answers: readonly string[]): BasecampError {
    const what = `${details.method} ${details.path?.split('?')[0]}`;
    const said = details.basecampMessage ? `: ${details.basecampMessage}` : '';
    if (isWrite) {
      // Only statuses that prove "not applied" are retried for a write, so this one was never applied.
      return new UpstreamError(`Basecamp answered ${status} to ${what}${said}${attemptsNote(answers)}. ${notAppliedHistory(answers)}. Try again later.`, details);
    }
    return new UpstreamError(`Basecamp answered ${status} to ${what}${said}${attemptsNote(answers)}. Try again later.`, details);
  }

  private errorFor(
    status: number,
    details: UpstreamDetails,
    isWrite: boolean,
    headers: Record<string, string | string[] | undefined>,
    answers: readonly string[],
  ): BasecampError {
    const what = `${details.method} ${details.path?.split('?')[0]}`;
    const said = details.basecampMessage ? `: ${details.basecampMessage}` : '';
    switch (status) {
      case 401: {
        const advice =
          this.options.credentials.unauthorizedAdvice?.(details.basecampMessage) ??
          'Sign in again with `basecamp-people-mcp login`, or set a valid BASECAMP_ACCESS_TOKEN.';
        return new AuthenticationError(`Basecamp rejected the access token (401)${said}. ${advice}`, details);
      }
      case 403:
        return new ForbiddenError(
          `Basecamp refused ${what} (403)${said}. The signed-in person is not allowed to do this (usually: not an admin, or cannot manage that project).`,
          details,
        );
      case 404:
        if (/account inactive/i.test(header(headers, 'reason') ?? '')) {
          return new AccountInactiveError(
            'This Basecamp account is inactive (expired trial, cancelled or suspended); Basecamp answers 404 for everything in it. Reactivate it in Basecamp, or select another account.',
            details,
          );
        }
        return new NotFoundError(`Not found (404): ${what}. It does not exist, was deleted, or this token cannot see it.`, details);
      case 400:
      case 415:
      case 422:
        return new ValidationRejectedError(`Basecamp rejected ${what} (${status})${said}.`, details);
      case 507:
        return new PlanLimitError(`Basecamp's plan limit is reached (507)${said}. Upgrade the plan or free up room first.`, details);
      default:
        if (isWrite) {
          return new OutcomeUnknownError(
            `Basecamp answered ${status} to ${what}${said}. It may or may not have applied the change. ${resendHistory(answers)} Check the current state before trying again.`,
            details,
          );
        }
        return new UpstreamError(`Basecamp answered ${status} to ${what}${said}${attemptsNote(answers)}. Try again later.`, details);
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
      if (res.data.length > 0 && added === 0) {
        // Distinct URLs serving pages already read: a loop we cannot see in the links themselves.
        const why = `page ${pages} held only entries already read, so the next links are going round in a loop`;
        log.warn(`Stopped reading ${path}: ${why}`);
        return { items, total, pages, truncated: why };
      }
      const link = nextPageUrl(header(res.headers, 'link'), res.url, alreadyRead);
      if (link.refused) {
        log.warn(`Not following the next page of ${path}: ${link.refused}`);
        return { items, total, pages, truncated: `the next page link could not be followed: ${link.refused}` };
      }
      next = link.url;
    }
    return { items, total, pages };
  }
}

/** " (after 3 attempts: 503, 502, 504)" when there was more than one request; "" otherwise. */
function attemptsNote(answers: readonly string[]): string {
  return answers.length > 1 ? ` (after ${answers.length} attempts: ${answers.join(', ')})` : '';
}

const times = (n: number) => (n === 1 ? 'once' : `${n} times`);

/** A write whose every answer proved it was not applied (only such answers lead to a re-send). */
function notAppliedHistory(answers: readonly string[]): string {
  const resent = answers.length - 1;
  return resent === 0
    ? 'That answer means the change was not applied, so nothing changed'
    : `Each of those answers means the change was not applied, so it was re-sent ${times(resent)}; it was never applied, so nothing changed`;
}

/**
 * For a write whose last attempt has an unknown outcome: whether it had been re-sent before (only after
 * answers that prove "not applied"), and that it was not re-sent after this one.
 */
function resendHistory(answers: readonly string[]): string {
  const earlier = answers.slice(0, -1);
  if (earlier.length === 0) return 'It was not re-sent.';
  return `It had been re-sent ${times(earlier.length)} after answers that mean it was not applied (${earlier.join(', ')}); it was not re-sent after this last attempt.`;
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
