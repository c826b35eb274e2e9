import { accountResolver, type ResolvedAccount } from './account.js';
import { accountApi } from './basecamp/account-api.js';
import { BasecampApi, type PeopleApi } from './basecamp/api.js';
import { Basecamp2Api } from './basecamp/bcx-api.js';
import { Directory } from './basecamp/directory.js';
import { FileCredentials } from './auth/credentials.js';
import { signInHelp } from './auth/sign-in-help.js';
import { InClientSignIn } from './auth/in-client-sign-in.js';
import { shellCommand } from './cli-command.js';
import { TokenStore } from './auth/token-store.js';
import { BasecampHttp, type Credentials, type HttpOptions } from './basecamp/http.js';
import { RateBudget } from './basecamp/rate-budget.js';
import { DEFAULT_RATE_LIMITS, fileProduct, parseAccountId, type Config } from './config.js';
import { AuditLog } from './governance/audit-log.js';
import { PlanSealer, type PlanClaimStore } from './governance/plan-token.js';
import { FilePeopleSnapshots, type PeopleSnapshotStore } from './governance/people-snapshots.js';
import type { Person, Product } from './basecamp/types.js';
import type { CallerIdentity } from './caller.js';
import { log } from './log.js';

/** What makes writes accountable: the audit trail, plan tokens, and whether a human must always be asked. */
export interface Governance {
  audit?: AuditLog;
  plans: PlanSealer;
  confirm: 'auto' | 'human';
  /** The signed-in person, for the audit trail (read once, then kept for ten minutes). */
  identity(signal?: AbortSignal): Promise<{ id: number; email_address: string | null } | null>;
  /** A profile a tool just read (GET /my/profile.json): the audit trail need not read it again. */
  rememberIdentity(person: { id: number; email_address?: string | null }, signal?: AbortSignal): Promise<void>;
}

/**
 * Everything a tool needs, for one Basecamp identity: the process's one sign-in (createService, shared by every
 * session), or under MCP_AUTH=oauth one signed-in person's (createPersonService, see src/service-source.ts). The
 * budget, audit trail, plan sealer and snapshot store in it are the shared parts (SharedParts).
 */
export interface Service {
  /** The account's backend (Basecamp 3/4/5 or Basecamp 2), found per call: the tools see one PeopleApi. */
  api: PeopleApi;
  governance: Governance;
  directory: Directory;
  /** Snapshots of the people directory, one per whole read (people_changes); undefined: none kept. */
  snapshots?: PeopleSnapshotStore;
  http: BasecampHttp;
  budget: RateBudget;
  accountId(signal?: AbortSignal): Promise<number>;
  account(signal?: AbortSignal): Promise<ResolvedAccount>;
  /** Set when no credentials were found at start (for one line on stderr); tools then say how to sign in, and a later `login` is picked up. */
  notConfigured?: string;
  /**
   * Sign-in from inside the client, when an OAuth app is configured and the token file is used: a call without a
   * token answers NotSignedInError (kind not_signed_in) with its URL; the protocol layer may ask the person through it.
   */
  signIn?: InClientSignIn;
  close(): Promise<void>;
}

/** A token that never changes (BASECAMP_ACCESS_TOKEN, the sandbox). */
export class StaticCredentials implements Credentials {
  constructor(
    private readonly token: string,
    private readonly source: string,
  ) {}
  async accessToken(): Promise<string> {
    return this.token;
  }
  unauthorizedAdvice(message?: string): string {
    const expired = /expired/i.test(message ?? '');
    return expired
      ? `The ${this.source} has expired and cannot be refreshed (it has no refresh token). Run \`${shellCommand('login')}\` to sign in with automatic refresh, or set a new token.`
      : `Check the ${this.source}, or run \`${shellCommand('login')}\`.`;
  }
}


export interface ServiceOptions {
  credentials?: Credentials;
  budget?: RateBudget;
  /**
   * Whether the budget's limit follows the account's product (Basecamp 3/4/5: 50 per 10 s, Basecamp 2: 500 per
   * 10 s). Default: yes unless BASECAMP_RATE_LIMIT is set or a budget is given.
   */
  budgetFollowsProduct?: boolean;
  http?: Partial<HttpOptions>;
  /** The audit trail (default: one at config.auditLog); tests inject one whose file fails. */
  audit?: AuditLog;
  /** Where a fleet that shares no audit file records used plan tokens (Redis, with REDIS_URL). */
  planClaims?: PlanClaimStore;
  /** Where snapshots of the people directory are kept (default: config.snapshotFile; Redis with REDIS_URL). */
  snapshots?: PeopleSnapshotStore;
  /**
   * Parts shared with other services (MCP_AUTH=oauth: the server's own sign-in beside every signed-in person's); the
   * service then leaves them open when it closes (whoever made them closes them). Default: its own.
   */
  shared?: SharedParts;
  /** How long an in-client sign-in waits for the browser (default 5 minutes; tests shorten it). */
  signInTimeoutMs?: number;
  /**
   * Whether a tool call may sign the server in from the client (default yes). Off when HTTP is served off loopback:
   * the callback listens on this host's loopback, which a remote person's browser cannot reach.
   */
  inClientSignIn?: boolean;
}

