import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createPrivateKey, createPublicKey, randomBytes, sign, verify } from 'node:crypto';
import { existsSync, lstatSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/errors.js';
import { deriveProviderKeys, parseTokenKey, SealBox, SealOpenError } from '../src/oauth/crypto.js';
import { FileOAuthStore } from '../src/oauth/file-store.js';
import { KEY_CHECK, openOAuthStore } from '../src/oauth/open-store.js';
import { REDIS_PREFIX, RedisOAuthStore } from '../src/oauth/redis-store.js';
import { MemoryOAuthStore, personKey, type OAuthStore, type PersonRecord } from '../src/oauth/store.js';
import { freePort, hasRedis, startRedis } from './helpers.js';

/**
 * The OAuth store (docs/design/oauth.md §2.2): one contract for its three backends, the sealing (SealBox), the
 * keys derived from MCP_TOKEN_KEY, the key check at open, the file's modes and lock, and no secret in clear in
 * what the file or Redis hold. Redis parts need redis-server (skipped without it outside CI, like redis-fleet).
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const KEY = randomBytes(32);
const OTHER_KEY = randomBytes(32);
const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'bpm-oauth-store-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const redisOn = hasRedis || Boolean(process.env.CI);
let redisProc: ChildProcess | undefined;
let redisUrl = '';
const clients: Redis[] = [];
async function redisClient(): Promise<Redis> {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  clients.push(client);
  return client;
}
beforeAll(async () => {
  if (!redisOn) return;
  if (!hasRedis) throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
  const port = await freePort();
  redisProc = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  redisProc?.kill('SIGKILL');
});

interface Backend {
  /** The store, and a second view of the same records (another Redis client; the same object where one process is all there is). */
  store: OAuthStore;
  peer: OAuthStore;
}

const backends: [string, boolean, () => Promise<Backend>][] = [
  [
    'MemoryOAuthStore',
    true,
    async () => {
      const store = new MemoryOAuthStore();
      return { store, peer: store };
    },
  ],
  [
    'FileOAuthStore',
    true,
    async () => {
      const store = FileOAuthStore.open(join(tempDir(), 'store.json'), new SealBox(KEY));
      return { store, peer: store };
    },
  ],
  [
    'RedisOAuthStore',
    redisOn,
    async () => {
      const [a, b] = [await redisClient(), await redisClient()];
      await a.flushall();
      return { store: new RedisOAuthStore(a, 'redis://127.0.0.1', new SealBox(KEY)), peer: new RedisOAuthStore(b, 'redis://127.0.0.1', new SealBox(KEY)) };
    },
  ],
];

