/**
 * Every command-line flag and environment variable, parsed and validated in one place before anything
 * starts (no sandbox, no Redis, no listener): a bad value is reported with the flag or variable that holds
 * it and what is allowed, all problems at once. An empty variable counts as unset (an MCPB bundle passes
 * empty strings for options the user left blank), and so does an unfilled placeholder such as
 * `${user_config.account_id}` (what a bundle passes for an optional field with no value), with a warning.
 * MCP_HTTP_TOKEN is the exception: set but empty, it is refused (an unreadable token file must not open the door).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { shellCommand } from './cli-command.js';
import { isLoopbackHost } from './security.js';
import { parseRateLimit, type RateLimit } from './basecamp/rate-budget.js';
import { parseAuthority } from './transports/http-guards.js';

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

const rateLimit = z.string().transform((v, ctx): RateLimit => {
  try {
    return parseRateLimit(v);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be requests per window, such as 50/10s, 100/500ms or 300/1m, both above 0' });
    return z.NEVER;
  }
});

const environmentSchema = z.object({
  BASECAMP_ACCESS_TOKEN: unsetIfEmpty(headerSecret),
  BASECAMP_ACCOUNT_ID: unsetIfEmpty(accountId),
  BASECAMP_TOKEN_FILE: unsetIfEmpty(text),
  BASECAMP_CLIENT_ID: unsetIfEmpty(text),
  BASECAMP_CLIENT_SECRET: unsetIfEmpty(headerSecret),
  BASECAMP_REDIRECT_URI: unsetIfEmpty(absoluteUrl(['http:'], 'http://127.0.0.1:8976/callback')),
  BASECAMP_API_URL: unsetIfEmpty(apiBase),
  BASECAMP_LAUNCHPAD_URL: unsetIfEmpty(baseUrl),
  BASECAMP_USER_AGENT: unsetIfEmpty(text),
  BASECAMP_RATE_LIMIT: unsetIfEmpty(rateLimit),
  BASECAMP_CACHE_TTL: unsetIfEmpty(
    z
      .string()
      .trim()
      .refine((v) => /^\d+(\.\d+)?$/.test(v), 'must be a number of seconds, 0 or more')
      .transform(Number),
  ),
  BASECAMP_LOG_LEVEL: unsetIfEmpty(
    z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['debug', 'info', 'warn', 'error', 'silent'], 'must be one of debug, info, warn, error, silent')),
  ),
  BASECAMP_SANDBOX: unsetIfEmpty(bool),
  BASECAMP_READ_ONLY: unsetIfEmpty(bool),
  // Set but empty is refused, unlike other variables: `MCP_HTTP_TOKEN=$(cat missing-file)` must not serve unauthenticated.
  MCP_HTTP_TOKEN: z
    .string()
    .refine((v) => v !== '', 'is set but empty (was the file it is read from missing?): set a token, or unset the variable')
    .pipe(headerSecret)
    .optional(),
  MCP_ALLOWED_ORIGINS: unsetIfEmpty(commaList(isOrigin, 'origins such as https://app.example.com (no path)')),
  // The front door's own parser: a value it could not read would be skipped there, silently refusing that host.
  MCP_ALLOWED_HOSTS: unsetIfEmpty(commaList((h) => parseAuthority(h) !== undefined, 'host or host:port values such as mcp.example.com:443')),
  MCP_MAX_SESSIONS: unsetIfEmpty(wholeNumber(1)),
  MCP_SESSION_IDLE_SECONDS: unsetIfEmpty(wholeNumber(1)),
  MCP_SESSION_EVICT_GRACE_SECONDS: unsetIfEmpty(wholeNumber(1)),
  REDIS_URL: unsetIfEmpty(absoluteUrl(['redis:', 'rediss:'], 'redis://127.0.0.1:6379')),
  BASECAMP_RATE_BUDGET_ID: unsetIfEmpty(text),
  BASECAMP_CONFIRM: unsetIfEmpty(z.string().trim().toLowerCase().pipe(z.enum(['auto', 'human'], 'must be auto or human'))),
  // Seals plan tokens; the same value on every instance of a fleet lets any of them accept a token another issued.
  BASECAMP_PLAN_SECRET: unsetIfEmpty(headerSecret.refine((v) => v.length >= 32, 'must be at least 32 characters (e.g. openssl rand -hex 32)')),
  BASECAMP_AUDIT_LOG: unsetIfEmpty(text),
});
export type EnvironmentSettings = z.infer<typeof environmentSchema>;

/** One line per variable for --help: every variable the schema reads must have one (the type says so). */
export const VARIABLE_HELP: { [K in keyof EnvironmentSettings]-?: string } = {
  BASECAMP_ACCESS_TOKEN: 'OAuth access token (static: never refreshed); default: the token file',
  BASECAMP_ACCOUNT_ID: 'Basecamp 3/4/5 or Basecamp 2 account id (a pasted https://3.basecamp.com/ID/… address works too)',
  BASECAMP_TOKEN_FILE: 'token file written by login (default ~/.config/basecamp-people-mcp/token.json)',
  BASECAMP_CLIENT_ID: 'your OAuth app, for login and refresh',
  BASECAMP_CLIENT_SECRET: 'your OAuth app\'s secret (never taken from the command line)',
  BASECAMP_REDIRECT_URI: 'OAuth redirect URI on loopback (default http://127.0.0.1:8976/callback)',
  BASECAMP_API_URL: 'Basecamp 3/4/5 API base, without the account id (default https://3.basecampapi.com)',
  BASECAMP_LAUNCHPAD_URL: 'OAuth and account discovery (default https://launchpad.37signals.com)',
  BASECAMP_USER_AGENT: 'User-Agent naming your app and a contact',
  BASECAMP_RATE_LIMIT: 'requests per window, e.g. 50/10s (default 50/10s on Basecamp 3/4/5, 500/10s on Basecamp 2; with --sandbox also its limit)',
  BASECAMP_CACHE_TTL: 'seconds the people/projects directory is cached (default 60)',
  BASECAMP_LOG_LEVEL: 'debug, info (default), warn, error or silent (stderr)',
  BASECAMP_SANDBOX: 'true: same as --sandbox',
  BASECAMP_READ_ONLY: 'true: same as --read-only',
  MCP_HTTP_TOKEN: 'HTTP: the bearer token clients must send (required off loopback, 32+ characters there; empty is refused)',
  MCP_ALLOWED_ORIGINS: 'HTTP: comma-separated browser origins allowed besides the server\'s own',
  MCP_ALLOWED_HOSTS: 'HTTP: comma-separated host[:port] values accepted in Host (e.g. your proxy\'s name)',
  MCP_MAX_SESSIONS: 'HTTP: live sessions (default 100)',
  MCP_SESSION_IDLE_SECONDS: 'HTTP: idle sessions are closed after this (default 1800)',
  MCP_SESSION_EVICT_GRACE_SECONDS: 'HTTP: idle time before a full server may close a session for a newcomer (default 60)',
  REDIS_URL: 'one rate budget for every instance sharing this Redis',
  BASECAMP_RATE_BUDGET_ID: 'name of the shared budget (default: derived from the API URL and credentials)',
  BASECAMP_CONFIRM: 'auto (default: ask a human when the client can, else require a plan token) or human',
  BASECAMP_PLAN_SECRET: 'seals plan tokens (32+ characters; the same on every instance of a fleet)',
  BASECAMP_AUDIT_LOG: 'audit trail, JSON lines (default ~/.config/basecamp-people-mcp/audit.jsonl), or off',
};

