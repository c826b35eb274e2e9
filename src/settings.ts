/**
 * Every command-line flag and environment variable, parsed and validated in one place before anything
 * starts (no sandbox, no Redis, no listener): a bad value is reported with the flag or variable that holds
 * it and what is allowed, all problems at once. An empty variable counts as unset (an MCPB bundle passes
 * empty strings for options the user left blank).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
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
  BASECAMP_ACCOUNT_ID: unsetIfEmpty(wholeNumber(1)),
  BASECAMP_TOKEN_FILE: unsetIfEmpty(text),
  BASECAMP_CLIENT_ID: unsetIfEmpty(text),
  BASECAMP_CLIENT_SECRET: unsetIfEmpty(headerSecret),
  BASECAMP_REDIRECT_URI: unsetIfEmpty(absoluteUrl(['http:'], 'http://127.0.0.1:8976/callback')),
  BASECAMP_API_URL: unsetIfEmpty(baseUrl),
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
  MCP_HTTP_TOKEN: unsetIfEmpty(headerSecret),
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
  product: z.enum(['bc3', 'bcx'], { error: 'must be bc3 (Basecamp 4) or bcx (Basecamp 2)' }).optional(),
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
  const known = Object.fromEntries(Object.keys(environmentSchema.shape).map((k) => [k, env[k]]));
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

/** Flags that only mean something over HTTP, and the rule that off loopback every client must authenticate. */
function httpProblems(flags: Flags, environment: EnvironmentSettings): string[] {
  if (!flags.http) {
    const httpOnly = (['host', 'port', 'stateless'] as const).filter((k) => flags[k] !== undefined);
    return httpOnly.map((k) => `Flag --${k} applies only to \`serve --http\` (over stdio there is no listener).`);
  }
  const host = flags.host ?? '127.0.0.1';
  if (isLoopbackHost(host) || environment.MCP_HTTP_TOKEN) return [];
  return [`Refusing to serve on ${host} without MCP_HTTP_TOKEN: anyone who can reach it could administer your Basecamp people. Set MCP_HTTP_TOKEN, or bind --host 127.0.0.1.`];
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
    const hint = variable && variable in environmentSchema.shape ? `\n${variable} is an environment variable, not a flag: run \`${variable}=VALUE basecamp-people-mcp …\`.` : '';
    throw new UsageError(`${(error as Error).message}${hint}`);
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
  };
}
