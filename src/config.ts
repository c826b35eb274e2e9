import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigurationError } from './errors.js';
import { parseRateLimit, type RateLimit } from './basecamp/rate-budget.js';
import { parseEnvironment, withDefaults, type Env, type ResolvedEnvironment } from './settings.js';
import { shellCommand } from './cli-command.js';

export { DEFAULT_USER_AGENT, PROJECT_URL, VERSION } from './version.js';
export { configDir, defaultTokenFile } from './settings.js';

/** The token file: JSON written by `login` (0600), or by hand. */
export interface TokenFile {
  access_token: string;
  refresh_token?: string;
  /** ISO-8601 or epoch seconds. */
  expires_at?: string | number;
  account_id?: number | string;
  /** The product of account_id, as Launchpad said at sign-in (`bc3` or `bcx`). */
  account_product?: string;
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
  /**
   * The product of `accountId` when known without asking Launchpad ('bc3': the API base is `apiUrl/{id}`).
   * Unknown (or 'bcx', whose API base is Launchpad's `href`): the service asks Launchpad once.
   */
  accountProduct?: 'bc3' | 'bcx';
  rateLimit: RateLimit;
  /** BASECAMP_RATE_LIMIT was set: it holds whatever the product (else the default follows the account's product). */
  rateLimitSet: boolean;
  cacheTtlMs: number;
  clientId?: string;
  clientSecret?: string;
  redirectUri?: string;
  /** auto: ask a human when the client can, else require a plan token; human: refuse when no human can be asked. */
  confirm: 'auto' | 'human';
  /** Seals plan tokens; random per process when unset (tokens then work only on the instance that issued them). */
  planSecret?: string;
  /** The audit trail (JSON lines), or undefined when BASECAMP_AUDIT_LOG=off. */
  auditLog?: string;
  /**
   * Snapshots of the people directory (people_changes): beside the audit trail, or in the token file's folder (the
   * config folder) when the trail is off; undefined: none kept. With REDIS_URL they are kept in Redis instead.
   */
  snapshotFile?: string;
  /** BASECAMP_SNAPSHOT_DAYS. */
  snapshotDays: number;
}

/** Problems with the token file are the operator's to fix, not bugs: say what is wrong, where, and what to do. */
function tokenFileProblem(path: string, what: string): ConfigurationError {
  return new ConfigurationError(`The token file ${path} ${what}. Run \`${shellCommand('login')}\` to sign in again (it replaces the file), or fix or delete the file.`);
}

export function readTokenFile(path: string): TokenFile | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw tokenFileProblem(path, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw tokenFileProblem(path, 'is not valid JSON');
  }
  const file = parsed as Partial<TokenFile> | null;
  if (!file || typeof file !== 'object' || typeof file.access_token !== 'string' || !file.access_token) {
    throw tokenFileProblem(path, 'has no access_token');
  }
  if (file.account_id !== undefined && file.account_id !== '' && parseAccountId(file.account_id) === undefined) {
    throw tokenFileProblem(path, `has an account_id that is not a positive integer (${JSON.stringify(file.account_id)})`);
  }
  return file as TokenFile;
}

/** A positive integer account id, or undefined when absent or not one. */
export function parseAccountId(value: string | number | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * The configuration from already-validated settings, their defaults applied (settings.ts withDefaults). The token file is read unless `ignoreTokenFile`
 * (login and logout must work whatever state it is in); BASECAMP_ACCESS_TOKEN wins over it.
 */
export function configFromSettings(settings: ResolvedEnvironment, options: { ignoreTokenFile?: boolean } = {}): Config {
  const tokenFile = settings.BASECAMP_TOKEN_FILE;
  const accessToken = settings.BASECAMP_ACCESS_TOKEN;
  const file = accessToken || options.ignoreTokenFile ? undefined : readTokenFile(tokenFile);
  return {
    apiUrl: settings.BASECAMP_API_URL,
    launchpadUrl: settings.BASECAMP_LAUNCHPAD_URL,
    userAgent: settings.BASECAMP_USER_AGENT,
    tokenFile,
    tokenSource: accessToken ? 'env' : file ? 'file' : 'none',
    accessToken: accessToken ?? file?.access_token,
    accountId: settings.BASECAMP_ACCOUNT_ID ?? parseAccountId(file?.account_id),
    accountIdFromEnv: settings.BASECAMP_ACCOUNT_ID,
    accountProduct: fileProduct(file, settings.BASECAMP_ACCOUNT_ID),
    // Unset, the limit follows the account's product (the service adjusts it once the product is known).
    rateLimit: settings.BASECAMP_RATE_LIMIT ?? DEFAULT_RATE_LIMITS.bc3,
    rateLimitSet: settings.BASECAMP_RATE_LIMIT !== undefined,
    cacheTtlMs: settings.BASECAMP_CACHE_TTL * 1000,
    clientId: settings.BASECAMP_CLIENT_ID,
    clientSecret: settings.BASECAMP_CLIENT_SECRET,
    redirectUri: settings.BASECAMP_REDIRECT_URI,
    confirm: settings.BASECAMP_CONFIRM,
    planSecret: settings.BASECAMP_PLAN_SECRET,
    auditLog: settings.BASECAMP_AUDIT_LOG === 'off' ? undefined : settings.BASECAMP_AUDIT_LOG,
    snapshotFile: snapshotFileBeside(settings.BASECAMP_AUDIT_LOG === 'off' ? undefined : settings.BASECAMP_AUDIT_LOG, tokenFile),
    snapshotDays: settings.BASECAMP_SNAPSHOT_DAYS,
  };
}

/** Where people snapshots are kept: beside the audit trail, else in the token file's folder (the config folder). */
export function snapshotFileBeside(auditLog: string | undefined, tokenFile: string): string {
  return auditLog ? `${auditLog}.people-snapshots.jsonl` : join(dirname(tokenFile), 'people-snapshots.jsonl');
}

/** Basecamp's documented limits: Basecamp 3/4/5 about 50 requests per 10 s; Basecamp 2 500 per 10 s per account. */
export const DEFAULT_RATE_LIMITS: Record<'bc3' | 'bcx', RateLimit> = { bc3: parseRateLimit('50/10s'), bcx: parseRateLimit('500/10s') };

/** The token file's account_product, when it is about the account in use (BASECAMP_ACCOUNT_ID may name another). */
export function fileProduct(file: TokenFile | undefined, envAccount: number | undefined): 'bc3' | 'bcx' | undefined {
  if (!file || (envAccount !== undefined && parseAccountId(file.account_id) !== envAccount)) return undefined;
  return file.account_product === 'bc3' || file.account_product === 'bcx' ? file.account_product : undefined;
}

/** Settings from these variables, validated (throws SettingsError), then the configuration. */
export function loadConfig(env: Env = process.env): Config {
  return configFromSettings(withDefaults(parseEnvironment(env), env));
}
