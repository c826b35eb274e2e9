import { isLoopbackHost } from '../security.js';
import { serveStdio } from '../transports/stdio.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configFromSettings, snapshotFileBeside, type Config } from '../config.js';
import { TokenStore } from '../auth/token-store.js';
import type { Credentials } from '../basecamp/http.js';
import type { RateBudget } from '../basecamp/rate-budget.js';
import { checkAuditPath } from '../governance/audit-log.js';
import type { PlanClaimStore } from '../governance/plan-token.js';
import { log } from '../log.js';
import { createService, createSharedParts, StaticCredentials } from '../service.js';
import { callerServices, personServices, singleService } from '../service-source.js';
import type { Env, Settings } from '../settings.js';
import { selectTools } from '../tools/index.js';
import { shellCommand } from '../cli-command.js';
import { RedisPlanClaims } from '../governance/redis-plan-claims.js';
import { RedisPeopleSnapshots } from '../governance/redis-people-snapshots.js';
import type { PeopleSnapshotStore } from '../governance/people-snapshots.js';
import { parseTokenKey } from '../oauth/crypto.js';
import type { RedisStoreClient } from '../oauth/redis-store.js';
import type { OAuthServeOptions } from '../oauth/index.js';
import type { ResolvedEnvironment } from '../settings.js';

/** What has been started so far, stopped in reverse order whether serving ends well or fails half-way. */
class Started {
  private readonly stops: (() => Promise<unknown>)[] = [];
  add(stop: () => Promise<unknown>): void {
    this.stops.unshift(stop);
  }
  async stopAll(): Promise<void> {
    for (const stop of this.stops.splice(0)) await stop().catch(() => undefined);
  }
}

/**
 * `serve`: MCP over stdio, or over streamable HTTP with --http. The sandbox, the Redis client, the HTTP transport and
 * MCP_AUTH=oauth are imported only when this run uses them (each is its own chunk of the bundle), to keep start-up
 * light; stdio, the default, comes with serve (a chunk of its own would be one more file in the .mcpb for 15 KB).
 */
export async function serve(settings: Settings, env: Env): Promise<void> {
  const started = new Started();
  try {
    await serveUntilStopped(settings, env, started);
  } finally {
    await started.stopAll();
  }
}

