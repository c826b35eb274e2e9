import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline/promises';
import { BasecampError } from '../basecamp/errors.js';
import { assertSecureUrl } from '../security.js';
import { chooseAccount, fetchAuthorization, PRODUCT_NAMES, usableAccounts, type LaunchpadAccount } from '../basecamp/launchpad.js';
import { exchangeCode, expiresAtFrom, type OAuthClient } from './oauth.js';
import type { TokenStore } from './token-store.js';
import { isLoopbackHost, secretsEqual } from '../security.js';
import { shellCommand } from '../cli-command.js';
import { DEFAULT_LOGIN_PORT } from '../settings.js';

export interface LoginOptions {
  launchpadUrl: string;
  userAgent: string;
  client: OAuthClient;
  /** Registered redirect URI; must point at this machine's loopback. Default http://127.0.0.1:<port>/callback. */
  redirectUri?: string;
  port?: number;
  accountId?: number;
  timeoutMs?: number;
  openBrowser?: boolean;
  store: TokenStore;
  /** Where messages for the person go (stdout for the CLI). */
  say(line: string): void;
  /** Asks the person to pick one of several accounts; undefined when nobody can answer (no TTY). */
  pickAccount?(accounts: LaunchpadAccount[]): Promise<LaunchpadAccount>;
}

export interface LoginResult {
  account: LaunchpadAccount;
  identity?: string;
}

function page(title: string, text: string): string {
  return `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:sans-serif;max-width:40em;margin:4em auto"><h1>${title}</h1><p>${text}</p></body>`;
}

function tryOpenBrowser(url: string): void {
  const [cmd, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser: the printed URL is enough.
  }
}

/** The callback's port is taken: the fix is --port, or the redirect URI's port when one was given (it decides the port). */
function portInUse(port: number, redirectUri: URL | undefined): string {
  return redirectUri
    ? `Port ${port} on 127.0.0.1, from the redirect URI ${redirectUri.origin}, is in use: give --redirect-uri (or BASECAMP_REDIRECT_URI) with a free port, registered with your OAuth app.`
    : `Port ${port} on 127.0.0.1 is in use: pass --port with a free port, and register http://127.0.0.1:PORT/callback as your OAuth app's redirect URI.`;
}

