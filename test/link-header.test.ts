import { describe, expect, it } from 'vitest';
import { nextPageUrl, parseLinkHeader, withoutFragment } from '../src/basecamp/link-header.js';

describe('Link header parsing (RFC 8288)', () => {
  it('finds rel="next" among several parts', () => {
    const h = '<https://3.basecampapi.com/1/people.json?page=1>; rel="prev", <https://3.basecampapi.com/1/people.json?page=3>; rel="next"';
    expect(nextPageUrl(h, 'https://3.basecampapi.com/1/people.json?page=2').url).toBe('https://3.basecampapi.com/1/people.json?page=3');
  });

  it('skips malformed parts and keeps the good ones', () => {
    const h = 'garbage, <https://x.example/a>; rel=, <https://x.example/p?page=2>; rel="next", <broken; rel="last"';
    const parts = parseLinkHeader(h);
    expect(parts.map((p) => p.uri)).toContain('https://x.example/p?page=2');
    expect(nextPageUrl(h, 'https://x.example/p').url).toBe('https://x.example/p?page=2');
  });

  it('handles unquoted rel, several rel values, commas inside URLs and quoted params', () => {
    const h = '<https://x.example/p?ids=1,2&page=2>; title="a, b"; rel="last next"';
    expect(nextPageUrl(h, 'https://x.example/p').url).toBe('https://x.example/p?ids=1,2&page=2');
    expect(nextPageUrl('<https://x.example/q>; rel=next', 'https://x.example/p').url).toBe('https://x.example/q');
    expect(nextPageUrl('<https://x.example/q>; REL="Next"', 'https://x.example/p').url).toBe('https://x.example/q');
  });

  it('ignores a second rel parameter, as RFC 8288 says, but never takes a next named there for "no next page"', () => {
    const r = nextPageUrl('<https://x.example/q>; rel="prev"; rel="next"', 'https://x.example/p');
    expect(r.url).toBeUndefined();
    expect(r.refused).toMatch(/^malformed next link/);
  });

  it('treats a missing or empty header, or no next, as the last page', () => {
    expect(nextPageUrl(undefined, 'https://x.example/p')).toEqual({});
    expect(nextPageUrl('', 'https://x.example/p')).toEqual({});
    expect(nextPageUrl('<https://x.example/q>; rel="prev"', 'https://x.example/p')).toEqual({});
  });

  it('resolves a relative link against the request URL', () => {
    expect(nextPageUrl('</1/people.json?page=2>; rel="next"', 'https://x.example/1/people.json').url).toBe('https://x.example/1/people.json?page=2');
  });

  it('refuses a link to another origin', () => {
    const r = nextPageUrl('<https://evil.example/steal>; rel="next"', 'https://3.basecampapi.com/1/people.json');
    expect(r.url).toBeUndefined();
    expect(r.refused).toMatch(/another origin/);
    expect(nextPageUrl('<https://3.basecampapi.com:8443/x>; rel="next"', 'https://3.basecampapi.com/x').url).toBeUndefined();
  });

  it('refuses an https to http downgrade, even on the same host', () => {
    const r = nextPageUrl('<http://3.basecampapi.com/1/people.json?page=2>; rel="next"', 'https://3.basecampapi.com/1/people.json');
    expect(r.url).toBeUndefined();
    expect(r.refused).toMatch(/downgrade/);
  });

  it('takes the first usable next link: an empty one is skipped, not read as "this page again"', () => {
    const req = 'https://x.example/1/people.json';
    expect(nextPageUrl('<>; rel="next", <https://x.example/1/people.json?page=2>; rel="next"', req)).toEqual({
      url: 'https://x.example/1/people.json?page=2',
    });
    expect(nextPageUrl('<  >; rel="next"', req)).toEqual({ refused: 'the next link is empty' });
  });

  it('skips next links to pages already read (compared without the fragment) and says why when none is left', () => {
    const req = 'https://x.example/1/people.json?page=2';
    const read = new Set(['https://x.example/1/people.json', req]);
    expect(nextPageUrl(`<${req}>; rel="next", <?page=3>; rel="next"`, req, read).url).toBe('https://x.example/1/people.json?page=3');
    const loop = nextPageUrl('</1/people.json>; rel="next", <?page=2#again>; rel="next"', req, read);
    expect(loop.url).toBeUndefined();
    expect(loop.refused).toMatch(/already read \(https:\/\/x\.example\/1\/people\.json\); .*already read \(https:\/\/x\.example\/1\/people\.json\?page=2\)/);
  });

  it('skips refused next links in order and follows the first usable one', () => {
    const req = 'https://x.example/1/people.json';
    const h = '<https://evil.example/p>; rel="next", <http://x.example/p>; rel="next", <http://[>; rel="next", <?page=2>; rel="next", <?page=3>; rel="next"';
    expect(nextPageUrl(h, req)).toEqual({ url: 'https://x.example/1/people.json?page=2' });
    const none = nextPageUrl('<https://evil.example/p>; rel="next", <http://[>; rel="next", <>; rel="next"', req);
    expect(none.url).toBeUndefined();
    expect(none.refused).toBe('next link points to another origin (https://evil.example); unparseable next link "http://["; the next link is empty');
  });

  it('drops the fragment of a next link', () => {
    expect(nextPageUrl('<?page=2#top>; rel="next"', 'https://x.example/p').url).toBe('https://x.example/p?page=2');
    expect(withoutFragment('https://x.example/p?page=2#top')).toBe('https://x.example/p?page=2');
  });

  it('is lenient where the intent is clear: a stray ">" before "<url>", spaces, unquoted or upper-case REL', () => {
    const want = 'https://x.example/p?page=2';
    for (const h of [
      `><${want}>; rel="next"`,
      `> <${want}>; rel="next"`,
      `<https://x.example/p?page=0>; rel="prev", ><${want}>; rel="next"`,
      `  <${want}>  ;  rel = "next"  `,
      `<${want}> ; rel=next`,
      `<${want}>;REL=NEXT`,
      `<${want}>; rel="prev  next"`,
    ]) {
      expect(nextPageUrl(h, 'https://x.example/p').url, h).toBe(want);
    }
  });
});
