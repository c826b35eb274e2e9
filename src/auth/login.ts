import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline/promises';
import { BasecampError } from '../basecamp/errors.js';
import { assertSecureUrl, redirectUriProblem } from '../security.js';
import { chooseAccount, PRODUCT_NAMES, type LaunchpadAccount } from '../basecamp/launchpad.js';
import type { OAuthClient } from './oauth.js';
import type { TokenStore } from './token-store.js';
import { authorizationUrl, listenForCallback, newState, redeemCode, saveSignIn, SIGN_IN_TIMEOUT_MS } from './code-flow.js';
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
 * The OAuth authorization-code flow against Launchpad: listen on loopback only, send the person to the
 * authorization URL with a random `state`, take the code from the callback, exchange it, pick the Basecamp 3/4/5
 * account and write the token file (the pieces are shared with the in-client sign-in: ./code-flow.ts).
 */
export async function login(options: LoginOptions): Promise<LoginResult> {
  assertSecureUrl(options.launchpadUrl, 'BASECAMP_LAUNCHPAD_URL');
  const requested = options.redirectUri ? new URL(options.redirectUri) : undefined;
  if (requested && redirectUriProblem(options.redirectUri!)) {
    throw new BasecampError(
      `The redirect URI must be http://127.0.0.1:PORT/... (or localhost) so this command can receive the callback; got ${requested.origin}.`,
    );
  }
  const state = newState();
  let settle!: { resolve: (r: LoginResult) => void; reject: (e: Error) => void };
  const done = new Promise<LoginResult>((resolve, reject) => (settle = { resolve, reject }));
  let redirectUri = '';
  let timer: NodeJS.Timeout | undefined;
  const listener = await listenForCallback({
    redirectUri: options.redirectUri,
    port: options.port ?? DEFAULT_LOGIN_PORT,
    state,
    startAgain: 'Start again from the terminal.',
    onWrongState: () => options.say('Ignored a callback with the wrong state (not from this sign-in).'),
    portInUse: (port) => new BasecampError(portInUse(port, requested)),
    async onCallback(callback) {
      clearTimeout(timer); // it came: picking an account on the terminal has no time limit
      if ('error' in callback) {
        settle.reject(new BasecampError(`Basecamp did not grant access (${callback.error}).`));
        return { status: 400, title: 'Sign-in cancelled', text: 'Basecamp did not grant access. You can close this tab.' };
      }
      try {
        const grant = await redeemCode({ launchpadUrl: options.launchpadUrl, userAgent: options.userAgent, client: options.client, redirectUri, code: callback.code });
        let account: LaunchpadAccount;
        if (options.accountId === undefined && grant.accounts.length > 1 && options.pickAccount) account = await options.pickAccount(grant.accounts);
        else account = chooseAccount(grant.auth, options.accountId);
        saveSignIn(options.store, grant, options.client, account);
        settle.resolve({ account, identity: grant.identity });
        return { status: 200, title: 'Signed in', text: 'basecamp-people-mcp has your Basecamp sign-in. You can close this tab.' };
      } catch (error) {
        settle.reject(error as Error);
        return { status: 400, title: 'Sign-in not finished', text: `${(error as Error).message} Nothing was saved; see the terminal.` };
      }
    },
  });
  redirectUri = listener.redirectUri;
  const timeoutMs = options.timeoutMs ?? SIGN_IN_TIMEOUT_MS;
  timer = setTimeout(
    () => settle.reject(new BasecampError(`No sign-in arrived within ${Math.round(timeoutMs / 1000)} s; nothing was saved. Run \`${shellCommand('login')}\` again.`)),
    timeoutMs,
  );
  try {
    const authorize = authorizationUrl(options.launchpadUrl, options.client.clientId, redirectUri, state);
    options.say('Open this URL to sign in to Basecamp:');
    options.say(`  ${authorize}`);
    options.say(`Waiting for the callback on ${redirectUri} ...`);
    if (options.openBrowser) tryOpenBrowser(authorize);
    return await done;
  } finally {
    clearTimeout(timer);
    await listener.close();
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
