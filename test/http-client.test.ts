import { afterEach, describe, expect, it } from 'vitest';
import {
  AccountInactiveError,
  AuthenticationError,
  CancelledError,
  ForbiddenError,
  NetworkError,
  NotFoundError,
  OutcomeUnknownError,
  RateLimitedError,
  ValidationRejectedError,
} from '../src/basecamp/errors.js';
import { BasecampHttp, MAX_RETRY_AFTER_SECONDS, parseRetryAfter, type HttpOptions } from '../src/basecamp/http.js';
import { assertSecureUrl } from '../src/security.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { StaticCredentials } from '../src/service.js';
import { json, scriptedServer, testHttpClient, type Scripted } from './helpers.js';

let server: Scripted | undefined;
let http: BasecampHttp | undefined;
afterEach(async () => {
  await http?.close();
  await http?.budget.stop();
  await server?.close();
  http = undefined;
  server = undefined;
});

function client(url: string, opts: Partial<HttpOptions> = {}): BasecampHttp {
  http = testHttpClient(url, {
    budget: new RateBudget({ max: 50, windowMs: 10_000 }),
    ...opts,
  });
  return http;
}

describe('request basics', () => {
  it('sends Bearer, User-Agent, and a JSON Content-Type on bodies only', async () => {
    server = await scriptedServer((req, res) => json(res, 200, req.method === 'GET' ? [] : { granted: [], revoked: [] }));
    const c = client(server.url);
    await c.request('GET', '/people.json');
    await c.request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } });
    const [get, put] = server.hits;
    expect(get!.headers.authorization).toBe('Bearer secret-token');
    expect(get!.headers['user-agent']).toMatch(/basecamp-people-mcp/);
    expect(get!.headers['content-type']).toBeUndefined();
    expect(put!.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(put!.body)).toEqual({ grant: [1] });
    expect(get!.url).toBe('/999/people.json');
  });

  it('refuses plain http for anything but loopback', () => {
    expect(() => assertSecureUrl('http://3.basecampapi.com/1', 'BASECAMP_API_URL')).toThrow(/must use https/);
    expect(() => assertSecureUrl('http://10.0.0.5/1', 'x')).toThrow(/https/);
    expect(assertSecureUrl('https://3.basecampapi.com/1', 'x').host).toBe('3.basecampapi.com');
    for (const u of ['http://127.0.0.1:3000', 'http://localhost:3000', 'http://[::1]:3000']) expect(() => assertSecureUrl(u, 'x')).not.toThrow();
    expect(
      () =>
        new BasecampHttp({
          accountBase: 'http://basecamp.example/1',
          credentials: new StaticCredentials('t', 't'),
          userAgent: 'ua',
          budget: new RateBudget({ max: 1, windowMs: 1 }),
        }),
    ).toThrow(/https/);
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it('caps an absurd Retry-After at a day, so one answer cannot pause every call for good', async () => {
    expect(MAX_RETRY_AFTER_SECONDS).toBe(86_400);
    expect(parseRetryAfter('9'.repeat(400))).toBe(MAX_RETRY_AFTER_SECONDS); // Number() reads it as Infinity
    expect(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT')).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter('3600')).toBe(3600);
    server = await scriptedServer((_req, res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '9'.repeat(400) }));
    const c = client(server.url);
    const first = await c.request('GET', '/people.json').catch((e: unknown) => e);
    const later = await c.request('GET', '/people.json').catch((e: unknown) => e);
    for (const error of [first, later]) {
      expect(error).toBeInstanceOf(RateLimitedError);
      const seconds = (error as RateLimitedError).retryAfterSeconds;
      expect(Number.isFinite(seconds) && seconds <= MAX_RETRY_AFTER_SECONDS).toBe(true);
      expect((error as Error).message).not.toMatch(/Infinity/);
    }
    expect(server.hits).toHaveLength(1); // the later call was refused by the pause, not sent
  });
});

