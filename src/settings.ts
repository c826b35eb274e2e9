/**
 * Every command-line flag and environment variable, parsed and validated in one place before anything
 * starts (no sandbox, no Redis, no listener): a bad value is reported with the flag or variable that holds
 * it and what is allowed, all problems at once. Two tables, VARIABLES and FLAGS, give each one's schema,
 * --help line and default; parsing, --help and the defaults every command sees are derived from them. An empty variable counts as unset (an MCPB bundle passes
 * empty strings for options the user left blank), and so does an unfilled placeholder such as
 * `${user_config.account_id}` (what a bundle passes for an optional field with no value), with a warning.
 * MCP_HTTP_TOKEN and MCP_HTTP_CLIENTS are the exceptions: set but empty, they are refused (an unreadable token file
 * or a broken template must not open the door).
 */
import { homedir } from 'node:os';
import { parseTokenKey } from './oauth/crypto.js';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_USER_AGENT } from './version.js';
import { shellCommand } from './cli-command.js';
import { isLoopbackHost, redirectUriProblem } from './security.js';
import { parseRateLimit, type RateLimit } from './basecamp/rate-budget.js';
import { parseAuthority } from './transports/http-guards.js';
import { readHttpClients, type HttpClientKey } from './transports/http-keys.js';

export type Env = Record<string, string | undefined>;

/** Bad flags or variables: each problem names the flag or variable and says what is allowed. */
export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'SettingsError';
  }
}

/** The command line itself is malformed (unknown flag or command): the help text follows the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

const unsetIfEmpty = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

const bool = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => TRUE.includes(v) || FALSE.includes(v), 'must be true or false (also 1/0, yes/no, on/off)')
  .transform((v) => TRUE.includes(v));

const wholeNumber = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .refine(
      (v) => /^\d+$/.test(v) && Number(v) >= min && Number(v) <= max,
      max === Number.MAX_SAFE_INTEGER ? `must be a whole number, at least ${min}` : `must be a whole number from ${min} to ${max}`,
    )
    .transform(Number);

const text = z
  .string()
  .trim()
  .min(1, 'must not be blank')
  .refine((v) => !/\p{Cc}/u.test(v), 'must not contain control characters');

/** A secret sent in a header: surrounding whitespace (a trailing newline from a file) is dropped, inner whitespace is refused. */
const headerSecret = z
  .string()
  .trim()
  .min(1, 'is only whitespace: set a token, or leave it unset')
  .refine((v) => !/[\s\p{Cc}]/u.test(v), 'must not contain spaces or control characters inside it');

/** A base URL we send credentials to: https, or http on loopback only; nothing but scheme, host, port and path. */
const baseUrl = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an absolute URL such as https://3.basecampapi.com' });
      return;
    }
    const loopback = isLoopbackHost(url.hostname);
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
      ctx.addIssue({ code: 'custom', message: 'must use https (http only on 127.0.0.1, ::1 or localhost)' });
    }
    if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain a user name or password' });
    if (url.search || v.includes('?')) ctx.addIssue({ code: 'custom', message: 'must not contain a query (?…)' });
    if (url.hash || v.includes('#')) ctx.addIssue({ code: 'custom', message: 'must not contain a fragment (#…)' });
  })
  .transform((v) => v.replace(/\/+$/, ''));

const absoluteUrl = (schemes: string[], example: string) =>
  z
    .string()
    .trim()
    .refine((v) => {
      try {
        return schemes.includes(new URL(v).protocol);
      } catch {
        return false;
      }
    }, `must be a URL such as ${example}`);

/** An OAuth redirect URI this program can receive: http on loopback (refused at start otherwise, not at sign-in). */
const loopbackRedirect = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    const problem = redirectUriProblem(v);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

const commaList = (each: (item: string) => boolean, what: string) =>
  z
    .string()
    .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .refine((items) => items.every(each), `must be a comma-separated list of ${what}`);

const isOrigin = (v: string) => {
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === v.replace(/\/$/, '');
  } catch {
    return false;
  }
};

/** The account id in a Basecamp address (https://3.basecamp.com/1234567/projects, https://basecamp.com/1234567/…): its first path segment. */
function accountIdInAddress(value: string): number | undefined {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    return undefined;
  }
  const host = url.hostname.toLowerCase();
  const basecamp = host === 'basecamp.com' || host.endsWith('.basecamp.com') || host.endsWith('.basecampapi.com');
  const id = /^\/(\d+)(?:\/|$)/.exec(url.pathname)?.[1];
  return basecamp && id && Number(id) > 0 && Number.isSafeInteger(Number(id)) ? Number(id) : undefined;
}

/** An account id; a pasted Basecamp address is accepted for the id in it (a warning says so, see settingsWarnings). */
const accountId = z
  .string()
  .trim()
  .transform((v, ctx) => {
    if (/^\d+$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v))) return Number(v);
    const fromAddress = accountIdInAddress(v);
    if (fromAddress !== undefined) return fromAddress;
    ctx.addIssue({ code: 'custom', message: 'must be a whole number, at least 1 (the number after the host in https://3.basecamp.com/1234567)' });
    return z.NEVER;
  });

