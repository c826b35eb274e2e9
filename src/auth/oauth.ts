import { undici } from '../basecamp/undici.js';
import { AuthenticationError, BasecampError, NetworkError, TokenRefreshUnavailableError } from '../basecamp/errors.js';
import { assertSecureUrl } from '../security.js';
import { shellCommand } from '../cli-command.js';

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface TokenResponse {
  access_token: string;
  refresh_token?: string;
  expires_in?: number;
  token_type?: string;
}

const signInAgain = () => `Run \`${shellCommand('login')}\` again (then restart nothing: the running server picks up the new token file).`;

async function postToken(launchpadUrl: string, form: Record<string, string>, userAgent: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const url = assertSecureUrl(`${launchpadUrl}/authorization/token`, 'BASECAMP_LAUNCHPAD_URL');
  let res;
  try {
    res = await (await undici()).request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': userAgent, accept: 'application/json' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new NetworkError(`Could not reach Launchpad to get a token (${(error as Error).message}).`, {}, { cause: error });
  }
  const text = await res.body.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { error: text.slice(0, 200) };
  }
  return { status: res.statusCode, body };
}

/** Launchpad's documented access-token lifetime: two weeks. */
const DEFAULT_LIFETIME_S = 1_209_600;
/** Longer than any real lifetime; a larger expires_in is not believed (far enough out it is not even a valid date). */
const MAX_LIFETIME_S = 10 * 365 * 86_400;

/**
 * When a token from Launchpad expires, as ISO-8601. A missing, non-numeric or absurd expires_in counts as the
 * documented two weeks: keeping an old expiry would refresh again on every call, and an invalid date would throw.
 */
export function expiresAtFrom(expiresIn: unknown, now = Date.now()): string {
  const seconds = typeof expiresIn === 'string' && /^\d+$/.test(expiresIn.trim()) ? Number(expiresIn) : expiresIn;
  const lifetime = typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 && seconds <= MAX_LIFETIME_S ? seconds : DEFAULT_LIFETIME_S;
  return new Date(now + lifetime * 1000).toISOString();
}

function tokenFrom(body: Record<string, unknown>): TokenResponse {
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || !accessToken) throw new BasecampError('Launchpad answered without an access_token.');
  return { ...body, access_token: accessToken };
}

/** Authorization code → tokens (the end of `login`). */
export async function exchangeCode(
  launchpadUrl: string,
  client: OAuthClient,
  code: string,
  redirectUri: string,
  userAgent: string,
): Promise<TokenResponse> {
  const { status, body } = await postToken(
    launchpadUrl,
    { type: 'web_server', client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: redirectUri, code },
    userAgent,
  );
  if (status !== 200) {
    throw new AuthenticationError(
      `Launchpad refused the sign-in (${status}: ${String(body.error ?? 'no reason given')}). Check BASECAMP_CLIENT_ID, BASECAMP_CLIENT_SECRET and that the redirect URI matches the one registered for your app.`,
      { status },
    );
  }
  return tokenFrom(body);
}

/**
 * Refresh token → a new access token. 400 `authorization_expired` (password changed) and 401 "Unknown
 * Basecamp ID" mean the grant is dead: sign in again. Network and 5xx failures are passing.
 */
export async function refreshAccessToken(launchpadUrl: string, client: OAuthClient, refreshToken: string, userAgent: string): Promise<TokenResponse> {
  let result;
  try {
    result = await postToken(
      launchpadUrl,
      { type: 'refresh', refresh_token: refreshToken, client_id: client.clientId, client_secret: client.clientSecret },
      userAgent,
    );
  } catch (error) {
    throw new TokenRefreshUnavailableError(
      `The Basecamp token needs refreshing but Launchpad could not be reached (${(error as Error).message}). Your sign-in is kept; try again in a minute.`,
    );
  }
  const { status, body } = result;
  if (status === 200) return tokenFrom(body);
  const reason = String(body.error ?? '');
  if (status >= 500 || status === 429) {
    throw new TokenRefreshUnavailableError(
      `The Basecamp token needs refreshing but Launchpad answered ${status}. Your sign-in is kept; try again in a minute.`,
      { status },
    );
  }
  if (status === 400 && /authorization_expired/i.test(reason)) {
    throw new AuthenticationError(
      `Your Basecamp sign-in has expired: every grant ends when the Basecamp password changes (authorization_expired). ${signInAgain()}`,
      { status, basecampMessage: reason, signInAgain: true },
    );
  }
  if (status === 401 && /unknown basecamp id/i.test(reason)) {
    throw new AuthenticationError(
      `Launchpad no longer knows this sign-in ("Unknown Basecamp ID": no active account for this identity, or access was revoked). ${signInAgain()}`,
      { status, basecampMessage: reason, signInAgain: true },
    );
  }
  throw new AuthenticationError(`Launchpad refused to refresh the token (${status}${reason ? `: ${reason}` : ''}). ${signInAgain()}`, {
    status,
    basecampMessage: reason,
    signInAgain: true,
  });
}