/**
 * What every caller shares, whoever they are signed in as: the rate budget (Basecamp limits per client IP; shared
 * through Redis in a fleet), the audit trail, the plan sealer and its claims, the snapshot store, and the HTTP
 * options every Basecamp client gets (under MCP_AUTH=oauth one keep-alive dispatcher for all of them).
 */
export interface SharedParts {
  budget: RateBudget;
  /** Whether the budget's limit follows the account's product (see ServiceOptions.budgetFollowsProduct). */
  budgetFollowsProduct: boolean;
  audit?: AuditLog;
  plans: PlanSealer;
  confirm: 'auto' | 'human';
  /** The store itself; each service reads and writes its own part of it (its account, and its identity if any). */
  snapshots?: PeopleSnapshotStore;
  /** Passed to every BasecampHttp built on these parts. */
  http?: Partial<HttpOptions>;
  /** Stops the budget. Closing a person's service never does this. */
  close(): Promise<void>;
}

/** The shared parts of a process's services, from its config and options (what createService builds first). */
export function createSharedParts(config: Config, options: ServiceOptions = {}): SharedParts {
  const budget = options.budget ?? new RateBudget(config.rateLimit);
  const audit = options.audit ?? (config.auditLog ? new AuditLog(config.auditLog) : undefined);
  // A plan token is claimed in this process, then in the audit trail (shared by processes sharing its file), then in Redis.
  const planClaims = [...(audit ? [audit] : []), ...(options.planClaims ? [options.planClaims] : [])];
  const snapshots = options.snapshots ?? (config.snapshotFile ? new FilePeopleSnapshots(config.snapshotFile, { days: config.snapshotDays }) : undefined);
  return {
    budget,
    budgetFollowsProduct: options.budgetFollowsProduct ?? (!options.budget && !config.rateLimitSet),
    ...(audit ? { audit } : {}),
    plans: new PlanSealer(config.planSecret, Date.now, planClaims),
    confirm: config.confirm,
    ...(snapshots ? { snapshots } : {}),
    ...(options.http ? { http: options.http } : {}),
    close: () => budget.stop(),
  };
}

/** Who one service acts as: its credentials, and under MCP_AUTH=oauth the signed-in person's Launchpad identity. */
export interface PersonParts {
  credentials: Credentials;
  /** Set under MCP_AUTH=oauth: the people snapshots this service keeps and compares are this person's own. */
  identity?: CallerIdentity;
}

/** What createService adds for the process's own sign-in (the token file, sign-in from the client). */
interface OwnSignIn {
  fixed(): { id?: number; product?: Product };
  signIn?: InClientSignIn;
  notConfigured?: string;
}

/**
 * One Basecamp identity's service on shared parts: its credentials, Basecamp client, account resolver and backends,
 * directory cache and who-is-signed-in. The account is BASECAMP_ACCOUNT_ID (config.accountId), found for this person
 * as for any account named by id (Launchpad is asked with their token unless its product is known to be Basecamp 3/4/5).
 * Its close() closes what is its own and leaves the shared parts running.
 */
export function createPersonService(config: Config, shared: SharedParts, person: PersonParts): Service {
  const built = identityService(config, shared, person, { fixed: () => ({ id: config.accountId, product: config.accountProduct }) });
  return {
    ...built.service,
    async close() {
      await built.drain();
      await built.service.http.close();
    },
  };
}

