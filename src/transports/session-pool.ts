import { log } from '../log.js';

export interface SessionPoolOptions {
  /** Live sessions at most. */
  maxSessions: number;
  /** Live sessions one owner (a caller, by `callerKey`) may hold at most; capped at maxSessions. Default maxSessions. */
  maxPerOwner?: number;
  /** A session idle this long (nothing in flight) is expired by `expireIdle`. */
  idleMs: number;
  /** When full, a session idle this long (nothing in flight) may be ended for a newcomer; capped at idleMs. */
  evictGraceMs: number;
  /** The clock (tests pass a fake one). */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  /** Who opened it (a caller's `callerKey`): the per-owner cap counts, and evicts, only an owner's own sessions. */
  owner: string;
  /** When a request on it last started, or its last POST/DELETE finished. */
  lastSeen: number;
  /** POST/DELETE requests in flight; a busy session is never evicted or expired. SSE GET streams do not count. */
  busy: number;
}

/** No room now: how long until a session becomes evictable, as the Retry-After a client is told. */
export interface PoolFull {
  /** Which cap refused: the whole pool's, or the newcomer's owner's own (`maxPerOwner`). */
  limit: 'pool' | 'owner';
  retryAfterMs: number;
  /** Whole seconds, at least 1 (what the Retry-After header says). */
  retryAfterSeconds: number;
}

/**
 * The live sessions of the HTTP transport: each one's idle time and work in flight, idle expiry, and room for
 * a newcomer when a cap is reached (the idlest session idle past the grace is ended; a busy one never is).
 * Two caps: the pool's (`maxSessions`) and each owner's (`maxPerOwner`), so one caller cannot hold every session.
 * An owner at its own cap makes room only among its own sessions, never another owner's. When the pool is full,
 * the idlest evictable session of an owner holding more than its fair share (the pool's cap divided among the
 * owners holding sessions, the newcomer's counted) goes first; only when there is none, the idlest of all.
 * Knows nothing about HTTP or MCP: `close` ends a session's value.
 */
export class SessionPool<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;
  readonly maxSessions: number;
  readonly maxPerOwner: number;
  private readonly idleMs: number;
  private readonly evictGraceMs: number;

  constructor(options: SessionPoolOptions, private readonly close: (value: T) => Promise<void>) {
    this.now = options.now ?? Date.now;
    this.maxSessions = options.maxSessions;
    this.maxPerOwner = Math.min(options.maxPerOwner ?? options.maxSessions, options.maxSessions);
    this.idleMs = options.idleMs;
    // A session idle past idleMs is expired anyway, so it is evictable by then at the latest.
    this.evictGraceMs = Math.min(options.evictGraceMs, options.idleMs);
  }

  get size(): number {
    return this.entries.size;
  }

  get(id: string): T | undefined {
    return this.entries.get(id)?.value;
  }

  /** A new session of `owner` (the caller that opened it, by `callerKey`). */
  add(id: string, value: T, owner: string): void {
    this.entries.set(id, { value, owner, lastSeen: this.now(), busy: 0 });
  }

  /** Live sessions `owner` holds. */
  sizeOf(owner: string): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.owner === owner) count++;
    return count;
  }

  /** Forgets a session that ended by itself (its transport closed), without closing it again. */
  forget(id: string): void {
    this.entries.delete(id);
  }

  /**
   * A request starts on the session. A POST/DELETE (`work`) makes it busy until the returned `done` is
   * called; its idle time then counts from that moment. A GET (an SSE stream listening) only touches it.
   */
  begin(id: string, work: boolean): () => void {
    const entry = this.entries.get(id);
    if (!entry) return () => undefined;
    entry.lastSeen = this.now();
    if (!work) return () => undefined;
    entry.busy++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      entry.busy--;
      entry.lastSeen = this.now();
    };
  }

  /**
   * Room for one more session of `owner`: undefined when there is (after ending a session idle past the grace,
   * when a cap is reached), else which cap refused and how long until a session becomes evictable under it.
   * At its own cap, an owner's idlest session goes (if past the grace), never another's; the pool full, see above.
   */
  makeRoom(owner: string): PoolFull | undefined {
    const held = new Map<string, number>();
    for (const entry of this.entries.values()) held.set(entry.owner, (held.get(entry.owner) ?? 0) + 1);
    // (An owner's cap as large as the pool's is the pool's own: the rule below says the same.)
    if (this.maxPerOwner < this.maxSessions && (held.get(owner) ?? 0) >= this.maxPerOwner) {
      return this.evictIdlest('owner', [...this.entries].filter(([, e]) => e.owner === owner), `per-caller cap (${this.maxPerOwner}) reached by its owner`);
    }
    if (this.entries.size < this.maxSessions) return undefined;
    // The fair share: the pool divided among the owners holding sessions, the newcomer's among them.
    const share = this.maxSessions / (held.size + (held.has(owner) ? 0 : 1));
    const over = [...this.entries].filter(([, e]) => (held.get(e.owner) ?? 0) > share);
    const evictable = (candidates: [string, Entry<T>][]) => candidates.some(([, e]) => e.busy === 0 && this.now() - e.lastSeen >= this.evictGraceMs);
    const candidates = evictable(over) ? over : [...this.entries];
    return this.evictIdlest('pool', candidates, `session cap (${this.maxSessions}) reached`);
  }

  /** Ends the idlest of `candidates` idle past the grace (undefined), else how long until one is (`limit` refused). */
  private evictIdlest(limit: PoolFull['limit'], candidates: [string, Entry<T>][], why: string): PoolFull | undefined {
    let idlest: [string, Entry<T>] | undefined;
    for (const entry of candidates) {
      if (entry[1].busy === 0 && (!idlest || entry[1].lastSeen < idlest[1].lastSeen)) idlest = entry;
    }
    // Every session is working: each needs the full grace once it stops.
    if (!idlest) return full(limit, this.evictGraceMs);
    const idleFor = this.now() - idlest[1].lastSeen;
    if (idleFor < this.evictGraceMs) return full(limit, this.evictGraceMs - idleFor);
    log.info(`HTTP ${why}: ended session ${idlest[0]}, idle ${Math.round(idleFor / 1000)} s, to admit a new client.`);
    this.end(idlest[0], idlest[1]);
    return undefined;
  }

  /** Ends every session idle longer than idleMs with nothing in flight. */
  expireIdle(): void {
    const cutoff = this.now() - this.idleMs;
    for (const [id, entry] of this.entries) {
      if (entry.busy === 0 && entry.lastSeen < cutoff) this.end(id, entry);
    }
  }

  /** Ends every session, one after the other (draining). */
  async closeAll(): Promise<void> {
    for (const entry of this.entries.values()) await this.close(entry.value);
    this.entries.clear();
  }

  private end(id: string, entry: Entry<T>): void {
    this.entries.delete(id);
    void this.close(entry.value);
  }
}

function full(limit: PoolFull['limit'], retryAfterMs: number): PoolFull {
  return { limit, retryAfterMs, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
}
