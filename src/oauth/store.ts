/**
 * WHERE `MCP_AUTH=oauth` KEEPS WHAT IT MUST REMEMBER: the authorization server's records (clients, grants, codes,
 * tokens: src/oauth/adapter.ts), the state of a sign-in on its way through Launchpad, and each signed-in person's own
 * Basecamp tokens (`person:<identity id>`, a PersonRecord). Values are strings (JSON); a backend that writes them
 * anywhere (a file, Redis) seals them first with MCP_TOKEN_KEY, with the record's key as associated data, so no
 * token is ever stored in clear and a sealed value cannot be moved to another key. Keys themselves are not secret:
 * whoever builds one from a token (an access token's id is the token) hashes it first.
 *
 * Three backends: MemoryOAuthStore (below: one process, nothing kept across a restart; tests), a 0600 file for one
 * instance (FileOAuthStore, file-store.ts), Redis for a fleet (REDIS_URL: every instance sees every sign-in;
 * RedisOAuthStore, redis-store.ts). openOAuthStore (open-store.ts) picks one and checks MCP_TOKEN_KEY against what
 * it holds; the sealing is SealBox (crypto.ts). A value that does not open (altered, moved) throws SealOpenError.
 */
export interface OAuthStore {
  /** Where the records live, for messages (a path, a Redis URL without its password, "memory"). */
  readonly where: string;
  get(key: string): Promise<string | undefined>;
  /** Write a value; with `ttlMs`, it is gone after that long (absent, not stale). */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  del(key: string): Promise<void>;
  /** Read and delete at once: across the fleet, one caller alone gets the value (a one-use state, a code). */
  take(key: string): Promise<string | undefined>;
  /** Add to a set (an index: a grant's records, a person's grants); with `ttlMs`, the set's lifetime is at least that long. */
  addToSet(key: string, member: string, ttlMs?: number): Promise<void>;
  members(key: string): Promise<string[]>;
  /**
   * A lock across the fleet (one Basecamp refresh at a time per person): a release function when taken, undefined
   * when someone else holds it. It lapses by itself after `ttlMs` (a holder that died does not block forever).
   */
  tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined>;
  close(): Promise<void>;
}

/** The key of a signed-in person's own Basecamp tokens. */
export const personKey = (identityId: number): string => `person:${identityId}`;

/**
 * A signed-in person's own Basecamp credentials (`person:<identity id>`), written when Launchpad sends them back
 * through the server and refreshed by PersonCredentials (src/oauth/person-credentials.ts). Never sent to an MCP client.
 */
export interface PersonRecord {
  identity: { id: number; email: string | null; name?: string };
  access_token: string;
  refresh_token?: string;
  /** When the access token expires (ISO 8601, as the token file writes it); absent: unknown. */
  expires_at?: string;
  /** The account the server is configured for (BASECAMP_ACCOUNT_ID), as this person reaches it. */
  account: { id: number; product: 'bc3' | 'bcx'; name?: string; href?: string };
  /** When the person signed in (ISO 8601): a sign-in lasts at most 30 days from here. */
  signed_in_at: string;
}

/** One process, nothing written anywhere: tests, and the sandbox tried by hand. */
export class MemoryOAuthStore implements OAuthStore {
  readonly where = 'memory';
  private readonly values = new Map<string, { value: string; until: number }>();
  private readonly sets = new Map<string, { members: Set<string>; until: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  private live<T extends { until: number }>(map: Map<string, T>, key: string): T | undefined {
    const entry = map.get(key);
    if (entry && entry.until <= this.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }
  private until(ttlMs: number | undefined): number {
    if (ttlMs === undefined) return Number.POSITIVE_INFINITY;
    if (!(ttlMs > 0)) throw new RangeError(`A record's lifetime must be positive (got ${ttlMs} ms).`);
    return this.now() + ttlMs;
  }
  async get(key: string): Promise<string | undefined> {
    return this.live(this.values, key)?.value;
  }
  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.values.set(key, { value, until: this.until(ttlMs) });
  }
  async del(key: string): Promise<void> {
    this.values.delete(key);
    this.sets.delete(key);
  }
  async take(key: string): Promise<string | undefined> {
    const value = this.live(this.values, key)?.value;
    this.values.delete(key);
    return value;
  }
  async addToSet(key: string, member: string, ttlMs?: number): Promise<void> {
    const entry = this.live(this.sets, key) ?? { members: new Set<string>(), until: 0 };
    entry.members.add(member);
    entry.until = Math.max(entry.until, this.until(ttlMs));
    this.sets.set(key, entry);
  }
  async members(key: string): Promise<string[]> {
    return [...(this.live(this.sets, key)?.members ?? [])];
  }
  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const lockKey = `lock:${key}`;
    if (this.live(this.values, lockKey)) return undefined;
    const token = `${Math.random()}`;
    await this.set(lockKey, token, ttlMs);
    return async () => {
      if (this.live(this.values, lockKey)?.value === token) this.values.delete(lockKey);
    };
  }
  async close(): Promise<void> {}
}
