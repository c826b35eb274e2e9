import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';

let sb: Sandbox;
beforeAll(async () => {
  sb = await startSandbox({ people: 200, rateLimit: { max: 1000, windowMs: 10_000 } });
});
afterAll(() => sb.close());

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await request(path.startsWith('http') ? path : `${sb.url}/${sb.accountId}${path}`, {
    headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 'test', ...headers },
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, body: text ? (JSON.parse(text) as unknown) : undefined };
}

describe('sandbox Basecamp API', () => {
  it('pages people in geared sizes with absolute Link and X-Total-Count', async () => {
    const sizes: number[] = [];
    let url: string | undefined = `${sb.url}/${sb.accountId}/people.json`;
    while (url) {
      const r = await get(url);
      expect(r.headers['x-total-count']).toBe('200');
      expect(r.headers['x-request-id']).toBeTruthy();
      sizes.push((r.body as unknown[]).length);
      const link = r.headers.link as string | undefined;
      url = link ? /<([^>]+)>; rel="next"/.exec(link)![1] : undefined;
      if (url) expect(url.startsWith(sb.url)).toBe(true);
    }
    expect(sizes).toEqual([15, 30, 50, 100, 5]);
  });

  it('is deterministic for a seed and has every personable_type, with and without company', async () => {
    const again = await startSandbox({ people: 200 });
    expect([...again.data.people.values()].map((p) => p.email_address)).toEqual([...sb.data.people.values()].map((p) => p.email_address));
    await again.close();
    const people = [...sb.data.people.values()];
    expect(new Set(people.map((p) => p.personable_type))).toEqual(new Set(['User', 'Integration', 'DummyUser', 'Outsider', 'Tombstone', 'Agent', 'Client']));
    expect(people.some((p) => p.company)).toBe(true);
    const r = await get('/people.json');
    expect((r.body as Record<string, unknown>[]).some((p) => !('company' in p))).toBe(true);
  });

  it('answers 400 without User-Agent, 401 for a bad token, 404 for unknown routes and routes Basecamp 4 lacks', async () => {
    const noUa = await request(`${sb.url}/${sb.accountId}/people.json`, { headers: { authorization: `Bearer ${sb.token}` } });
    expect(noUa.statusCode).toBe(400);
    await noUa.body.dump();
    expect((await get('/people.json', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/nope.json')).status).toBe(404);
    for (const [method, path] of [
      ['POST', '/people/users.json'],
      ['DELETE', '/people/1000003.json'],
    ] as const) {
      const r = await request(`${sb.url}/${sb.accountId}${path}`, {
        method,
        headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 't', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(r.statusCode).toBe(404);
      await r.body.dump();
    }
  });

  it('supports ETag / If-None-Match with 304', async () => {
    const first = await get('/account.json');
    expect(first.headers.etag).toBeTruthy();
    const second = await get('/account.json', { 'if-none-match': String(first.headers.etag) });
    expect(second.status).toBe(304);
    expect(second.body).toBeUndefined();
  });

  it('users.json: 415 without JSON content type, unknown ids dropped, create lands in granted', async () => {
    const put = async (body: unknown, contentType = 'application/json; charset=utf-8') => {
      const r = await request(`${sb.url}/${sb.accountId}/projects/2000004/people/users.json`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 't', 'content-type': contentType },
        body: JSON.stringify(body),
      });
      return { status: r.statusCode, body: (await r.body.json()) as { granted: { id: number; email_address: string }[] } };
    };
    expect((await put({ grant: [1000002] }, 'text/plain')).status).toBe(415);
    const r = await put({ grant: [1000002, 424242], create: [{ name: 'New One', email_address: 'new.one@acme.example' }] });
    expect(r.status).toBe(200);
    expect(r.body.granted.map((p) => p.id)).toContain(1000002);
    expect(r.body.granted.map((p) => p.id)).not.toContain(424242);
    expect(r.body.granted.find((p) => p.email_address === 'new.one@acme.example')).toBeTruthy();
    expect([...sb.data.people.values()].some((p) => p.email_address === 'new.one@acme.example')).toBe(true);
    for (const notAnObject of [null, 7, [1000002]]) expect((await put(notAnObject)).status).toBe(400);
  });

  it('has an HQ, teams, archived and trashed projects, and account.json', async () => {
    const active = (await get('/projects.json')).body as { purpose: string }[];
    expect(active.some((p) => p.purpose === 'company_hq')).toBe(true);
    expect(active.some((p) => p.purpose === 'team')).toBe(true);
    expect(((await get('/projects.json?status=archived')).body as unknown[]).length).toBeGreaterThan(0);
    expect(((await get('/projects.json?status=trashed')).body as unknown[]).length).toBeGreaterThan(0);
    const account = (await get('/account.json')).body as { id: number; name: string };
    expect(account.id).toBe(sb.accountId);
  });

  it('answers 429 with Retry-After past the sliding-window limit', async () => {
    const small = await startSandbox({ rateLimit: { max: 5, windowMs: 2000 } });
    const statuses: number[] = [];
    let retryAfter: string | undefined;
    for (let i = 0; i < 7; i++) {
      const r = await request(`${small.url}/${small.accountId}/account.json`, { headers: { authorization: `Bearer ${small.token}`, 'user-agent': 't' } });
      statuses.push(r.statusCode);
      if (r.statusCode === 429) retryAfter = r.headers['retry-after'] as string;
      await r.body.dump();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(small.throttled).toBe(2);
    await small.close();
  });

  it('answers 404 with Reason: Account Inactive when the account is inactive', async () => {
    const inactive = await startSandbox({ inactive: true });
    const r = await request(`${inactive.url}/${inactive.accountId}/people.json`, { headers: { authorization: `Bearer ${inactive.token}`, 'user-agent': 't' } });
    expect(r.statusCode).toBe(404);
    expect(r.headers.reason).toBe('Account Inactive');
    await r.body.dump();
    await inactive.close();
  });

  it('serves Launchpad authorization.json listing the bc3 account', async () => {
    const r = await get(`${sb.url}/authorization.json`);
    const body = r.body as { accounts: { product: string; id: number; href: string }[] };
    expect(body.accounts[0]).toMatchObject({ product: 'bc3', id: sb.accountId, href: `${sb.url}/${sb.accountId}` });
  });

  it('keeps Launchpad apart from the API: no User-Agent rule, no share of the rate limit, not in apiRequests', async () => {
    const small = await startSandbox({ rateLimit: { max: 1, windowMs: 60_000 } });
    const launchpad = () => request(`${small.url}/authorization.json`, { headers: { authorization: `Bearer ${small.token}` } });
    const api = () => request(`${small.url}/${small.accountId}/account.json`, { headers: { authorization: `Bearer ${small.token}`, 'user-agent': 't' } });
    const statuses: number[] = [];
    for (const send of [launchpad, api, launchpad, api]) {
      const r = await send();
      statuses.push(r.statusCode);
      await r.body.dump();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(small.throttled).toBe(1);
    expect(small.apiRequests().map((r) => r.path)).toEqual([`/${small.accountId}/account.json`, `/${small.accountId}/account.json`]);
    expect(small.requests).toHaveLength(4);
    await small.close();
  });
});

describe('sandbox paging (issue 7 item 17)', () => {
  let big: Sandbox;
  beforeAll(async () => {
    big = await startSandbox({ people: 720, rateLimit: { max: 1000, windowMs: 10_000 } });
  });
  afterAll(() => big.close());

  async function page(param: string) {
    const started = performance.now();
    const r = await request(`${big.url}/${big.accountId}/people.json?page=${param}`, {
      headers: { authorization: `Bearer ${big.token}`, 'user-agent': 'test' },
    });
    const body = (await r.body.json()) as { id: number }[];
    return { status: r.statusCode, ids: body.map((p) => p.id), link: r.headers.link as string | undefined, ms: performance.now() - started };
  }

  /** The original loop, kept here as the reference the closed form must match. */
  function oldSlice<T>(items: T[], page: number): T[] {
    const sizes = [15, 30, 50];
    const size = (p: number) => sizes[p - 1] ?? 100;
    let start = 0;
    for (let p = 1; p < page; p++) start += size(p);
    return items.slice(start, start + size(page));
  }

  it('serves the same geared pages as before for pages 1..12 (past the end: empty, no next link)', async () => {
    const ids = [...big.data.people.values()].map((p) => p.id);
    for (let p = 1; p <= 12; p++) {
      const r = await page(String(p));
      expect(r.status).toBe(200);
      expect(r.ids, `page ${p}`).toEqual(oldSlice(ids, p));
      expect(r.link !== undefined, `next link on page ${p}`).toBe(p < 10); // 15+30+50+100*6 = 695 < 720 <= 795
    }
  });

  it('answers an absurdly large page at once with an empty page (the old loop blocked the event loop for seconds)', async () => {
    for (const huge of ['1000000000', '9007199254740993', '1' + '0'.repeat(400)]) {
      const r = await page(huge);
      expect(r.status).toBe(200);
      expect(r.ids).toEqual([]);
      expect(r.link).toBeUndefined();
      expect(r.ms, `page=${huge.slice(0, 20)}`).toBeLessThan(500); // the old loop took ~5 s for 1e9
    }
  });

  it('treats a page that is not a positive whole number as the first page', async () => {
    const first = (await page('1')).ids;
    for (const bad of ['0', '-1', '-1000000000', 'abc', '', '1.5', 'NaN', 'Infinity', '1e9', '0x10']) {
      const r = await page(encodeURIComponent(bad));
      expect(r.status, `page=${bad}`).toBe(200);
      expect(r.ids, `page=${bad}`).toEqual(first);
    }
  });
});
