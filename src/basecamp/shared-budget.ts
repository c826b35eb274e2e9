import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { log } from '../log.js';
import { RateBudgetUnavailableError } from '../errors.js';
import { holdMsFor, RateBudget, type GrantLog, type PauseStore, type RateLimit } from './rate-budget.js';

/**
 * The fleet's grant log: one Redis sorted set of grant times (Redis TIME, so instances' clocks do not
 * matter), checked and added to atomically by one Lua script.
 *
 * Why not bottleneck's Redis clustering (used before): its state lives in several keys that must all exist,
 * and once they are gone (idle past their TTL, Redis restarted empty, FLUSHALL) every call failed with
 * `ERR SETTINGS_KEY_NOT_FOUND` for good, because bottleneck 2.19.5 recognises that script error by exact
 * text and Redis 7 prefixes it with `ERR `. Here a missing key is simply an empty log.
 *
 * An empty log after a flush or restart would forget grants still inside the window, so each call also
 * sends this instance's own recent grants and the script puts back any that are missing (ZADD NX): every
 * instance restores its own history the next time it asks. The window rule then holds across a flush for
 * each instance's grants; an instance that has not asked since the flush restores its own on its next call.
 */
const GRANT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max, hold, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 5, #ARGV, 2 do redis.call('ZADD', KEYS[1], 'NX', ARGV[i], ARGV[i + 1]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - hold)
local result
if redis.call('ZCARD', KEYS[1]) < max then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  result = {1, now}
else
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  result = {0, tonumber(oldest[2]) + hold - now}
end
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ttl) end
return result
`;

type GrantClient = Redis & {
  budgetGrant(key: string, ...args: string[]): Promise<[number, number]>;
};

class RedisGrantLog implements GrantLog {
  private readonly instance = randomUUID();
  private sequence = 0;
  /** This instance's grants still inside the window: Redis time, member name, local time (for pruning). */
  private readonly mine: { at: number; member: string; localAt: number }[] = [];

  constructor(
    private readonly client: GrantClient,
    private readonly key: string,
    private max: number,
    private holdMs: number,
    private readonly keyTtlMs: number,
    private readonly failure: (cause: unknown) => Error,
  ) {}

  setLimit(max: number, holdMs: number): void {
    this.max = max;
    this.holdMs = holdMs;
  }

  async tryGrant(): Promise<{ granted: true } | { granted: false; retryInMs: number }> {
    const localNow = Date.now();
    while (this.mine.length && this.mine[0]!.localAt <= localNow - this.holdMs) this.mine.shift();
    const member = `${this.instance}:${++this.sequence}`;
    const restore = this.mine.flatMap((g) => [String(g.at), g.member]);
    let reply: [number, number];
    try {
      reply = await this.client.budgetGrant(this.key, String(this.max), String(this.holdMs), String(this.keyTtlMs), member, ...restore);
    } catch (error) {
      throw this.failure(error);
    }
    const [granted, value] = reply;
    if (!granted) return { granted: false, retryInMs: Math.max(1, value) };
    // The hold must start when the request can leave, not when Redis ran the script: a busy event loop can
    // read the reply 100 ms or more later, and Basecamp counts arrivals. Move the grant to "now" in Redis
    // time (bounded above by the time since we asked). Fire and forget: if it is lost, the grant keeps the
    // earlier time, as before.
    const at = value + (Date.now() - localNow);
    this.client.zadd(this.key, 'XX', at, member).catch(() => undefined);
    this.mine.push({ at, member, localAt: Date.now() });
    return { granted: true };
  }
}

/** The 429 pause, shared by the fleet: one Redis key holding "hold everything until" (epoch ms). */
class RedisPauseStore implements PauseStore {
  constructor(
    private readonly client: Redis,
    private readonly key: string,
    private readonly failure: (cause: unknown) => Error,
  ) {}
  async get(): Promise<number> {
    try {
      return Number((await this.client.get(this.key)) ?? 0);
    } catch (error) {
      throw this.failure(error);
    }
  }
  async extend(until: number): Promise<void> {
    try {
      // Only ever lengthen a pause; the key expires with it.
      await this.client.eval(
        "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 1",
        1,
        this.key,
        String(until),
        String(Math.max(1, until - Date.now())),
      );
    } catch (error) {
      throw this.failure(error);
    }
  }
}

/** redis://user:secret@host → redis://user:***@host, for messages; ioredis also takes `?password=secret`. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const key of [...u.searchParams.keys()]) if (/pass/i.test(key)) u.searchParams.set(key, '***');
    return u.toString();
  } catch {
    return 'the configured REDIS_URL';
  }
}

/** A stable budget name for one set of Basecamp credentials, without putting a secret in Redis. */
export function budgetId(seed: string): string {
  return `basecamp-people-mcp:budget:${createHash('sha256').update(seed).digest('hex').slice(0, 16)}`;
}

export interface SharedBudget {
  budget: RateBudget;
  /** The connection, also used to record used plan tokens fleet-wide (src/governance/redis-plan-claims.ts). */
  redis: Redis;
  close(): Promise<void>;
}

export interface SharedBudgetOptions {
  /** How long the grant log outlives its last grant (default 10 minutes; never less than one window). */
  keyTtlMs?: number;
  /** The longest 429 pause a request waits out (default 60 s). */
  maxWaitMs?: number;
  /** How often a waiting instance asks Redis again at most (default 1 s; a freed slot is asked for sooner). */
  recheckMs?: number;
}

/** Connects, or fails at the first connection error (refused, unknown host…) instead of waiting out the timeout. */
async function connect(redisUrl: string, connectTimeoutMs: number): Promise<Redis> {
  const where = redactRedisUrl(redisUrl);
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    enableOfflineQueue: false, // a command while disconnected fails now instead of waiting
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    commandTimeout: 3_000,
  });
  let lastError = '';
  client.on('error', (e: Error) => (lastError = e.message)); // reported through status and messages, not as unhandled errors
  try {
    // connect() rejects on the first error of the first attempt; the timer covers an address that never answers.
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`no answer within ${connectTimeoutMs} ms`)), connectTimeoutMs).unref()),
    ]);
    return client;
  } catch (error) {
    client.disconnect();
    const reason = lastError || (error instanceof Error ? error.message : String(error));
    throw new RateBudgetUnavailableError(
      `Cannot reach Redis at ${where} for the shared rate budget: ${reason}. Check REDIS_URL and that Redis is running, or unset REDIS_URL to use a budget local to this process.`,
    );
  }
}

/**
 * One sliding-window budget for every instance that shares `redisUrl` and `id`. If Redis goes away, waiting
 * and new requests fail at once with RateBudgetUnavailableError (nothing is sent outside the shared budget,
 * nothing hangs); ioredis reconnects by itself and calls work again as soon as Redis is back. Requests queued
 * when the connection drops are failed, not kept: they could not be counted fleet-wide meanwhile, and the
 * MCP client gets a clear answer instead of a wait of unknown length.
 */
export async function connectSharedBudget(
  redisUrl: string,
  id: string,
  limit: RateLimit,
  connectTimeoutMs = 5_000,
  options: SharedBudgetOptions = {},
): Promise<SharedBudget> {
  const where = redactRedisUrl(redisUrl);
  const client = (await connect(redisUrl, connectTimeoutMs)) as GrantClient;
  client.defineCommand('budgetGrant', { numberOfKeys: 1, lua: GRANT_SCRIPT }); // EVALSHA, reloaded after a restart
  const down = (detail: string) =>
    new RateBudgetUnavailableError(
      `The shared rate budget is unavailable: Redis at ${where} ${detail}. Requests are refused rather than risk exceeding Basecamp's rate limit; they work again as soon as Redis is back.`,
    );
  const failure = (cause: unknown) => down(`did not answer (${cause instanceof Error ? cause.message : String(cause)})`);
  const holdMs = holdMsFor(limit.windowMs);
  const budget = new RateBudget({
    ...limit,
    grantLog: new RedisGrantLog(client, `${id}:grants`, limit.max, holdMs, Math.max(holdMs, options.keyTtlMs ?? 10 * 60_000), failure),
    pauseStore: new RedisPauseStore(client, `${id}:paused-until`, failure),
    unavailable: () => (client.status === 'ready' ? undefined : down(`is not connected (${client.status})`)),
    maxWaitMs: options.maxWaitMs,
    recheckMs: options.recheckMs,
  });
  client.on('close', () => budget.failWaiting(down('closed the connection')));
  client.on('ready', () => log.info(`shared rate budget: Redis at ${where} is back`));
  return {
    budget,
    redis: client,
    async close() {
      await budget.stop();
      client.disconnect();
    },
  };
}
