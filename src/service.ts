import { BasecampApi } from './basecamp/api.js';
import { Directory } from './basecamp/directory.js';
import { NotConfiguredError } from './basecamp/errors.js';
import { BasecampHttp, type Credentials, type HttpOptions } from './basecamp/http.js';
import { chooseAccount, fetchAuthorization } from './basecamp/launchpad.js';
import { RateBudget } from './basecamp/rate-budget.js';
import type { Config } from './config.js';

/** Everything a tool needs, built once per process and shared by every session. */
export interface Service {
  api: BasecampApi;
  directory: Directory;
  http: BasecampHttp;
  budget: RateBudget;
  accountId(signal?: AbortSignal): Promise<number>;
  /** Adminland's people page, where account-level removal is finished by hand. */
  adminlandPeopleUrl(signal?: AbortSignal): Promise<string>;
  /** Set when the server has no credentials: every tool answers with this instead of calling Basecamp. */
  notConfigured?: string;
  close(): Promise<void>;
}

export const SIGN_IN_HELP =
  'Not signed in to Basecamp. Run `basecamp-people-mcp login` (OAuth, keeps you signed in), or set BASECAMP_ACCESS_TOKEN ' +
  '(and BASECAMP_ACCOUNT_ID if the token reaches several accounts). To try the server without a Basecamp account, start it ' +
  'with `basecamp-people-mcp serve --sandbox`.';

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

class MissingCredentials implements Credentials {
  async accessToken(): Promise<string> {
    throw new NotConfiguredError(SIGN_IN_HELP);
  }
}

export interface ServiceOptions {
  credentials?: Credentials;
  budget?: RateBudget;
  http?: Partial<HttpOptions>;
}

export function createService(config: Config, options: ServiceOptions = {}): Service {
  const credentials =
    options.credentials ??
    (config.accessToken
      ? new StaticCredentials(config.accessToken, config.tokenSource === 'env' ? 'BASECAMP_ACCESS_TOKEN' : `token in ${config.tokenFile}`)
      : new MissingCredentials());
  const budget = options.budget ?? new RateBudget(config.rateLimit);

  let resolved: Promise<{ id: number; base: string }> | undefined;
  const resolveAccount = (signal?: AbortSignal) => {
    if (config.accountId) return Promise.resolve({ id: config.accountId, base: `${config.apiUrl}/${config.accountId}` });
    resolved ??= (async () => {
      const token = await credentials.accessToken(signal);
      const account = chooseAccount(await fetchAuthorization(config.launchpadUrl, token, config.userAgent, signal));
      return { id: account.id, base: account.href };
    })();
    resolved.catch(() => (resolved = undefined)); // try again on the next call
    return resolved;
  };

  const http = new BasecampHttp({
    accountBase: async (signal) => (await resolveAccount(signal)).base,
    credentials,
    userAgent: config.userAgent,
    budget,
    ...options.http,
  });
  const api = new BasecampApi(http);
  return {
    api,
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
