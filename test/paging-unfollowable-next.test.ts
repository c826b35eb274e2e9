import type { ServerResponse } from 'node:http';
import { MockAgent } from 'undici';
import { describe, expect, it } from 'vitest';
import { Basecamp2Api } from '../src/basecamp/bcx-api.js';
import { json, scriptedHarness, type Scripted } from './helpers.js';

// Issue 16 item 11: a rel="next" that cannot be followed, for whatever reason (another origin, an https to http
// downgrade, a page already read, a malformed or unparsable link, `next` in a second rel), makes the answer
// `truncated` with why, never a silent end of the list. Every list reader: getAll (Link), getAllByPage
// (Basecamp 2's ?page=N) and Basecamp 2's one-response lists.

const { serve, client } = scriptedHarness();

type Person = { id: number; name: string };
const person = (id: number): Person => ({ id, name: `P${id}` });

/** Page 1 answers [person(1)] with the Link header(s) `link(base)`; any other page answers [person(page)] and no Link. */
async function firstPageLinks(link: (base: string) => string | string[]): Promise<Scripted> {
  const s = await serve((req, res: ServerResponse) => {
    const page = Number(new URL(req.url!, 'http://x').searchParams.get('page') ?? '1');
    if (page !== 1) return json(res, 200, [person(page)]);
    res.writeHead(200, { 'content-type': 'application/json', link: link(`${s.url}/999/people.json`) });
    res.end(JSON.stringify([person(1)]));
  });
  return s;
}

describe('getAll: a next link that cannot be followed is truncated, with why', () => {
  it.each([
    ['another origin', () => '<http://127.0.0.2:1/steal?page=2>; rel="next"', /next link points to another origin \(http:\/\/127\.0\.0\.2:1\)/],
    ['unparsable', () => '<http://[>; rel="next"', /unparseable next link "http:\/\/\["/],
    ['malformed: no closing ">"', (base: string) => `<${base}?page=2; rel="next"`, /malformed next link/],
    ['malformed: no "<>" at all', (base: string) => `${base}?page=2; rel="next"`, /malformed next link/],
    ['malformed: junk after the parameters', (base: string) => `<${base}?page=2>; rel="next" junk`, /malformed next link/],
    ['malformed: a space inside the URI', (base: string) => `<${base}?page=2 and more>; rel="next"`, /malformed next link/],
    ['next only in a second rel (ignored by RFC 8288)', (base: string) => `<${base}?page=2>; rel="prev"; rel="next"`, /malformed next link/],
    ['empty', () => '<>; rel="next"', /the next link is empty/],
  ] as const)('%s', async (_name, link, why) => {
    const server = await firstPageLinks(link);
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items).toEqual([person(1)]);
    expect(all.truncated).toMatch(/^the next page link could not be followed: /);
    expect(all.truncated).toMatch(why);
    expect(server.hits).toHaveLength(1);
  });

  it('a page already read', async () => {
    const server = await firstPageLinks((base) => `<${base}>; rel="next"`);
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.truncated).toMatch(/already read/);
    expect(server.hits).toHaveLength(1);
  });

  it('an https page whose next link is http: not followed (the token never goes out in clear), truncated', async () => {
    const agent = new MockAgent();
    agent.disableNetConnect();
    const origin = agent.get('https://3.basecampapi.test');
    origin
      .intercept({ path: '/999/people.json', method: 'GET' })
      .reply(200, [person(1)], { headers: { 'content-type': 'application/json', link: '<http://3.basecampapi.test/999/people.json?page=2>; rel="next"' } });
    const all = await client('https://3.basecampapi.test', { dispatcher: agent }).getAll<Person>('/people.json');
    expect(all.items).toEqual([person(1)]);
    expect(all.truncated).toMatch(/next link downgrades https to http \(http:\/\/3\.basecampapi\.test\)/);
    agent.assertNoPendingInterceptors();
    await agent.close();
  });

  it('what is not a next link is still the last page: rel=next inside a prev link\'s URI, no Link, no next', async () => {
    for (const link of [(base: string) => `<${base}?rel=next&page=0>; rel="prev"`, () => '<https://x.example/a>; rel="last"']) {
      const server = await firstPageLinks(link);
      const all = await client(server.url).getAll<Person>('/people.json');
      expect(all.truncated).toBeUndefined();
      expect(server.hits).toHaveLength(1);
    }
  });

  it('two Link headers are one list: the next link in the second is followed', async () => {
    const server = await firstPageLinks((base) => [`<${base}?page=0>; rel="prev"`, `<${base}?page=2>; rel="next"`]);
    const all = await client(server.url).getAll<Person>('/people.json');
    expect(all.items.map((p) => p.id)).toEqual([1, 2]);
    expect(all.truncated).toBeUndefined();
    expect(server.hits.map((h) => h.url)).toEqual(['/999/people.json', '/999/people.json?page=2']);
  });
});

describe('getAllByPage (Basecamp 2): a short page that announces a next page is not taken for the last one', () => {
  it('truncated, with the link', async () => {
    const server = await serve((_req, res) => json(res, 200, [person(1)], { link: `<${server.url}/999/x.json?page=2>; rel="next"` }));
    const all = await client(server.url).getAllByPage<Person>('/x.json', 50);
    expect(all.items).toEqual([person(1)]);
    expect(all.truncated).toMatch(/page 1 was not full but announced a next page \(http:\/\/127\.0\.0\.1:\d+\/999\/x\.json\?page=2\)/);
    expect(server.hits).toHaveLength(1);
  });

  it('an unusable next link on a short page: truncated too', async () => {
    const server = await serve((_req, res) => json(res, 200, [person(1)], { link: '<https://evil.example/x>; rel="next"' }));
    const all = await client(server.url).getAllByPage<Person>('/x.json', 50);
    expect(all.truncated).toMatch(/announced a next page \(next link points to another origin/);
  });

  it('a short page without a next link is the last page', async () => {
    const server = await serve((_req, res) => json(res, 200, [person(1)], { link: '<https://x.example/a>; rel="prev"' }));
    const all = await client(server.url).getAllByPage<Person>('/x.json', 50);
    expect(all).toEqual({ items: [person(1)], pages: 1 });
  });
});

describe("Basecamp 2's one-response lists follow a next page they announce, or say truncated", () => {
  const bcx = (url: string) => new Basecamp2Api(client(url), { id: 999, name: 'Basecamp 2' });

  it('people: a next link is followed', async () => {
    const server = await firstPageLinks((base) => `<${base}?page=2>; rel="next"`);
    const all = await bcx(server.url).listPeople();
    expect(all.items.map((p) => p.id)).toEqual([1, 2]);
    expect(all.truncated).toBeUndefined();
  });

  it.each([
    ['listPeople', (api: Basecamp2Api) => api.listPeople()],
    ['listRemovedPeople', (api: Basecamp2Api) => api.listRemovedPeople()],
    ['listProjects', (api: Basecamp2Api) => api.listProjects('archived')],
    ['personProjects', (api: Basecamp2Api) => api.personProjects(5)],
  ] as const)('%s: an unusable next link is truncated', async (_name, read) => {
    const server = await serve((_req, res) => json(res, 200, [person(1)], { link: '<http://127.0.0.2:1/x>; rel="next"' }));
    const all = await read(bcx(server.url));
    expect(all.items).toHaveLength(1);
    expect(all.truncated).toMatch(/another origin/);
  });
});