for (const [name, enabled, make] of backends) {
  describe.skipIf(!enabled)(`OAuthStore contract: ${name}`, () => {
    let store: OAuthStore;
    let peer: OAuthStore;
    beforeEach(async () => {
      ({ store, peer } = await make());
    });
    afterEach(async () => {
      await store.close();
      if (peer !== store) await peer.close();
    });

    it('get, set, overwrite, del', async () => {
      expect(await store.get('a')).toBeUndefined();
      await store.set('a', '{"x":1}');
      expect(await peer.get('a')).toBe('{"x":1}');
      await store.set('a', 'two');
      expect(await peer.get('a')).toBe('two');
      await peer.del('a');
      expect(await store.get('a')).toBeUndefined();
      await store.del('never-there');
    });

    it('a record with a lifetime is gone after it (absent, not stale); a lifetime must be positive', async () => {
      await store.set('short', 'v', 150);
      await store.set('long', 'v', 60_000);
      expect(await peer.get('short')).toBe('v');
      await sleep(300);
      expect(await peer.get('short')).toBeUndefined();
      expect(await peer.take('short')).toBeUndefined();
      expect(await peer.get('long')).toBe('v');
      await expect(store.set('bad', 'v', 0)).rejects.toThrow(RangeError);
      await expect(store.set('bad', 'v', -5)).rejects.toThrow(RangeError);
      expect(await store.get('bad')).toBeUndefined();
    });

    it('take: of many concurrent takers on both views, exactly one gets the value', async () => {
      for (let round = 0; round < 5; round++) {
        await store.set(`code:${round}`, `value-${round}`, 60_000);
        const got = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? peer : store).take(`code:${round}`)));
        expect(got.filter((v) => v !== undefined)).toEqual([`value-${round}`]);
        expect(await store.get(`code:${round}`)).toBeUndefined();
      }
    });

    it('sets: members added once each, deleted with del', async () => {
      expect(await store.members('grant:1')).toEqual([]);
      await store.addToSet('grant:1', 'AccessToken:abc');
      await peer.addToSet('grant:1', 'RefreshToken:def');
      await store.addToSet('grant:1', 'AccessToken:abc');
      expect((await peer.members('grant:1')).sort()).toEqual(['AccessToken:abc', 'RefreshToken:def']);
      await peer.del('grant:1');
      expect(await store.members('grant:1')).toEqual([]);
    });

    it("a set's lifetime: gone after it, lengthened by a longer one, never shortened, for ever without one", async () => {
      await store.addToSet('s:short', 'm', 150);
      await store.addToSet('s:longer', 'm', 150);
      await store.addToSet('s:longer', 'n', 60_000);
      await store.addToSet('s:notshorter', 'm', 60_000);
      await store.addToSet('s:notshorter', 'n', 150);
      await store.addToSet('s:forever', 'm', 150);
      await store.addToSet('s:forever', 'n');
      await store.addToSet('s:forever2', 'm');
      await store.addToSet('s:forever2', 'n', 150);
      await sleep(300);
      expect(await peer.members('s:short')).toEqual([]);
      for (const key of ['s:longer', 's:notshorter', 's:forever', 's:forever2']) expect((await peer.members(key)).sort(), key).toEqual(['m', 'n']);
    });

    it('locks: exclusive across views, per key, free again once released', async () => {
      const release = await store.tryLock('refresh:1', 10_000);
      expect(release).toBeTypeOf('function');
      expect(await peer.tryLock('refresh:1', 10_000)).toBeUndefined();
      expect(await store.tryLock('refresh:1', 10_000)).toBeUndefined();
      const other = await peer.tryLock('refresh:2', 10_000);
      expect(other).toBeTypeOf('function');
      await release!();
      const again = await peer.tryLock('refresh:1', 10_000);
      expect(again).toBeTypeOf('function');
      await again!();
      await other!();
    });

    it('a lock lapses by itself; a lapsed holder releasing does not free the next holder’s lock', async () => {
      const first = await store.tryLock('refresh:3', 150);
      expect(first).toBeTypeOf('function');
      await sleep(300);
      const second = await peer.tryLock('refresh:3', 10_000);
      expect(second).toBeTypeOf('function');
      await first!(); // the dead holder's late release
      expect(await store.tryLock('refresh:3', 10_000)).toBeUndefined();
      await second!();
      expect(await store.tryLock('refresh:3', 10_000)).toBeTypeOf('function');
    });

    it('a lock never reads as a record, and a record never blocks a lock of the same name', async () => {
      await store.set('refresh:9', 'a record');
      const release = await store.tryLock('refresh:9', 10_000);
      expect(release).toBeTypeOf('function');
      expect(await peer.get('refresh:9')).toBe('a record');
    });
  });
}

