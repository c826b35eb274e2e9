import { describe, expect, it } from 'vitest';
import { nextPageUrl, parseLinkHeader } from '../src/basecamp/link-header.js';

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

  it('ignores a second rel parameter, as RFC 8288 says', () => {
    expect(nextPageUrl('<https://x.example/q>; rel="prev"; rel="next"', 'https://x.example/p').url).toBeUndefined();
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
});