/** An unfilled placeholder, such as `${user_config.account_id}` from a bundle's optional field left blank. */
const PLACEHOLDER = /\$\{[^}]*\}/;

/** The variables this program reads whose values are unfilled placeholders: treated as unset. */
function unfilledPlaceholders(env: Env): string[] {
  return Object.keys(environmentSchema.shape).filter((k) => typeof env[k] === 'string' && PLACEHOLDER.test(env[k]));
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

/** Variables whose values never appear in a message (a REDIS_URL may hold a password). */
const SECRET_VARIABLES = new Set(['BASECAMP_ACCESS_TOKEN', 'BASECAMP_CLIENT_SECRET', 'MCP_HTTP_TOKEN', 'REDIS_URL', 'BASECAMP_PLAN_SECRET']);

const flagSchema = z.object({
  help: z.boolean().optional(),
  version: z.boolean().optional(),
  sandbox: z.boolean().optional(),
  'read-only': z.boolean().optional(),
  http: z.boolean().optional(),
  stateless: z.boolean().optional(),
  'no-browser': z.boolean().optional(),
  port: wholeNumber(0, 65535).optional(),
  people: wholeNumber(1, 100_000).optional(),
  product: z.enum(['bc3', 'bcx'], { error: 'must be bc3 (Basecamp 3, 4 and 5) or bcx (Basecamp 2)' }).optional(),
  account: wholeNumber(1).optional(),
  timeout: wholeNumber(1, 86_400).optional(),
  host: text.refine((v) => !/[\s/]/.test(v), 'must be a host name or IP address').optional(),
  'client-id': text.optional(),
  'redirect-uri': absoluteUrl(['http:'], 'http://127.0.0.1:8976/callback').optional(),
});
export type Flags = z.infer<typeof flagSchema>;

export const COMMANDS = ['serve', 'sandbox', 'login', 'accounts', 'logout'] as const;
export type Command = (typeof COMMANDS)[number];

/** Which flags mean something to which command; any other is refused rather than silently ignored. */
const FLAGS_OF: Record<Command, (keyof Flags)[]> = {
  serve: ['sandbox', 'read-only', 'people', 'product', 'http', 'host', 'port', 'stateless'],
  sandbox: ['port', 'people', 'product'],
  login: ['account', 'client-id', 'redirect-uri', 'port', 'timeout', 'no-browser'],
  accounts: [],
  logout: [],
};

export interface Settings {
  command: Command;
  flags: Flags;
  env: EnvironmentSettings;
  /** Flags and variables that mean the same thing, resolved. */
  readOnly: boolean;
  sandbox: boolean;
  /** Accepted, but to be said once on stderr (see settingsWarnings). */
  warnings: string[];
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
  const known = Object.fromEntries(Object.keys(environmentSchema.shape).map((k) => [k, unfilled.has(k) ? undefined : env[k]]));
  const parsed = environmentSchema.safeParse(known);
  if (parsed.success) return parsed.data;
  throw new SettingsError(
    describeIssues(parsed.error.issues, (k) => `Environment variable ${k}`, (k) => env[k], (k) => SECRET_VARIABLES.has(k)),
  );
}

const parseArgsOptions = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  sandbox: { type: 'boolean' },
  'read-only': { type: 'boolean' },
  http: { type: 'boolean' },
  stateless: { type: 'boolean' },
  'no-browser': { type: 'boolean' },
  port: { type: 'string' },
  people: { type: 'string' },
  product: { type: 'string' },
  account: { type: 'string' },
  timeout: { type: 'string' },
  host: { type: 'string' },
  'client-id': { type: 'string' },
  'redirect-uri': { type: 'string' },
} as const;

