import { undici } from './undici.js';
import { ConfigurationError } from '../errors.js';
import { AuthenticationError, NetworkError, UpstreamError } from './errors.js';
import { assertSecureUrl } from '../security.js';
import { shellCommand } from '../cli-command.js';

export interface LaunchpadAccount {
  product: string;
  id: number;
  name: string;
  href: string;
  app_href?: string;
}

export interface Authorization {
  expires_at?: string;
  identity?: { id: number; first_name?: string; last_name?: string; email_address?: string };
  accounts: LaunchpadAccount[];
}

/** GET {launchpad}/authorization.json: who the token belongs to and which accounts it reaches. */
export async function fetchAuthorization(
  launchpadUrl: string,
  accessToken: string,
  userAgent: string,
  signal?: AbortSignal,
): Promise<Authorization> {
  const url = assertSecureUrl(`${launchpadUrl}/authorization.json`, 'BASECAMP_LAUNCHPAD_URL');
  let res;
  try {
    res = await (await undici()).request(url, {
      headers: { authorization: `Bearer ${accessToken}`, 'user-agent': userAgent, accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(30_000)]) : AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new NetworkError(`Could not reach Launchpad (${(error as Error).message}).`, {}, { cause: error });
  }
  const text = await res.body.text();
  if (res.statusCode === 401) {
    let said: string | undefined;
    try {
      const body = JSON.parse(text) as { error?: unknown };
      said = typeof body.error === 'string' ? body.error : undefined;
    } catch {
      said = text.slice(0, 200) || undefined;
    }
    throw new AuthenticationError(
      `Launchpad rejected the access token (401). Sign in again with \`${shellCommand('login')}\`, or set a valid BASECAMP_ACCESS_TOKEN.`,
      { status: 401, basecampMessage: said },
    );
  }
  if (res.statusCode !== 200) throw new UpstreamError(`Launchpad answered ${res.statusCode} to authorization.json.`, { status: res.statusCode });
  try {
    const parsed = JSON.parse(text) as Authorization;
    return { ...parsed, accounts: Array.isArray(parsed.accounts) ? parsed.accounts : [] };
  } catch {
    throw new UpstreamError('Launchpad answered authorization.json with something that is not JSON.');
  }
}

/** The products this server speaks: Basecamp 3/4/5 (`bc3`) and Basecamp 2 (`bcx`). */
export const SUPPORTED_PRODUCTS = ['bc3', 'bcx'] as const;
export type SupportedProduct = (typeof SUPPORTED_PRODUCTS)[number];

export const PRODUCT_NAMES: Record<string, string> = { bc3: 'Basecamp', bcx: 'Basecamp 2' };

export function isSupported(account: LaunchpadAccount): account is LaunchpadAccount & { product: SupportedProduct } {
  return (SUPPORTED_PRODUCTS as readonly string[]).includes(account.product);
}

/** The accounts this server can administer (Basecamp 3/4/5 and Basecamp 2), in Launchpad's order. */
export function usableAccounts(auth: Authorization): (LaunchpadAccount & { product: SupportedProduct })[] {
  return auth.accounts.filter(isSupported);
}

/**
 * The account to use: the one `wanted` names (of either product), else the only usable one; several and none
 * chosen, or none at all: an error listing every account. Each is the operator's to fix: `configuration`.
 */
export function chooseAccount(auth: Authorization, wanted?: number): LaunchpadAccount & { product: SupportedProduct } {
  const accounts = usableAccounts(auth);
  if (wanted !== undefined) {
    const hit = accounts.find((a) => a.id === wanted);
    if (!hit) {
      const other = auth.accounts.find((a) => a.id === wanted);
      throw new ConfigurationError(
        other
          ? `Account ${wanted} (${other.name}) is a ${other.product} account, which this server cannot administer (it speaks Basecamp 3/4/5 and Basecamp 2). This token reaches: ${describeAccounts(auth.accounts)}.`
          : `This token cannot reach account ${wanted}. It reaches: ${describeAccounts(auth.accounts) || 'no account'}. Set BASECAMP_ACCOUNT_ID (or \`${shellCommand('login --account ID')}\`) to one of them.`,
      );
    }
    return hit;
  }
  if (accounts.length === 1) return accounts[0]!;
  if (accounts.length === 0) {
    throw new ConfigurationError(
      `This token reaches no Basecamp 3/4/5 or Basecamp 2 account${auth.accounts.length ? ` (only: ${describeAccounts(auth.accounts)})` : ''}. Sign in as a person on a Basecamp account.`,
    );
  }
  throw new ConfigurationError(
    `This token reaches several Basecamp accounts: ${describeAccounts(accounts)}. Choose one with BASECAMP_ACCOUNT_ID (or \`${shellCommand('login --account ID')}\`).`,
  );
}

/** `4440001 (Acme, Basecamp 2)`, for each account. */
export function describeAccounts(accounts: LaunchpadAccount[]): string {
  return accounts.map((a) => `${a.id} (${a.name}, ${PRODUCT_NAMES[a.product] ?? a.product})`).join(', ');
}