async function serveUntilStopped(settings: Settings, env: Env, started: Started): Promise<void> {
  const { flags, env: vars, readOnly } = settings;
  // The sandbox brings its own token: a broken token file must not stop a try-out.
  let config = configFromSettings(vars, { ignoreTokenFile: settings.sandbox });
  let credentials: Credentials | undefined;
  let sandboxLabel: string | undefined;
  if (settings.sandbox) {
    const { startSandbox } = await import('../sandbox/server.js');
    // Both products are listed by the sandbox's Launchpad, so either account can be chosen by BASECAMP_ACCOUNT_ID.
    // BASECAMP_RATE_LIMIT, when set, is also the simulated Basecamp's limit (the demo runs a fast tour this way).
    // Under MCP_AUTH=oauth the sandbox's Launchpad is the upstream: its sign-in page lets a person be chosen by hand.
    const personChooser = vars.MCP_AUTH === 'oauth';
    const sandbox = await startSandbox({ people: flags.people, product: flags.product, alsoList: true, personChooser, ...(config.rateLimitSet ? { rateLimit: config.rateLimit } : {}) });
    started.add(() => sandbox.close());
    // The sandbox's account, unless BASECAMP_ACCOUNT_ID names the other one it lists; a Basecamp 2 one is found through its Launchpad.
    const accountId = vars.BASECAMP_ACCOUNT_ID ?? sandbox.accountId;
    const accountProduct = accountId === sandbox.data.accountId ? ('bc3' as const) : undefined;
    config = { ...config, apiUrl: sandbox.url, launchpadUrl: sandbox.url, accountId, accountProduct, accessToken: sandbox.token, tokenSource: 'env' };
    // A try-out keeps its own audit trail (list_changes works) and people snapshots (people_changes), in a folder
    // removed when it stops; a trail set in the environment is used, but simulated people never go to the config folder.
    const ownTrail = !settings.setInEnvironment.has('BASECAMP_AUDIT_LOG');
    if (ownTrail || !config.auditLog) {
      const folder = mkdtempSync(join(tmpdir(), 'basecamp-people-mcp-sandbox-'));
      started.add(async () => rmSync(folder, { recursive: true, force: true }));
      const trail = join(folder, 'audit.jsonl');
      config = { ...config, auditLog: ownTrail ? trail : config.auditLog, snapshotFile: snapshotFileBeside(trail, config.tokenFile) };
    }
    credentials = new StaticCredentials(sandbox.token, 'sandbox token');
    sandboxLabel = `"${accountId === sandbox.bcx?.accountId ? sandbox.bcx.accountName : sandbox.data.accountName}" (${accountId}, the sandbox)`;
    const size = accountId === sandbox.bcx?.accountId ? sandbox.bcx.people.size : sandbox.data.people.size;
    const name = accountId === sandbox.bcx?.accountId ? 'Basecamp 2' : 'Basecamp 3/4/5';
    log.info(`using the SANDBOX ${name} account ${accountId} (simulated, ${size} people) at ${sandbox.url}; nothing touches a real Basecamp`);
  }

  // A FIFO, a device or a folder cannot keep the trail: refused now, not at the first write.
  if (config.auditLog) await checkAuditPath(config.auditLog);

  let budget: RateBudget | undefined;
  let planClaims: PlanClaimStore | undefined;
  let snapshots: PeopleSnapshotStore | undefined;
  let redis: { client: RedisStoreClient; where: string } | undefined;
  if (vars.REDIS_URL) {
    const { budgetId, connectSharedBudget, redactRedisUrl } = await import('../basecamp/shared-budget.js');
    const seed = vars.BASECAMP_RATE_BUDGET_ID ?? `${config.apiUrl}|${budgetSeed(config)}`;
    const shared = await connectSharedBudget(vars.REDIS_URL, budgetId(seed), config.rateLimit);
    budget = shared.budget;
    redis = { client: shared.redis, where: redactRedisUrl(vars.REDIS_URL) };
    started.add(() => shared.close());
    // Instances sharing Redis (and BASECAMP_PLAN_SECRET) but not an audit file refuse a token another one used.
    // (Imported statically: a few lines that need no Redis library of their own, not worth a chunk of the bundle.)
    planClaims = new RedisPlanClaims(shared.redis, redactRedisUrl(vars.REDIS_URL));
    // The fleet's snapshots of the people directory, so people_changes answers alike on every instance.
    snapshots = new RedisPeopleSnapshots(shared.redis, redactRedisUrl(vars.REDIS_URL), { days: config.snapshotDays });
    const limit = config.rateLimitSet ? `${config.rateLimit.max}/${config.rateLimit.windowMs} ms` : "following the account's product (50/10 s on Basecamp 3/4/5, 500/10 s on Basecamp 2)";
    log.info(`rate budget ${limit} shared through Redis (${redactRedisUrl(vars.REDIS_URL)})`);
  }
  // The shared budget's limit follows the account's product too, unless BASECAMP_RATE_LIMIT sets it.
  // Served to other machines: a sign-in link's callback would land on the caller's own 127.0.0.1, not here.
  const remote = flags.http === true && !isLoopbackHost(flags.host);
  const oauthOn = flags.http === true && vars.MCP_AUTH === 'oauth';
  // Under MCP_AUTH=oauth the server's own sign-in (named keys act through it) and every signed-in person's service
  // share one budget, audit trail, plan sealer and snapshot store; otherwise the one service owns them.
  const shared = oauthOn ? createSharedParts(config, { budget, budgetFollowsProduct: !config.rateLimitSet, planClaims, snapshots }) : undefined;
  if (shared) started.add(() => shared.close());
  const service = createService(config, { credentials, budget, budgetFollowsProduct: !config.rateLimitSet, planClaims, snapshots, inClientSignIn: !remote && !oauthOn, ...(shared ? { shared } : {}) });
  started.add(() => service.close());
  log.info(config.auditLog ? `audit trail: ${config.auditLog}` : 'audit trail off (BASECAMP_AUDIT_LOG=off)');
  if (oauthOn) {
    // Signed-in people act as themselves; only named keys use the server's own sign-in.
    if (service.notConfigured && (settings.httpClients || vars.MCP_HTTP_TOKEN)) log.warn(`not signed in to Basecamp as the server: named keys (MCP_HTTP_CLIENTS, MCP_HTTP_TOKEN) will be told how to sign in (run \`${shellCommand('login')}\` on this host); people who sign in through MCP_AUTH=oauth act as themselves.`);
  } else if (service.notConfigured && service.signIn) log.info('not signed in to Basecamp yet: the first tool call offers a sign-in link (BASECAMP_CLIENT_ID and BASECAMP_CLIENT_SECRET are set).');
  else if (service.notConfigured && remote && config.clientId && config.clientSecret) {
    log.warn(
      `not signed in to Basecamp, and serving HTTP on ${flags.host}, off this machine's loopback: no sign-in link is offered to clients (its callback could only reach a browser on this machine). Run \`${shellCommand('login')}\` on this host: the next tool call picks the sign-in up.`,
    );
  } else if (service.notConfigured) log.warn(`not signed in to Basecamp: tools will answer with how to sign in (run \`${shellCommand('login')}\`, or try \`${shellCommand('serve --sandbox')}\`).`);

  const count = selectTools({ readOnly }).length;
  if (flags.http) {
    const { serveHttp } = await import('../transports/http.js');
    const { host, port } = flags;
    const oauth = oauthOn ? await oauthOptions(vars, config, { sandbox: settings.sandbox, sandboxLabel, redis, fileSet: settings.setInEnvironment.has('MCP_OAUTH_FILE') }) : undefined;
    if (oauth) started.add(() => oauth.store.close());
    // Who acts for a caller: a signed-in person through their own service, anyone else (named keys) through the one.
    const source = oauth && shared ? callerServices(service, personServices(config, shared, (await import('../oauth/index.js')).personCredentialsFor(oauth.store, oauth.launchpad))) : singleService(service);
    if (oauth) started.add(() => source.close());
    const http = await serveHttp(source, {
      readOnly,
      host,
      port,
      stateless: flags.stateless === true,
      token: vars.MCP_HTTP_TOKEN,
      clients: settings.httpClients,
      allowedOrigins: vars.MCP_ALLOWED_ORIGINS,
      allowedHosts: vars.MCP_ALLOWED_HOSTS,
      maxSessions: vars.MCP_MAX_SESSIONS,
      maxSessionsPerCaller: vars.MCP_MAX_SESSIONS_PER_CALLER,
      sessionIdleMs: vars.MCP_SESSION_IDLE_SECONDS * 1000,
      sessionEvictGraceMs: vars.MCP_SESSION_EVICT_GRACE_SECONDS * 1000,
      ...(oauth ? { oauth } : {}),
    }).catch((error: NodeJS.ErrnoException) => {
      throw listenProblem(error, host, port);
    });
    // Listening for the stop signals before the URL line: whoever waits for that line (a supervisor, a test) may stop
    // the server the moment it reads it, and must get a clean stop (the OAuth store's lock let go), not a kill.
    const stopped = new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    // The start-up report before the URL line: whoever waits for that line has the whole of it.
    if (oauth) log.info(`MCP_AUTH=oauth: people sign in with Basecamp through ${oauth.publicUrl} (account ${oauth.accountId}${oauth.allowed ? `, MCP_OAUTH_ALLOWED: ${oauth.allowed.join(', ')}` : ''}); sign-ins kept in ${oauth.store.where}`);
    if (settings.httpClients) log.info(`keys: ${settings.httpClients.map((c) => `${c.name} (${c.role})`).join(', ')}${vars.MCP_HTTP_TOKEN ? ', MCP_HTTP_TOKEN (admin)' : ''}`);
    log.info(`serving ${count} tools over streamable HTTP at ${http.url}${flags.stateless ? ' (stateless)' : ''}${readOnly ? ' (read-only)' : ''}`);
    const signal = await stopped;
    log.info(`${signal}: draining in-flight requests, then exiting`);
    await http.drain();
    return;
  }
  log.info(`serving ${count} tools over stdio${readOnly ? ' (read-only)' : ''}`);
  // Started by hand in a terminal: nothing will happen until an MCP client speaks, so say what this is.
  if (process.stdin.isTTY) {
    log.info(
      'this is an MCP server: it speaks JSON-RPC on stdin/stdout with an MCP client (Claude Desktop, the Inspector), not with a person. ' +
        `To try it, run \`npx -y @modelcontextprotocol/inspector@2.12.0 ${shellCommand('serve --sandbox')}\` (Node 22.19 or later), ` +
        'or `npm run demo` in a clone. Ctrl-C stops this one.',
    );
  }
  process.once('SIGTERM', () => void started.stopAll().finally(() => process.exit(0)));
  process.once('SIGINT', () => void started.stopAll().finally(() => process.exit(0)));
  await serveStdio(singleService(service), { readOnly });
}

