import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Person } from '../basecamp/types.js';

/**
 * Snapshots of the people directory, kept so people_changes can say who joined, left or changed since a day:
 * Basecamp sends no people events. One is recorded each time the account's people are read whole (never a listing
 * cut short), unless it is the same as the newest (the store stays small: a snapshot stands for the state from its
 * time until the next one). Never a secret: the directory fields only.
 */
export interface SnapshotPerson {
  id: number;
  name: string;
  /** null when Basecamp masked it (email_hidden) or sent none. */
  email_address: string | null;
  /** true: the address was masked for that sign-in; it is not compared. */
  email_hidden?: true;
  admin: boolean;
  /** null: the product does not say (Basecamp 2). */
  owner: boolean | null;
  client: boolean | null;
  personable_type: string;
  title: string | null;
  /** The company's name. */
  company: string | null;
}

export interface PeopleSnapshot {
  account: number;
  /**
   * Under MCP_AUTH=oauth: the Launchpad identity whose view this is (two people see one account differently: masked
   * addresses, clients one cannot see). Absent for the server's own sign-in (stdio, keys), as before.
   */
  identity?: number;
  /** When the directory was read (ISO 8601). */
  at: string;
  people: SnapshotPerson[];
}

export interface PeopleSnapshotStore {
  /** Where snapshots are kept, for messages (a file, or Redis without its password). */
  readonly where: string;
  /**
   * The account's snapshots within the retention (the newest is always kept), oldest first: as seen by `identity`
   * (a signed-in person, MCP_AUTH=oauth) or, without one, by the server's own sign-in. The two never mix.
   */
  list(account: number, identity?: number): Promise<PeopleSnapshot[]>;
  /** Records the people read whole now, unless identical to the newest: the newest after it, and whether it was written. */
  record(account: number, people: Person[], identity?: number): Promise<{ snapshot: PeopleSnapshot; recorded: boolean }>;
}

/** One history: an account as the server's sign-in sees it (the account id alone, as always), or as one person does. */
export function historyKey(account: number, identity?: number): string {
  return identity === undefined ? String(account) : `${account}:identity:${identity}`;
}

const historyOf = (s: PeopleSnapshot): string => historyKey(s.account, s.identity);

/** A snapshot as stored: the identity field only for a person's own history (the server's lines are as before). */
function newSnapshot(account: number, identity: number | undefined, at: string, people: SnapshotPerson[]): PeopleSnapshot {
  return identity === undefined ? { account, at, people } : { account, identity, at, people };
}

export interface SnapshotOptions {
  /** BASECAMP_SNAPSHOT_DAYS: snapshots older than this are pruned (except an account's newest). */
  days: number;
  /** The clock (tests inject one). */
  now?: () => number;
}

const DAY_MS = 86_400_000;
/** How often a process that keeps seeing the same directory still reads the history to prune it. */
const PRUNE_EVERY_MS = 60 * 60_000;

/** The directory fields a snapshot keeps, in a fixed order (so equal directories serialise alike). */
export function snapshotPeople(people: Person[]): SnapshotPerson[] {
  return people
    .map((p) => ({
      id: p.id,
      name: p.name,
      email_address: p.email_hidden ? null : (p.email_address ?? null),
      ...(p.email_hidden ? { email_hidden: true as const } : {}),
      admin: p.admin ?? false,
      owner: role(p.owner),
      client: role(p.client),
      personable_type: p.personable_type ?? 'User',
      title: p.title ?? null,
      company: p.company?.name ?? null,
    }))
    .sort((a, b) => a.id - b.id);
}

/** Absent means no (Basecamp 3/4/5 leaves defaults out); null means the product does not say. */
const role = (value: boolean | null | undefined): boolean | null => (value === null ? null : (value ?? false));

export const samePeople = (a: SnapshotPerson[], b: SnapshotPerson[]): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Which of an account's snapshots (oldest first) the retention keeps: those newer than the cut-off, and always the newest. */
export function retained<T extends { at: string }>(snapshots: T[], cutoff: number): T[] {
  return snapshots.filter((s, i) => i === snapshots.length - 1 || Date.parse(s.at) >= cutoff);
}

/**
 * Snapshots in one JSON-lines file (0600, in a 0700 folder): beside the audit trail
 * (`<BASECAMP_AUDIT_LOG>.people-snapshots.jsonl`), or in the config folder when the trail is off. A snapshot is
 * one line appended in one write (processes sharing the file do not interleave); pruning rewrites the file
 * atomically (a temporary file renamed over it). Writes of this process go one at a time.
 */
export class FilePeopleSnapshots implements PeopleSnapshotStore {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;
  /** The file as this process last read or wrote it: its size and time, and each history's newest snapshot. */
  private seen: { size: number; mtimeMs: number; prunedAt: number; newest: Map<string, PeopleSnapshot> } | undefined;

