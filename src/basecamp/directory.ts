import type { BasecampApi } from './api.js';
import type { Collection } from './http.js';
import { BasecampError, CancelledError } from './errors.js';
import type { Person, Project, ProjectStatus } from './types.js';

/**
 * A short-lived cache over the collections the tools read again and again (an email → a person, the
 * projects list), so repeated look-ups do not re-read the whole directory. Entries live `ttlMs`
 * (BASECAMP_CACHE_TTL, default 60 s); every write through the tools invalidates them. Concurrent reads of
 * the same collection share one fetch.
 */
export class Directory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    readonly api: BasecampApi,
    private readonly ttlMs = 60_000,
  ) {}

  private cached<T>(
    key: string,
    load: (signal: AbortSignal) => Promise<Collection<T>>,
    opts: { signal?: AbortSignal; fresh?: boolean },
  ): Promise<Collection<T>> {
    let entry = this.entries.get(key);
    if (opts.fresh || !entry || Date.now() - entry.at >= this.ttlMs || entry.controller.signal.aborted) {
      const controller = new AbortController();
      const fresh: Entry = { at: Date.now(), controller, waiting: 0, value: load(controller.signal) };
      this.entries.set(key, fresh);
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

  people(opts: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<Collection<Person>> {
    return this.cached('people', (s) => this.api.listPeople(s), opts);
  }

  projectPeople(projectId: number, opts: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<Collection<Person>> {
    return this.cached(`project-people:${projectId}`, (s) => this.api.listProjectPeople(projectId, s), opts);
  }

  projects(status: ProjectStatus, opts: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<Collection<Project>> {
    return this.cached(`projects:${status}`, (s) => this.api.listProjects(status, s), opts);
  }

  /**
   * The person with this email (case-insensitive), or undefined. A miss in a cached copy re-reads the
   * directory once, so someone added a moment ago elsewhere is still found.
   */
  async findByEmail(email: string, signal?: AbortSignal): Promise<Person | undefined> {
    const want = email.trim().toLowerCase();
    const match = (c: Collection<Person>) => c.items.find((p) => p.email_address?.toLowerCase() === want);
    const wasCached = this.ageMs('people') !== undefined;
    let all = await this.people({ signal });
    let found = match(all);
    if (!found && wasCached) {
      all = await this.people({ signal, fresh: true });
      found = match(all);
    }
    if (!found && all.truncated) {
      // "Nobody has this email" would be a guess: say we could not tell.
      throw new BasecampError(
        `Could not read the whole people directory (${all.truncated}), so cannot tell whether ${email} is on the account. Nothing was changed.`,
      );
    }
    return found;
  }

  invalidate(): void {
    this.entries.clear();
  }
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
