import type { ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { authorizationUrl } from '../src/auth/code-flow.js';
import { exchangeCode } from '../src/auth/oauth.js';
import { TokenRefreshUnavailableError } from '../src/basecamp/errors.js';
import { NotSignedInError } from '../src/errors.js';
import { setLogLevel } from '../src/log.js';
import { SealBox } from '../src/oauth/crypto.js';
import { PersonCredentials, SIGN_IN_LIFETIME_MS, SignedOutError, type PersonCredentialsOptions } from '../src/oauth/person-credentials.js';
import { RedisOAuthStore } from '../src/oauth/redis-store.js';
import { MemoryOAuthStore, personKey, type OAuthStore, type PersonRecord } from '../src/oauth/store.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { freePort, hasRedis, startRedis } from './helpers.js';
import { browse } from './oauth-helpers.js';

/**
 * PersonCredentials (docs/design/oauth.md §2.5): a signed-in person's own Basecamp tokens from the OAuth store,
 * refreshed once per person across the fleet, against the sandbox's Launchpad (its per-person refresh count).
 * The fleet part runs two stores on two connections to one real redis-server (skipped without it, like redis-fleet).
 */

const client = { clientId: 'sandbox-client', clientSecret: 'sandbox-secret' };
const redirectUri = 'http://127.0.0.1:9/callback'; // never listened on: the browser stops there
const ADAM = 1000002;
const JAN = 1000003;
const identityOf = (personId: number) => 9_000_000 + personId;
const redisOn = hasRedis || Boolean(process.env.CI);

let sb: Sandbox;
let redisProc: ChildProcess | undefined;
let redisUrl = '';
const connections: Redis[] = [];
beforeAll(async () => {
  sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
  if (!redisOn) return;
  if (!hasRedis) throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
  const port = await freePort();
  redisProc = await startRedis(port);
  redisUrl = `redis://127.0.0.1:${port}`;
});
afterAll(async () => {
  for (const c of connections) c.disconnect();
  redisProc?.kill('SIGKILL');
  await sb?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
  setLogLevel('warn');
});

/** Signs `personId` in through the sandbox's Launchpad (the code flow, `sandbox_person`) and stores their record as the server would. */
async function signIn(store: OAuthStore, personId: number, opts: { expiresInMs?: number; on?: Sandbox; signedInAt?: number } = {}): Promise<PersonRecord> {
  const on = opts.on ?? sb;
  const { query } = await browse(authorizationUrl(on.url, client.clientId, redirectUri, 'st'), { stopAt: redirectUri, as: personId });
  const tokens = await exchangeCode(on.url, client, query.get('code')!, redirectUri, 'test');
  const record: PersonRecord = {
    identity: { id: identityOf(personId), email: `person-${personId}@acme.example` },
    access_token: tokens.access_token,
    refresh_token: tokens.refresh_token,
    expires_at: new Date(Date.now() + (opts.expiresInMs ?? 3_600_000)).toISOString(),
    account: { id: on.accountId, product: 'bc3', name: 'Acme' },
    signed_in_at: new Date(opts.signedInAt ?? Date.now()).toISOString(),
  };
  await store.set(personKey(identityOf(personId)), JSON.stringify(record), 30 * 86_400_000);
  if ((opts.expiresInMs ?? 1) <= 0) on.expireTokensOf(personId);
  return record;
}

/** A record about to expire: Basecamp's token is expired too. */
const expiring = (store: OAuthStore, personId: number, on?: Sandbox) => signIn(store, personId, { expiresInMs: -1000, on });

function credentials(store: OAuthStore, personId: number, extra: Partial<PersonCredentialsOptions> = {}, on = sb): PersonCredentials {
  return new PersonCredentials({ store, identityId: identityOf(personId), launchpadUrl: on.url, client, userAgent: 'test (https://example.test)', ...extra });
}

async function stored(store: OAuthStore, personId: number): Promise<PersonRecord | undefined> {
  const text = await store.get(personKey(identityOf(personId)));
  return text === undefined ? undefined : (JSON.parse(text) as PersonRecord);
}

/** Whom Basecamp takes this token for (the sandbox API's own answer). */
async function whoIs(token: string, on = sb): Promise<number | undefined> {
  const res = await fetch(`${on.url}/${on.accountId}/my/profile.json`, { headers: { authorization: `Bearer ${token}`, 'user-agent': 'test' } });
  return res.status === 200 ? ((await res.json()) as { id: number }).id : undefined;
}

async function redisStores(): Promise<[RedisOAuthStore, RedisOAuthStore]> {
  const make = async () => {
    const c = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await c.connect();
    connections.push(c);
    return new RedisOAuthStore(c, 'redis://127.0.0.1/', new SealBox(Buffer.alloc(32, 7)));
  };
  const a = await make();
  await (connections.at(-1) as Redis).flushall();
  return [a, await make()];
}

function captureStderr(): () => string {
  let text = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  return () => text;
}

describe('PersonCredentials in one process', () => {
  it('a fresh token is used as it is: no refresh', async () => {
    const store = new MemoryOAuthStore();
    const record = await signIn(store, ADAM);
    const before = sb.refreshes(ADAM);
    expect(await credentials(store, ADAM).accessToken()).toBe(record.access_token);
    expect(sb.refreshes(ADAM)).toBe(before);
    expect(await whoIs(record.access_token)).toBe(ADAM);
  });

  it('a token within the skew of expiry is refreshed once and stored, keeping who, where, since when, and the refresh token', async () => {
    const store = new MemoryOAuthStore();
    const record = await signIn(store, ADAM, { expiresInMs: 30_000 }); // within the 60 s skew
    const before = sb.refreshes(ADAM);
    const setSpy = vi.spyOn(store, 'set');
    const creds = credentials(store, ADAM);
    const token = await creds.accessToken();
    expect(token).not.toBe(record.access_token);
    expect(sb.refreshes(ADAM)).toBe(before + 1);
    expect(await whoIs(token)).toBe(ADAM);
    const next = await stored(store, ADAM);
    expect(next).toEqual({ ...record, access_token: token, expires_at: next!.expires_at });
    expect(Date.parse(next!.expires_at!)).toBeGreaterThan(Date.now() + 13 * 86_400_000); // the sandbox's two weeks
    // The record keeps the sign-in's own end (30 days from signed_in_at), not for ever.
    const ttl = setSpy.mock.calls.find(([key]) => key === personKey(identityOf(ADAM)))![2]!;
    expect(Math.abs(ttl - (Date.parse(record.signed_in_at) + SIGN_IN_LIFETIME_MS - Date.now()))).toBeLessThan(5_000);
    // And now it is fresh: used as it is.
    expect(await creds.accessToken()).toBe(token);
    expect(sb.refreshes(ADAM)).toBe(before + 1);
    // A skew of 10 s would not have refreshed a token with 30 s left.
    const other = new MemoryOAuthStore();
    const jan = await signIn(other, JAN, { expiresInMs: 30_000 });
    const janBefore = sb.refreshes(JAN);
    expect(await credentials(other, JAN, { refreshSkewMs: 10_000 }).accessToken()).toBe(jan.access_token);
    expect(sb.refreshes(JAN)).toBe(janBefore);
  });

  it('6 concurrent calls share one refresh: Launchpad asked once, the lock taken once, all get the new token', async () => {
    const store = new MemoryOAuthStore();
    await expiring(store, JAN);
    const before = sb.refreshes(JAN);
    const lockSpy = vi.spyOn(store, 'tryLock');
    const creds = credentials(store, JAN);
    const tokens = await Promise.all(Array.from({ length: 6 }, () => creds.accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(sb.refreshes(JAN)).toBe(before + 1);
    expect(lockSpy).toHaveBeenCalledTimes(1);
    expect(await whoIs(tokens[0]!)).toBe(JAN);
    expect((await stored(store, JAN))!.access_token).toBe(tokens[0]);
  });

  it('no record: SignedOutError (not_signed_in) saying to sign in again from the MCP client; nothing sent', async () => {
    const store = new MemoryOAuthStore();
    const error = await credentials(store, ADAM).accessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignedOutError);
    expect(error).toBeInstanceOf(NotSignedInError);
    expect((error as SignedOutError).kind).toBe('not_signed_in');
    expect((error as SignedOutError).identityId).toBe(identityOf(ADAM));
    expect((error as Error).message).toMatch(/sign in again from your MCP client/i);
    await expect(credentials(store, ADAM).recoverFromUnauthorized('x', undefined)).rejects.toBeInstanceOf(SignedOutError);
  });

  it('a refresh token Launchpad no longer knows (401): the record is deleted, the hook told, SignedOutError', async () => {
    captureStderr(); // its warning, not the test run's output
    const store = new MemoryOAuthStore();
    const record = await expiring(store, ADAM);
    await store.set(personKey(identityOf(ADAM)), JSON.stringify({ ...record, refresh_token: 'sbr_unknown_to_launchpad' }));
    const onSignedOut = vi.fn();
    const error = await credentials(store, ADAM, { onSignedOut }).accessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignedOutError);
    expect((error as Error).message).toMatch(/Unknown Basecamp ID.*sign in again from your MCP client/i);
    expect(await stored(store, ADAM)).toBeUndefined();
    expect(onSignedOut).toHaveBeenCalledExactlyOnceWith(identityOf(ADAM));
  });

  it('every grant revoked (authorization_expired): the record is deleted, the hook told even when it fails, SignedOutError; no token in any message or log line', async () => {
    const own = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
    try {
      const store = new MemoryOAuthStore();
      const record = await expiring(store, JAN, own);
      own.revokeAllGrants();
      setLogLevel('debug');
      const stderr = captureStderr();
      const onSignedOut = vi.fn(() => Promise.reject(new Error('grants store down')));
      const creds = credentials(store, JAN, { onSignedOut }, own);
      const error = await creds.accessToken().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SignedOutError);
      expect((error as Error).message).toMatch(/authorization_expired/);
      expect(await stored(store, JAN)).toBeUndefined();
      expect(onSignedOut).toHaveBeenCalledExactlyOnceWith(identityOf(JAN));
      expect(stderr()).toMatch(/revoking its MCP grants failed: grants store down/);
      for (const secret of [record.access_token, record.refresh_token!]) {
        expect(stderr()).not.toContain(secret);
        expect((error as Error).message).not.toContain(secret);
      }
      expect(creds.unauthorizedAdvice()).toMatch(/sign in again from your MCP client/i);
    } finally {
      await own.close();
    }
  });

  it('a sign-in older than 30 days is not refreshed: it ends', async () => {
    captureStderr(); // its warning, not the test run's output
    const store = new MemoryOAuthStore();
    await signIn(store, ADAM, { expiresInMs: -1000, signedInAt: Date.now() - SIGN_IN_LIFETIME_MS - 1000 });
    const before = sb.refreshes(ADAM);
    const onSignedOut = vi.fn();
    await expect(credentials(store, ADAM, { onSignedOut }).accessToken()).rejects.toThrow(/more than 30 days old/);
    expect(sb.refreshes(ADAM)).toBe(before);
    expect(await stored(store, ADAM)).toBeUndefined();
    expect(onSignedOut).toHaveBeenCalledOnce();
  });

  it('Launchpad unreachable: TokenRefreshUnavailableError, the sign-in kept, the hook not called', async () => {
    const store = new MemoryOAuthStore();
    const record = await expiring(store, ADAM);
    const onSignedOut = vi.fn();
    const down = `http://127.0.0.1:${await freePort()}`;
    const creds = new PersonCredentials({ store, identityId: identityOf(ADAM), launchpadUrl: down, client, userAgent: 'test', onSignedOut });
    await expect(creds.accessToken()).rejects.toBeInstanceOf(TokenRefreshUnavailableError);
    expect(await stored(store, ADAM)).toEqual(record);
    expect(onSignedOut).not.toHaveBeenCalled();
    // The lock was let go: the next try refreshes at once when Launchpad is back.
    expect(await store.tryLock(`refresh:${identityOf(ADAM)}`, 1000)).toBeTypeOf('function');
  });

  it('recoverFromUnauthorized: the rejected token still stored → refreshed, true; already replaced → true, no refresh; no refresh token → false', async () => {
    const store = new MemoryOAuthStore();
    const record = await signIn(store, ADAM); // fresh by its clock, yet Basecamp says 401 (e.g. revoked there)
    const before = sb.refreshes(ADAM);
    const creds = credentials(store, ADAM);
    expect(await creds.recoverFromUnauthorized(record.access_token, 'OAuth token expired (old age).')).toBe(true);
    expect(sb.refreshes(ADAM)).toBe(before + 1);
    const next = (await stored(store, ADAM))!;
    expect(next.access_token).not.toBe(record.access_token);
    expect(await creds.accessToken()).toBe(next.access_token);

    expect(await creds.recoverFromUnauthorized(record.access_token, undefined)).toBe(true); // an older rejection: already replaced
    expect(sb.refreshes(ADAM)).toBe(before + 1);

    await store.set(personKey(identityOf(ADAM)), JSON.stringify({ ...next, refresh_token: undefined }));
    expect(await creds.recoverFromUnauthorized(next.access_token, undefined)).toBe(false);
    expect(sb.refreshes(ADAM)).toBe(before + 1);
  });

  it('waits for another holder of the lock, and gives up (sign-in kept) when no new token comes within the lock’s lifetime', async () => {
    const store = new MemoryOAuthStore();
    const record = await expiring(store, JAN);
    const before = sb.refreshes(JAN);
    // Someone alive keeps retaking the lock and never refreshes.
    vi.spyOn(store, 'tryLock').mockResolvedValue(undefined);
    const started = Date.now();
    await expect(credentials(store, JAN, { lockTtlMs: 400, pollMs: 50 }).accessToken()).rejects.toBeInstanceOf(TokenRefreshUnavailableError);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(sb.refreshes(JAN)).toBe(before);
    expect(await stored(store, JAN)).toEqual(record);
  });
});

