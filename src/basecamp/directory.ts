import type { PeopleApi } from './api.js';
import { withPageListener, type Collection, type PageListener } from './http.js';
import { EmailsHiddenError, IncompleteDataError, InvalidInputError } from '../errors.js';
import { CancelledError } from './errors.js';
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
  /**
   * Told after each page when this read goes to Basecamp (not when a cached copy or a read already under way serves
   * it): pages and items read so far, and the total Basecamp announced. For a tool's progress on long reads.
   */
  onPage?: PageListener;
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
    /** Called once per load of the account's people read whole (not `truncated`): the service keeps a snapshot. */
    private readonly onWholePeople?: (people: Person[]) => void,
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
      const value = opts.onPage ? withPageListener(opts.onPage, () => load(controller.signal)) : load(controller.signal);
      const fresh: Entry = { at: Date.now(), controller, waiting: 0, value };
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
    return this.cached(
      'people',
      async (s) => {
        const all = await this.api.listPeople(s);
        if (!all.truncated) this.onWholePeople?.(all.items);
        return all;
      },
      opts,
    );
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
   * Never a guess (see peopleWithEmails and refuseUnknowable): two people with one address are refused, and a miss
   * is "nobody has it" only when the whole directory was read with every address visible.
   */
  async findManyByEmail(emails: string[], signal?: AbortSignal): Promise<Map<string, Person>> {
    const wasCached = this.ageMs('people') !== undefined;
    let all = await this.people({ signal });
    let found = peopleWithEmails(all.items, emails);
    // A re-read cannot reveal what Basecamp hides from this sign-in.
    if (found.size < new Set(emails.map(normalEmail)).size && wasCached && !hidesEmails(all.items)) {
      const cached = found;
      all = await this.people({ signal, fresh: true });
      found = peopleWithEmails(all.items, emails);
      for (const [email, p] of cached) if (!found.has(email)) found.set(email, p);
    }
    refuseUnknowable(all, emails.filter((e) => !found.has(normalEmail(e))));
    return found;
  }

  invalidate(): void {
    this.entries.clear();
  }
}

/**
 * Who in `people` has each of these addresses, keyed by normalised email. Two people whose addresses normalise
 * alike (letter case) are refused, naming both: acting on the first would be a guess. A masked address is never
 * matched (records.ts turns masks into `email_address: null`).
 */
export function peopleWithEmails(people: Person[], emails: string[]): Map<string, Person> {
  const wanted = new Set(emails.map(normalEmail));
  const matches = new Map<string, Person[]>();
  for (const p of people) {
    const key = p.email_address ? normalEmail(p.email_address) : undefined;
    if (!key || !wanted.has(key)) continue;
    const list = matches.get(key) ?? [];
    if (!list.some((q) => q.id === p.id)) list.push(p);
    matches.set(key, list);
  }
  const ambiguous = [...matches].filter(([, list]) => list.length > 1);
  if (ambiguous.length) {
    const told = ambiguous.map(([email, list]) => `${email} belongs to ${list.map((p) => `${p.name} (id ${p.id})`).join(' and ')}`);
    throw new InvalidInputError(`More than one person has the same address: ${told.join('; ')}. Nothing was changed. Give the person's id instead.`);
  }
  return new Map([...matches].map(([email, list]) => [email, list[0]!]));
}

/** Whether Basecamp masked anyone's address in this listing: the signed-in person is not an admin or owner. */
export const hidesEmails = (people: Person[]): boolean => people.some((p) => p.email_hidden === true);

/**
 * For addresses nobody in the listing has: refuses when "nobody has them" cannot be known. Basecamp hides other
 * people's addresses from this sign-in (emails_hidden: say so, never "no such person"), or the listing was cut short
 * (incomplete). Otherwise returns: the caller may say nobody has them.
 */
export function refuseUnknowable(all: Collection<Person>, missing: string[]): void {
  if (!missing.length) return;
  const list = missing.join(', ');
  if (hidesEmails(all.items)) {
    throw new EmailsHiddenError(
      `Basecamp shows other people's email addresses only to admins and owners, and the signed-in person is neither: ` +
        `${list} cannot be looked up by address (whether anyone on the account has ${missing.length === 1 ? 'it' : 'them'} cannot be told). ` +
        'Nothing was changed. Use the person\'s id (list_people shows ids and names), or sign in as an admin or owner.',
      { addresses: missing },
    );
  }
  if (all.truncated) {
    // "Nobody has this email" would be a guess: say we could not tell.
    throw new IncompleteDataError(
      `Could not read the whole people directory (${all.truncated}), so cannot tell whether ${list} ` +
        `${missing.length === 1 ? 'is' : 'are'} on the account. Nothing was changed.`,
    );
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