/** The API base: not Basecamp's web address, and without the account id (that is BASECAMP_ACCOUNT_ID's). */
const apiBase = baseUrl.superRefine((v, ctx) => {
  const url = new URL(v);
  const host = url.hostname.toLowerCase();
  const id = /\/(\d+)$/.exec(url.pathname)?.[1];
  const account = id ? ` and set BASECAMP_ACCOUNT_ID=${id}` : '';
  if (host === 'basecamp.com' || host.endsWith('.basecamp.com')) {
    ctx.addIssue({ code: 'custom', message: `is Basecamp's web address, not its API: unset it (the default https://3.basecampapi.com is Basecamp's API; a Basecamp 2 account's API base comes from Launchpad)${account}` });
  } else if (id) {
    ctx.addIssue({ code: 'custom', message: `ends in an account id: set BASECAMP_API_URL=${url.origin}${url.pathname.slice(0, -id.length - 1)}${account} (the account's base is built from both)` });
  }
});

const seconds = z
  .string()
  .trim()
  .refine((v) => /^\d+(\.\d+)?$/.test(v), 'must be a number of seconds, 0 or more')
  .transform(Number);

const logLevel = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['debug', 'info', 'warn', 'error', 'silent'], 'must be one of debug, info, warn, error, silent'));

/** MCP_PUBLIC_URL: an origin only (scheme, host, port), https or http on loopback; kept without a trailing slash. */
const publicOrigin = z
  .string()
  .trim()
  .superRefine((v, ctx) => {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be the origin clients reach this server at, such as https://mcp.example.com' });
      return;
    }
    if (!(url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname)))) {
      ctx.addIssue({ code: 'custom', message: 'must use https (http only on 127.0.0.1, ::1 or localhost)' });
    } else if (url.origin !== v.replace(/\/$/, '')) {
      ctx.addIssue({ code: 'custom', message: `must be an origin only, with no path, query, user or fragment (such as ${url.origin})` });
    }
  })
  .transform((v) => new URL(v).origin);

/** MCP_TOKEN_KEY: 32 random bytes, written as base64 (44 characters, or 43 unpadded; base64url too) or 64 hex digits (crypto.ts parses it). */
export function isTokenKey(value: string): boolean {
  try {
    parseTokenKey(value);
    return true;
  } catch {
    return false;
  }
}
const tokenKey = z
  .string()
  .trim()
  .refine(isTokenKey, 'must be 32 random bytes as base64 or 64 hex digits (openssl rand -base64 32 makes one)');

