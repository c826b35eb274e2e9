import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { SealBox } from './crypto.js';
import type { OAuthStore } from './store.js';

/** Every key this store writes starts so (a Redis shared with the rate budget and plan claims). */
export const REDIS_PREFIX = 'bpm:oauth:';

/** Read and delete in one step (GETDEL needs Redis 6.2; this works on any). */
const TAKE = "local v = redis.call('GET', KEYS[1]) if v then redis.call('DEL', KEYS[1]) end return v";
/** Add a member; with a lifetime, lengthen the set's (never shorten it); without one, the set stays for ever. */
const ADD_TO_SET = `
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
local current = redis.call('PTTL', KEYS[1])
if ttl == 0 then
  if current >= 0 then redis.call('PERSIST', KEYS[1]) end
elseif existed == 0 or (current >= 0 and current < ttl) then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1`;
/** Release a lock only if it is still ours (it may have lapsed and been taken by another instance). */
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

export type RedisStoreClient = Pick<Redis, 'get' | 'set' | 'del' | 'eval' | 'smembers' | 'quit'>;

/**
 * The OAuth store in Redis (REDIS_URL): every instance of a fleet sees every sign-in. Keys are `bpm:oauth:<key>`
 * (the store's keys as given: whoever builds one from a token hashes it first); values and set members are sealed
 * (SealBox, the store key as associated data; set members with a fixed IV so a member added twice is one member).
 * Locks are `SET NX PX` with a random value, released by compare-and-delete.
 */
export class RedisOAuthStore implements OAuthStore {
  constructor(
    private readonly client: RedisStoreClient,
    /** Where Redis is, for messages (without its password). */
    readonly where: string,
    private readonly box: SealBox,
    /** Whether close() also closes the connection (false: it is shared, e.g. with the rate budget, and closed there). */
    private readonly ownsClient = false,
  ) {}

  private k(key: string): string {
    return `${REDIS_PREFIX}${key}`;
  }

  private static ttl(ttlMs: number | undefined): number | undefined {
    if (ttlMs === undefined) return undefined;
    if (!(ttlMs > 0)) throw new RangeError(`A record's lifetime must be positive (got ${ttlMs} ms).`);
    return Math.ceil(ttlMs);
  }

  async get(key: string): Promise<string | undefined> {
    const sealed = await this.client.get(this.k(key));
    return sealed === null ? undefined : this.box.open(key, sealed);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    const ttl = RedisOAuthStore.ttl(ttlMs);
    const sealed = this.box.seal(key, value);
    if (ttl === undefined) await this.client.set(this.k(key), sealed);
    else await this.client.set(this.k(key), sealed, 'PX', ttl);
  }

  async del(key: string): Promise<void> {
    await this.client.del(this.k(key));
  }

  async take(key: string): Promise<string | undefined> {
    const sealed = (await this.client.eval(TAKE, 1, this.k(key))) as string | null;
    return sealed === null ? undefined : this.box.open(key, sealed);
  }

  async addToSet(key: string, member: string, ttlMs?: number): Promise<void> {
    const ttl = RedisOAuthStore.ttl(ttlMs);
    await this.client.eval(ADD_TO_SET, 1, this.k(key), this.box.sealFixed(key, member), String(ttl ?? 0));
  }

  async members(key: string): Promise<string[]> {
    const sealed = await this.client.smembers(this.k(key));
    return [...new Set(sealed.map((m) => this.box.open(key, m)))];
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = this.k(`lock:${key}`);
    const token = randomBytes(16).toString('hex');
    const ok = await this.client.set(lockKey, token, 'PX', RedisOAuthStore.ttl(ttlMs)!, 'NX');
    if (ok !== 'OK') return undefined;
    return async () => {
      await this.client.eval(RELEASE, 1, lockKey, token);
    };
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.quit();
  }
}
