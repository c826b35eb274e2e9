import { createHash } from 'node:crypto';
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { log } from '../log.js';
import { RateBudgetUnavailableError } from './errors.js';
import { RateBudget, type PauseStore, type RateLimit } from './rate-budget.js';

/** The 429 pause, shared by the fleet: one Redis key holding "hold everything until" (epoch ms). */
class RedisPauseStore implements PauseStore {
  constructor(
    private readonly client: Redis,
    private readonly key: string,
  ) {}
  async get(): Promise<number> {
    return Number((await this.client.get(this.key)) ?? 0);
  }
  async extend(until: number): Promise<void> {
    // Only ever lengthen a pause; the key expires with it.
    await this.client.eval(
      "local cur = tonumber(redis.call('GET', KEYS[1]) or '0') if tonumber(ARGV[1]) > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end return 1",
      1,
      this.key,
      String(until),
      String(Math.max(1, until - Date.now())),
    );
  }
}

/** redis://user:secret@host → redis://user:***@host, for messages. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
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
  close(): Promise<void>;
}

/**
 * One sliding-window budget for every instance that shares `redisUrl` and `id`, through bottleneck's Redis
 * clustering (the held slots live in Redis). If Redis goes away, waiting and new requests fail at once with
 * RateBudgetUnavailableError: no request is sent outside the shared budget, and nothing hangs.
 */
export async function connectSharedBudget(redisUrl: string, id: string, limit: RateLimit, connectTimeoutMs = 5_000): Promise<SharedBudget> {
  const where = redactRedisUrl(redisUrl);
  // Not lazyConnect: bottleneck's subscriber is client.duplicate(), which would inherit it and never connect.
  const client = new Redis(redisUrl, {
    enableOfflineQueue: false, // a command while disconnected fails now instead of waiting
    maxRetriesPerRequest: 1,
    connectTimeout: connectTimeoutMs,
    commandTimeout: 3_000,
  });
  let lastError = '';
  client.on('error', (e: Error) => (lastError = e.message)); // reported through status, not as unhandled errors
  const connected = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), connectTimeoutMs);
    timer.unref();
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!connected) {
    client.disconnect();
    throw new RateBudgetUnavailableError(`Cannot reach Redis at ${where} for the shared rate budget${lastError ? `: ${lastError}` : ''}.`);
  }
  const connection = new Bottleneck.IORedisConnection({ client, Redis });
  connection.on('error', (e: Error) => log.warn(`shared rate budget (Redis): ${e.message}`));
  const limiter = new Bottleneck({
    id,
    maxConcurrent: limit.max,
    datastore: 'ioredis',
    clearDatastore: false,
    connection,
    timeout: Math.max(10 * 60_000, limit.windowMs * 10), // Redis keys expire after this long unused
  });
  limiter.on('error', (e: Error) => log.warn(`shared rate budget: ${e.message}`));
  const ready = await Promise.race([
    limiter.ready().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), connectTimeoutMs).unref()),
  ]);
  if (!ready) {
    await connection.disconnect(false).catch(() => undefined);
    throw new RateBudgetUnavailableError(`Redis at ${where} did not become ready for the shared rate budget.`);
  }
  // Every instance runs with the same configuration; make the stored settings match it.
  await limiter.updateSettings({ maxConcurrent: limit.max });

  const down = () =>
    new RateBudgetUnavailableError(
      `The shared rate budget is unavailable: Redis at ${where} is not connected (${client.status}). Requests are refused rather than risk exceeding Basecamp's rate limit; they work again as soon as Redis is back.`,
    );
  const budget = new RateBudget({
    ...limit,
    limiter,
    pauseStore: new RedisPauseStore(client, `${id}:paused-until`),
    unavailable: () => (client.status === 'ready' ? undefined : down()),
  });
  client.on('close', () => budget.failWaiting(down()));
  return {
    budget,
    async close() {
      await budget.stop();
      await connection.disconnect(false).catch(() => undefined);
    },
  };
}
