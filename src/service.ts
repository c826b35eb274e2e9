import { AccountApi } from './basecamp/account-api.js';
import { BasecampApi, type PeopleApi } from './basecamp/api.js';
import { Basecamp2Api } from './basecamp/bcx-api.js';
import { Directory } from './basecamp/directory.js';
import { FileCredentials } from './auth/credentials.js';
import { SIGN_IN_HELP } from './auth/sign-in-help.js';
import { TokenStore } from './auth/token-store.js';
import { AuthenticationError, CancelledError, NetworkError, UpstreamError } from './basecamp/errors.js';
import { log } from './log.js';
import { BasecampHttp, type Credentials, type HttpOptions } from './basecamp/http.js';
import { chooseAccount, fetchAuthorization } from './basecamp/launchpad.js';
import { RateBudget } from './basecamp/rate-budget.js';
import { DEFAULT_RATE_LIMITS, fileProduct, parseAccountId, type Config } from './config.js';
import type { Product } from './basecamp/types.js';
import { AuditLog } from './governance/audit-log.js';
import { PlanSealer } from './governance/plan-token.js';

/** Everything a tool needs, built once per process and shared by every session. */
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

/** The account in use: its id, product and API base (and its name, when Launchpad was asked). */
export interface ResolvedAccount {
  id: number;
  product: Product;
  base: string;
  name?: string;
}

export interface Service {
  /** The account's backend (Basecamp 4 or Basecamp 2), found per call: the tools see one PeopleApi. */
  api: PeopleApi;
  governance: Governance;
  directory: Directory;
  http: BasecampHttp;
  budget: RateBudget;
  accountId(signal?: AbortSignal): Promise<number>;
  account(signal?: AbortSignal): Promise<ResolvedAccount>;
  /** Set when no credentials were found at start (for one line on stderr); tools then say how to sign in, and a later `login` is picked up. */
  notConfigured?: string;
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
      ? `The ${this.source} has expired and cannot be refreshed (it has no refresh token). Run \`basecamp-people-mcp login\` to sign in with automatic refresh, or set a new token.`
      : `Check the ${this.source}, or run \`basecamp-people-mcp login\`.`;
  }
}