  constructor(
    readonly where: string,
    private readonly options: SnapshotOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  async list(account: number, identity?: number): Promise<PeopleSnapshot[]> {
    const key = historyKey(account, identity);
    return retained(
      (await this.readAll()).filter((s) => historyOf(s) === key),
      this.cutoff(),
    );
  }

  record(account: number, people: Person[], identity?: number): Promise<{ snapshot: PeopleSnapshot; recorded: boolean }> {
    const run = this.queue.then(() => this.recordNow(account, people, identity));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async recordNow(account: number, people: Person[], identity: number | undefined): Promise<{ snapshot: PeopleSnapshot; recorded: boolean }> {
    const kept = snapshotPeople(people);
    const key = historyKey(account, identity);
    // The common case, a directory as it was: answered from the newest this process last saw, while the file is
    // unchanged since (no other process wrote) and a prune is not due, without reading the whole history again.
    const seen = this.seen?.newest.get(key);
    if (seen && samePeople(seen.people, kept) && this.now() - this.seen!.prunedAt < PRUNE_EVERY_MS && (await this.unchanged())) {
      return { snapshot: seen, recorded: false };
    }
    const all = await this.readAll();
    const mine = all.filter((s) => historyOf(s) === key);
    const newest = mine[mine.length - 1];
    const stale = staleCount(all, this.cutoff());
    let result: { snapshot: PeopleSnapshot; recorded: boolean };
    if (newest && samePeople(newest.people, kept)) {
      if (stale) await this.rewrite(all);
      result = { snapshot: newest, recorded: false };
    } else {
      const snapshot = newSnapshot(account, identity, new Date(this.now()).toISOString(), kept);
      if (stale) await this.rewrite([...all, snapshot]);
      else await this.append(snapshot);
      all.push(snapshot);
      result = { snapshot, recorded: true };
    }
    const info = await stat(this.where);
    this.seen = { size: info.size, mtimeMs: info.mtimeMs, prunedAt: this.now(), newest: new Map(all.map((s) => [historyOf(s), s])) };
    return result;
  }

  /** Whether the file is as this process last left it. */
  private async unchanged(): Promise<boolean> {
    const info = await stat(this.where).catch(() => undefined);
    return info !== undefined && info.size === this.seen?.size && info.mtimeMs === this.seen.mtimeMs;
  }

  private cutoff(): number {
    return this.now() - this.options.days * DAY_MS;
  }

  /** Every snapshot in the file, oldest first per account; a line that is not JSON (cut short by a crash) is skipped. */
  private async readAll(): Promise<PeopleSnapshot[]> {
    let text: string;
    try {
      text = await readFile(this.where, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text.split('\n').flatMap((line) => {
      if (!line.trim()) return [];
      try {
        const s = JSON.parse(line) as PeopleSnapshot;
        return typeof s.account === 'number' && (s.identity === undefined || typeof s.identity === 'number') && typeof s.at === 'string' && Array.isArray(s.people) ? [s] : [];
      } catch {
        return [];
      }
    });
  }

  private async append(snapshot: PeopleSnapshot): Promise<void> {
    await this.prepare();
    const bytes = Buffer.from(`${JSON.stringify(snapshot)}\n`, 'utf8');
    const handle = await open(this.where, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
    try {
      // A line that starts after a torn one is still found: lines are split on newlines and bad ones skipped.
      const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
      if (bytesWritten !== bytes.length) throw new Error(`short write: ${bytesWritten} of ${bytes.length} bytes`);
    } finally {
      await handle.close();
    }
  }

  /** The file without the snapshots the retention drops, written whole to a temporary file and renamed over it. */
  private async rewrite(all: PeopleSnapshot[]): Promise<void> {
    await this.prepare();
    const cutoff = this.cutoff();
    const histories = [...new Set(all.map(historyOf))];
    const keep = histories.flatMap((h) => retained(all.filter((s) => historyOf(s) === h), cutoff));
    const temp = `${this.where}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(keep.map((s) => `${JSON.stringify(s)}\n`).join(''), 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.where);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
  }

  /** The folder (0700); an existing file others may read is made 0600. */
  private async prepare(): Promise<void> {
    await mkdir(dirname(this.where), { recursive: true, mode: 0o700 });
    const info = await lstat(this.where).catch(() => undefined);
    if (info?.isFile() && (info.mode & 0o077) !== 0) await chmod(this.where, 0o600);
  }
}

/** How many snapshots the retention would drop (each history keeps its newest). */
function staleCount(all: PeopleSnapshot[], cutoff: number): number {
  const histories = new Set(all.map(historyOf));
  let kept = 0;
  for (const h of histories) kept += retained(all.filter((s) => historyOf(s) === h), cutoff).length;
  return all.length - kept;
}
