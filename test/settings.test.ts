import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, defaultSessionsPerCaller, flagHelp, flagsOf, parseEnvironment, parseSettings, SettingsError, UsageError, variableHelp, withDefaults, type Env } from '../src/settings.js';
import { loadConfig } from '../src/config.js';
import { help } from '../src/commands/help.js';

/** The problems SettingsError lists for these inputs (fails the test when they are accepted). */
function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

// variable → [good values with what they parse to], [bad values]
const variables: [string, [string, unknown][], string[]][] = [
  ['BASECAMP_ACCESS_TOKEN', [['abc.def', 'abc.def'], ['abc\n', 'abc']], ['   ', 'a b', 'a\u0000b']],
  ['BASECAMP_ACCOUNT_ID', [['5550001', 5550001], [' 42 ', 42]], ['0', '-1', 'abc', '1.5', '1e3']],
  ['BASECAMP_TOKEN_FILE', [['/tmp/t.json', '/tmp/t.json']], ['   ', '/tmp/a\u0001b']],
  ['BASECAMP_CLIENT_ID', [['client', 'client']], ['  ']],
  ['BASECAMP_CLIENT_SECRET', [['s3cret\n', 's3cret']], ['a b', ' \t ']],
  ['BASECAMP_REDIRECT_URI', [['http://127.0.0.1:8976/callback', 'http://127.0.0.1:8976/callback'], ['http://localhost:9000/cb', 'http://localhost:9000/cb']], ['not a url', 'ftp://x/cb', 'http://example.com/callback', 'https://127.0.0.1:8976/callback', 'http://127.0.0.1:8976/callback?x=1']],
  [
    'BASECAMP_API_URL',
    [
      ['https://3.basecampapi.com/', 'https://3.basecampapi.com'],
      ['http://127.0.0.1:9000', 'http://127.0.0.1:9000'],
      ['http://localhost:9000/base', 'http://localhost:9000/base'],
    ],
    ['https://3.basecampapi.com/?x=1', 'https://3.basecampapi.com/#f', 'https://u:p@3.basecampapi.com', 'http://3.basecampapi.com', 'ftp://x', 'not a url', 'https://x.com/?'],
  ],
  ['BASECAMP_LAUNCHPAD_URL', [['https://launchpad.37signals.com', 'https://launchpad.37signals.com']], ['http://launchpad.example', 'https://l.example?q']],
  ['BASECAMP_USER_AGENT', [['me (me@x.example)', 'me (me@x.example)']], ['   ', 'a\nb']],
  ['BASECAMP_RATE_LIMIT', [['50/10s', { max: 50, windowMs: 10_000 }], ['100/500ms', { max: 100, windowMs: 500 }], ['3/1m', { max: 3, windowMs: 60_000 }]], ['fifty', '0/10s', '50', '50/0s']],
  ['BASECAMP_CACHE_TTL', [['0', 0], ['60', 60], ['2.5', 2.5]], ['-1', 'abc', '1e3', 'Infinity']],
  ['BASECAMP_SNAPSHOT_DAYS', [['1', 1], ['90', 90], ['365', 365]], ['0', '-1', '2.5', 'ninety']],
  ['BASECAMP_LOG_LEVEL', [['debug', 'debug'], ['WARN', 'warn'], ['silent', 'silent']], ['verbose', 'trace']],
  ...(['BASECAMP_SANDBOX', 'BASECAMP_READ_ONLY'] as const).map(
    (name): [string, [string, unknown][], string[]] => [
      name,
      [['true', true], ['1', true], ['YES', true], ['on', true], ['On', true], ['false', false], ['0', false], ['no', false], ['OFF', false]],
      ['maybe', '2', 'enabled', 'y'],
    ],
  ),
  ['MCP_HTTP_TOKEN', [['secret', 'secret'], ['secret\n', 'secret'], ['  secret  ', 'secret']], [' ', '\n', 'sec ret', 'sec\tret', 'sec\u0007ret']],
  ['MCP_HTTP_CLIENTS', [['/etc/bpm/keys.json', '/etc/bpm/keys.json']], ['   ', '/tmp/a\u0001b']],
  ['MCP_ALLOWED_ORIGINS', [['https://a.example, http://localhost:3000', ['https://a.example', 'http://localhost:3000']]], ['a.example', 'https://a.example/path', 'ftp://a.example']],
  ['MCP_ALLOWED_HOSTS', [['mcp.example.com:443,localhost:8787', ['mcp.example.com:443', 'localhost:8787']]], ['a b', 'x.example/path', 'mcp.example.com:99999', 'mcp.example.com:0', '[::1', 'a:1:2', 'mcp.example.com:']],
  ['MCP_MAX_SESSIONS', [['100', 100], ['1', 1]], ['abc', '0', '-5', '1.5']],
  ['MCP_MAX_SESSIONS_PER_CALLER', [['25', 25], ['1', 1]], ['abc', '0', '-5', '1.5']],
  ['MCP_SESSION_IDLE_SECONDS', [['1800', 1800]], ['abc', '0', '10s']],
  ['MCP_SESSION_EVICT_GRACE_SECONDS', [['60', 60]], ['abc', '0', '1m']],
  ['REDIS_URL', [['redis://127.0.0.1:6379', 'redis://127.0.0.1:6379'], ['rediss://u:p@r.example:6380/2', 'rediss://u:p@r.example:6380/2']], ['localhost:6379', 'http://r.example']],
  ['BASECAMP_RATE_BUDGET_ID', [['fleet-a', 'fleet-a']], ['  ']],
  ['BASECAMP_CONFIRM', [['auto', 'auto'], ['HUMAN', 'human']], ['always', 'yes']],
  ['BASECAMP_PLAN_SECRET', [['x'.repeat(32), 'x'.repeat(32)], [`${'k'.repeat(40)}\n`, 'k'.repeat(40)]], ['short-secret', 'a b'.repeat(12)]],
  ['BASECAMP_AUDIT_LOG', [['/var/log/bpm/audit.jsonl', '/var/log/bpm/audit.jsonl'], ['off', 'off']], ['   ', 'a\nb']],
];