describe('retries', () => {
  it('retries a read on 429 after Retry-After, pausing the queue', async () => {
    server = await scriptedServer((_req, res, _b, n) => (n === 1 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, [{ id: 1 }])));
    const c = client(server.url);
    const start = Date.now();
    const res = await c.request<unknown[]>('GET', '/people.json');
    expect(res.data).toEqual([{ id: 1 }]);
    expect(server.hits).toHaveLength(2);
    expect(server.hits[1]!.at - server.hits[0]!.at).toBeGreaterThanOrEqual(950);
    expect(Date.now() - start).toBeGreaterThanOrEqual(950);
  });

  it('a 429 holds back other queued requests too', async () => {
    server = await scriptedServer((req, res, _b, n) =>
      n === 1 ? json(res, 429, { error: 'slow down' }, { 'retry-after': '1' }) : json(res, 200, { ok: req.url }),
    );
    const c = client(server.url);
    const first = c.request('GET', '/a.json');
    await new Promise((r) => setTimeout(r, 100)); // the 429 has arrived
    const second = c.request('GET', '/b.json');
    await Promise.all([first, second]);
    const b = server.hits.find((h) => h.url === '/999/b.json')!;
    expect(b.at - server.hits[0]!.at).toBeGreaterThanOrEqual(900);
  });

  it('reports a Retry-After too long to wait as rate limited, with retry_after_seconds', async () => {
    server = await scriptedServer((_req, res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '120' }));
    const c = client(server.url);
    const err = await c.request('GET', '/people.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitedError);
    expect((err as RateLimitedError).retryAfterSeconds).toBe(120);
    expect(server.hits).toHaveLength(1);
  });

  it('retries a read on 503, 502 and 504, then gives up after the attempt limit', async () => {
    server = await scriptedServer((_req, res, _b, n) => json(res, [503, 502, 504][n - 1] ?? 200, n > 3 ? [] : { error: 'down' }));
    const c = client(server.url, { maxAttempts: 3 });
    const err = await c.request('GET', '/people.json').catch((e: unknown) => e);
    expect(server.hits).toHaveLength(3);
    expect((err as Error).message).toMatch(/504/);
  });

  it('succeeds when a retry does', async () => {
    server = await scriptedServer((_req, res, _b, n) => (n === 1 ? json(res, 503, { error: 'down' }) : json(res, 200, [1])));
    expect((await client(server.url).request('GET', '/x.json')).data).toEqual([1]);
    expect(server.hits).toHaveLength(2);
  });

  it.each([400, 401, 403, 404, 422])('never retries %i', async (status) => {
    server = await scriptedServer((_req, res) => json(res, status, { error: `nope ${status}` }));
    const err = await client(server.url).request('GET', '/x.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(server.hits).toHaveLength(1);
  });

  it('retries a read after a dropped connection', async () => {
    server = await scriptedServer((req, res, _b, n) => (n === 1 ? void req.socket.destroy() : json(res, 200, [1])));
    expect((await client(server.url).request('GET', '/x.json')).data).toEqual([1]);
    expect(server.hits).toHaveLength(2);
  });

  it('does NOT re-send a write after a dropped connection: the outcome is unknown', async () => {
    server = await scriptedServer((req) => void req.socket.destroy());
    const err = await client(server.url)
      .request('PUT', '/projects/1/people/users.json', { body: { create: [{ name: 'A', email_address: 'a@x.example' }] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toMatch(/may or may not have applied.*not re-sent/);
    expect(server.hits).toHaveLength(1);
  });

  it('does NOT re-send a write after a timeout', async () => {
    server = await scriptedServer(() => undefined); // never answers
    const err = await client(server.url, { requestTimeoutMs: 300 })
      .request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect((err as Error).message).toMatch(/no answer within 300 ms/);
    expect(server.hits).toHaveLength(1);
  });

  it.each([502, 504, 500])('does NOT re-send a write after %i (outcome unknown)', async (status) => {
    server = await scriptedServer((_req, res) => json(res, status, { error: 'gateway' }));
    const err = await client(server.url).request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknownError);
    expect(server.hits).toHaveLength(1);
  });

  it('re-sends a write after 503 and 429, which prove it was not applied', async () => {
    server = await scriptedServer((_req, res, _b, n) =>
      n === 1 ? json(res, 503, { error: 'down' }) : n === 2 ? json(res, 429, {}, { 'retry-after': '0' }) : json(res, 200, { granted: [], revoked: [] }),
    );
    const res = await client(server.url).request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } });
    expect(res.status).toBe(200);
    expect(server.hits).toHaveLength(3);
  });

  it('a write to a port nobody listens on was provably not sent', async () => {
    const c = client('http://127.0.0.1:9'); // discard port: connection refused
    const err = await c.request('PUT', '/projects/1/people/users.json', { body: { grant: [1] } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(/nothing changed/);
  });

  it('times out a read that never answers, retrying within the attempt limit', async () => {
    server = await scriptedServer(() => undefined);
    const err = await client(server.url, { requestTimeoutMs: 200, maxAttempts: 2 }).request('GET', '/x.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect(server.hits).toHaveLength(2);
  });
});

describe('cancellation', () => {
  it('aborts an in-flight read', async () => {
    server = await scriptedServer(() => undefined);
    const controller = new AbortController();
    const pending = client(server.url).request('GET', '/x.json', { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    const start = Date.now();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(Date.now() - start).toBeLessThan(1000);
  });

  it('removes a request still waiting in the rate-budget queue: it is never sent', async () => {
    server = await scriptedServer((_req, res) => json(res, 200, []));
    const c = client(server.url, { budget: new RateBudget({ max: 1, windowMs: 2000 }) });
    await c.request('GET', '/first.json');
    const controller = new AbortController();
    const queued = c.request('GET', '/second.json', { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(queued).rejects.toBeInstanceOf(CancelledError);
    await new Promise((r) => setTimeout(r, 100));
    expect(server.hits.map((h) => h.url)).toEqual(['/999/first.json']);
  });

  it('a cancelled write in flight is reported as outcome unknown, not as cancelled-and-safe', async () => {
    server = await scriptedServer(() => undefined);
    const controller = new AbortController();
    const pending = client(server.url).request('PUT', '/projects/1/people/users.json', { body: { grant: [1] }, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(pending).rejects.toBeInstanceOf(OutcomeUnknownError);
  });
});

describe('errors carry status, Basecamp text and X-Request-Id', () => {
  it.each([
    [401, AuthenticationError],
    [403, ForbiddenError],
    [404, NotFoundError],
    [422, ValidationRejectedError],
  ] as const)('%i', async (status, type) => {
    server = await scriptedServer((_req, res) => json(res, status, { error: 'Basecamp says no' }, { 'x-request-id': 'abc-123' }));
    const err = (await client(server.url).request('GET', '/x.json').catch((e: unknown) => e)) as InstanceType<typeof type>;
    expect(err).toBeInstanceOf(type);
    expect(err.status).toBe(status);
    expect(err.requestId).toBe('abc-123');
    expect(err.basecampMessage).toBe('Basecamp says no');
  });

  it('flattens validation bodies', async () => {
    server = await scriptedServer((_req, res) => json(res, 422, { errors: { email_address: ['is invalid'] } }));
    const err = (await client(server.url).request('PUT', '/x.json', { body: {} }).catch((e: unknown) => e)) as ValidationRejectedError;
    expect(err.basecampMessage).toBe('email_address is invalid');
  });

  it('says an account is inactive on 404 with Reason: Account Inactive', async () => {
    server = await scriptedServer((_req, res) => json(res, 404, { error: 'x' }, { reason: 'Account Inactive' }));
    const err = await client(server.url).request('GET', '/people.json').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AccountInactiveError);
    expect((err as Error).message).toMatch(/inactive/);
  });

  it('never puts the token in an error message', async () => {
    server = await scriptedServer((_req, res) => json(res, 401, { error: 'OAuth token expired (old age).' }));
    const err = (await client(server.url).request('GET', '/x.json').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/expired/);
    expect(err.message).not.toContain('secret-token');
  });
});

describe('pagination', () => {
  function pagedServer(pages: number, linkFor: (page: number, url: string) => string | undefined): Promise<Scripted> {
    return scriptedServer((req, res) => {
      const url = new URL(req.url!, server!.url);
      const page = Number(url.searchParams.get('page') ?? '1');
      const link = page < pages ? linkFor(page + 1, server!.url) : undefined;
      json(res, 200, [{ id: page }], { 'x-total-count': String(pages), ...(link ? { link } : {}) });
    });
  }

  it('follows rel="next" to the end and reads X-Total-Count', async () => {
    server = await pagedServer(4, (p, base) => `<${base}/999/people.json?page=${p}>; rel="next"`);
    const all = await client(server.url).getAll<{ id: number }>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(all.total).toBe(4);
    expect(all.pages).toBe(4);
    expect(all.truncated).toBeUndefined();
  });

  it('reports truncation at the page cap, never silently', async () => {
    server = await pagedServer(10, (p, base) => `<${base}/999/people.json?page=${p}>; rel="next"`);
    const all = await client(server.url, { maxPages: 3 }).getAll('/people.json');
    expect(all.items).toHaveLength(3);
    expect(all.truncated).toMatch(/safety cap of 3 pages/);
  });

  it('does not follow a next link to another origin (the token never leaves)', async () => {
    server = await pagedServer(3, () => `<http://127.0.0.2:1/steal>; rel="next"`);
    const all = await client(server.url).getAll('/people.json');
    expect(all.items).toHaveLength(1);
    expect(all.truncated).toMatch(/another origin/);
    expect(server.hits).toHaveLength(1);
  });
});
