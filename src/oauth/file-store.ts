import { randomUUID } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { resolveSymlinks, writeSecretFile } from '../auth/token-store.js';
import type { SealBox } from './crypto.js';
import type { OAuthStore } from './store.js';

/** One record of the file: its sealed value (AAD = its key) and when it lapses (epoch ms; absent: never). */
interface Entry {
  v: string;
  until?: number;
}

/** Files open in this process: one FileOAuthStore per file (its locks and its view of the file are in memory). */
const openHere = new Set<string>();

const SEVERAL = 'For several instances, use REDIS_URL instead of a file.';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // someone else's process, alive
  }
}

/**
 * Claims `<file>.lock` (0600, our pid) for this process: a second server on the same file is refused, and a lock
 * left by a process that is gone is taken over.
 */
function claimLockFile(lockPath: string, file: string): void {
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new ConfigurationError(`Cannot create the lock file ${lockPath} of the OAuth store (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Check MCP_OAUTH_FILE and its directory's permissions.`);
      }
      let holder = Number.NaN;
      try {
        holder = Number.parseInt(readFileSync(lockPath, 'utf8').trim(), 10);
      } catch {
        // vanished meanwhile: try again
      }
      if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new ConfigurationError(
          `Another server (process ${holder}) is using the OAuth store ${file} (its lock file ${lockPath} says so). A file serves one instance only. ${SEVERAL} ` +
            `If no such server runs, delete ${lockPath}.`,
        );
      }
      try {
        unlinkSync(lockPath); // stale: its process is gone (or it is ours, left by a store not closed)
      } catch {
        // someone else took it over first: the next attempt tells
      }
      continue;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return;
  }
  throw new ConfigurationError(`Another server is taking the OAuth store ${file} at the same moment (its lock file ${lockPath}). ${SEVERAL}`);
}

/**
 * The OAuth store in one file (MCP_OAUTH_FILE), for a single instance: a JSON map `{key: {v: sealed, until?}}`,
 * every value sealed (SealBox, the key as associated data). Written like the token file (src/auth/token-store.ts):
 * a temp file 0600 in the same directory, then rename; the directory created 0700; a symlinked path written
 * through to its target. The file is ours alone (a lock file refuses a second server), so reads come from memory
 * and every write is on disk before it resolves. Locks (`tryLock`) live in memory: only this process uses them.
 */
export class FileOAuthStore implements OAuthStore {
  readonly where: string;
  private readonly entries: Map<string, Entry>;
  private readonly locks = new Map<string, { token: string; until: number }>();
  private closed = false;

  private constructor(
    private readonly target: string,
    private readonly lockPath: string,
    private readonly box: SealBox,
    private readonly now: () => number,
    entries: Map<string, Entry>,
  ) {
    this.where = target;
    this.entries = entries;
  }

  /** Opens (or starts) the store at `path`; refuses a file another live process has open. */
  static open(path: string, box: SealBox, now: () => number = Date.now): FileOAuthStore {
    const target = resolveSymlinks(path);
    const lockPath = `${target}.lock`;
    if (openHere.has(target)) {
      throw new ConfigurationError(`The OAuth store ${target} is already open in this process: one store per file. ${SEVERAL}`);
    }
    mkdirSync(dirname(target), { recursive: true, mode: 0o700 });
    claimLockFile(lockPath, target);
    let entries: Map<string, Entry>;
    try {
      entries = readEntries(target);
    } catch (error) {
      unlinkSync(lockPath);
      throw error;
    }
    openHere.add(target);
    return new FileOAuthStore(target, lockPath, box, now, entries);
  }

  private live(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry?.until !== undefined && entry.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private until(ttlMs: number | undefined): number | undefined {
    if (ttlMs === undefined) return undefined;
    if (!(ttlMs > 0)) throw new RangeError(`A record's lifetime must be positive (got ${ttlMs} ms).`);
    return this.now() + ttlMs;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`The OAuth store ${this.where} is closed.`);
  }

  async get(key: string): Promise<string | undefined> {
    const entry = this.live(key);
    return entry && this.box.open(key, entry.v);
  }

  async set(key: string, value: string, ttlMs?: number): Promise<void> {
    this.assertOpen();
    const until = this.until(ttlMs);
    this.entries.set(key, { v: this.box.seal(key, value), ...(until === undefined ? {} : { until }) });
    this.persist();
  }

  async del(key: string): Promise<void> {
    this.assertOpen();
    if (this.entries.delete(key)) this.persist();
  }

  async take(key: string): Promise<string | undefined> {
    this.assertOpen();
    const entry = this.live(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.persist();
    return this.box.open(key, entry.v);
  }

  async addToSet(key: string, member: string, ttlMs?: number): Promise<void> {
    this.assertOpen();
    const entry = this.live(key);
    const members = new Set(entry ? this.openSet(key, entry) : []);
    members.add(member);
    const wanted = this.until(ttlMs);
    // A set lives at least as long as asked, never shorter than before (absent: for ever).
    const until = wanted === undefined || (entry && entry.until === undefined) ? undefined : Math.max(entry?.until ?? 0, wanted);
    this.entries.set(key, { v: this.box.seal(key, JSON.stringify([...members])), ...(until === undefined ? {} : { until }) });
    this.persist();
  }

  async members(key: string): Promise<string[]> {
    const entry = this.live(key);
    return entry ? this.openSet(key, entry) : [];
  }

  private openSet(key: string, entry: Entry): string[] {
    const members = JSON.parse(this.box.open(key, entry.v)) as unknown;
    return Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [];
  }

  async tryLock(key: string, ttlMs: number): Promise<(() => Promise<void>) | undefined> {
    const held = this.locks.get(key);
    if (held && held.until > this.now()) return undefined;
    const token = randomUUID();
    this.locks.set(key, { token, until: this.until(ttlMs)! });
    return async () => {
      if (this.locks.get(key)?.token === token) this.locks.delete(key);
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    openHere.delete(this.target);
    try {
      if (Number.parseInt(readFileSync(this.lockPath, 'utf8'), 10) === process.pid) unlinkSync(this.lockPath);
    } catch {
      // already gone
    }
  }

  /** The whole map, expired records dropped, written atomically before the write that caused it resolves. */
  private persist(): void {
    const now = this.now();
    const out: Record<string, Entry> = {};
    for (const [key, entry] of this.entries) {
      if (entry.until !== undefined && entry.until <= now) this.entries.delete(key);
      else out[key] = entry;
    }
    writeSecretFile(this.target, `${JSON.stringify(out)}\n`);
  }
}

function readEntries(file: string): Map<string, Entry> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Map();
    throw new ConfigurationError(`The OAuth store ${file} cannot be read (${code ?? (error as Error).message}). Fix its permissions or MCP_OAUTH_FILE.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigurationError(`The OAuth store ${file} is not a store this server wrote (not a JSON map). Point MCP_OAUTH_FILE elsewhere, or delete the file: everyone then signs in again.`);
  }
  const entries = new Map<string, Entry>();
  for (const [key, raw] of Object.entries(parsed as Record<string, unknown>)) {
    const entry = raw as Partial<Entry> | null;
    if (entry && typeof entry.v === 'string' && (entry.until === undefined || typeof entry.until === 'number')) entries.set(key, entry as Entry);
  }
  return entries;
}