const secretVariables = new Set(['BASECAMP_ACCESS_TOKEN', 'BASECAMP_CLIENT_SECRET', 'MCP_HTTP_TOKEN', 'REDIS_URL', 'BASECAMP_PLAN_SECRET']);

describe('environment variables', () => {
  describe.each(variables)('%s', (name, good, bad) => {
    it.each(good)('accepts %j', (value, parsed) => {
      expect((parseEnvironment({ [name]: value }) as Record<string, unknown>)[name]).toEqual(parsed);
    });
    it('unset, empty (except MCP_HTTP_TOKEN and MCP_HTTP_CLIENTS) or an unfilled placeholder means unset', () => {
      expect((parseEnvironment({}) as Record<string, unknown>)[name]).toBeUndefined();
      if (name !== 'MCP_HTTP_TOKEN' && name !== 'MCP_HTTP_CLIENTS') expect((parseEnvironment({ [name]: '' }) as Record<string, unknown>)[name]).toBeUndefined();
      expect((parseEnvironment({ [name]: '${user_config.x}' }) as Record<string, unknown>)[name]).toBeUndefined();
    });
    it.each(bad)('refuses %j, naming the variable as a variable', (value) => {
      const [problem, ...rest] = problems(() => parseEnvironment({ [name]: value }));
      expect(rest).toEqual([]);
      expect(problem).toMatch(new RegExp(`^Environment variable ${name} (must|is) `));
      expect(problem).not.toContain(`--${name}`);
      if (secretVariables.has(name) && value.trim()) expect(problem).not.toContain(value.trim());
    });
  });

  it('reports every bad variable at once', () => {
    const env: Env = { MCP_MAX_SESSIONS: 'abc', BASECAMP_READ_ONLY: 'maybe', BASECAMP_API_URL: 'https://x.example/?q' };
    expect(problems(() => parseEnvironment(env)).map((p) => p.split(' ')[2])).toEqual(['BASECAMP_API_URL', 'BASECAMP_READ_ONLY', 'MCP_MAX_SESSIONS']);
  });

  it('MCP_MAX_SESSIONS_PER_CALLER above MCP_MAX_SESSIONS (as set, or its default) is refused, naming both; equal to it is fine', () => {
    expect(problems(() => parseEnvironment({ MCP_MAX_SESSIONS: '10', MCP_MAX_SESSIONS_PER_CALLER: '11' }))).toEqual([
      'Environment variable MCP_MAX_SESSIONS_PER_CALLER must be at most MCP_MAX_SESSIONS (10) (got "11").',
    ]);
    expect(problems(() => parseEnvironment({ MCP_MAX_SESSIONS_PER_CALLER: '101' }))).toEqual([
      'Environment variable MCP_MAX_SESSIONS_PER_CALLER must be at most MCP_MAX_SESSIONS (100, its default) (got "101").',
    ]);
    expect(parseEnvironment({ MCP_MAX_SESSIONS: '10', MCP_MAX_SESSIONS_PER_CALLER: '10' }).MCP_MAX_SESSIONS_PER_CALLER).toBe(10);
    // Unset: no value here; serveHttp derives it (defaultSessionsPerCaller).
    expect(parseSettings(['serve', '--http'], {}).env.MCP_MAX_SESSIONS_PER_CALLER).toBeUndefined();
    expect([defaultSessionsPerCaller(100, true), defaultSessionsPerCaller(3, true), defaultSessionsPerCaller(100, false)]).toEqual([25, 1, 100]);
  });

  it('MCP_HTTP_TOKEN set but empty is refused (an empty $(cat file) must not serve unauthenticated)', () => {
    expect(problems(() => parseEnvironment({ MCP_HTTP_TOKEN: '' }))).toEqual([
      'Environment variable MCP_HTTP_TOKEN is set but empty (was the file it is read from missing?): set a token, or unset the variable.',
    ]);
  });

  it('an unfilled bundle placeholder is unset, with one warning naming the variable', () => {
    const env: Env = { BASECAMP_ACCOUNT_ID: '${user_config.account_id}', BASECAMP_ACCESS_TOKEN: '${user_config.access_token}', BASECAMP_SANDBOX: 'true' };
    const settings = parseSettings([], env);
    expect(settings.env.BASECAMP_ACCOUNT_ID).toBeUndefined();
    expect(settings.env.BASECAMP_ACCESS_TOKEN).toBeUndefined();
    expect(settings.sandbox).toBe(true);
    expect(settings.warnings).toEqual([
      'BASECAMP_ACCESS_TOKEN is "${user_config.access_token}", a placeholder nobody filled in (a bundle\'s optional field left blank?): treated as unset.',
      'BASECAMP_ACCOUNT_ID is "${user_config.account_id}", a placeholder nobody filled in (a bundle\'s optional field left blank?): treated as unset.',
    ]);
    expect(parseSettings([], { BASECAMP_ACCOUNT_ID: '42' }).warnings).toEqual([]);
  });

  it.each([
    ['https://3.basecamp.com/1234567/projects', 1234567],
    ['https://3.basecamp.com/1234567', 1234567],
    ['https://basecamp.com/2345678/api/v1/projects.json', 2345678],
    [' https://3.basecampapi.com/1234567/people.json ', 1234567],
  ])('BASECAMP_ACCOUNT_ID %j (a pasted Basecamp address) is accepted for its account id, with a warning', (value, id) => {
    const settings = parseSettings([], { BASECAMP_ACCOUNT_ID: value });
    expect(settings.env.BASECAMP_ACCOUNT_ID).toBe(id);
    expect(settings.warnings).toEqual([`BASECAMP_ACCOUNT_ID is a Basecamp address; using the account id in it, ${id} (set BASECAMP_ACCOUNT_ID=${id} to say so directly).`]);
  });

  it.each(['https://3.basecamp.com/', 'https://3.basecamp.com/projects', 'https://example.com/1234567'])('BASECAMP_ACCOUNT_ID %j holds no Basecamp account id: refused, saying where the id is', (value) => {
    expect(problems(() => parseEnvironment({ BASECAMP_ACCOUNT_ID: value }))[0]).toMatch(
      /^Environment variable BASECAMP_ACCOUNT_ID must be a whole number, at least 1 \(the number after the host in https:\/\/3\.basecamp\.com\/1234567\)/,
    );
  });

  it.each([
    ['https://3.basecampapi.com/1234567', 'ends in an account id: set BASECAMP_API_URL=https://3.basecampapi.com and set BASECAMP_ACCOUNT_ID=1234567'],
    ['https://3.basecampapi.com/1234567/', 'ends in an account id: set BASECAMP_API_URL=https://3.basecampapi.com and set BASECAMP_ACCOUNT_ID=1234567'],
    ['http://127.0.0.1:9000/base/42', 'ends in an account id: set BASECAMP_API_URL=http://127.0.0.1:9000/base and set BASECAMP_ACCOUNT_ID=42'],
    ['https://3.basecamp.com/1234567', "is Basecamp's web address, not its API: unset it"],
  ])('BASECAMP_API_URL %j is refused with the fix', (value, message) => {
    const [problem] = problems(() => parseEnvironment({ BASECAMP_API_URL: value }));
    expect(problem).toContain(`Environment variable BASECAMP_API_URL ${message}`);
  });

  it('a shown value is quoted so trailing whitespace is visible; a secret is never shown', () => {
    expect(problems(() => parseEnvironment({ MCP_MAX_SESSIONS: '10 0' }))[0]).toContain('(got "10 0")');
    expect(problems(() => parseEnvironment({ MCP_HTTP_TOKEN: 'my secret' }))[0]).not.toContain('my secret');
  });
});