/** Off loopback, a bearer token short enough to guess is no lock. */
const MIN_REMOTE_TOKEN = 32;

/** Flags that only mean something over HTTP, and the rule that off loopback every client must authenticate with a strong token. */
function httpProblems(flags: Flags, environment: EnvironmentSettings): string[] {
  if (!flags.http) {
    const httpOnly = (['host', 'port', 'stateless'] as const).filter((k) => flags[k] !== undefined);
    return httpOnly.map((k) => `Flag --${k} applies only to \`serve --http\` (over stdio there is no listener).`);
  }
  const host = flags.host ?? '127.0.0.1';
  const token = environment.MCP_HTTP_TOKEN;
  if (isLoopbackHost(host)) return [];
  if (!token) return [`Refusing to serve on ${host} without MCP_HTTP_TOKEN: anyone who can reach it could administer your Basecamp people. Set MCP_HTTP_TOKEN, or bind --host 127.0.0.1.`];
  if (token.length < MIN_REMOTE_TOKEN) {
    return [`Refusing to serve on ${host} with a ${token.length}-character MCP_HTTP_TOKEN: off loopback it must be at least ${MIN_REMOTE_TOKEN} characters (openssl rand -hex 32 makes 64).`];
  }
  return [];
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
    if (variable && variable in environmentSchema.shape) {
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
  const misplaced = Object.keys(values).filter((k) => k !== 'help' && k !== 'version' && !FLAGS_OF[command as Command].includes(k as keyof Flags));
  for (const k of misplaced) {
    const allowed = FLAGS_OF[command as Command].map((f) => `--${f}`).join(', ') || 'none';
    problems.push(`Flag --${k} does not apply to \`${command}\` (its flags: ${allowed}).`);
  }
  const flags = flagSchema.safeParse(values);
  if (!flags.success) problems.push(...describeIssues(flags.error.issues, (k) => `Flag --${k}`, (k) => values[k], () => false));
  let environment: EnvironmentSettings | undefined;
  try {
    environment = parseEnvironment(env);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    problems.push(...error.problems);
  }
  if (flags.success && environment && command === 'serve') problems.push(...httpProblems(flags.data, environment));
  if (flags.success && environment && command === 'serve' && flags.data.product && !flags.data.sandbox && environment.BASECAMP_SANDBOX !== true) {
    problems.push('Flag --product chooses the sandbox account\'s product: it goes with --sandbox (a real account\'s product comes from Launchpad).');
  }
  if (problems.length || !flags.success || !environment) throw new SettingsError(problems);
  return {
    command: command as Command,
    flags: flags.data,
    env: environment,
    readOnly: flags.data['read-only'] === true || environment.BASECAMP_READ_ONLY === true,
    sandbox: flags.data.sandbox === true || environment.BASECAMP_SANDBOX === true,
    warnings: settingsWarnings(env),
  };
}
