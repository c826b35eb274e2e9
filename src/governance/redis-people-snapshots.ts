import type { Redis } from 'ioredis';
import type { Person } from '../basecamp/types.js';
import { historyKey, retained, samePeople, snapshotPeople, type PeopleSnapshot, type PeopleSnapshotStore, type SnapshotOptions } from './people-snapshots.js';

const DAY_MS = 86_400_000;

/**
 * Snapshots of the people directory in Redis (with REDIS_URL), so every instance of a fleet answers people_changes
 * from the same history: one sorted set per account (per account and person under MCP_AUTH=oauth), each snapshot a member scored by its time. Pruned to the
 * retention on each record (the newest always kept). Writes of this process go one at a time.
 */
export class RedisPeopleSnapshots implements PeopleSnapshotStore {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(
    private readonly client: Pick<Redis, 'zadd' | 'zrange' | 'zremrangebyscore'>,
    /** Where Redis is, for messages (without its password). */
    readonly where: string,
    private readonly options: SnapshotOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** The server's own history of an account keeps its key of old (`…:<account>`); a person's is `…:<account>:identity:<id>`. */
  private key(account: number, identity?: number): string {
    return `basecamp-people-mcp:people-snapshots:${historyKey(account, identity)}`;
  }

  async list(account: number, identity?: number): Promise<PeopleSnapshot[]> {
    const members = await this.client.zrange(this.key(account, identity), 0, -1);
    return retained(members.flatMap(parse), this.cutoff());
  }

  record(account: number, people: Person[], identity?: number): Promise<{ snapshot: PeopleSnapshot; recorded: boolean }> {
    const run = this.queue.then(() => this.recordNow(account, people, identity));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async recordNow(account: number, people: Person[], identity: number | undefined): Promise<{ snapshot: PeopleSnapshot; recorded: boolean }> {
    const key = this.key(account, identity);
    const newest = (await this.client.zrange(key, -1, -1)).flatMap(parse)[0];
    const kept = snapshotPeople(people);
    let result: { snapshot: PeopleSnapshot; recorded: boolean };
    if (newest && samePeople(newest.people, kept)) result = { snapshot: newest, recorded: false };
    else {
      const at = new Date(this.now()).toISOString();
      const snapshot: PeopleSnapshot = identity === undefined ? { account, at, people: kept } : { account, identity, at, people: kept };
      await this.client.zadd(key, Date.parse(snapshot.at), JSON.stringify(snapshot));
      result = { snapshot, recorded: true };
    }
    // Older than the retention, except the newest (the state now, however long unchanged): exclusive bound.
    const bound = Math.min(this.cutoff(), Date.parse(result.snapshot.at));
    await this.client.zremrangebyscore(key, '-inf', `(${bound}`);
    return result;
  }

  private cutoff(): number {
    return this.now() - this.options.days * DAY_MS;
  }
}

function parse(member: string): PeopleSnapshot[] {
  try {
    const s = JSON.parse(member) as PeopleSnapshot;
    return typeof s.at === 'string' && Array.isArray(s.people) ? [s] : [];
  } catch {
    return [];
  }
}
