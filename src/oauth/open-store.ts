import { ConfigurationError } from '../errors.js';
import { SealBox, SealOpenError } from './crypto.js';
import { FileOAuthStore } from './file-store.js';
import { REDIS_PREFIX, RedisOAuthStore, type RedisStoreClient } from './redis-store.js';
import { MemoryOAuthStore, type OAuthStore } from './store.js';

export interface OpenOAuthStoreOptions {
  /** MCP_TOKEN_KEY (parseTokenKey): seals every value the store writes. */
  key: Buffer;
  /** MCP_OAUTH_FILE: one instance. */
  file?: string;
  /**
   * REDIS_URL's connection (the one serve.ts opens for the shared rate budget) and where it is, without its
   * password (redactRedisUrl): a fleet. Wins over `file`. The store does not close this connection.
   */
  redis?: { client: RedisStoreClient; where: string };
  now?: () => number;
}

/** The record that proves the key: sealed on the first open, opened on every later one. */
export const KEY_CHECK = 'key-check';

/**
 * The OAuth store for these settings: Redis when given, else the file, else memory (tests, the sandbox by hand);
 * the durable ones checked against the key first. A key that is not the one the store was sealed with is refused at
 * start (ConfigurationError naming MCP_TOKEN_KEY), not found out one sign-in at a time.
 */
export async function openOAuthStore(options: OpenOAuthStoreOptions): Promise<OAuthStore> {
  if (!options.redis && options.file === undefined) return new MemoryOAuthStore(options.now);
  const box = new SealBox(options.key);
  const store = options.redis
    ? new RedisOAuthStore(options.redis.client, options.redis.where, box)
    : FileOAuthStore.open(options.file!, box, options.now);
  try {
    await checkKey(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** Seals the key check on a new store; refuses a store whose key check does not open with this key. */
export async function checkKey(store: OAuthStore): Promise<void> {
  let check: string | undefined;
  try {
    check = await store.get(KEY_CHECK);
  } catch (error) {
    if (!(error instanceof SealOpenError)) throw error;
    const erase = store instanceof RedisOAuthStore ? `delete the keys starting with ${REDIS_PREFIX} in that Redis` : `delete ${store.where}`;
    throw new ConfigurationError(
      `MCP_TOKEN_KEY is not the key the stored sign-ins were sealed with (${store.where}). Start with the key they were sealed with, ` +
        `or ${erase} to start afresh with this key: everyone then signs in again.`,
    );
  }
  if (check === undefined) await store.set(KEY_CHECK, `sealed ${new Date().toISOString()}`);
}