describe.skipIf(!redisOn)('PersonCredentials across a fleet (two instances, one Redis)', () => {
  it('6 concurrent calls over two instances: exactly one refresh, everyone gets the new token', async () => {
    const [a, b] = await redisStores();
    await expiring(a, ADAM);
    const before = sb.refreshes(ADAM);
    const [ca, cb] = [credentials(a, ADAM), credentials(b, ADAM)];
    const tokens = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? cb : ca).accessToken()));
    expect(sb.refreshes(ADAM)).toBe(before + 1);
    expect(new Set(tokens).size).toBe(1);
    expect(await whoIs(tokens[0]!)).toBe(ADAM);
    expect((await stored(b, ADAM))!.access_token).toBe(tokens[0]);
  });

  it('an instance that gets the lock after another refreshed re-reads the record instead of refreshing again', async () => {
    const [a, b] = await redisStores();
    const record = await expiring(a, JAN);
    const before = sb.refreshes(JAN);
    // B has read the stale record; its lock request reaches Redis only after A has refreshed and let go.
    let letB!: () => void;
    const gate = new Promise<void>((r) => (letB = r));
    const realLock = b.tryLock.bind(b);
    vi.spyOn(b, 'tryLock').mockImplementation(async (key, ttl) => {
      await gate;
      return realLock(key, ttl);
    });
    const fromB = credentials(b, JAN).accessToken();
    await new Promise((r) => setTimeout(r, 50));
    const fromA = await credentials(a, JAN).accessToken();
    expect(fromA).not.toBe(record.access_token);
    letB();
    expect(await fromB).toBe(fromA);
    expect(sb.refreshes(JAN)).toBe(before + 1);
  });

  it('a lock holder that died: the other waits at most the lock’s lifetime, then refreshes once', async () => {
    const [a, b] = await redisStores();
    await expiring(a, ADAM);
    const before = sb.refreshes(ADAM);
    // Instance A took the lock and died: never released, it lapses after 800 ms.
    expect(await a.tryLock(`refresh:${identityOf(ADAM)}`, 800)).toBeTypeOf('function');
    const started = Date.now();
    const token = await credentials(b, ADAM, { lockTtlMs: 2_000, pollMs: 50 }).accessToken();
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(700);
    expect(waited).toBeLessThan(2_000);
    expect(sb.refreshes(ADAM)).toBe(before + 1);
    expect(await whoIs(token)).toBe(ADAM);
    expect((await stored(a, ADAM))!.access_token).toBe(token);
  });

  it('recoverFromUnauthorized on both instances at once: one refresh, both true', async () => {
    const [a, b] = await redisStores();
    const record = await signIn(a, JAN);
    const before = sb.refreshes(JAN);
    const results = await Promise.all([credentials(a, JAN).recoverFromUnauthorized(record.access_token, undefined), credentials(b, JAN).recoverFromUnauthorized(record.access_token, undefined)]);
    expect(results).toEqual([true, true]);
    expect(sb.refreshes(JAN)).toBe(before + 1);
  });

  it('no token in stderr through a fleet refresh', async () => {
    const [a, b] = await redisStores();
    const record = await expiring(a, ADAM);
    setLogLevel('debug');
    const stderr = captureStderr();
    const tokens = await Promise.all([credentials(a, ADAM).accessToken(), credentials(b, ADAM).accessToken()]);
    expect(stderr()).toMatch(/refreshed the Basecamp access token of Launchpad identity 10000002/);
    for (const secret of [record.access_token, record.refresh_token!, tokens[0]]) expect(stderr()).not.toContain(secret);
  });
});
