import type { PeopleApi } from './api.js';
import type { Collection } from './http.js';
import { CancelledError, IncompleteDataError } from './errors.js';
import type { Person, Project, ProjectStatus } from './types.js';

/** How a collection is read from the directory. */
export interface ReadOptions {
  signal?: AbortSignal;
  /** Re-read from Basecamp even when a cached copy is fresh. */
  fresh?: boolean;
  /**
   * Called (synchronously) when this read goes to Basecamp; not called when a cached copy or a read already under
   * way serves it. Lets a tool say honestly what it cost: the collection's `pages` when called, else nothing.
   */
  onLoad?: () => void;
}

/**
 * A short-lived cache over the collections the tools read again and again (an email → a person, the
 * projects list), so repeated look-ups do not re-read the whole directory. Entries live `ttlMs`
 * (BASECAMP_CACHE_TTL, default 60 s); every write through the tools invalidates them. Concurrent reads of
 * the same collection share one fetch.
 */
export class Directory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly api: PeopleApi,
    private readonly ttlMs = 60_000,
    /**
     * Runs before every read, cached or not: the service finds the account there, and clears this cache when it
     * is another one than before (a new login), so no copy of the old account's people ever answers.
     */
    private readonly beforeRead?: (signal?: AbortSignal) => Promise<unknown>,
  ) {}

  private async cached<T>(
    key: string,
    load: (signal: AbortSignal) => Promise<Collection<T>>,
    opts: ReadOptions,
  ): Promise<Collection<T>> {
    await this.beforeRead?.(opts.signal);
    let entry = this.entries.get(key);
    if (opts.fresh || !entry || Date.now() - entry.at >= this.ttlMs || entry.controller.signal.aborted) {
      const controller = new AbortController();
      const fresh: Entry = { at: Date.now(), controller, waiting: 0, value: load(controller.signal) };
      this.entries.set(key, fresh);
      opts.onLoad?.();
      // A failed or cancelled load must not be served to the next caller.
      fresh.value.catch(() => {
        if (this.entries.get(key) === fresh) this.entries.delete(key);
      });
      entry = fresh;
    }
    return join(entry, opts.signal) as Promise<Collection<T>>;
  }

  /** How old the cached copy of a collection is, in ms (undefined when not cached). */
  ageMs(key: string): number | undefined {
    const hit = this.entries.get(key);
    return hit ? Date.now() - hit.at : undefined;
  }

  people(opts: ReadOptions = {}): Promise<Collection<Person>> {
    return this.cached('people', (s) => this.api.listPeople(s), opts);
  }

  /** The people already removed from the account, where the product can list them (capabilities.removedPeople). */
  removedPeople(opts: ReadOptions = {}): Promise<Collection<Person>> {
    return this.cached('removed-people', (s) => this.api.listRemovedPeople(s), opts);
  }

  projectPeople(projectId: number, opts: ReadOptions = {}): Promise<Collection<Person>> {
    return this.cached(`project-people:${projectId}`, (s) => this.api.listProjectPeople(projectId, s), opts);
  }

  projects(status: ProjectStatus, opts: ReadOptions = {}): Promise<Collection<Project>> {
    return this.cached(`projects:${status}`, (s) => this.api.listProjects(status, s), opts);
  }

  /** The person with this email (case-insensitive), or undefined. See findManyByEmail. */
  async findByEmail(email: string, signal?: AbortSignal): Promise<Person | undefined> {
    return (await this.findManyByEmail([email], signal)).get(normalEmail(email));
  }

  /**
   * The people with these emails, keyed by normalised email (absent: nobody has it). Misses in a cached copy
   * cost ONE fresh re-read for all of them together (someone added a moment ago elsewhere is still found),
   * never one per email: each full read of a large account is a dozen requests of the shared budget.
   */
  async findManyByEmail(emails: string[], signal?: AbortSignal): Promise<Map<string, Person>> {
    const wanted = new Set(emails.map(normalEmail));
    const found = new Map<string, Person>();
    const collect = (all: Collection<Person>) => {
      for (const p of all.items) {
        const key = p.email_address ? normalEmail(p.email_address) : undefined;
        if (key && wanted.has(key) && !found.has(key)) found.set(key, p);
      }
    };
    const wasCached = this.ageMs('people') !== undefined;
    let all = await this.people({ signal });
    collect(all);
    if (found.size < wanted.size && wasCached) {
      all = await this.people({ signal, fresh: true });
      collect(all);
    }
    const missing = [...wanted].filter((e) => !found.has(e));
    if (missing.length && all.truncated) {
      // "Nobody has this email" would be a guess: say we could not tell.
      throw new IncompleteDataError(
        `Could not read the whole people directory (${all.truncated}), so cannot tell whether ${missing.join(', ')} ` +
          `${missing.length === 1 ? 'is' : 'are'} on the account. Nothing was changed.`,
      );
    }
    return found;
  }

  invalidate(): void {
    this.entries.clear();
  }
}

/** The form emails are compared in: Basecamp matches addresses case-insensitively. */
export function normalEmail(email: string): string {
  return email.trim().toLowerCase();
}

interface Entry {
  at: number;
  value: Promise<Collection<unknown>>;
  controller: AbortController;
  /** Callers still waiting; the shared load is aborted only when every one of them has cancelled. */
  waiting: number;
}

function join(entry: Entry, signal?: AbortSignal): Promise<Collection<unknown>> {
  if (!signal) {
    entry.waiting++;
    return entry.value.finally(() => entry.waiting--);
  }
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new CancelledError('Cancelled.'));
    entry.waiting++;
    let done = false;
    const leave = () => {
      if (done) return false;
      done = true;
      entry.waiting--;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (entry.waiting === 0) entry.controller.abort();
      reject(new CancelledError('Cancelled.'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    entry.value.then(
      (v) => leave() && resolve(v),
      (e: unknown) => leave() && reject(e),
    );
  });
}
