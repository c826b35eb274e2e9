import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseRateLimit, type RateLimit } from './basecamp/rate-budget.js';

export const PROJECT_URL = 'https://github.com/basecamp-people-mcp/basecamp-people-mcp';
export const VERSION = '0.1.0';
export const DEFAULT_USER_AGENT = `basecamp-people-mcp/${VERSION} (${PROJECT_URL})`;

/** The token file: JSON written by `login` (0600), or by hand. */
export interface TokenFile {
  access_token: string;
  refresh_token?: string;
  /** ISO-8601 or epoch seconds. */
  expires_at?: string | number;
  account_id?: number | string;
  client_id?: string;
}

export interface Config {
  apiUrl: string;
  launchpadUrl: string;
  userAgent: string;
  tokenFile: string;
  /** Where the access token came from; env wins over the file. */
  tokenSource: 'env' | 'file' | 'none';
  accessToken?: string;
  accountId?: number;
  /** BASECAMP_ACCOUNT_ID alone (the file's account_id is re-read by the service as the file changes). */
  accountIdFromEnv?: number;
  rateLimit: RateLimit;
  cacheTtlMs: number;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
}

export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'basecamp-people-mcp', 'token.json');
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'basecamp-people-mcp', 'token.json');
}

export function readTokenFile(path: string): TokenFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`Cannot read the token file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`The token file ${path} is not valid JSON; run \`basecamp-people-mcp login\` again or fix it.`);
  }
  const file = parsed as Partial<TokenFile>;
  if (!file || typeof file.access_token !== 'string' || !file.access_token) {
    throw new Error(`The token file ${path} has no access_token; run \`basecamp-people-mcp login\` again.`);
  }
  return file as TokenFile;
}

export function parseAccountId(value: string | number | undefined, what: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${what} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const tokenFile = env.BASECAMP_TOKEN_FILE || defaultTokenFile(env);
  const file = env.BASECAMP_ACCESS_TOKEN ? undefined : readTokenFile(tokenFile);
  const ttl = env.BASECAMP_CACHE_TTL ? Number(env.BASECAMP_CACHE_TTL) : 60;
  if (!Number.isFinite(ttl) || ttl < 0) throw new Error(`BASECAMP_CACHE_TTL must be a number of seconds, got ${env.BASECAMP_CACHE_TTL}`);
  return {
    apiUrl: (env.BASECAMP_API_URL || 'https://3.basecampapi.com').replace(/\/+$/, ''),
    launchpadUrl: (env.BASECAMP_LAUNCHPAD_URL || 'https://launchpad.37signals.com').replace(/\/+$/, ''),
    userAgent: env.BASECAMP_USER_AGENT || DEFAULT_USER_AGENT,
    tokenFile,
    tokenSource: env.BASECAMP_ACCESS_TOKEN ? 'env' : file ? 'file' : 'none',
    accessToken: env.BASECAMP_ACCESS_TOKEN || file?.access_token,
    accountId: parseAccountId(env.BASECAMP_ACCOUNT_ID, 'BASECAMP_ACCOUNT_ID') ?? parseAccountId(file?.account_id, 'account_id in the token file'),
    accountIdFromEnv: parseAccountId(env.BASECAMP_ACCOUNT_ID, 'BASECAMP_ACCOUNT_ID'),
    rateLimit: parseRateLimit(env.BASECAMP_RATE_LIMIT || '50/10s'),
    cacheTtlMs: ttl * 1000,
    clientId: env.BASECAMP_CLIENT_ID || undefined,
    clientSecret: env.BASECAMP_CLIENT_SECRET || undefined,
    redirectUri: env.BASECAMP_REDIRECT_URI || undefined,
  };
}