function identityService(config: Config, shared: SharedParts, person: PersonParts, own: OwnSignIn): { service: Omit<Service, 'close'>; drain(): Promise<void> } {
  const { credentials, identity } = person;
  const { budget, snapshots } = shared;

  // Which account, and so which backend and rate limit (src/account.ts).
  let lastAccount: string | undefined;
  const resolveAccount = accountResolver({
    config,
    credentials,
    fixed: own.fixed,
    onResolved(resolved) {
      if (shared.budgetFollowsProduct) budget.setLimit(DEFAULT_RATE_LIMITS[resolved.product]);
      // Another account than before (a new login, another account_id in the file): nothing cached of the old one may answer.
      const now = `${resolved.product}|${resolved.id}`;
      if (lastAccount !== undefined && lastAccount !== now) directory.invalidate();
      lastAccount = now;
    },
  });

  const http = new BasecampHttp({
    accountBase: async (signal) => (await resolveAccount(signal)).base,
    credentials,
    userAgent: config.userAgent,
    budget,
    ...shared.http,
  });
  // One backend per account (and product), kept: a backend remembers things (an account without enrollments).
  const backends = new Map<string, PeopleApi>();
  const api = accountApi(async (signal) => {
    const account = await resolveAccount(signal);
    const key = `${account.product}|${account.id}`;
    let backend = backends.get(key);
    if (!backend) {
      backend = account.product === 'bcx' ? new Basecamp2Api(http, { id: account.id, name: account.name ?? `Basecamp 2 account ${account.id}` }) : new BasecampApi(http, { id: account.id });
      backends.set(key, backend);
    }
    return backend;
  });
  // Under MCP_AUTH=oauth each person's snapshots are their own: two people's views of one account differ (masked
  // addresses, clients one cannot see), so comparing one's read with another's would report changes that are none.
  const viewer = identity?.id;
  // Every whole read of the account's people, by any tool, leaves a snapshot; a store that cannot be written
  // never fails the read (people_changes says so itself).
  const keeping = new Set<Promise<unknown>>();
  const keepSnapshot = (people: Person[]) => {
    if (!snapshots) return;
    const kept = resolveAccount()
      .then((account) => snapshots.record(account.id, people, viewer))
      .catch((error: unknown) => log.warn(`A snapshot of the people directory could not be kept in ${snapshots.where} (${error instanceof Error ? error.message : String(error)}); people_changes cannot compare with this read.`))
      .finally(() => keeping.delete(kept));
    keeping.add(kept);
  };
  const directory = new Directory(api, config.cacheTtlMs, resolveAccount, keepSnapshot);
  // The signed-in person, per access token: a `login` as someone else, picked up while running, is seen at once.
  let me: { at: number; token: string; value: Promise<{ id: number; email_address: string | null } | null> } | undefined;
  const governance: Governance = {
    ...(shared.audit ? { audit: shared.audit } : {}),
    plans: shared.plans,
    confirm: shared.confirm,
    async identity(signal) {
      const token = await credentials.accessToken(signal);
      if (!me || me.token !== token || Date.now() - me.at > 10 * 60_000) {
        const value = api.myProfile(signal).then((p) => ({ id: p.id, email_address: p.email_address ?? null }));
        const mine = { at: Date.now(), token, value };
        me = mine;
        value.catch(() => {
          if (me === mine) me = undefined;
        });
      }
      return me.value;
    },
    async rememberIdentity(person, signal) {
      const token = await credentials.accessToken(signal);
      me = { at: Date.now(), token, value: Promise.resolve({ id: person.id, email_address: person.email_address ?? null }) };
    },
  };
  return {
    service: {
      api,
      governance,
      http,
      budget,
      directory,
      // A snapshot still being written (a read a moment ago, by any tool) is part of the history a tool asks for.
      ...(snapshots
        ? { snapshots: { where: snapshots.where, record: (a, p) => snapshots.record(a, p, viewer), list: async (a) => (await Promise.all(keeping), snapshots.list(a, viewer)) } }
        : {}),
      accountId: async (signal) => (await resolveAccount(signal)).id,
      account: resolveAccount,
      ...(own.notConfigured ? { notConfigured: own.notConfigured } : {}),
      ...(own.signIn ? { signIn: own.signIn } : {}),
    },
    async drain() {
      await own.signIn?.close();
      // Snapshots being written finish first (they may need Redis, closed after the service).
      await Promise.all(keeping);
    },
  };
}

/** The process's one service (stdio, HTTP with keys): the shared parts and the one Basecamp sign-in of the server. */
export function createService(config: Config, options: ServiceOptions = {}): Service {
  const store = new TokenStore(config.tokenFile);
  const fromEnv = config.tokenSource === 'env' && config.accessToken;
  // With an OAuth app (client id and secret) and the token file in use, a tool call without a token signs in from the client.
  const signIn =
    options.inClientSignIn !== false && !options.credentials && !fromEnv && config.clientId && config.clientSecret
      ? new InClientSignIn({
          launchpadUrl: config.launchpadUrl,
          userAgent: config.userAgent,
          client: { clientId: config.clientId, clientSecret: config.clientSecret },
          redirectUri: config.redirectUri,
          accountId: config.accountIdFromEnv,
          store,
          ...(options.signInTimeoutMs ? { timeoutMs: options.signInTimeoutMs } : {}),
        })
      : undefined;
  const credentials: Credentials =
    options.credentials ??
    (fromEnv
      ? new StaticCredentials(config.accessToken!, 'BASECAMP_ACCESS_TOKEN')
      : new FileCredentials(store, {
          launchpadUrl: config.launchpadUrl,
          userAgent: config.userAgent,
          client: { clientId: config.clientId, clientSecret: config.clientSecret },
          ...(signIn ? { signIn } : {}),
        }));
  const shared = options.shared ?? createSharedParts(config, options);
  const built = identityService(
    config,
    shared,
    { credentials },
    {
      fixed: () => {
        if (options.credentials || fromEnv) return { id: config.accountId, product: config.accountProduct };
        const file = store.read();
        return { id: config.accountIdFromEnv ?? parseAccountId(file?.account_id), product: fileProduct(file, config.accountIdFromEnv) };
      },
      ...(signIn ? { signIn } : {}),
      notConfigured: options.credentials || config.accessToken ? undefined : signInHelp(),
    },
  );
  return {
    ...built.service,
    async close() {
      await built.drain();
      if (!options.shared) await shared.close();
      await built.service.http.close();
    },
  };
}
