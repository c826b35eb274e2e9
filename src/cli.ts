#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig, VERSION, type Config } from './config.js';
import { askSecret, login, pickAccountOnTerminal } from './auth/login.js';
import { TokenStore } from './auth/token-store.js';
import { fetchAuthorization } from './basecamp/launchpad.js';
import { log } from './log.js';
import { startSandbox } from './sandbox/server.js';
import { createService, StaticCredentials } from './service.js';
import type { Credentials } from './basecamp/http.js';
import type { RateBudget } from './basecamp/rate-budget.js';
import { budgetId, connectSharedBudget, redactRedisUrl } from './basecamp/shared-budget.js';
import { serveHttp } from './transports/http.js';
import { selectTools } from './tools/index.js';
import { serveStdio } from './transports/stdio.js';

const HELP = `basecamp-people-mcp ${VERSION}: an MCP server that administers the people of a Basecamp 4 account.

Usage:
  basecamp-people-mcp [serve] [--sandbox] [--read-only] [--people N]
      Serve MCP over stdio (the default command).
      --sandbox     use the built-in simulated Basecamp account (no credentials needed)
      --read-only   register only the tools that change nothing
      --people N    size of the sandbox account (default 120)
  basecamp-people-mcp serve --http [--host 127.0.0.1] [--port 8787] [--stateless] [--sandbox] [--read-only]
      Serve MCP over streamable HTTP at /mcp (health probe: /healthz). Off loopback MCP_HTTP_TOKEN is required.
      --stateless   no sessions: a fresh server per request, for load-balanced fleets
  basecamp-people-mcp sandbox [--port P] [--people N]
      Serve the simulated Basecamp API alone on 127.0.0.1; prints its URL and a token.
  basecamp-people-mcp login [--account ID] [--client-id ID] [--redirect-uri URI] [--port P] [--timeout S] [--no-browser]
      Sign in with your Basecamp OAuth app (Launchpad); writes the token file (0600) and keeps it refreshed.
      The client secret comes from BASECAMP_CLIENT_SECRET or a hidden prompt, never from the command line.
  basecamp-people-mcp accounts
      List the Basecamp accounts the sign-in reaches; * marks the one in use.
  basecamp-people-mcp logout
      Delete the stored token file.
  basecamp-people-mcp --help | --version

Environment:
  BASECAMP_ACCESS_TOKEN, BASECAMP_ACCOUNT_ID, BASECAMP_TOKEN_FILE, BASECAMP_CLIENT_ID, BASECAMP_CLIENT_SECRET,
  BASECAMP_REDIRECT_URI, BASECAMP_API_URL, BASECAMP_LAUNCHPAD_URL,
  BASECAMP_USER_AGENT, BASECAMP_RATE_LIMIT (default 50/10s), BASECAMP_CACHE_TTL (seconds, default 60),
  BASECAMP_LOG_LEVEL (debug, info, warn, error, silent), BASECAMP_SANDBOX=true (same as --sandbox),
  BASECAMP_READ_ONLY=true (same as --read-only).
  HTTP: MCP_HTTP_TOKEN, MCP_ALLOWED_ORIGINS, MCP_ALLOWED_HOSTS (comma-separated), MCP_MAX_SESSIONS,
  MCP_SESSION_IDLE_SECONDS, REDIS_URL (one rate budget for every instance), BASECAMP_RATE_BUDGET_ID. See README.md.
`;

interface Parsed {
  command: string;
  values: Record<string, string | boolean | undefined>;
}

function parse(argv: string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      sandbox: { type: 'boolean' },
      'read-only': { type: 'boolean' },
      port: { type: 'string' },
      people: { type: 'string' },
      account: { type: 'string' },
      'client-id': { type: 'string' },
      'redirect-uri': { type: 'string' },
      timeout: { type: 'string' },
      'no-browser': { type: 'boolean' },
      http: { type: 'boolean' },
      host: { type: 'string' },
      stateless: { type: 'boolean' },
    },
  });
  if (positionals.length > 1) throw new Error(`Unexpected argument: ${positionals[1]}`);
  return { command: positionals[0] ?? 'serve', values };
}

function envFlag(name: string): boolean {
  return /^(1|true|yes)$/i.test(process.env[name] ?? '');
}

function intOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${String(value)}`);
  return n;
}

function listEnv(name: string): string[] | undefined {
  const v = process.env[name];
  return v ? v.split(',').map((x) => x.trim()).filter(Boolean) : undefined;
}

async function serve(values: Parsed['values']): Promise<void> {
  // Env switches too, so an MCPB bundle's user_config can set them.
  const readOnly = values['read-only'] === true || envFlag('BASECAMP_READ_ONLY');
  const useSandbox = values.sandbox === true || envFlag('BASECAMP_SANDBOX');
  const cleanups: (() => Promise<unknown>)[] = [];
  let config = loadConfig();
  let credentials: Credentials | undefined;
  if (useSandbox) {
    const sandbox = await startSandbox({ people: intOption(values.people, 'people', 120) });
    cleanups.push(() => sandbox.close());
    config = { ...config, apiUrl: sandbox.url, launchpadUrl: sandbox.url, accountId: sandbox.accountId, accessToken: sandbox.token, tokenSource: 'env' };
    credentials = new StaticCredentials(sandbox.token, 'sandbox token');
    log.info(`using the SANDBOX account (simulated, ${sandbox.data.people.size} people) at ${sandbox.url}; nothing touches a real Basecamp`);
  }

  let budget: RateBudget | undefined;
  if (process.env.REDIS_URL) {
    const seed = process.env.BASECAMP_RATE_BUDGET_ID || `${config.apiUrl}|${budgetSeed(config)}`;
    const shared = await connectSharedBudget(process.env.REDIS_URL, budgetId(seed), config.rateLimit);
    budget = shared.budget;
    cleanups.push(() => shared.close());
    log.info(`rate budget ${config.rateLimit.max}/${config.rateLimit.windowMs} ms shared through Redis (${redactRedisUrl(process.env.REDIS_URL)})`);
  }
  const service = createService(config, { credentials, budget });
  cleanups.unshift(() => service.close());
  if (service.notConfigured) log.warn('not signed in to Basecamp: tools will answer with how to sign in (run `basecamp-people-mcp login`, or try `serve --sandbox`).');
  const shutdown = async () => {
    for (const c of cleanups) await c().catch(() => undefined);
  };

  const count = selectTools({ readOnly }).length;
  if (values.http) {
    const http = await serveHttp(service, {
      readOnly,
      host: (values.host as string | undefined) ?? '127.0.0.1',
      port: intOption(values.port, 'port', 8787),
      stateless: values.stateless === true,
      token: process.env.MCP_HTTP_TOKEN || undefined,
      allowedOrigins: listEnv('MCP_ALLOWED_ORIGINS'),
      allowedHosts: listEnv('MCP_ALLOWED_HOSTS'),
      maxSessions: process.env.MCP_MAX_SESSIONS ? intOption(process.env.MCP_MAX_SESSIONS, 'MCP_MAX_SESSIONS', 100) : undefined,
      sessionIdleMs: process.env.MCP_SESSION_IDLE_SECONDS ? intOption(process.env.MCP_SESSION_IDLE_SECONDS, 'MCP_SESSION_IDLE_SECONDS', 1800) * 1000 : undefined,
    }).catch(async (error: unknown) => {
      await shutdown();
      throw error;
    });
    log.info(`serving ${count} tools over streamable HTTP at ${http.url}${values.stateless ? ' (stateless)' : ''}${readOnly ? ' (read-only)' : ''}`);
    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info(`${signal}: draining in-flight requests, then exiting`);
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await http.drain();
    await shutdown();
    return;
  }
  log.info(`serving ${count} tools over stdio${readOnly ? ' (read-only)' : ''}`);
  process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));
  process.once('SIGINT', () => void shutdown().finally(() => process.exit(0)));
  await serveStdio(service, { readOnly });
  await shutdown();
}

/** What the shared budget is keyed by: the refresh token (stable across refreshes) or the access token, hashed. */
function budgetSeed(config: Config): string {
  if (config.tokenSource === 'file') {
    const file = new TokenStore(config.tokenFile).read();
    return file?.refresh_token ?? file?.access_token ?? 'anonymous';
  }
  return config.accessToken ?? 'anonymous';
}

async function sandboxCommand(values: Parsed['values']): Promise<void> {
  const sandbox = await startSandbox({ port: intOption(values.port, 'port', 0), people: intOption(values.people, 'people', 120) });
  // This command is not an MCP server: stdout is for the person running it.
  process.stdout.write(
    [
      `Sandbox Basecamp account "${sandbox.data.accountName}" (${sandbox.data.people.size} people) listening.`,
      `BASECAMP_API_URL=${sandbox.url}`,
      `BASECAMP_LAUNCHPAD_URL=${sandbox.url}`,
      `BASECAMP_ACCOUNT_ID=${sandbox.accountId}`,
      `BASECAMP_ACCESS_TOKEN=${sandbox.token}`,
      `Try: curl -H "Authorization: Bearer ${sandbox.token}" -H "User-Agent: curl" ${sandbox.url}/${sandbox.accountId}/people.json`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.close();
}

const say = (line: string) => process.stdout.write(`${line}\n`);

async function loginCommand(values: Parsed['values']): Promise<number> {
  const config = loadConfig({ ...process.env, BASECAMP_ACCESS_TOKEN: '' });
  const clientId = (values['client-id'] as string | undefined) ?? config.clientId;
  if (!clientId) {
    process.stderr.write('Set BASECAMP_CLIENT_ID (or --client-id) to your Basecamp OAuth app; see README "Sign in".\n');
    return 2;
  }
  let clientSecret = config.clientSecret;
  if (!clientSecret && process.stdin.isTTY) clientSecret = await askSecret('OAuth client secret (not shown): ');
  if (!clientSecret) {
    process.stderr.write('Set BASECAMP_CLIENT_SECRET (it is never taken from the command line); see README "Sign in".\n');
    return 2;
  }
  const store = new TokenStore(config.tokenFile);
  const result = await login({
    launchpadUrl: config.launchpadUrl,
    userAgent: config.userAgent,
    client: { clientId, clientSecret },
    redirectUri: (values['redirect-uri'] as string | undefined) ?? config.redirectUri,
    port: values.port === undefined ? undefined : intOption(values.port, 'port', 0),
    accountId: values.account === undefined ? undefined : intOption(values.account, 'account', 0),
    timeoutMs: intOption(values.timeout, 'timeout', 300) * 1000,
    openBrowser: values['no-browser'] !== true && !process.env.CI,
    store,
    say,
    pickAccount: process.stdin.isTTY ? pickAccountOnTerminal : undefined,
  });
  say(`Signed in${result.identity ? ` as ${result.identity}` : ''} to ${result.account.name} (${result.account.id}).`);
  say(`Token saved to ${store.path} (readable by you only); it is refreshed automatically.`);
  return 0;
}

async function accountsCommand(): Promise<number> {
  const config = loadConfig();
  const service = createService(config);
  try {
    const token = await service.http.credentials.accessToken();
    const auth = await fetchAuthorization(config.launchpadUrl, token, config.userAgent);
    let selected: number | undefined;
    try {
      selected = await service.accountId();
    } catch {
      selected = undefined; // several accounts and none chosen: mark none
    }
    if (auth.identity) say(`Signed in as ${auth.identity.first_name ?? ''} ${auth.identity.last_name ?? ''} <${auth.identity.email_address ?? ''}>`.replace(/\s+</, ' <'));
    for (const a of auth.accounts) {
      const usable = a.product === 'bc3' ? '' : ' (not Basecamp 4: not usable here)';
      say(`${a.id === selected && a.product === 'bc3' ? '*' : ' '} ${a.id}  ${a.name}  [${a.product}]${usable}`);
    }
    if (selected === undefined) say('No account selected: set BASECAMP_ACCOUNT_ID or run `basecamp-people-mcp login --account ID`.');
    return 0;
  } finally {
    await service.close();
  }
}

function logoutCommand(): number {
  const config = loadConfig({ ...process.env, BASECAMP_ACCESS_TOKEN: '' });
  const removed = new TokenStore(config.tokenFile).remove();
  say(removed ? `Signed out: deleted ${config.tokenFile}.` : `Nothing to do: there is no token file at ${config.tokenFile}.`);
  if (process.env.BASECAMP_ACCESS_TOKEN) say('Note: BASECAMP_ACCESS_TOKEN is still set in this environment.');
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { command, values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        await serve(values);
        return 0;
      case 'sandbox':
        await sandboxCommand(values);
        return 0;
      case 'login':
        return await loginCommand(values);
      case 'accounts':
        return await accountsCommand();
      case 'logout':
        return logoutCommand();
      default:
        process.stderr.write(`Unknown command: ${command}\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log.error(String(error));
    process.exitCode = 1;
  },
);