/** A listener that could not start, said with the flag that fixes it. */
function listenProblem(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') return new Error(`Port ${port} on ${host} is in use (another server is listening there): pass --port with a free port, or --port 0 to pick one (printed on stderr).`);
  if (error.code === 'EACCES') return new Error(`Port ${port} on ${host} needs privileges this user does not have: pass --port 1024 or above.`);
  if (error.code === 'EADDRNOTAVAIL') return new Error(`${host} is not an address of this machine: pass --host with one of its addresses (127.0.0.1, 0.0.0.0 for all).`);
  return error;
}

/** What the shared budget is keyed by: the refresh token (stable across refreshes) or the access token, hashed. */
function budgetSeed(config: Config): string {
  if (config.tokenSource === 'file') {
    const file = new TokenStore(config.tokenFile).read();
    return file?.refresh_token ?? file?.access_token ?? 'anonymous';
  }
  return config.accessToken ?? 'anonymous';
}

/**
 * MCP_AUTH=oauth's authorization server, from settings checked at start (settings.ts oauthProblems). Sign-ins are kept
 * sealed with MCP_TOKEN_KEY in Redis with REDIS_URL (a fleet shares them), else in MCP_OAUTH_FILE; with --sandbox (no
 * Redis) in memory, since simulated people never go to the config folder, unless MCP_OAUTH_FILE is set explicitly
 * (`fileSet`: a try-out that should survive a restart). With --sandbox the sandbox's Launchpad is the upstream, with
 * its own app (sandbox-client), so a sign-in can be tried by hand. Exported for the tests that wire it as serve does.
 */