describe('SealBox', () => {
  const box = new SealBox(KEY);

  it('seals as v1.<iv>.<tag>.<ct> (base64url), a fresh IV each time, and opens again', () => {
    const a = box.seal('person:1', 'secret text ✓');
    const b = box.seal('person:1', 'secret text ✓');
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]{22}\.[\w-]+$/);
    expect(a).not.toBe(b);
    expect(box.open('person:1', a)).toBe('secret text ✓');
    expect(box.open('person:1', b)).toBe('secret text ✓');
    expect(box.open('k', box.seal('k', ''))).toBe('');
  });

  it('refuses a value altered anywhere, moved to another key, or sealed with another key', () => {
    const sealed = box.seal('person:1', 'the token');
    const [v, iv, tag, ct] = sealed.split('.') as [string, string, string, string];
    const flip = (s: string) => `${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
    for (const bad of [
      `${v}.${flip(iv)}.${tag}.${ct}`,
      `${v}.${iv}.${flip(tag)}.${ct}`,
      `${v}.${iv}.${tag}.${flip(ct)}`,
      `v2.${iv}.${tag}.${ct}`,
      `${v}.${iv}.${tag}`,
      'plain text',
      '',
    ]) {
      expect(() => box.open('person:1', bad), bad).toThrow(SealOpenError);
    }
    expect(() => box.open('person:2', sealed)).toThrow(SealOpenError);
    expect(() => new SealBox(OTHER_KEY).open('person:1', sealed)).toThrow(SealOpenError);
  });

  it('sealFixed: the same text for the same key and value, still bound to its key', () => {
    expect(box.sealFixed('grant:1', 'm')).toBe(box.sealFixed('grant:1', 'm'));
    expect(box.sealFixed('grant:1', 'm')).not.toBe(box.sealFixed('grant:1', 'n'));
    expect(box.sealFixed('grant:1', 'm')).not.toBe(box.sealFixed('grant:2', 'm'));
    expect(box.open('grant:1', box.sealFixed('grant:1', 'm'))).toBe('m');
    expect(() => box.open('grant:2', box.sealFixed('grant:1', 'm'))).toThrow(SealOpenError);
    expect(new SealBox(OTHER_KEY).sealFixed('grant:1', 'm')).not.toBe(box.sealFixed('grant:1', 'm'));
  });
});

describe('parseTokenKey (MCP_TOKEN_KEY)', () => {
  const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => (i * 37 + 250) % 256));
  const std = bytes.toString('base64');
  const url = bytes.toString('base64url');
  expect(std).toMatch(/[+/]/); // the table below really tries both alphabets

  it.each([
    ['standard base64, padded', std],
    ['standard base64, unpadded', std.replace(/=$/, '')],
    ['URL-safe base64, unpadded', url],
    ['URL-safe base64, padded', `${url}=`],
    ['hex, lower case', bytes.toString('hex')],
    ['hex, upper case', bytes.toString('hex').toUpperCase()],
    ['with spaces and a newline around', `  ${std}\n`],
  ])('accepts %s', (_, text) => {
    expect(parseTokenKey(text).equals(bytes)).toBe(true);
  });

  it.each([
    ['empty', ''],
    ['a passphrase', 'correct horse battery staple'],
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['48 bytes of base64', randomBytes(48).toString('base64')],
    ['62 hex characters', randomBytes(31).toString('hex')],
    ['66 hex characters', randomBytes(33).toString('hex')],
    ['44 characters not base64', `${'!'.repeat(43)}=`],
    ['base64 with two paddings', `${std.slice(0, 42)}==`],
  ])('refuses %s, naming MCP_TOKEN_KEY and how to make one, never echoing it', (_, text) => {
    let error: unknown;
    try {
      parseTokenKey(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/MCP_TOKEN_KEY/);
    expect(message).toContain('openssl rand -base64 32');
    if (text.trim().length >= 4) expect(message).not.toContain(text.trim().slice(0, 12));
  });
});

describe('deriveProviderKeys', () => {
  it('the same key gives the same keys (every instance of a fleet); another key other keys', () => {
    const a = deriveProviderKeys(KEY);
    expect(deriveProviderKeys(Buffer.from(KEY))).toEqual(a);
    const b = deriveProviderKeys(OTHER_KEY);
    expect(b.cookieKeys).not.toEqual(a.cookieKeys);
    expect(b.signingJwk.d).not.toBe(a.signingJwk.d);
    expect(b.signingJwk.kid).not.toBe(a.signingJwk.kid);
    // Neither is MCP_TOKEN_KEY itself, nor the seal key, nor each other.
    const seed = Buffer.from(a.signingJwk.d, 'base64url');
    expect(Buffer.from(a.cookieKeys[0]!, 'base64url').length).toBe(32);
    expect(seed.equals(KEY)).toBe(false);
    expect(a.cookieKeys[0]).not.toBe(a.signingJwk.d);
  });

  it('an Ed25519 JWK that signs, and whose public part verifies', () => {
    const { signingJwk } = deriveProviderKeys(KEY);
    expect(signingJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(signingJwk.kid).toMatch(/^[\w-]{8,}$/);
    const privateKey = createPrivateKey({ key: signingJwk, format: 'jwk' });
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: signingJwk.x }, format: 'jwk' });
    const data = Buffer.from('header.payload');
    const signature = sign(null, data, privateKey);
    expect(verify(null, data, publicKey, signature)).toBe(true);
    expect(verify(null, Buffer.from('header.payloaD'), publicKey, signature)).toBe(false);
    expect(createPublicKey(privateKey).export({ format: 'jwk' }).x).toBe(signingJwk.x);
  });
});

const person = (n: number): PersonRecord => ({
  identity: { id: n, email: `person${n}.secret-mail@example.test`, name: `Person ${n}` },
  access_token: `sbx_ACCESS_${n}_${randomBytes(8).toString('hex')}`,
  refresh_token: `sbr_REFRESH_${n}_${randomBytes(8).toString('hex')}`,
  expires_at: new Date(Date.now() + 3_600_000).toISOString(),
  account: { id: 99, product: 'bc3', name: 'Acme' },
  signed_in_at: new Date().toISOString(),
});
/** Every secret of a record, and pieces of them (a token split across lines would still be found whole or in part). */
const secretsOf = (r: PersonRecord) => [r.access_token, r.refresh_token!, r.identity.email!, r.access_token.slice(-16), r.identity.email!.split('@')[0]!];

describe('FileOAuthStore on disk', () => {
  it('the file is 0600 in a 0700 directory it created; every write is on disk when it resolves; a reopen reads it back', async () => {
    const dir = join(tempDir(), 'nested', 'basecamp-people-mcp');
    const file = join(dir, 'oauth-store.json');
    const store = await openOAuthStore({ key: KEY, file });
    const ann = person(1);
    await store.set(personKey(1), JSON.stringify(ann));
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(`${file}.lock`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${file}.lock`, 'utf8').trim()).toBe(String(process.pid));
    const onDisk = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { v: string; until?: number }>;
    expect(Object.keys(onDisk).sort()).toEqual([KEY_CHECK, personKey(1)]);
    expect(new SealBox(KEY).open(personKey(1), onDisk[personKey(1)]!.v)).toBe(JSON.stringify(ann));
    await store.set('state:x', 'one use', 60_000);
    expect((JSON.parse(readFileSync(file, 'utf8')) as Record<string, { until?: number }>)['state:x']?.until).toBeGreaterThan(Date.now());
    await store.take('state:x');
    expect(JSON.parse(readFileSync(file, 'utf8'))).not.toHaveProperty('state:x');
    await store.close();
    expect(existsSync(`${file}.lock`)).toBe(false);

    const again = await openOAuthStore({ key: KEY, file });
    expect(JSON.parse((await again.get(personKey(1)))!)).toEqual(ann);
    await again.close();
  });

  it('a symlinked path is written through to its target (atomically, in its directory); the link stays', async () => {
    const real = join(tempDir(), 'real-store.json');
    const link = join(tempDir(), 'link-store.json');
    symlinkSync(real, link); // dangling until the first write
    const store = await openOAuthStore({ key: KEY, file: link });
    expect(store.where).toBe(real);
    expect(existsSync(`${real}.lock`)).toBe(true);
    await store.set('a', 'v');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(Object.keys(JSON.parse(readFileSync(real, 'utf8')) as object)).toContain('a');
    await expect(openOAuthStore({ key: KEY, file: real })).rejects.toThrow(ConfigurationError); // the same file by another name
    await store.close();
  });

  it('expired records are dropped from the file at the next write', async () => {
    const file = join(tempDir(), 'store.json');
    const store = FileOAuthStore.open(file, new SealBox(KEY));
    await store.set('brief', 'v', 100);
    expect(readFileSync(file, 'utf8')).toContain('brief');
    await sleep(200);
    await store.set('other', 'v');
    expect(readFileSync(file, 'utf8')).not.toContain('brief');
    await store.close();
  });

  it('a second store on the same file is refused: in this process, and while another live process holds the lock', async () => {
    const file = join(tempDir(), 'store.json');
    const first = await openOAuthStore({ key: KEY, file });
    await expect(openOAuthStore({ key: KEY, file })).rejects.toThrow(/already open in this process.*REDIS_URL/);
    await first.close();

    const other = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      writeFileSync(`${file}.lock`, `${other.pid}\n`, { mode: 0o600 });
      let error: unknown;
      await openOAuthStore({ key: KEY, file }).catch((e: unknown) => (error = e));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain(`Another server (process ${other.pid}) is using the OAuth store ${file}`);
      expect((error as Error).message).toContain('REDIS_URL');
      expect(readFileSync(`${file}.lock`, 'utf8').trim()).toBe(String(other.pid)); // its lock left alone
    } finally {
      other.kill('SIGKILL');
      await new Promise((r) => other.once('exit', r));
    }
  });

  it('a lock left by a process that is gone is taken over', async () => {
    const file = join(tempDir(), 'store.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${file}.lock`, `${dead.stdout}\n`, { mode: 0o600 });
    const store = await openOAuthStore({ key: KEY, file });
    expect(readFileSync(`${file}.lock`, 'utf8').trim()).toBe(String(process.pid));
    await store.close();
  });

  it('a file that is not a store is refused (nothing overwritten), naming MCP_OAUTH_FILE', async () => {
    const file = join(tempDir(), 'store.json');
    writeFileSync(file, 'not json', { mode: 0o600 });
    await expect(openOAuthStore({ key: KEY, file })).rejects.toThrow(/not a store this server wrote.*MCP_OAUTH_FILE/);
    expect(readFileSync(file, 'utf8')).toBe('not json');
    expect(existsSync(`${file}.lock`)).toBe(false);
  });
});

