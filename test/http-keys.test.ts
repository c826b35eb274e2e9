import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ANONYMOUS_CALLER, TOKEN_CALLER } from '../src/caller.js';
import { parseEnvironment, parseSettings, SettingsError, type Env } from '../src/settings.js';
import { KeyRing } from '../src/transports/http-keys.js';

/** MCP_HTTP_CLIENTS: the keys file is read and checked at start; every problem names the variable. */

const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const folder = mkdtempSync(join(tmpdir(), 'http-keys-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let n = 0;
/** A keys file with this content (JSON unless a string), mode 0600 unless told. */
function keysFile(content: unknown, mode = 0o600): string {
  const path = join(folder, `keys-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  chmodSync(path, mode);
  return path;
}

const GOOD = [
  { name: 'nightly-report', token_sha256: sha('reader-token'), role: 'reader' },
  { name: 'onboarding-bot', token_sha256: sha('operator-token'), role: 'operator' },
];

function problems(env: Env, argv = ['serve', '--http']): string[] {
  try {
    parseSettings(argv, env);
  } catch (error) {
    if (error instanceof SettingsError) return error.problems;
    throw error;
  }
  throw new Error('accepted');
}

describe('MCP_HTTP_CLIENTS at start', () => {
  it('a good file is read into the settings of serve --http (the hashes in lower case)', () => {
    const path = keysFile([{ ...GOOD[0], token_sha256: GOOD[0]!.token_sha256.toUpperCase() }, GOOD[1]]);
    const settings = parseSettings(['serve', '--http'], { MCP_HTTP_CLIENTS: path });
    expect(settings.httpClients).toEqual(GOOD);
  });

  it('off loopback, MCP_HTTP_CLIENTS alone is enough authentication; neither key set is refused', () => {
    const path = keysFile(GOOD);
    expect(parseSettings(['serve', '--http', '--host', '0.0.0.0'], { MCP_HTTP_CLIENTS: path }).httpClients).toHaveLength(2);
    expect(problems({}, ['serve', '--http', '--host', '0.0.0.0'])).toEqual([
      'Refusing to serve on 0.0.0.0 without MCP_HTTP_TOKEN or MCP_HTTP_CLIENTS: anyone who can reach it could administer your Basecamp people. Set one, or bind --host 127.0.0.1.',
    ]);
  });

  it('set but empty is refused (a broken template must not leave the door open)', () => {
    expect(() => parseEnvironment({ MCP_HTTP_CLIENTS: '' })).toThrow(/MCP_HTTP_CLIENTS is set but empty/);
  });

  const cases: [string, () => string, RegExp][] = [
    ['missing', () => join(folder, 'nope.json'), /cannot be read \(ENOENT\)/],
    ['a folder', () => folder, /is not a regular file/],
    ['not JSON', () => keysFile('[{"name": "x",'), /is not JSON/],
    ['not an array', () => keysFile({ name: 'x' }), /must be a JSON array of at least one key/],
    ['an empty array', () => keysFile([]), /must be a JSON array of at least one key/],
    ['a bad role', () => keysFile([{ ...GOOD[0], role: 'root' }]), /entry 1 \("nightly-report"\): role must be one of reader, operator, admin\./],
    ['a missing role', () => keysFile([{ name: 'x', token_sha256: sha('x') }]), /entry 1 \("x"\): role must be one of reader, operator, admin/],
    ['a malformed sha256', () => keysFile([{ ...GOOD[0], token_sha256: 'abc' }]), /entry 1 \("nightly-report"\): token_sha256 must be the SHA-256 of the token: 64 hexadecimal digits/],
    ['a token instead of its hash', () => keysFile([{ ...GOOD[0], token_sha256: 'g'.repeat(64) }]), /token_sha256 must be the SHA-256/],
    ['an unknown field (a token in clear?)', () => keysFile([{ ...GOOD[0], token: 'reader-token' }]), /entry 1 \("nightly-report"\): Unrecognized key: "token"/],
    ['a bad name', () => keysFile([{ ...GOOD[0], name: 'a b' }]), /entry 1 \("a b"\): name must be 1 to 64 letters/],
    ['duplicate names, case aside', () => keysFile([GOOD[0], { ...GOOD[1], name: 'Nightly-Report' }]), /entry 2 \("Nightly-Report"\): the name Nightly-Report is also entry 1/],
    ['duplicate hashes', () => keysFile([GOOD[0], { ...GOOD[1], token_sha256: GOOD[0]!.token_sha256.toUpperCase() }]), /entry 2 \("onboarding-bot"\): its token_sha256 is also entry 1's/],
    ['a reserved name', () => keysFile([{ ...GOOD[0], name: 'Anonymous' }]), /the name Anonymous is reserved/],
    ['MCP_HTTP_TOKEN as a name', () => keysFile([{ ...GOOD[0], name: 'MCP_HTTP_TOKEN' }]), /the name MCP_HTTP_TOKEN is reserved/],
    ['writable by others', () => keysFile(GOOD, 0o622), /may be written by others \(mode 622\): whoever can write it can give themselves an admin key/],
    ['writable by the group', () => keysFile(GOOD, 0o660), /may be written by others \(mode 660\)/],
  ];
  it.each(cases)('refuses %s, naming MCP_HTTP_CLIENTS and the file', (_what, path, message) => {
    const file = path();
    const found = problems({ MCP_HTTP_CLIENTS: file });
    expect(found.length, found.join('\n')).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(message);
    for (const p of found) expect(p.startsWith(`Environment variable MCP_HTTP_CLIENTS (${file}): `), p).toBe(true);
  });

  it('a key whose token is MCP_HTTP_TOKEN is refused (one token is one caller)', () => {
    const path = keysFile([{ ...GOOD[0], token_sha256: sha('the-http-token') }]);
    expect(problems({ MCP_HTTP_CLIENTS: path, MCP_HTTP_TOKEN: 'the-http-token' }).join('\n')).toMatch(/entry 1 \("nightly-report"\): its token is MCP_HTTP_TOKEN's/);
  });

  it('readable by others is allowed (the file holds hashes, not tokens)', () => {
    expect(parseSettings(['serve', '--http'], { MCP_HTTP_CLIENTS: keysFile(GOOD, 0o644) }).httpClients).toHaveLength(2);
  });

  it('the served CLI refuses to start with a bad file, exit 1, saying why and nothing listening', () => {
    const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
    const path = keysFile([{ ...GOOD[0], role: 'superuser' }]);
    const run = spawnSync(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', '0'], { env: { ...process.env, MCP_HTTP_CLIENTS: path }, encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/MCP_HTTP_CLIENTS .*entry 1 \("nightly-report"\): role must be one of reader, operator, admin/);
    expect(run.stderr).not.toMatch(/serving \d+ tools/);
  });
});

describe('the key ring', () => {
  const ring = new KeyRing('the-http-token', [
    { name: 'nightly-report', token_sha256: sha('reader-token'), role: 'reader' },
    { name: 'onboarding-bot', token_sha256: sha('operator-token'), role: 'operator' },
  ]);

  it('each token is its caller; anything else is no one', () => {
    expect(ring.identify('Bearer reader-token')).toEqual({ name: 'nightly-report', role: 'reader' });
    expect(ring.identify('bearer   operator-token ')).toEqual({ name: 'onboarding-bot', role: 'operator' });
    expect(ring.identify('Bearer the-http-token')).toBe(TOKEN_CALLER);
    for (const bad of [undefined, '', 'Bearer', 'Bearer ', 'Basic reader-token', 'reader-token', 'Bearer reader-token2', `Bearer ${sha('reader-token')}`]) {
      expect(ring.identify(bad), String(bad)).toBeUndefined();
    }
  });

  it('with no key at all, every client is anonymous (an admin: loopback only, enforced at start)', () => {
    const open = new KeyRing();
    expect(open.open).toBe(true);
    expect(open.identify(undefined)).toBe(ANONYMOUS_CALLER);
    expect(ring.open).toBe(false);
  });
});