export async function oauthOptions(
  vars: Pick<ResolvedEnvironment, 'MCP_PUBLIC_URL' | 'MCP_TOKEN_KEY' | 'MCP_OAUTH_FILE' | 'MCP_OAUTH_ALLOWED' | 'BASECAMP_CLIENT_ID' | 'BASECAMP_CLIENT_SECRET'>,
  config: Config,
  how: { sandbox: boolean; sandboxLabel?: string; redis?: { client: RedisStoreClient; where: string }; fileSet: boolean },
): Promise<OAuthServeOptions> {
  const { sandbox, sandboxLabel, redis } = how;
  const accountId = config.accountId;
  if (!vars.MCP_PUBLIC_URL || !vars.MCP_TOKEN_KEY || accountId === undefined) throw new Error('MCP_AUTH=oauth without MCP_PUBLIC_URL, MCP_TOKEN_KEY or an account: the settings should have refused this.');
  const app = sandbox ? { clientId: 'sandbox-client', clientSecret: 'sandbox-secret' } : { clientId: vars.BASECAMP_CLIENT_ID ?? '', clientSecret: vars.BASECAMP_CLIENT_SECRET ?? '' };
  const key = parseTokenKey(vars.MCP_TOKEN_KEY);
  const file = !sandbox || how.fileSet ? vars.MCP_OAUTH_FILE : undefined;
  const { deriveProviderKeys, openOAuthStore } = await import('../oauth/index.js');
  const store = await openOAuthStore({ key, ...(redis ? { redis } : file !== undefined ? { file } : {}) });
  return {
    publicUrl: vars.MCP_PUBLIC_URL,
    store,
    keys: deriveProviderKeys(key),
    launchpad: { url: config.launchpadUrl, userAgent: config.userAgent, ...app },
    accountId,
    accountLabel: sandboxLabel ?? `account ${accountId}`,
    ...(vars.MCP_OAUTH_ALLOWED ? { allowed: vars.MCP_OAUTH_ALLOWED } : {}),
  };
}