/** One entry of MCP_OAUTH_ALLOWED: an email address (`ann@x.com`) or a domain (`x.com`, `@x.com`). */
const isAllowedEntry = (v: string) => /^[^\s@,]+@[a-z0-9.-]+\.[a-z]{2,}$/i.test(v) || /^@?[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$/i.test(v);

/** The HTTP transport's defaults (serveHttp's too, for callers that pass none). */
export const HTTP_DEFAULTS = { host: '127.0.0.1', port: 8787, maxSessions: 100, sessionIdleSeconds: 1800, evictGraceSeconds: 60 } as const;

/**
 * MCP_MAX_SESSIONS_PER_CALLER when unset: with several callers (named keys of MCP_HTTP_CLIENTS, people signed in
 * under MCP_AUTH=oauth), a quarter of the pool, at least 1, so that one caller can fill at most a quarter of it and
 * three others as greedy still leave room for a fourth; with one caller only (MCP_HTTP_TOKEN, or no key on
 * loopback), the whole pool, since there is nobody to crowd out.
 */
export function defaultSessionsPerCaller(maxSessions: number, severalCallers: boolean): number {
  return severalCallers ? Math.max(1, Math.floor(maxSessions / 4)) : maxSessions;
}

/** Login's callback port when neither --port nor a redirect URI names one. */
export const DEFAULT_LOGIN_PORT = 8976;

const rateLimit = z.string().transform((v, ctx): RateLimit => {
  try {
    return parseRateLimit(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be requests per window, such as 50/10s, 100/500ms or 300/1m, both above 0' });
    return z.NEVER;
  }
});

/** The folder for the token file and the audit trail. */
export function configDir(env: Env = process.env): string {
  if (process.platform === 'win32' && env.APPDATA) return join(env.APPDATA, 'basecamp-people-mcp');
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'basecamp-people-mcp');
}

export function defaultTokenFile(env: Env = process.env): string {
  return join(configDir(env), 'token.json');
}

/** A default: a value, or one that depends on the environment (a path in the config folder). */
type Default<T> = T | ((env: Env) => T);

/** One environment variable: how its value is read, its --help line, and its value when unset. */
interface Variable<S extends z.ZodType, D> {
  schema: S;
  help: string;
  /** Applied once, by `withDefaults`; nothing downstream supplies another. */
  default: Default<D>;
  /** How --help shows a default that depends on the environment. */
  shown?: string;
  /** Its value never appears in a message (a REDIS_URL may hold a password). */
  secret?: boolean;
}

function variable<S extends z.ZodType>(schema: S, help: string, options?: { secret?: boolean }): Variable<S, undefined>;
function variable<S extends z.ZodType, D extends NonNullable<z.output<S>>>(schema: S, help: string, options: { default: Default<D>; shown?: string; secret?: boolean }): Variable<S, D>;
function variable(schema: z.ZodType, help: string, options: { default?: unknown; shown?: string; secret?: boolean } = {}): Variable<z.ZodType, unknown> {
  return { schema, help, default: options.default, shown: options.shown, secret: options.secret };
}

const HTTP = 'HTTP: ';

/**
 * THE TABLE of environment variables: each one's schema, --help line and default. Parsing, --help and the
 * defaults every command sees are derived from it; to add a setting, add its line here.
 */
export const VARIABLES = {
  BASECAMP_ACCESS_TOKEN: variable(unsetIfEmpty(headerSecret), 'OAuth access token (static: never refreshed); default: the token file', { secret: true }),
  BASECAMP_ACCOUNT_ID: variable(unsetIfEmpty(accountId), 'Basecamp 3/4/5 or Basecamp 2 account id (a pasted https://3.basecamp.com/ID/… address works too)'),
  BASECAMP_TOKEN_FILE: variable(unsetIfEmpty(text), 'token file written by login', { default: (env: Env) => defaultTokenFile(env), shown: '~/.config/basecamp-people-mcp/token.json' }),
  BASECAMP_CLIENT_ID: variable(unsetIfEmpty(text), 'your OAuth app, for login and refresh'),
  BASECAMP_CLIENT_SECRET: variable(unsetIfEmpty(headerSecret), 'your OAuth app\'s secret (never taken from the command line)', { secret: true }),
  // No default here: unset, login's --port decides it (http://127.0.0.1:<port>/callback).
  BASECAMP_REDIRECT_URI: variable(unsetIfEmpty(loopbackRedirect), 'OAuth redirect URI on loopback, for login and the sign-in from the client (default http://127.0.0.1:8976/callback)'),
  BASECAMP_API_URL: variable(unsetIfEmpty(apiBase), 'Basecamp 3/4/5 API base, without the account id', { default: 'https://3.basecampapi.com' }),
  BASECAMP_LAUNCHPAD_URL: variable(unsetIfEmpty(baseUrl), 'OAuth and account discovery', { default: 'https://launchpad.37signals.com' }),
  BASECAMP_USER_AGENT: variable(unsetIfEmpty(text), 'User-Agent naming your app and a contact', { default: DEFAULT_USER_AGENT }),
  // No default here: unset, the limit follows the account's product (config.ts DEFAULT_RATE_LIMITS), known only later.
  BASECAMP_RATE_LIMIT: variable(unsetIfEmpty(rateLimit), 'requests per window, e.g. 50/10s (default 50/10s on Basecamp 3/4/5, 500/10s on Basecamp 2; with --sandbox also its limit)'),
  BASECAMP_CACHE_TTL: variable(unsetIfEmpty(seconds), 'seconds the people/projects directory is cached', { default: 60 }),
  BASECAMP_SNAPSHOT_DAYS: variable(unsetIfEmpty(wholeNumber(1)), 'days snapshots of the people directory are kept (people_changes)', { default: 90 }),
  BASECAMP_LOG_LEVEL: variable(unsetIfEmpty(logLevel), 'debug, info, warn, error or silent (stderr)', { default: 'info' }),
  BASECAMP_SANDBOX: variable(unsetIfEmpty(bool), 'true: same as --sandbox'),
  BASECAMP_READ_ONLY: variable(unsetIfEmpty(bool), 'true: same as --read-only'),
  // Set but empty is refused, unlike other variables: `MCP_HTTP_TOKEN=$(cat missing-file)` must not serve unauthenticated.
  MCP_HTTP_TOKEN: variable(
    z.string().refine((v) => v !== '', 'is set but empty (was the file it is read from missing?): set a token, or unset the variable').pipe(headerSecret).optional(),
    `${HTTP}the bearer token clients must send (required off loopback, 32+ characters there; empty is refused)`,
    { secret: true },
  ),
  // Read and checked when `serve --http` starts (readHttpClients): every problem of the file named with this variable.
  // Set but empty is refused too: a broken template must not leave a loopback server without keys.
  MCP_HTTP_CLIENTS: variable(z.string().refine((v) => v !== '', 'is set but empty: name the keys file, or unset the variable').pipe(text).optional(), `${HTTP}JSON file of named keys with roles: [{"name", "token_sha256", "role": "reader" | "operator" | "admin"}]`),
  MCP_ALLOWED_ORIGINS: variable(unsetIfEmpty(commaList(isOrigin, 'origins such as https://app.example.com (no path)')), `${HTTP}comma-separated browser origins allowed besides the server's own`),
  // The front door's own parser: a value it could not read would be skipped there, silently refusing that host.
  MCP_ALLOWED_HOSTS: variable(
    unsetIfEmpty(commaList((h) => parseAuthority(h) !== undefined, 'host or host:port values such as mcp.example.com:443')),
    `${HTTP}comma-separated host[:port] values accepted in Host (e.g. your proxy's name)`,
  ),
  MCP_MAX_SESSIONS: variable(unsetIfEmpty(wholeNumber(1)), `${HTTP}live sessions`, { default: HTTP_DEFAULTS.maxSessions }),
  // No default here: unset, it depends on MCP_MAX_SESSIONS and on the keys (defaultSessionsPerCaller).
  MCP_MAX_SESSIONS_PER_CALLER: variable(
    unsetIfEmpty(wholeNumber(1)),
    `${HTTP}live sessions one caller (a key of MCP_HTTP_CLIENTS, a signed-in person) may hold, at most MCP_MAX_SESSIONS (default a quarter of it, at least 1, with several callers; all of it with one)`,
  ),
  MCP_SESSION_IDLE_SECONDS: variable(unsetIfEmpty(wholeNumber(1)), `${HTTP}idle sessions are closed after this many seconds`, { default: HTTP_DEFAULTS.sessionIdleSeconds }),
  MCP_SESSION_EVICT_GRACE_SECONDS: variable(unsetIfEmpty(wholeNumber(1)), `${HTTP}seconds idle before a full server may close a session for a newcomer`, { default: HTTP_DEFAULTS.evictGraceSeconds }),
  REDIS_URL: variable(unsetIfEmpty(absoluteUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379')), 'one rate budget for every instance sharing this Redis', { secret: true }),
  BASECAMP_RATE_BUDGET_ID: variable(unsetIfEmpty(text), 'name of the shared budget (default: derived from the API URL and credentials)'),
  BASECAMP_CONFIRM: variable(
    unsetIfEmpty(z.string().trim().toLowerCase().pipe(z.enum(['auto', 'human'], 'must be auto or human'))),
    'auto (ask a human when the client can, else require a plan token) or human',
    { default: 'auto' },
  ),
  // Seals plan tokens; the same value on every instance of a fleet lets any of them accept a token another issued.
  BASECAMP_PLAN_SECRET: variable(
    unsetIfEmpty(headerSecret.refine((v) => v.length >= 32, 'must be at least 32 characters (e.g. openssl rand -hex 32)')),
    'seals plan tokens (32+ characters; the same on every instance of a fleet)',
    { secret: true },
  ),
  MCP_AUTH: variable(
    unsetIfEmpty(z.string().trim().toLowerCase().pipe(z.enum(['keys', 'oauth'], 'must be keys or oauth'))),
    `${HTTP}keys (bearer keys: MCP_HTTP_TOKEN, MCP_HTTP_CLIENTS) or oauth (people sign in with Basecamp; keys still work beside it)`,
    { default: 'keys' },
  ),
  MCP_PUBLIC_URL: variable(unsetIfEmpty(publicOrigin), `${HTTP}with MCP_AUTH=oauth: the origin clients reach this server at (https; http only on loopback)`),
  MCP_TOKEN_KEY: variable(unsetIfEmpty(tokenKey), `${HTTP}with MCP_AUTH=oauth: 32 bytes (base64 or hex) sealing stored sign-ins; the same on every instance`, { secret: true }),
  MCP_OAUTH_ALLOWED: variable(
    unsetIfEmpty(commaList(isAllowedEntry, 'email addresses or domains such as ann@example.com, example.com, @example.com')),
    `${HTTP}with MCP_AUTH=oauth: only these emails or domains may sign in (default: anyone who reaches the account)`,
  ),
  MCP_OAUTH_FILE: variable(unsetIfEmpty(text), `${HTTP}with MCP_AUTH=oauth: the sealed sign-ins, without REDIS_URL`, {
    default: (env: Env) => join(configDir(env), 'oauth-store.json'),
    shown: '~/.config/basecamp-people-mcp/oauth-store.json',
  }),
  BASECAMP_AUDIT_LOG: variable(unsetIfEmpty(text), 'audit trail, JSON lines, or off', {
    default: (env: Env) => join(configDir(env), 'audit.jsonl'),
    shown: '~/.config/basecamp-people-mcp/audit.jsonl',
  }),
};
type Variables = typeof VARIABLES;
export type VariableName = keyof Variables;

/** What each variable parsed to; undefined when unset (empty, or an unfilled placeholder). */
export type EnvironmentSettings = { [K in VariableName]: z.output<Variables[K]['schema']> };
/** The same with every default of the table applied: only variables without a default can be undefined. */
export type ResolvedEnvironment = {
  [K in VariableName]: Variables[K] extends Variable<z.ZodType, infer D> ? (undefined extends D ? EnvironmentSettings[K] : NonNullable<EnvironmentSettings[K]>) : never;
};

const environmentSchema = z.object(Object.fromEntries(Object.entries(VARIABLES).map(([name, v]) => [name, v.schema])));

function defaultValue<T>(value: Default<T>, env: Env): T {
  return typeof value === 'function' ? (value as (env: Env) => T)(env) : value;
}

/** The table's defaults, applied to what was parsed (the only place a setting gets a default). */
export function withDefaults(parsed: EnvironmentSettings, env: Env): ResolvedEnvironment {
  const resolved: Record<string, unknown> = { ...parsed };
  for (const [name, v] of Object.entries(VARIABLES) as [string, Variable<z.ZodType, unknown>][]) {
    resolved[name] ??= defaultValue(v.default, env);
  }
  return resolved as ResolvedEnvironment;
}

/** One --help line per variable, with its default, from the table (so none can be missing). */
export function variableHelp(): [name: string, meaning: string][] {
  const settings = (Object.entries(VARIABLES) as [string, Variable<z.ZodType, unknown>][]).map(([name, v]): [string, string] => {
    const shown = v.shown ?? (v.default === undefined || typeof v.default === 'function' ? undefined : String(v.default));
    return [name, shown === undefined ? v.help : `${v.help} (default ${shown})`];
  });
  // Not settings of ours, but configDir reads them for the defaults of the token file and the audit trail.
  const folder: [string, string][] = [['XDG_CONFIG_HOME', 'its basecamp-people-mcp folder holds the token file and audit trail (default ~/.config)']];
  if (process.platform === 'win32') folder.push(['APPDATA', 'on Windows, its basecamp-people-mcp folder holds the token file and audit trail']);
  return [...settings, ...folder];
}

/** An unfilled placeholder, such as `${user_config.account_id}` from a bundle's optional field left blank. */
const PLACEHOLDER = /\$\{[^}]*\}/;

/** The variables this program reads whose values are unfilled placeholders: treated as unset. */
function unfilledPlaceholders(env: Env): string[] {
  return Object.keys(VARIABLES).filter((k) => typeof env[k] === 'string' && PLACEHOLDER.test(env[k]));
}

/** What is accepted but said once on stderr: unfilled placeholders, and an account id given as a Basecamp address. */
export function settingsWarnings(env: Env): string[] {
  const warnings = unfilledPlaceholders(env).map(
    (k) => `${k} is ${JSON.stringify(env[k])}, a placeholder nobody filled in (a bundle's optional field left blank?): treated as unset.`,
  );
  const account = env.BASECAMP_ACCOUNT_ID?.trim();
  if (account && !PLACEHOLDER.test(account) && !/^\d+$/.test(account)) {
    const id = accountIdInAddress(account);
    if (id !== undefined) warnings.push(`BASECAMP_ACCOUNT_ID is a Basecamp address; using the account id in it, ${id} (set BASECAMP_ACCOUNT_ID=${id} to say so directly).`);
  }
  return warnings;
}

export const COMMANDS = ['serve', 'sandbox', 'login', 'accounts', 'logout'] as const;
export type Command = (typeof COMMANDS)[number];

/** One command-line flag: how its value is read, which commands take it, its --help line and its default. */
interface Flag<S extends z.ZodType, D> {
  /** The value's name in --help (`--port P`); a flag without one is a switch. */
  value?: string;
  short?: string;
  schema: S;
  /** The commands it means something to (any other refuses it); none: every command (--help, --version). */
  commands: readonly Command[];
  help: string;
  /** Its value when not given, for each command that takes it (applied once, by parseSettings). */
  defaults?: { readonly [C in Command]?: D };
  /** How --help shows a default, where the value alone would not say it. */
  shown?: { readonly [C in Command]?: string };
  /** The environment variable that says the same thing; the flag wins when both are given. */
  variable?: VariableName;
}

type FlagOptions<D> = Pick<Flag<z.ZodType, D>, 'short' | 'defaults' | 'shown' | 'variable'>;
const switchFlag = (commands: readonly Command[], help: string, options: FlagOptions<boolean> = {}): Flag<z.ZodBoolean, boolean> => ({ schema: z.boolean(), commands, help, ...options });
function valueFlag<S extends z.ZodType>(value: string, schema: S, commands: readonly Command[], help: string, options?: FlagOptions<never>): Flag<S, undefined>;
function valueFlag<S extends z.ZodType, D extends z.output<S>>(value: string, schema: S, commands: readonly Command[], help: string, options: FlagOptions<D> & { defaults: { readonly [C in Command]?: D } }): Flag<S, D>;
function valueFlag(value: string, schema: z.ZodType, commands: readonly Command[], help: string, options: FlagOptions<unknown> = {}): Flag<z.ZodType, unknown> {
  return { value, schema, commands, help, ...options };
}

/**
 * THE TABLE of flags: each one's schema, commands, --help line, default, and the variable that says the same.
 * Parsing (node:util parseArgs and zod), which command takes which flag, --help and defaults come from it.
 */
export const FLAGS = {
  help: switchFlag([], 'this text', { short: 'h' }),
  version: switchFlag([], 'the version', { short: 'v' }),
  sandbox: switchFlag(['serve'], 'use the built-in simulated Basecamp account: no credentials needed', { defaults: { serve: false }, variable: 'BASECAMP_SANDBOX' }),
  'read-only': switchFlag(['serve'], 'register only the tools that change nothing', { defaults: { serve: false }, variable: 'BASECAMP_READ_ONLY' }),
  http: switchFlag(['serve'], 'serve MCP over streamable HTTP at /mcp (health probe: /healthz) instead of stdio; off loopback MCP_HTTP_TOKEN is required'),
  stateless: switchFlag(['serve'], 'with --http: no sessions, a fresh server per request, for load-balanced fleets'),
  'no-browser': switchFlag(['login'], 'print the sign-in address instead of opening a browser'),
  port: valueFlag('P', wholeNumber(0, 65535), ['serve', 'sandbox', 'login'], 'port to listen on', {
    defaults: { serve: HTTP_DEFAULTS.port, sandbox: 0, login: DEFAULT_LOGIN_PORT },
    shown: { sandbox: 'any free port', login: `${DEFAULT_LOGIN_PORT}, for the OAuth callback; a redirect URI's port wins` },
  }),
  people: valueFlag('N', wholeNumber(1, 100_000), ['serve', 'sandbox'], 'size of the sandbox account', { defaults: { serve: 120, sandbox: 120 } }),
  product: valueFlag(
    'P',
    z.enum(['bc3', 'bcx'], { error: 'must be bc3 (Basecamp 3, 4 and 5) or bcx (Basecamp 2)' }),
    ['serve', 'sandbox'],
    "the sandbox account's product: bc3 (Basecamp 3/4/5) or bcx (Basecamp 2)",
    { defaults: { serve: 'bc3', sandbox: 'bc3' } },
  ),
  account: valueFlag('ID', wholeNumber(1), ['login'], 'the account to use when the sign-in reaches several'),
  timeout: valueFlag('S', wholeNumber(1, 86_400), ['login'], 'seconds to wait for the browser sign-in', { defaults: { login: 300 } }),
  host: valueFlag('H', text.refine((v) => !/[\s/]/.test(v), 'must be a host name or IP address'), ['serve'], 'with --http: the address to listen on', { defaults: { serve: HTTP_DEFAULTS.host } }),
  'client-id': valueFlag('ID', text, ['login'], 'your OAuth app', { variable: 'BASECAMP_CLIENT_ID' }),
  'redirect-uri': valueFlag('URI', loopbackRedirect, ['login'], "your OAuth app's redirect URI, on loopback", { variable: 'BASECAMP_REDIRECT_URI' }),
};
type FlagTable = typeof FLAGS;
export type FlagName = keyof FlagTable;

/** The flags as given on the command line. */
export type Flags = { [K in FlagName]?: z.output<FlagTable[K]['schema']> };
/** The same, with the variable that says the same thing and the table's default for the command applied. */
export type ResolvedFlags = {
  [K in FlagName]: FlagTable[K] extends Flag<z.ZodType, infer D> ? (undefined extends D ? Flags[K] : NonNullable<Flags[K]>) : never;
};

const flagEntries = () => Object.entries(FLAGS) as [FlagName, Flag<z.ZodType, unknown>][];

const flagSchema = z.object(Object.fromEntries(flagEntries().map(([name, f]) => [name, f.schema.optional()])));

const parseArgsOptions = Object.fromEntries(
  flagEntries().map(([name, f]) => [name, { type: f.value ? ('string' as const) : ('boolean' as const), ...(f.short ? { short: f.short } : {}) }]),
);

/** The flags a command takes, in the table's order. */
export function flagsOf(command: Command): FlagName[] {
  return flagEntries()
    .filter(([, f]) => f.commands.includes(command))
    .map(([name]) => name);
}

/** `--port P  port to listen on (default 8787)`: a command's flags for --help, from the table. */
export function flagHelp(command: Command): [usage: string, meaning: string][] {
  return flagsOf(command).map((name) => {
    const f: Flag<z.ZodType, unknown> = FLAGS[name];
    const value = f.defaults?.[command];
    const shown = f.shown?.[command] ?? (value === undefined || value === false ? undefined : String(value));
    const notes = [shown === undefined ? '' : `default ${shown}`, f.variable ? `or ${f.variable}${f.value ? '' : '=true'}` : ''].filter(Boolean);
    return [`--${name}${f.value ? ` ${f.value}` : ''}`, notes.length ? `${f.help} (${notes.join('; ')})` : f.help];
  });
}

/** The given flags, then the variable that says the same, then the table's default for this command. */
function resolveFlags(command: Command, given: Flags, environment: EnvironmentSettings): ResolvedFlags {
  const resolved: Record<string, unknown> = { ...given };
  for (const [name, f] of flagEntries()) {
    resolved[name] ??= (f.variable ? environment[f.variable] : undefined) ?? f.defaults?.[command];
  }
  return resolved as ResolvedFlags;
}

export interface Settings {
  command: Command;
  /** As given, else from the variable that says the same, else the table's default for this command. */
  flags: ResolvedFlags;
  /** As set, else the table's default. */
  env: ResolvedEnvironment;
  /** The variables the environment sets (the others hold the table's default, or nothing). */
  setInEnvironment: ReadonlySet<VariableName>;
  /** Flags and variables that mean the same thing, resolved. */
  readOnly: boolean;
  sandbox: boolean;
  /** Accepted, but to be said once on stderr (see settingsWarnings). */
  warnings: string[];
  /** `serve --http` with MCP_HTTP_CLIENTS: its keys, read and checked at start. */
  httpClients?: HttpClientKey[];
}

function describeIssues(issues: z.core.$ZodIssue[], label: (key: string) => string, raw: (key: string) => unknown, secret: (key: string) => boolean): string[] {
  return issues.map((issue) => {
    const key = String(issue.path[0]);
    const value = raw(key);
    const shown = secret(key) || typeof value !== 'string' ? '' : ` (got ${JSON.stringify(value)})`;
    return `${label(key)} ${issue.message}${shown}.`;
  });
}

/** The environment variables alone (also used by tests and by `loadConfig`). Throws SettingsError. */
export function parseEnvironment(env: Env): EnvironmentSettings {
  const unfilled = new Set(unfilledPlaceholders(env));
  const known = Object.fromEntries(Object.keys(VARIABLES).map((k) => [k, unfilled.has(k) ? undefined : env[k]]));
  const parsed = environmentSchema.safeParse(known);
  if (parsed.success) {
    const settings = parsed.data as EnvironmentSettings;
    const perCaller = settings.MCP_MAX_SESSIONS_PER_CALLER;
    const max = settings.MCP_MAX_SESSIONS ?? HTTP_DEFAULTS.maxSessions;
    if (perCaller !== undefined && perCaller > max) {
      throw new SettingsError([
        `Environment variable MCP_MAX_SESSIONS_PER_CALLER must be at most MCP_MAX_SESSIONS (${max}${settings.MCP_MAX_SESSIONS === undefined ? ', its default' : ''}) (got ${JSON.stringify(env.MCP_MAX_SESSIONS_PER_CALLER)}).`,
      ]);
    }
    return settings;
  }
  throw new SettingsError(
    describeIssues(parsed.error.issues, (k) => `Environment variable ${k}`, (k) => env[k], (k) => VARIABLES[k as VariableName]?.secret === true),
  );
}

/** Off loopback, a bearer token short enough to guess is no lock. */
const MIN_REMOTE_TOKEN = 32;

/**
 * Flags that only mean something over HTTP; the MCP_HTTP_CLIENTS file, read and checked; and the rule that off
 * loopback every client must authenticate: with a strong MCP_HTTP_TOKEN, or a key of MCP_HTTP_CLIENTS.
 */
function httpProblems(flags: Flags, environment: EnvironmentSettings): { problems: string[]; clients?: HttpClientKey[] } {
  if (!flags.http) {
    const httpOnly = (['host', 'port', 'stateless'] as const).filter((k) => flags[k] !== undefined);
    return { problems: httpOnly.map((k) => `Flag --${k} applies only to \`serve --http\` (over stdio there is no listener).`) };
  }
  const host = flags.host ?? HTTP_DEFAULTS.host;
  const token = environment.MCP_HTTP_TOKEN;
  const file = environment.MCP_HTTP_CLIENTS;
  const read = file ? readHttpClients(file, token, { oauth: environment.MCP_AUTH === 'oauth' }) : undefined;
  const problems = [...(read?.problems ?? [])];
  const clients = read && !read.problems.length ? read.clients : undefined;
  if (isLoopbackHost(host)) return { problems, clients };
  // Under MCP_AUTH=oauth people sign in: keys are optional beside it (automations), but a short one is still refused.
  if (!token && !file && environment.MCP_AUTH !== 'oauth') {
    problems.push(`Refusing to serve on ${host} without MCP_HTTP_TOKEN or MCP_HTTP_CLIENTS: anyone who can reach it could administer your Basecamp people. Set one, or bind --host 127.0.0.1.`);
  } else if (token && token.length < MIN_REMOTE_TOKEN) {
    problems.push(`Refusing to serve on ${host} with a ${token.length}-character MCP_HTTP_TOKEN: off loopback it must be at least ${MIN_REMOTE_TOKEN} characters (openssl rand -hex 32 makes 64).`);
  }
  return { problems, clients };
}

/**
 * MCP_AUTH=oauth: everything it needs, each missing one named (checked before anything starts). With --sandbox the
 * sandbox's Launchpad is the upstream and its account the account, so only the public URL and the key are needed.
 */
function oauthProblems(flags: Flags, environment: EnvironmentSettings): string[] {
  if (environment.MCP_AUTH !== 'oauth') return [];
  const sandbox = flags.sandbox === true || environment.BASECAMP_SANDBOX === true;
  const problems: string[] = [];
  const needs = (what: string, why: string) => problems.push(`MCP_AUTH=oauth needs ${what}: ${why}.`);
  if (!flags.http) needs('--http', 'people sign in through the HTTP server (stdio has no listener)');
  if (!environment.MCP_PUBLIC_URL) needs('MCP_PUBLIC_URL', 'the origin clients reach this server at, such as https://mcp.example.com (the issuer of its tokens and the base of its Launchpad callback)');
  if (!sandbox) {
    if (!environment.BASECAMP_CLIENT_ID) needs('BASECAMP_CLIENT_ID', 'your Launchpad app, whose redirect URI is <MCP_PUBLIC_URL>/oauth/launchpad/callback');
    if (!environment.BASECAMP_CLIENT_SECRET) needs('BASECAMP_CLIENT_SECRET', "your Launchpad app's secret");
    if (!environment.BASECAMP_ACCOUNT_ID) needs('BASECAMP_ACCOUNT_ID', 'the account people must reach to sign in');
  }
  if (!environment.MCP_TOKEN_KEY) needs('MCP_TOKEN_KEY', 'a key sealing the stored sign-ins (openssl rand -base64 32), the same on every instance');
  if (environment.BASECAMP_ACCESS_TOKEN) problems.push('BASECAMP_ACCESS_TOKEN cannot be used with MCP_AUTH=oauth: each person acts with their own Basecamp tokens. Unset it.');
  return problems;
}

/** `unknown flag --prot; did you mean --port?`: the nearest flag by edit distance, when one is near enough to be meant. */
function unknownFlag(given: string): string {
  const name = given.replace(/^-+/, '');
  const flags = Object.keys(parseArgsOptions);
  const nearest = flags
    .map((f) => ({ f, d: editDistance(name.toLowerCase(), f) }))
    .sort((a, b) => a.d - b.d)[0];
  const near = nearest && nearest.d <= Math.max(1, Math.floor(nearest.f.length / 3)) ? `; did you mean --${nearest.f}?` : '';
  return `unknown flag ${given}${near}`;
}

/** Levenshtein distance (insertions, deletions, substitutions), with a swap of two neighbours counting as one. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The whole command line and environment. Throws UsageError (unknown flag or command: show the help) or
 * SettingsError (values that are not allowed: every problem at once).
 */
export function parseSettings(argv: string[], env: Env): Settings {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: parseArgsOptions }));
  } catch (error) {
    // `--MCP_MAX_SESSIONS 3` and the like: a variable given as a flag.
    const variable = argv.find((a) => /^--[A-Z][A-Z0-9_]+(=|$)/.test(a))?.slice(2).split('=')[0];
    if (variable && variable in VARIABLES) {
      throw new UsageError(`${variable} is an environment variable, not a flag: run \`${variable}=VALUE ${shellCommand('…')}\`.`);
    }
    const unknown = (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /'([^']+)'/.exec((error as Error).message)?.[1] : undefined;
    if (unknown) throw new UsageError(unknownFlag(unknown));
    throw new UsageError((error as Error).message);
  }
  if (positionals.length > 1) throw new UsageError(`Unexpected argument: ${positionals[1]}`);
  const command = positionals[0] ?? 'serve';
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`Unknown command: ${command}`);

  const problems: string[] = [];
  const takes = flagsOf(command as Command);
  const misplaced = Object.keys(values).filter((k) => FLAGS[k as FlagName].commands.length > 0 && !takes.includes(k as FlagName));
  for (const k of misplaced) {
    const allowed = takes.map((f) => `--${f}`).join(', ') || 'none';
    problems.push(`Flag --${k} does not apply to \`${command}\` (its flags: ${allowed}).`);
  }
  const parsedFlags = flagSchema.safeParse(values);
  const flags = parsedFlags.success ? { success: true as const, data: parsedFlags.data as Flags } : parsedFlags;
  if (!flags.success) problems.push(...describeIssues(flags.error.issues, (k) => `Flag --${k}`, (k) => values[k], () => false));
  let environment: EnvironmentSettings | undefined;
  try {
    environment = parseEnvironment(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  const http = flags.success && environment && command === 'serve' ? httpProblems(flags.data, environment) : undefined;
  if (http) problems.push(...http.problems);
  if (flags.success && environment && command === 'serve') problems.push(...oauthProblems(flags.data, environment));
  if (flags.success && environment && command === 'serve' && flags.data.product && !flags.data.sandbox && environment.BASECAMP_SANDBOX !== true) {
    problems.push('Flag --product chooses the sandbox account\'s product: it goes with --sandbox (a real account\'s product comes from Launchpad).');
  }
  if (problems.length || !flags.success || !environment) throw new SettingsError(problems);
  const resolved = resolveFlags(command as Command, flags.data, environment);
  return {
    command: command as Command,
    flags: resolved,
    env: withDefaults(environment, env),
    setInEnvironment: new Set((Object.keys(environment) as VariableName[]).filter((k) => environment[k] !== undefined)),
    readOnly: resolved['read-only'] === true,
    sandbox: resolved.sandbox === true,
    warnings: settingsWarnings(env),
    ...(http?.clients ? { httpClients: http.clients } : {}),
  };
}