describe('command line', () => {
  const parse = (argv: string[], env: Env = {}) => parseSettings(argv, env);

  it('defaults to serve over stdio', () => {
    expect(parse([])).toMatchObject({ command: 'serve', readOnly: false, sandbox: false });
  });

  it('flags and variables that mean the same thing are combined', () => {
    expect(parse(['--read-only']).readOnly).toBe(true);
    expect(parse([], { BASECAMP_READ_ONLY: 'on' }).readOnly).toBe(true);
    expect(parse([], { BASECAMP_READ_ONLY: 'off' }).readOnly).toBe(false);
    expect(parse(['--sandbox']).sandbox).toBe(true);
    expect(parse([], { BASECAMP_SANDBOX: 'yes' }).sandbox).toBe(true);
  });

  it.each([
    [['serve', '--http', '--port', '8787', '--host', '127.0.0.2', '--stateless'], { port: 8787, host: '127.0.0.2', stateless: true }],
    [['serve', '--http', '--port', '0'], { port: 0 }],
    [['sandbox', '--port', '65535', '--people', '40'], { port: 65535, people: 40 }],
    [['sandbox', '--product', 'bcx'], { product: 'bcx' }],
    [['serve', '--sandbox', '--product', 'bcx'], { product: 'bcx', sandbox: true }],
    [['login', '--account', '5550001', '--timeout', '30', '--client-id', 'c', '--redirect-uri', 'http://127.0.0.1:1/cb', '--no-browser'], { account: 5550001, timeout: 30 }],
  ])('accepts %j', (argv, flags) => {
    expect(parse(argv).flags).toMatchObject(flags);
  });

  it.each([
    [['--port', 'abc', '--sandbox'], /^Flag --port must be a whole number from 0 to 65535 \(got "abc"\)/],
    [['--sandbox', '--port', '8787'], /^Flag --port applies only to `serve --http`/],
    [['serve', '--http', '--port', 'abc'], /^Flag --port must be a whole number from 0 to 65535 \(got "abc"\)/],
    [['serve', '--http', '--port', '65536'], /^Flag --port must be a whole number from 0 to 65535/],
    [['sandbox', '--people', '0'], /^Flag --people must be a whole number from 1 to 100000/],
    [['sandbox', '--product', 'bc4'], /^Flag --product must be bc3 \(Basecamp 3, 4 and 5\) or bcx \(Basecamp 2\) \(got "bc4"\)/],
    [['serve', '--product', 'bcx'], /^Flag --product chooses the sandbox account's product: it goes with --sandbox/],
    [['login', '--product', 'bcx'], /^Flag --product does not apply to `login`/],
    [['login', '--account', 'x'], /^Flag --account must be a whole number, at least 1/],
    [['login', '--timeout=-3'], /^Flag --timeout must be/],
    [['login', '--redirect-uri', 'nope'], /^Flag --redirect-uri must be a URL/],
    [['serve', '--http', '--host', 'a b'], /^Flag --host must be a host name or IP address/],
    [['logout', '--port', '1'], /^Flag --port does not apply to `logout` \(its flags: none\)/],
    [['sandbox', '--http'], /^Flag --http does not apply to `sandbox` \(its flags: --port, --people, --product\)/],
    [['serve', '--http', '--host', '0.0.0.0'], /^Refusing to serve on 0\.0\.0\.0 without MCP_HTTP_TOKEN/],
  ])('refuses %j', (argv, message) => {
    expect(problems(() => parse(argv)).some((p) => message.test(p))).toBe(true);
  });

  it('a non-loopback host is fine with an MCP_HTTP_TOKEN of 32 characters or more; a shorter one is refused there, not on loopback', () => {
    expect(parse(['serve', '--http', '--host', '0.0.0.0'], { MCP_HTTP_TOKEN: 't'.repeat(32) }).flags.host).toBe('0.0.0.0');
    expect(problems(() => parse(['serve', '--http', '--host', '0.0.0.0'], { MCP_HTTP_TOKEN: 't'.repeat(31) }))).toEqual([
      'Refusing to serve on 0.0.0.0 with a 31-character MCP_HTTP_TOKEN: off loopback it must be at least 32 characters (openssl rand -hex 32 makes 64).',
    ]);
    expect(parse(['serve', '--http'], { MCP_HTTP_TOKEN: 'short' }).env.MCP_HTTP_TOKEN).toBe('short');
    expect(parse(['serve', '--http', '--host', '::1'], { MCP_HTTP_TOKEN: 'short' }).flags.host).toBe('::1');
  });

  it('flag and variable problems are reported together', () => {
    const all = problems(() => parse(['serve', '--http', '--port', 'abc'], { MCP_MAX_SESSIONS: 'abc' }));
    expect(all).toHaveLength(2);
    expect(all.join('\n')).toMatch(/Flag --port.*\n.*Environment variable MCP_MAX_SESSIONS/);
  });

  it('unknown flags and commands are usage errors; a variable given as a flag says so', () => {
    expect(() => parse(['--bogus'])).toThrow(UsageError);
    expect(() => parse(['frobnicate'])).toThrow(/Unknown command: frobnicate/);
    expect(() => parse(['serve', 'extra'])).toThrow(/Unexpected argument: extra/);
    expect(() => parse(['--MCP_MAX_SESSIONS', '3'])).toThrow(/MCP_MAX_SESSIONS is an environment variable, not a flag/);
  });

  it.each([
    [['serve', '--http', '--prot', '8787'], 'unknown flag --prot; did you mean --port?'],
    [['--prot=8787'], 'unknown flag --prot; did you mean --port?'],
    [['--sandbx'], 'unknown flag --sandbx; did you mean --sandbox?'],
    [['--readonly'], 'unknown flag --readonly; did you mean --read-only?'],
    [['login', '--acount', '1'], 'unknown flag --acount; did you mean --account?'],
    [['--bogus'], 'unknown flag --bogus'],
  ])('a mistyped flag %j names it and the nearest one, in one line', (argv, message) => {
    expect(() => parse(argv)).toThrow(new UsageError(message));
  });
});

describe('the tables: one entry per variable and flag gives parsing, --help and the default', () => {
  it('an unset variable gets the table\'s default once, in the settings every command sees', () => {
    const { env } = parseSettings([], {});
    expect(env).toMatchObject({ BASECAMP_API_URL: 'https://3.basecampapi.com', BASECAMP_CACHE_TTL: 60, BASECAMP_LOG_LEVEL: 'info', BASECAMP_CONFIRM: 'auto', MCP_MAX_SESSIONS: 100, MCP_SESSION_IDLE_SECONDS: 1800, MCP_SESSION_EVICT_GRACE_SECONDS: 60 });
    expect(withDefaults(parseEnvironment({}), { XDG_CONFIG_HOME: '/cfg' })).toMatchObject({ BASECAMP_TOKEN_FILE: '/cfg/basecamp-people-mcp/token.json', BASECAMP_AUDIT_LOG: '/cfg/basecamp-people-mcp/audit.jsonl' });
    // A set value wins, and `setInEnvironment` says which were set.
    const set = parseSettings([], { BASECAMP_CACHE_TTL: '5', BASECAMP_AUDIT_LOG: 'off' });
    expect(set.env).toMatchObject({ BASECAMP_CACHE_TTL: 5, BASECAMP_AUDIT_LOG: 'off' });
    expect([...set.setInEnvironment].sort()).toEqual(['BASECAMP_AUDIT_LOG', 'BASECAMP_CACHE_TTL']);
    expect(loadConfig({ XDG_CONFIG_HOME: '/cfg', BASECAMP_TOKEN_FILE: '/nonexistent/token.json' })).toMatchObject({ cacheTtlMs: 60_000, confirm: 'auto', auditLog: '/cfg/basecamp-people-mcp/audit.jsonl' });
  });

  it('BASECAMP_SNAPSHOT_DAYS defaults to 90; the people snapshots live beside the audit trail, or in the token file\'s folder when it is off', () => {
    expect(parseSettings([], {}).env.BASECAMP_SNAPSHOT_DAYS).toBe(90);
    expect(loadConfig({ XDG_CONFIG_HOME: '/cfg', BASECAMP_TOKEN_FILE: '/nonexistent/token.json' })).toMatchObject({
      snapshotDays: 90,
      snapshotFile: '/cfg/basecamp-people-mcp/audit.jsonl.people-snapshots.jsonl',
    });
    expect(loadConfig({ BASECAMP_TOKEN_FILE: '/tokens/token.json', BASECAMP_AUDIT_LOG: 'off', BASECAMP_SNAPSHOT_DAYS: '7' })).toMatchObject({
      snapshotDays: 7,
      snapshotFile: '/tokens/people-snapshots.jsonl',
    });
  });

  it('a flag\'s default is the one its table entry gives the command; the variable that says the same fills in for a missing flag', () => {
    expect(parseSettings(['serve', '--http'], {}).flags).toMatchObject({ port: 8787, host: '127.0.0.1', people: 120, product: 'bc3' });
    expect(parseSettings(['sandbox'], {}).flags).toMatchObject({ port: 0, people: 120, product: 'bc3' });
    expect(parseSettings(['login'], {}).flags).toMatchObject({ port: 8976, timeout: 300 });
    expect(parseSettings(['login'], { BASECAMP_CLIENT_ID: 'from-env' }).flags['client-id']).toBe('from-env');
    expect(parseSettings(['login', '--client-id', 'from-flag'], { BASECAMP_CLIENT_ID: 'from-env' }).flags['client-id']).toBe('from-flag');
  });

  it('--help shows each default and each command\'s flags from the tables', () => {
    const lines = Object.fromEntries(variableHelp());
    expect(lines.MCP_MAX_SESSIONS).toBe('HTTP: live sessions (default 100)');
    expect(lines.BASECAMP_CACHE_TTL).toMatch(/\(default 60\)$/);
    for (const command of COMMANDS) expect(flagHelp(command).map(([usage]) => usage.split(' ')[0])).toEqual(flagsOf(command).map((f) => `--${f}`));
    expect(Object.fromEntries(flagHelp('serve'))['--port P']).toMatch(/\(default 8787\)$/);
    expect(Object.fromEntries(flagHelp('sandbox'))['--port P']).toMatch(/\(default any free port\)$/);
    const text = help();
    for (const command of COMMANDS) for (const [usage, meaning] of flagHelp(command)) expect(text).toMatch(new RegExp(`^ +${usage} +${meaning.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  });
});

describe('MCP_AUTH=oauth (issue 20): everything it needs is checked at start, each missing one named', () => {
  const KEY = Buffer.alloc(32, 7).toString('base64');
  const FULL: Env = {
    MCP_AUTH: 'oauth',
    MCP_PUBLIC_URL: 'https://mcp.example.com',
    BASECAMP_CLIENT_ID: 'app',
    BASECAMP_CLIENT_SECRET: 'app-secret',
    BASECAMP_ACCOUNT_ID: '5550001',
    MCP_TOKEN_KEY: KEY,
  };

  it('accepted with all of them; keys are the default; off loopback no bearer key is needed', () => {
    expect(parseSettings(['serve', '--http'], {}).env.MCP_AUTH).toBe('keys');
    const s = parseSettings(['serve', '--http', '--host', '0.0.0.0'], FULL);
    expect(s.env.MCP_AUTH).toBe('oauth');
    expect(s.env.MCP_PUBLIC_URL).toBe('https://mcp.example.com');
    expect(s.env.MCP_OAUTH_FILE).toMatch(/oauth-store\.json$/);
    expect(parseSettings(['serve', '--http'], { ...FULL, MCP_TOKEN_KEY: 'ab'.repeat(32), MCP_PUBLIC_URL: 'http://127.0.0.1:8787/' }).env.MCP_PUBLIC_URL).toBe('http://127.0.0.1:8787');
    expect(parseSettings(['serve', '--http'], { ...FULL, MCP_OAUTH_ALLOWED: 'ann@x.com, x.com,@y.org' }).env.MCP_OAUTH_ALLOWED).toEqual(['ann@x.com', 'x.com', '@y.org']);
    // Keys mode keeps refusing an open door off loopback.
    expect(problems(() => parseSettings(['serve', '--http', '--host', '0.0.0.0'], { ...FULL, MCP_AUTH: 'keys' })).join('\n')).toMatch(/without MCP_HTTP_TOKEN or MCP_HTTP_CLIENTS/);
  });

  it('a named key whose name has an @ (it could pass for a signed-in person in the audit trail) is refused with oauth, not without', () => {
    const dir = mkdtempSync(join(tmpdir(), 'settings-oauth-keys-'));
    try {
      const file = join(dir, 'keys.json');
      writeFileSync(file, JSON.stringify([{ name: 'ann@acme.example', token_sha256: 'a'.repeat(64), role: 'reader' }]), { mode: 0o600 });
      expect(problems(() => parseSettings(['serve', '--http'], { ...FULL, MCP_HTTP_CLIENTS: file })).join('\n')).toMatch(/ann@acme\.example looks like an email address/);
      expect(parseSettings(['serve', '--http'], { ...FULL, MCP_AUTH: 'keys', MCP_HTTP_CLIENTS: file }).httpClients?.[0]?.name).toBe('ann@acme.example');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('each missing one is named; BASECAMP_ACCESS_TOKEN is refused with it', () => {
    const found = problems(() => parseSettings(['serve'], { MCP_AUTH: 'oauth', BASECAMP_ACCESS_TOKEN: 'static-token' })).join('\n');
    for (const name of ['--http', 'MCP_PUBLIC_URL', 'BASECAMP_CLIENT_ID', 'BASECAMP_CLIENT_SECRET', 'BASECAMP_ACCOUNT_ID', 'MCP_TOKEN_KEY']) expect(found).toContain(`MCP_AUTH=oauth needs ${name}`);
    expect(found).toMatch(/BASECAMP_ACCESS_TOKEN cannot be used with MCP_AUTH=oauth/);
    for (const name of Object.keys(FULL).filter((k) => k !== 'MCP_AUTH')) {
      const rest = { ...FULL, [name]: undefined };
      expect(problems(() => parseSettings(['serve', '--http'], rest)), name).toEqual([expect.stringContaining(`MCP_AUTH=oauth needs ${name}`)]);
    }
  });

  it('with --sandbox the sandbox is the upstream: only the public URL and the key are needed', () => {
    expect(parseSettings(['serve', '--http', '--sandbox'], { MCP_AUTH: 'oauth', MCP_PUBLIC_URL: 'http://127.0.0.1:8787', MCP_TOKEN_KEY: KEY }).sandbox).toBe(true);
  });

  it('bad values are refused, and the key is never echoed', () => {
    const bad = (env: Env) => problems(() => parseSettings(['serve', '--http'], { ...FULL, ...env })).join('\n');
    expect(bad({ MCP_AUTH: 'password' })).toMatch(/MCP_AUTH must be keys or oauth/);
    for (const url of ['http://mcp.example.com', 'https://mcp.example.com/mcp', 'https://u:p@mcp.example.com', 'not a url']) expect(bad({ MCP_PUBLIC_URL: url }), url).toMatch(/MCP_PUBLIC_URL must/);
    for (const key of ['short', 'ab'.repeat(31), Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64'), 'zz'.repeat(32)]) {
      const said = bad({ MCP_TOKEN_KEY: key });
      expect(said, key).toMatch(/MCP_TOKEN_KEY must be 32 random bytes/);
      expect(said).not.toContain(key);
    }
    expect(bad({ MCP_OAUTH_ALLOWED: 'ann@, x' })).toMatch(/MCP_OAUTH_ALLOWED must be a comma-separated list/);
  });
});