describe('the key check at open', () => {
  it('file: a store sealed with another key is refused, naming MCP_TOKEN_KEY and what to do; the lock is let go', async () => {
    const file = join(tempDir(), 'store.json');
    const store = await openOAuthStore({ key: KEY, file });
    await store.set(personKey(1), JSON.stringify(person(1)));
    await store.close();
    let error: unknown;
    await openOAuthStore({ key: OTHER_KEY, file }).catch((e: unknown) => (error = e));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^MCP_TOKEN_KEY is not the key the stored sign-ins were sealed with \(.*store\.json\)/);
    expect((error as Error).message).toMatch(/everyone then signs in again/);
    expect((error as Error).message).not.toContain(OTHER_KEY.toString('base64'));
    expect(existsSync(`${file}.lock`)).toBe(false);
    const right = await openOAuthStore({ key: KEY, file });
    expect(await right.get(personKey(1))).toBeDefined();
    await right.close();
  });

  it.skipIf(!redisOn)('Redis: a store sealed with another key is refused, naming MCP_TOKEN_KEY and Redis without its password', async () => {
    const client = await redisClient();
    await client.flushall();
    const where = 'redis://127.0.0.1/';
    const store = await openOAuthStore({ key: KEY, redis: { client, where } });
    expect(await client.get(`${REDIS_PREFIX}${KEY_CHECK}`)).toMatch(/^v1\./);
    await store.set(personKey(1), JSON.stringify(person(1)));
    let error: unknown;
    await openOAuthStore({ key: OTHER_KEY, redis: { client, where } }).catch((e: unknown) => (error = e));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^MCP_TOKEN_KEY is not the key the stored sign-ins were sealed with \(redis:\/\/127\.0\.0\.1\/\)/);
    expect((error as Error).message).toContain(`delete the keys starting with ${REDIS_PREFIX}`);
    expect(await (await openOAuthStore({ key: KEY, redis: { client, where } })).get(personKey(1))).toBeDefined();
    expect(client.status).toBe('ready'); // the shared connection is not the store's to close
  });

  it('memory: nothing to check (nothing outlives the process)', async () => {
    expect((await openOAuthStore({ key: KEY })).where).toBe('memory');
  });
});

