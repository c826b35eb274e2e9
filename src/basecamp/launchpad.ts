import { undici } from './undici.js';
import { AuthenticationError, ConfigurationError, NetworkError, UpstreamError } from './errors.js';
import { assertSecureUrl } from '../security.js';

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
    throw new AuthenticationError(
      'Launchpad rejected the access token (401). Sign in again with `basecamp-people-mcp login`, or set a valid BASECAMP_ACCESS_TOKEN.',
      { status: 401 },
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

export function basecamp4Accounts(auth: Authorization): LaunchpadAccount[] {
  return auth.accounts.filter((a) => a.product === 'bc3');
}

/** Exactly one Basecamp 4 account → it; several → an error that lists them; none → an error. Each is the operator's to fix: `configuration`. */
export function chooseAccount(auth: Authorization, wanted?: number): LaunchpadAccount {
  const accounts = basecamp4Accounts(auth);
  if (wanted !== undefined) {
    const hit = accounts.find((a) => a.id === wanted);
    if (!hit) {
      throw new ConfigurationError(
        `This token cannot reach Basecamp 4 account ${wanted}. It reaches: ${describeAccounts(accounts) || 'no Basecamp 4 account'}.`,
      );
    }
    return hit;
  }
  if (accounts.length === 1) return accounts[0]!;
  if (accounts.length === 0) {
    throw new ConfigurationError('This token reaches no Basecamp 4 account (only Basecamp 2 or other products). Sign in as a person with a Basecamp 4 account.');
  }
  throw new ConfigurationError(
    `This token reaches several Basecamp 4 accounts: ${describeAccounts(accounts)}. Choose one with BASECAMP_ACCOUNT_ID (or \`basecamp-people-mcp login --account ID\`).`,
  );
}

function describeAccounts(accounts: LaunchpadAccount[]): string {
  return accounts.map((a) => `${a.id} (${a.name})`).join(', ');
}
