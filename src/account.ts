import { AuthenticationError, CancelledError, NetworkError, UpstreamError } from './basecamp/errors.js';
import type { Credentials } from './basecamp/http.js';
import { chooseAccount, fetchAuthorization } from './basecamp/launchpad.js';
import type { Product } from './basecamp/types.js';
import type { Config } from './config.js';
import { log } from './log.js';

/** The account in use: its id, product and API base (and its name, when Launchpad was asked). */
export interface ResolvedAccount {
  id: number;
  product: Product;
  base: string;
  name?: string;
}

/** How long an account named by id is taken for Basecamp 3/4/5 when Launchpad could not be asked, before asking again. */
const LAUNCHPAD_RETRY_MS = 5 * 60_000;

export interface AccountResolverOptions {
  config: Pick<Config, 'apiUrl' | 'launchpadUrl' | 'userAgent'>;
  credentials: Credentials;
  /** The account id and product known without Launchpad (BASECAMP_ACCOUNT_ID, the token file), read at each call. */
  fixed(): { id?: number; product?: Product };
  /** Told of every resolution (the service sets the rate limit and clears caches of another account). */
  onResolved?(account: ResolvedAccount): void;
}

/**
 * Which account each call is for. An account named by id whose product is Basecamp 3/4/5 needs nothing more (its
 * base is `BASECAMP_API_URL/{id}`). Otherwise Launchpad's authorization.json is asked, once: by id, the account
 * of either product (a Basecamp 2 account's base is Launchpad's `href`); without an id, the only usable account
 * (several: an error listing them), looked for again with each new token. While Launchpad cannot be reached an
 * account named by id with no known product is served as Basecamp 3/4/5, as before Launchpad was ever asked, and
 * Launchpad is asked again after a while. A Launchpad 401 gets the one refresh a Basecamp 401 gets.
 */
export function accountResolver(options: AccountResolverOptions): (signal?: AbortSignal) => Promise<ResolvedAccount> {
  const { config, credentials } = options;
  let discovered: { key: string; value: Promise<ResolvedAccount>; until?: number } | undefined;

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

  const lookUp = async (token: string, wanted: number | undefined, known: Product | undefined, guessed: () => void): Promise<ResolvedAccount> => {
    let auth;
    try {
      auth = await authorization(token);
    } catch (error) {
      // Not for an account known to be Basecamp 2: its API base is Launchpad's to give.
      if (wanted === undefined || known !== undefined || !(error instanceof NetworkError || error instanceof UpstreamError)) throw error;
      log.warn(`Could not ask Launchpad which product account ${wanted} is (${error.message}); using it as a Basecamp 3/4/5 account for now. \`login --account ${wanted}\` saves its product.`);
      guessed();
      return { id: wanted, product: 'bc3', base: `${config.apiUrl}/${wanted}` };
    }
    const account = chooseAccount(auth, wanted);
    // A Basecamp 3/4/5 account named by id keeps BASECAMP_API_URL's base, as before Launchpad was asked.
    const base = account.product === 'bc3' && wanted !== undefined ? `${config.apiUrl}/${account.id}` : account.href;
    return { id: account.id, product: account.product, base, name: account.name };
  };

  const fromLaunchpad = async (wanted: number | undefined, known: Product | undefined, signal?: AbortSignal): Promise<ResolvedAccount> => {
    if (discovered?.until !== undefined && discovered.until <= Date.now()) discovered = undefined; // a guess expires
    // By id the token does not matter (a refresh changes it); without one, a new token may reach other accounts.
    // No await between the check and the new entry: callers at the same time share one look-up.
    const cachedById = wanted !== undefined && discovered?.key === `id:${wanted}`;
    const token = cachedById ? '' : await credentials.accessToken(signal);
    const key = wanted !== undefined ? `id:${wanted}` : `token:${token}`;
    if (discovered?.key !== key) {
      const entry: { key: string; value: Promise<ResolvedAccount>; until?: number } = {
        key,
        // Shared by every caller, so no caller's signal may abort it (Launchpad's own timeout bounds it).
        value: lookUp(token, wanted, known, () => (entry.until = Date.now() + LAUNCHPAD_RETRY_MS)),
      };
      discovered = entry;
      entry.value.catch(() => {
        if (discovered === entry) discovered = undefined; // try again on the next call
      });
    }
    return untilAborted(discovered.value, signal);
  };

  return async (signal) => {
    const fixed = options.fixed();
    const resolved =
      fixed.id !== undefined && fixed.product === 'bc3'
        ? { id: fixed.id, product: 'bc3' as const, base: `${config.apiUrl}/${fixed.id}` }
        : await fromLaunchpad(fixed.id, fixed.product, signal);
    options.onResolved?.(resolved);
    return resolved;
  };
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