describe('no secret in clear where the store writes', () => {
  async function fill(store: OAuthStore) {
    const records = [person(1), person(2)];
    for (const r of records) {
      await store.set(personKey(r.identity.id), JSON.stringify(r), 60_000);
      await store.addToSet(`grants-of:${r.identity.id}`, r.identity.email!, 60_000);
      await store.addToSet('sessions', r.access_token);
      await store.set(`lp-result:${r.identity.id}`, JSON.stringify({ email: r.identity.email, refresh: r.refresh_token }));
    }
    return records.flatMap(secretsOf);
  }

  it('the file’s raw bytes', async () => {
    const file = join(tempDir(), 'store.json');
    const store = await openOAuthStore({ key: KEY, file });
    const secrets = await fill(store);
    await store.close();
    const raw = readFileSync(file, 'latin1');
    expect(raw.length).toBeGreaterThan(500);
    for (const secret of secrets) expect(raw, secret).not.toContain(secret);
  });

  it.skipIf(!redisOn)('every Redis value, set member and key', async () => {
    const client = await redisClient();
    await client.flushall();
    const store = await openOAuthStore({ key: KEY, redis: { client, where: 'redis://127.0.0.1/' } });
    const secrets = await fill(store);
    const keys = await client.keys('*');
    expect(keys.every((k) => k.startsWith(REDIS_PREFIX))).toBe(true);
    let raw = keys.join('\n');
    for (const key of keys) {
      raw += (await client.type(key)) === 'set' ? (await client.smembers(key)).join('\n') : ((await client.get(key)) ?? '');
    }
    expect(raw.length).toBeGreaterThan(500);
    for (const secret of secrets) expect(raw, secret).not.toContain(secret);
  });
});
