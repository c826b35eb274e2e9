import { log } from '../log.js';

export interface SessionPoolOptions {
  /** Live sessions at most. */
  maxSessions: number;
  /** A session idle this long (nothing in flight) is expired by `expireIdle`. */
  idleMs: number;
  /** When full, a session idle this long (nothing in flight) may be ended for a newcomer; capped at idleMs. */
  evictGraceMs: number;
  /** The clock (tests pass a fake one). */
  now?: () => number;
}

interface Entry<T> {
  value: T;
  /** When a request on it last started, or its last POST/DELETE finished. */
  lastSeen: number;
  /** POST/DELETE requests in flight; a busy session is never evicted or expired. SSE GET streams do not count. */
  busy: number;
}

/** No room now: how long until a session becomes evictable, as the Retry-After a client is told. */
export interface PoolFull {
  retryAfterMs: number;
  /** Whole seconds, at least 1 (what the Retry-After header says). */
  retryAfterSeconds: number;
}

/**
 * The live sessions of the HTTP transport: each one's idle time and work in flight, idle expiry, and room for
 * a newcomer when the cap is reached (the idlest session idle past the grace is ended; a busy one never is).
 * Knows nothing about HTTP or MCP: `close` ends a session's value.
 */
export class SessionPool<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;
  readonly maxSessions: number;
  private readonly idleMs: number;
  private readonly evictGraceMs: number;

  constructor(options: SessionPoolOptions, private readonly close: (value: T) => Promise<void>) {
    this.now = options.now ?? Date.now;
    this.maxSessions = options.maxSessions;
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

  add(id: string, value: T): void {
    this.entries.set(id, { value, lastSeen: this.now(), busy: 0 });
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
   * Room for one more session: undefined when there is (after ending the idlest session idle past the
   * grace, when full), else how long until one becomes evictable.
   */
  makeRoom(): PoolFull | undefined {
    if (this.entries.size < this.maxSessions) return undefined;
    let idlest: [string, Entry<T>] | undefined;
    for (const entry of this.entries) {
      if (entry[1].busy === 0 && (!idlest || entry[1].lastSeen < idlest[1].lastSeen)) idlest = entry;
    }
    // Every session is working: each needs the full grace once it stops.
    if (!idlest) return full(this.evictGraceMs);
    const idleFor = this.now() - idlest[1].lastSeen;
    if (idleFor < this.evictGraceMs) return full(this.evictGraceMs - idleFor);
    log.info(`HTTP session cap (${this.maxSessions}) reached: ended session ${idlest[0]}, idle ${Math.round(idleFor / 1000)} s, to admit a new client.`);
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

function full(retryAfterMs: number): PoolFull {
  return { retryAfterMs, retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) };
}