/**
 * The OAuth authorization-code flow against Launchpad: listen on 127.0.0.1 only, send the person to the
 * authorization URL with a random `state`, take the code from the callback, exchange it, pick the Basecamp 3/4/5
 * account and write the token file.
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  assertSecureUrl(options.launchpadUrl, 'BASECAMP_LAUNCHPAD_URL');
  const requested = options.redirectUri ? new URL(options.redirectUri) : undefined;
  if (requested && (requested.protocol !== 'http:' || !isLoopbackHost(requested.hostname))) {
    throw new BasecampError(
      `The redirect URI must be http://127.0.0.1:PORT/... (or localhost) so this command can receive the callback; got ${requested.origin}.`,
    );
  }
  const port = requested ? Number(requested.port || 80) : (options.port ?? DEFAULT_LOGIN_PORT);
  const callbackPath = requested?.pathname ?? '/callback';
  const state = randomBytes(24).toString('base64url');

  let settle!: { resolve: (code: string) => void; reject: (e: Error) => void };
  const gotCode = new Promise<string>((resolve, reject) => (settle = { resolve, reject }));
  const server: Server = createServer((req, res) => {
    // Nothing a client sends may throw out of the listener: that would end the sign-in.
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1');
    } catch {
      res.writeHead(400, { 'content-type': 'text/html' }).end(page('Bad request', 'This is the sign-in callback of basecamp-people-mcp.'));
      return;
    }
    if (url.pathname !== callbackPath) {
      res.writeHead(404, { 'content-type': 'text/html' }).end(page('Not found', 'This is the sign-in callback of basecamp-people-mcp.'));
      return;
    }
    const gotState = url.searchParams.get('state') ?? '';
    if (!secretsEqual(gotState, state)) {
      // Not ours (or forged): refuse, and keep waiting for the real callback.
      res.writeHead(400, { 'content-type': 'text/html' }).end(page('Sign-in refused', 'The state did not match this sign-in. Start again from the terminal.'));
      options.say('Ignored a callback with the wrong state (not from this sign-in).');
      return;
    }
    const error = url.searchParams.get('error');
    const code = url.searchParams.get('code');
    if (error || !code) {
      res.writeHead(400, { 'content-type': 'text/html' }).end(page('Sign-in cancelled', 'Basecamp did not grant access. You can close this tab.'));
      settle.reject(new BasecampError(`Basecamp did not grant access (${error ?? 'no code in the callback'}).`));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' }).end(page('Signed in', 'basecamp-people-mcp has your Basecamp sign-in. You can close this tab.'));
    settle.resolve(code);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new BasecampError(e.code === 'EADDRINUSE' ? portInUse(port, requested) : e.message)),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  const redirectUri = options.redirectUri ?? `http://127.0.0.1:${actualPort}${callbackPath}`;
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  const timer = setTimeout(
    () => settle.reject(new BasecampError(`No sign-in arrived within ${Math.round(timeoutMs / 1000)} s; nothing was saved. Run \`${shellCommand('login')}\` again.`)),
    timeoutMs,
  );

  try {
    const authorize = new URL(`${options.launchpadUrl}/authorization/new`);
    authorize.searchParams.set('type', 'web_server');
    authorize.searchParams.set('client_id', options.client.clientId);
    authorize.searchParams.set('redirect_uri', redirectUri);
    authorize.searchParams.set('state', state);
    options.say('Open this URL to sign in to Basecamp:');
    options.say(`  ${authorize.toString()}`);
    options.say(`Waiting for the callback on ${redirectUri} ...`);
    if (options.openBrowser) tryOpenBrowser(authorize.toString());

    const code = await gotCode;
    const tokens = await exchangeCode(options.launchpadUrl, options.client, code, redirectUri, options.userAgent);
    const auth = await fetchAuthorization(options.launchpadUrl, tokens.access_token, options.userAgent);
    const accounts = usableAccounts(auth);
    let account: LaunchpadAccount;
    if (options.accountId === undefined && accounts.length > 1 && options.pickAccount) account = await options.pickAccount(accounts);
    else account = chooseAccount(auth, options.accountId);

    options.store.write({
      access_token: tokens.access_token,
      ...(tokens.refresh_token ? { refresh_token: tokens.refresh_token } : {}),
      expires_at: expiresAtFrom(tokens.expires_in),
      account_id: account.id,
      account_product: account.product,
      client_id: options.client.clientId,
      client_secret: options.client.clientSecret,
    });
    const who = auth.identity ? `${auth.identity.first_name ?? ''} ${auth.identity.last_name ?? ''}`.trim() : undefined;
    return { account, identity: who };
  } finally {
    clearTimeout(timer);
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}

/** Interactive account choice on a terminal. */
export async function pickAccountOnTerminal(accounts: LaunchpadAccount[]): Promise<LaunchpadAccount> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    process.stdout.write('This sign-in reaches several Basecamp accounts:\n');
    accounts.forEach((a, i) => process.stdout.write(`  ${i + 1}. ${a.name} (${a.id}, ${PRODUCT_NAMES[a.product] ?? a.product})\n`));
    for (;;) {
      const answer = (await rl.question(`Which one? [1-${accounts.length}] `)).trim();
      const n = Number(answer);
      const hit = Number.isInteger(n) && n >= 1 && n <= accounts.length ? accounts[n - 1] : accounts.find((a) => String(a.id) === answer);
      if (hit) return hit;
    }
  } finally {
    rl.close();
  }
}

/** Asks for the client secret without echoing it (never take a secret from argv). */
export async function askSecret(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
  // `_writeToOutput` is readline's internal echo hook, not in its public types.
  const output = rl as typeof rl & { _writeToOutput: (s: string) => void };
  const original = output._writeToOutput.bind(rl);
  let prompted = false;
  output._writeToOutput = (s: string) => {
    if (!prompted) {
      prompted = true;
      original(s);
    }
  };
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    process.stdout.write('\n');
    rl.close();
  }
}
