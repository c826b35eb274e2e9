import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { BasecampHttp } from '../src/basecamp/http.js';
import { json, scriptedServer, testHttpClient, type Scripted } from './helpers.js';

// Issue 7 item 16: a Link chain that loops must cost one page, not the 200-page cap, and never return
// an entity twice. Every test counts the requests the server saw.

let server: Scripted | undefined;
let http: BasecampHttp | undefined;
afterEach(async () => {
  await http?.close();
  await http?.budget.stop();
  await server?.close();
  http = undefined;
  server = undefined;
});

function client(url: string): BasecampHttp {
  http = testHttpClient(url);
  return http;
}

type Person = { id: number; name: string };
const person = (id: number, name = `P${id}`): Person => ({ id, name });

/** A server whose page n (from `?page=`, 1 when absent) answers `body(n)` with the Link header `link(n, base)`. */
async function pages(body: (page: number) => unknown[], link: (page: number, base: string) => string | undefined): Promise<Scripted> {
  const s = await scriptedServer((req, res: ServerResponse) => {
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
    const l = link(page, `${s.url}/999/people.json`);
    json(res, 200, body(page), l ? { link: l } : {});
  });
  return s;
}

describe('getAll never follows a Link loop (issue 7 item 16)', () => {
  it('skips an empty next link and follows the good one after it', async () => {
    server = await pages(
      (p) => [person(p)],
      (p, base) => (p < 3 ? `<>; rel="next", <${base}?page=${p + 1}>; rel="next"` : undefined),
    );
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(all.truncated).toBeUndefined();
    expect(server.hits.map((h) => h.url)).toEqual(['/999/people.json', '/999/people.json?page=2', '/999/people.json?page=3']);
  });

  it('an empty next link alone is reported as truncated after one request', async () => {
    server = await pages((p) => [person(p)], () => '<>; rel="next"');
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items).toEqual([person(1)]);
    expect(all.truncated).toMatch(/next page link could not be followed: the next link is empty/);
    expect(server.hits).toHaveLength(1);
  });

  it('a next link to the page just read is not requested again', async () => {
    server = await pages((p) => [person(p)], (p, base) => `<${base}?page=${p}>; rel="next"`);
    const all = await client(server.url).getAll<Person>('/people.json', { query: { page: 1 } });
    expect(all.items).toEqual([person(1)]);
    expect(all.truncated).toMatch(/already read/);
    expect(server.hits).toHaveLength(1);
  });

  it('a chain that comes back to an earlier page (1 -> 2 -> 3 -> 1) stops after three requests', async () => {
    server = await pages((p) => [person(p)], (p, base) => `<${base}${p === 3 ? '' : `?page=${p + 1}`}>; rel="next"`);
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2, 3]);
    expect(all.truncated).toMatch(/already read \(http:\/\/127\.0\.0\.1:\d+\/999\/people\.json\)/);
    expect(server.hits).toHaveLength(3);
  });

  it('a relative link or one with a fragment is compared in resolved form', async () => {
    server = await pages(
      (p) => [person(p)],
      (p) => (p === 1 ? '<people.json?page=2#top>; rel="next"' : '</999/people.json?page=2#again>; rel="next", <#frag>; rel="next"'),
    );
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2]);
    expect(all.truncated).toMatch(/already read/);
    expect(server.hits.map((h) => h.url)).toEqual(['/999/people.json', '/999/people.json?page=2']);
  });

  it('skips a cross-origin next link and follows the same-origin one after it', async () => {
    server = await pages(
      (p) => [person(p)],
      (p, base) => (p < 2 ? `<http://127.0.0.2:1/steal>; rel="next", <${base}?page=2>; rel="next"` : undefined),
    );
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2]);
    expect(all.truncated).toBeUndefined();
    expect(server.hits).toHaveLength(2);
  });

  it('distinct URLs that serve pages already read are a loop too: stopped, reported, nothing twice', async () => {
    // page=n keeps linking to page=n+1, but from page 3 on every page repeats page 2.
    server = await pages((p) => (p === 1 ? [person(1), person(2)] : [person(3), person(4)]), (p, base) => `<${base}?page=${p + 1}>; rel="next"`);
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(all.truncated).toMatch(/page 3 held only entries already read/);
    expect(server.hits).toHaveLength(3);
  });

  it('never returns an entity twice, keeping the first copy; items without an id are all kept', async () => {
    server = await pages(
      (p) => (p === 1 ? [person(1), person(2, 'first copy'), { note: 'no id' }] : [person(2, 'second copy'), person(3), { note: 'no id' }]),
      (p, base) => (p === 1 ? `<${base}?page=2>; rel="next"` : undefined),
    );
    const all = await client(server.url).getAll<Person | { note: string }>('/people.json');
    expect(all.items).toEqual([person(1), person(2, 'first copy'), { note: 'no id' }, person(3), { note: 'no id' }]);
    expect(all.truncated).toBeUndefined();
    expect(server.hits).toHaveLength(2);
  });

  it('is lenient where the intent is clear: a stray ">", spaces, unquoted and upper-case REL', async () => {
    const forms = [
      (u: string) => `><${u}>; rel="next"`,
      (u: string) => `  <${u}> ;  REL = NEXT `,
      (u: string) => `<${u}>;rel=next`,
    ];
    server = await pages((p) => [person(p)], (p, base) => (p <= forms.length ? forms[p - 1]!(`${base}?page=${p + 1}`) : undefined));
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((i) => i.id)).toEqual([1, 2, 3, 4]);
    expect(all.truncated).toBeUndefined();
    expect(server.hits).toHaveLength(4);
  });
});
