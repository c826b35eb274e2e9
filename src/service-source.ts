import type { Dispatcher } from 'undici';
import type { Caller, CallerIdentity } from './caller.js';
import type { Config } from './config.js';
import { keepAliveAgent, type Credentials } from './basecamp/http.js';
import { createPersonService, type Service, type SharedParts } from './service.js';
import { log } from './log.js';

/**
 * WHICH SERVICE ACTS FOR A CALLER. stdio and named keys: the process's one service (one Basecamp sign-in for
 * everyone). Under `MCP_AUTH=oauth`: each signed-in person's own service (their credentials, their directory
 * cache, their identity in the audit trail), while what Basecamp limits per client (the rate budget) and what the
 * server keeps for everyone (audit trail, plan sealer, snapshots store) stay shared.
 */
export interface ServiceSource {
  /** The service that acts for this caller (the same one for the same caller while it is in use). */
  for(caller: Caller, signal?: AbortSignal): Promise<Service>;
  close(): Promise<void>;
}

/** One service for every caller: stdio, and HTTP with named keys or MCP_HTTP_TOKEN. */
export function singleService(service: Service): ServiceSource {
  return {
    async for() {
      return service;
    },
    close: () => service.close(),
  };
}

export interface PersonServicesOptions {
  /** At most this many people's services are kept; the least recently used is closed first. Default 200. */
  max?: number;
  /** A person's service not asked for this long is closed (built again on their next call). Default 30 minutes. */
  idleMs?: number;
}

/** A per-person source: also how many people's services it keeps now. */
export interface PersonServiceSource extends ServiceSource {
  readonly size: number;
}

/**
 * Under `MCP_AUTH=oauth`: one service per signed-in person (by Launchpad identity id), built on their first call
 * (calls at the same time for one person share one build) on the shared parts, with `credentialsFor(identity)`.
 * Kept while used: least recently used first out beyond `max`, and closed after `idleMs` unused. Closing a person's
 * service closes only what is theirs (the budget, audit trail, plan sealer and snapshot store keep serving the others;
 * every person's Basecamp client uses one shared keep-alive dispatcher, so a session still holding an evicted
 * service keeps working). The account is BASECAMP_ACCOUNT_ID for everyone, found per person by their own token.
 * A caller without an identity is a bug (the front door gives every caller one under MCP_AUTH=oauth): refused.
 * `close()` closes every person's service, then the shared parts.
 */
export function personServices(
  config: Config,
  shared: SharedParts,
  credentialsFor: (identity: CallerIdentity) => Credentials,
  options: PersonServicesOptions = {},
): PersonServiceSource {
  if (config.accountId === undefined) {
    throw new Error('MCP_AUTH=oauth needs BASECAMP_ACCOUNT_ID: the Basecamp account every signed-in person works in.');
  }
  const max = options.max ?? 200;
  const idleMs = options.idleMs ?? 30 * 60_000;
  if (!(Number.isSafeInteger(max) && max > 0) || !(idleMs > 0)) throw new Error(`personServices: max and idleMs must be positive (got ${max}, ${idleMs}).`);
  // Map order is use order: a use moves an entry to the end, the least recently used is first.
  const kept = new Map<number, { service: Promise<Service>; usedAt: number }>();
  let closed = false;
  let closing: Promise<void> | undefined;
  // One keep-alive agent for every person's client (made with the first build; undici loads then), unless given one.
  let agent: Promise<Dispatcher> | undefined = shared.http?.dispatcher ? Promise.resolve(shared.http.dispatcher) : undefined;
  const ownsAgent = !shared.http?.dispatcher;

  const evict = (id: number, why: string) => {
    const entry = kept.get(id);
    if (!entry) return;
    kept.delete(id);
    log.debug(`closing the service of Basecamp identity ${id} (${why})`);
    void entry.service.then((service) => service.close()).catch(() => undefined);
  };
  const sweep = () => {
    const now = Date.now();
    for (const [id, entry] of kept) if (now - entry.usedAt >= idleMs) evict(id, 'idle');
  };
  const sweeper = setInterval(sweep, Math.min(60_000, Math.max(1_000, idleMs / 4)));
  sweeper.unref();

  const build = async (identity: CallerIdentity): Promise<Service> => {
    const dispatcher = await (agent ??= keepAliveAgent(shared.http?.connectTimeoutMs));
    return createPersonService(config, { ...shared, http: { ...shared.http, dispatcher } }, { identity, credentials: credentialsFor(identity) });
  };

  return {
    get size() {
      return kept.size;
    },
    async for(caller) {
      const identity = caller.identity;
      if (!identity || !Number.isSafeInteger(identity.id)) {
        throw new Error(`No signed-in identity on the caller "${caller.name}": under MCP_AUTH=oauth every caller is a signed-in person (a bug).`);
      }
      if (closed) throw new Error('The server is shutting down: no service for a new call.');
      sweep();
      let entry = kept.get(identity.id);
      if (entry) kept.delete(identity.id);
      else {
        // Kept before anything is awaited: calls for this person at the same time share this one build.
        const service = build(identity);
        entry = { service, usedAt: Date.now() };
        const mine = entry;
        service.catch(() => {
          if (kept.get(identity.id) === mine) kept.delete(identity.id); // built again on the next call
        });
      }
      entry.usedAt = Date.now();
      kept.set(identity.id, entry);
      for (const id of kept.keys()) {
        if (kept.size <= max) break;
        evict(id, `more than ${max} people`);
      }
      return entry.service;
    },
    close() {
      closing ??= (async () => {
        closed = true;
        clearInterval(sweeper);
        const services = [...kept.values()].map((e) => e.service);
        kept.clear();
        await Promise.allSettled(services.map(async (s) => (await s).close()));
        await shared.close();
        if (ownsAgent && agent) await (await agent).close();
      })();
      return closing;
    },
  };
}

/**
 * Under MCP_AUTH=oauth: a signed-in person (a caller with a Launchpad identity) gets their own service; anyone else
 * (a named key, MCP_HTTP_TOKEN) the server's one, signed in as the server. Closing closes the one service, then the
 * people's (and with them the shared parts).
 */
export function callerServices(server: Service, people: ServiceSource): ServiceSource {
  return {
    for: (caller, signal) => (caller.identity ? people.for(caller, signal) : Promise.resolve(server)),
    async close() {
      await server.close();
      await people.close();
    },
  };
}
