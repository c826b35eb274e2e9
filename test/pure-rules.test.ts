import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseLinkHeader } from '../src/basecamp/link-header.js';
import { log, redact, setLogLevel } from '../src/log.js';
import { isLoopbackHost } from '../src/security.js';
import { hostAllowed, normaliseOrigin, originAllowed, parseAuthority, requestPath, type HostRules } from '../src/transports/http-guards.js';

// Edge cases of the pure rules that a mutation run (StrykerJS, see the issue 7 closing note) showed no
// test pinned down. Each expectation here failed against at least one surviving mutant.

describe('request targets', () => {
  it('keeps only the path, accepts the absolute form in any case, and refuses anything else', () => {
    expect(requestPath('')).toBeUndefined();
    expect(requestPath(undefined)).toBeUndefined();
    expect(requestPath('/mcp?x=1#y')).toBe('/mcp');
    expect(requestPath('HTTP://host.example/mcp?q')).toBe('/mcp');
    expect(requestPath('xhttp://host.example/mcp')).toBeUndefined();
    expect(requestPath('http://[')).toBeUndefined();
    expect(requestPath('*')).toBeUndefined();
  });
});

describe('Host values', () => {
  it('ports must be 1-65535', () => {
    expect(parseAuthority('h:0')).toBeUndefined();
    expect(parseAuthority('h:1')).toEqual({ hostname: 'h', port: 1 });
    expect(parseAuthority('h:65535')).toEqual({ hostname: 'h', port: 65535 });
    expect(parseAuthority('h:65536')).toBeUndefined();
    expect(parseAuthority(':80')).toBeUndefined();
  });

  it('one trailing dot and the letter case do not matter; two dots are not a name', () => {
    expect(parseAuthority('  Host.Example.:8080 ')).toEqual({ hostname: 'host.example', port: 8080 });
    expect(parseAuthority('h..')).toBeUndefined();
    expect(parseAuthority('.')).toBeUndefined();
  });

  const rules = (over: Partial<HostRules>): HostRules => ({ boundHost: '127.0.0.1', port: 8080, loopback: true, extraHosts: [], ...over });

  it('off loopback with no list any well-formed Host passes (a token is required there); a malformed one never does', () => {
    const open = rules({ boundHost: '10.9.8.7', loopback: false });
    expect(hostAllowed('anything.example:1', open)).toBe(true);
    expect(hostAllowed('bad host', open)).toBe(false);
  });

  it('the bound name is compared in lower case without its trailing dot, IPv6 with brackets', () => {
    expect(hostAllowed('mcp.example:8080', rules({ boundHost: 'MCP.Example.', loopback: false, extraHosts: ['other'] }))).toBe(true);
    expect(hostAllowed('[fe80::1]:8080', rules({ boundHost: 'fe80::1', loopback: false, extraHosts: ['other'] }))).toBe(true);
    expect(hostAllowed('[fe80::1]:8080', rules({ boundHost: '[fe80::1]', loopback: false, extraHosts: ['other'] }))).toBe(true);
  });

  it('a wildcard bind address is never a name clients use', () => {
    for (const boundHost of ['0.0.0.0', '::', '[::]']) {
      const r = rules({ boundHost, loopback: false, extraHosts: ['mcp.example'] });
      expect(hostAllowed(`${boundHost.includes(':') && !boundHost.startsWith('[') ? `[${boundHost}]` : boundHost}:8080`, r), boundHost).toBe(false);
      expect(hostAllowed('mcp.example:8080', r)).toBe(true);
    }
  });
});

describe('Origin values', () => {
  const rules: HostRules = { boundHost: '127.0.0.1', port: 8080, loopback: true, extraHosts: [] };
  it('normalises spaces, case and trailing slashes', () => {
    expect(normaliseOrigin(' HTTPS://A.example// ')).toBe('https://a.example');
  });
  it('our own origin is scheme://authority exactly: no path, nothing before the scheme', () => {
    expect(originAllowed('http://127.0.0.1:8080', [], rules)).toBe(true);
    expect(originAllowed('http://127.0.0.1:8080/page', [], rules)).toBe(false);
    expect(originAllowed('xhttp://127.0.0.1:8080', [], rules)).toBe(false);
  });
});

describe('loopback hosts', () => {
  it('only 127.0.0.0/8 in full, localhost and ::1', () => {
    expect(isLoopbackHost('127.10.200.30')).toBe(true);
    expect(isLoopbackHost('evil127.0.0.1')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.evil.example')).toBe(false);
    expect(isLoopbackHost('127.0.0')).toBe(false);
  });
});

describe('Link header details', () => {
  it('splits rel on any whitespace and drops empty parts', () => {
    expect(parseLinkHeader('<a>; rel="NEXT \t prev", , <b>; rel=last')).toEqual([
      { uri: 'a', rels: ['next', 'prev'] },
      { uri: 'b', rels: ['last'] },
    ]);
  });
  it('a comma or escaped quote inside a quoted value does not split the part; escapes are undone', () => {
    expect(parseLinkHeader('<a>; title="x \\" y, z"; rel="n\\ext"')).toEqual([{ uri: 'a', rels: ['next'] }]);
  });
  it('junk before the link, between parameters or after them makes the part malformed (skipped)', () => {
    expect(parseLinkHeader('x<a>; rel=next')).toEqual([]);
    expect(parseLinkHeader('<a>; rel=next junk; title=t')).toEqual([]);
    expect(parseLinkHeader('<a>; rel=next "junk"')).toEqual([]);
  });
});

describe('log', () => {
  afterEach(() => {
    setLogLevel('warn');
    vi.restoreAllMocks();
  });

  it('writes a level and above to stderr, prefixed, and nothing below it', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    setLogLevel('warn');
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(lines).toEqual(['[basecamp-people-mcp] warn: w\n', '[basecamp-people-mcp] error: e\n']);
    lines.length = 0;
    setLogLevel('debug');
    log.debug('d');
    log.info('i');
    expect(lines).toEqual(['[basecamp-people-mcp] debug: d\n', '[basecamp-people-mcp] info: i\n']);
    lines.length = 0;
    setLogLevel('silent');
    log.error('e');
    expect(lines).toEqual([]);
  });

  it('every log line goes through redact(): a secret in a message never reaches stderr', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    setLogLevel('debug');
    const secret = 'S3cr3tValue_abcdefXYZ0123';
    for (const write of [log.debug, log.info, log.warn, log.error]) write(`refresh failed: {"refresh_token":"${secret}"}; Authorization: Bearer ${secret}`);
    expect(lines).toHaveLength(4);
    for (const line of lines) {
      expect(line).not.toContain(secret);
      expect(line).toContain('[redacted]');
    }
  });

  it('redacts a whole bearer token after any spacing, and leaves short words after "Bearer" alone', () => {
    const out = redact('Authorization: Bearer    abcdefghijklmnopqrstuvwxyz0123');
    expect(out).toBe('Authorization: Bearer    [redacted]');
    expect(redact('WWW-Authenticate: Bearer realm')).toBe('WWW-Authenticate: Bearer realm');
  });
});
