import { BasecampApi } from './basecamp/api.js';
import { Directory } from './basecamp/directory.js';
import { FileCredentials } from './auth/credentials.js';
import { SIGN_IN_HELP } from './auth/sign-in-help.js';
import { TokenStore } from './auth/token-store.js';
import { CancelledError } from './basecamp/errors.js';
import { BasecampHttp, type Credentials, type HttpOptions } from './basecamp/http.js';
import { chooseAccount, fetchAuthorization } from './basecamp/launchpad.js';
import { RateBudget } from './basecamp/rate-budget.js';
import { parseAccountId, type Config } from './config.js';
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

export interface Service {
  api: BasecampApi;
  governance: Governance;
  directory: Directory;
  http: BasecampHttp;
  budget: RateBudget;
  accountId(signal?: AbortSignal): Promise<number>;
  /** Adminland's people page, where account-level removal is finished by hand. */
  adminlandPeopleUrl(signal?: AbortSignal): Promise<string>;
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

export interface ServiceOptions {
  credentials?: Credentials;
  budget?: RateBudget;
  http?: Partial<HttpOptions>;
}

export function createService(config: Config, options: ServiceOptions = {}): Service {
  const store = new TokenStore(config.tokenFile);
  const fromEnv = config.tokenSource === 'env' && config.accessToken;
  const credentials =
    options.credentials ??
    (fromEnv
      ? new StaticCredentials(config.accessToken!, 'BASECAMP_ACCESS_TOKEN')
      : new FileCredentials(store, {
          launchpadUrl: config.launchpadUrl,
          userAgent: config.userAgent,
          client: { clientId: config.clientId, clientSecret: config.clientSecret },
        }));
  const budget = options.budget ?? new RateBudget(config.rateLimit);

  // Which account: BASECAMP_ACCOUNT_ID, else the token file's account_id (re-read as the file changes),
  // else Launchpad's authorization.json (one Basecamp 4 account: it; several: an error listing them).
  const fixedAccount = (): number | undefined => {
    if (options.credentials || fromEnv) return config.accountId;
    return config.accountIdFromEnv ?? parseAccountId(store.read()?.account_id);
  };
  let discovered: { token: string; value: Promise<{ id: number; base: string }> } | undefined;
  const resolveAccount = async (signal?: AbortSignal) => {
    const id = fixedAccount();
    if (id) return { id, base: `${config.apiUrl}/${id}` };
    const token = await credentials.accessToken(signal);
    if (discovered?.token !== token) {
      // Shared by every caller, so no caller's signal may abort it (Launchpad's own timeout bounds it).
      const value = (async () => {
        const account = chooseAccount(await fetchAuthorization(config.launchpadUrl, token, config.userAgent));
        return { id: account.id, base: account.href };
      })();
      discovered = { token, value };
      value.catch(() => {
        if (discovered?.value === value) discovered = undefined; // try again on the next call
      });
    }
    return untilAborted(discovered.value, signal);
  };

  const http = new BasecampHttp({
    accountBase: async (signal) => (await resolveAccount(signal)).base,
    credentials,
    userAgent: config.userAgent,
    budget,
    ...options.http,
  });
  const api = new BasecampApi(http);
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
    directory: new Directory(api, config.cacheTtlMs),
    accountId: async (signal) => (await resolveAccount(signal)).id,
    adminlandPeopleUrl: async (signal) => `https://3.basecamp.com/${(await resolveAccount(signal)).id}/account/people`,
    notConfigured: options.credentials || config.accessToken ? undefined : SIGN_IN_HELP,
    async close() {
      await budget.stop();
      await http.close();
    },
  };
}