/** Waits for shared work, giving up with CancelledError when this caller's signal aborts; the work goes on for the others. */
function untilAborted<T>(shared: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return shared;
  if (signal.aborted) return Promise.reject(new CancelledError('Cancelled; nothing was sent.'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError('Cancelled; nothing was sent.'));
    signal.addEventListener('abort', onAbort, { once: true });
    shared.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** How long an account named by id is taken for Basecamp 4 when Launchpad could not be asked, before asking again. */
const LAUNCHPAD_RETRY_MS = 5 * 60_000;

export interface ServiceOptions {
  credentials?: Credentials;
  budget?: RateBudget;
  /**
   * Whether the budget's limit follows the account's product (Basecamp 4: 50 per 10 s, Basecamp 2: 500 per
   * 10 s). Default: yes unless BASECAMP_RATE_LIMIT is set or a budget is given.
   */
  budgetFollowsProduct?: boolean;
  http?: Partial<HttpOptions>;
}

export function createService(config: Config, options: ServiceOptions = {}): Service {
  const store = new TokenStore(config.tokenFile);
  const fromEnv = config.tokenSource === 'env' && config.accessToken;
  const credentials: Credentials =
    options.credentials ??
    (fromEnv
      ? new StaticCredentials(config.accessToken!, 'BASECAMP_ACCESS_TOKEN')
      : new FileCredentials(store, {
          launchpadUrl: config.launchpadUrl,
          userAgent: config.userAgent,
          client: { clientId: config.clientId, clientSecret: config.clientSecret },
        }));
  const budget = options.budget ?? new RateBudget(config.rateLimit);

  const followProduct = options.budgetFollowsProduct ?? (!options.budget && !config.rateLimitSet);

  // Which account: BASECAMP_ACCOUNT_ID, else the token file's account_id (re-read as the file changes), else
  // Launchpad's authorization.json (one account: it; several: an error listing them). Its product is the token
  // file's (login saves it) or Launchpad's; a Basecamp 2 account's API base is always Launchpad's href.
  const fixedAccount = (): { id?: number; product?: Product } => {
    if (options.credentials || fromEnv) return { id: config.accountId, product: config.accountProduct };
    const file = store.read();
    return { id: config.accountIdFromEnv ?? parseAccountId(file?.account_id), product: fileProduct(file, config.accountIdFromEnv) };
  };
  let discovered: { key: string; value: Promise<ResolvedAccount>; until?: number } | undefined;
  let lastAccount: string | undefined;
  const resolveAccount = async (signal?: AbortSignal): Promise<ResolvedAccount> => {
    const fixed = fixedAccount();
    const resolved =
      fixed.id !== undefined && fixed.product === 'bc3'
        ? { id: fixed.id, product: 'bc3' as const, base: `${config.apiUrl}/${fixed.id}` }
        : await fromLaunchpad(fixed.id, fixed.product, signal);
    if (followProduct) budget.setLimit(DEFAULT_RATE_LIMITS[resolved.product]);
    // Another account than before (a new login, another BASECAMP_ACCOUNT_ID in the file): nothing cached of the old one may answer.
    const now = `${resolved.product}|${resolved.id}`;
    if (lastAccount !== undefined && lastAccount !== now) directory.invalidate();
    lastAccount = now;
    return resolved;
  };
  const fromLaunchpad = async (wanted: number | undefined, known: Product | undefined, signal?: AbortSignal): Promise<ResolvedAccount> => {
    // An account named by id keeps its product and base whatever the token (a refresh changes the token); the
    // only account a sign-in reaches is looked for again with each new token (a new login may reach others).
    if (discovered?.until !== undefined && discovered.until <= Date.now()) discovered = undefined; // a guess expires
    let token = wanted !== undefined && discovered?.key === `id:${wanted}` ? undefined : await credentials.accessToken(signal);
    const key = wanted !== undefined ? `id:${wanted}` : `token:${token}`;
    if (discovered?.key !== key) {
      token ??= await credentials.accessToken(signal);
      const entry = { key } as { key: string; value: Promise<ResolvedAccount>; until?: number };
      // Shared by every caller, so no caller's signal may abort it (Launchpad's own timeout bounds it).
      entry.value = (async (): Promise<ResolvedAccount> => {
        let auth;
        try {
          auth = await authorization(token);
        } catch (error) {
          // An account named by id was served as Basecamp 4 before Launchpad was ever asked: while Launchpad cannot
          // be reached, keep doing that (a Basecamp 2 account then answers 404, which says to check the id), and ask again later.
          // (Not an account known to be Basecamp 2: its API base is Launchpad's to give.)
          if (wanted === undefined || known !== undefined || !(error instanceof NetworkError || error instanceof UpstreamError)) throw error;
          log.warn(`Could not ask Launchpad which product account ${wanted} is (${error.message}); using it as a Basecamp 4 account for now. \`login --account ${wanted}\` saves its product.`);
          entry.until = Date.now() + LAUNCHPAD_RETRY_MS;
          return { id: wanted, product: 'bc3', base: `${config.apiUrl}/${wanted}` };
        }
        const account = chooseAccount(auth, wanted);
        // A Basecamp 4 account named by id keeps BASECAMP_API_URL's base, as before Launchpad was asked.
        const base = account.product === 'bc3' && wanted !== undefined ? `${config.apiUrl}/${account.id}` : account.href;
        return { id: account.id, product: account.product, base, name: account.name };
      })();
      const { value } = entry;
      discovered = entry;
      value.catch(() => {
        if (discovered?.value === value) discovered = undefined; // try again on the next call
      });
    }
    return untilAborted(discovered.value, signal);
  };
  // Launchpad's authorization.json; a 401 gets the one refresh a Basecamp request would get.
  const authorization = async (token: string) => {
    try {
      return await fetchAuthorization(config.launchpadUrl, token, config.userAgent);
    } catch (error) {
      if (!(error instanceof AuthenticationError)) throw error;
      if (credentials.recoverFromUnauthorized && (await credentials.recoverFromUnauthorized(token, error.basecampMessage))) {
        return fetchAuthorization(config.launchpadUrl, await credentials.accessToken(), config.userAgent);
      }
      const advice = credentials.unauthorizedAdvice?.(error.basecampMessage);
      throw advice ? new AuthenticationError(`Launchpad rejected the access token (401). ${advice}`, { status: 401 }, { cause: error }) : error;
    }
  };

  const http = new BasecampHttp({
    accountBase: async (signal) => (await resolveAccount(signal)).base,
    credentials,
    userAgent: config.userAgent,
    budget,
    ...options.http,
  });
  // One backend per account (and product), kept: a backend remembers things (an account without enrollments).
  const backends = new Map<string, PeopleApi>();
  const api = new AccountApi(async (signal) => {
    const account = await resolveAccount(signal);
    const key = `${account.product}|${account.id}`;
    let backend = backends.get(key);
    if (!backend) {
      backend = account.product === 'bcx' ? new Basecamp2Api(http, { id: account.id, name: account.name ?? `Basecamp 2 account ${account.id}` }) : new BasecampApi(http, { id: account.id });
      backends.set(key, backend);
    }
    return backend;
  });
  const directory = new Directory(api, config.cacheTtlMs, resolveAccount);
  // The signed-in person, per access token: a `login` as someone else, picked up while running, is seen at once.
  let me: { at: number; token: string; value: Promise<{ id: number; email_address: string | null } | null> } | undefined;
  const governance: Governance = {
    ...(config.auditLog ? { audit: new AuditLog(config.auditLog) } : {}),
    plans: new PlanSealer(config.planSecret),
    confirm: config.confirm,
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
    api,
    governance,
    http,
    budget,
    directory,
    accountId: async (signal) => (await resolveAccount(signal)).id,
    account: resolveAccount,
    notConfigured: options.credentials || config.accessToken ? undefined : SIGN_IN_HELP,
    async close() {
      await budget.stop();
      await http.close();
    },
  };
}
