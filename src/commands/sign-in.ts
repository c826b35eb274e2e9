import { askSecret, login, pickAccountOnTerminal } from '../auth/login.js';
import { TokenStore } from '../auth/token-store.js';
import { ConfigurationError } from '../errors.js';
import { fetchAuthorization, isSupported, PRODUCT_NAMES } from '../basecamp/launchpad.js';
import { configFromSettings } from '../config.js';
import { createService } from '../service.js';
import type { Env, Settings } from '../settings.js';
import { shellCommand } from '../cli-command.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

/** Why the token file at this path is unusable, or undefined when it is fine or absent. */
function unusable(store: TokenStore): string | undefined {
  try {
    store.read();
    return undefined;
  } catch (error) {
    if (error instanceof ConfigurationError) return error.message;
    throw error;
  }
}

/** `login`: OAuth through Launchpad. Never reads the old token file first: a corrupt one is simply replaced. */
export async function loginCommand({ flags, env: vars }: Settings, env: Env): Promise<number> {
  const config = configFromSettings({ ...vars, BASECAMP_ACCESS_TOKEN: undefined }, { ignoreTokenFile: true });
  const clientId = flags['client-id']; // --client-id, else BASECAMP_CLIENT_ID
  if (!clientId) {
    process.stderr.write('Set BASECAMP_CLIENT_ID (or --client-id) to your Basecamp OAuth app; see README "Sign in".\n');
    return 2;
  }
  let clientSecret = config.clientSecret;
  if (!clientSecret && process.stdin.isTTY) clientSecret = (await askSecret('OAuth client secret (not shown): ')).trim();
  if (!clientSecret) {
    process.stderr.write('Set BASECAMP_CLIENT_SECRET (it is never taken from the command line); see README "Sign in".\n');
    return 2;
  }
  const store = new TokenStore(config.tokenFile);
  store.assertFilePath(); // before the browser sign-in, which could not be saved
  const corrupt = unusable(store);
  const result = await login({
    launchpadUrl: config.launchpadUrl,
    userAgent: config.userAgent,
    client: { clientId, clientSecret },
    redirectUri: flags['redirect-uri'], // --redirect-uri, else BASECAMP_REDIRECT_URI
    port: flags.port,
    accountId: flags.account,
    timeoutMs: flags.timeout * 1000,
    openBrowser: flags['no-browser'] !== true && !env.CI,
    store,
    say,
    pickAccount: process.stdin.isTTY ? pickAccountOnTerminal : undefined,
  });
  say(`Signed in${result.identity ? ` as ${result.identity}` : ''} to ${result.account.name} (${result.account.id}, ${PRODUCT_NAMES[result.account.product] ?? result.account.product}).`);
  if (corrupt) say(`Replaced the token file that could not be used (${corrupt.split('. ')[0]}).`);
  say(`Token saved to ${store.path} (readable by you only); it is refreshed automatically.`);
  return 0;
}

/** `accounts`: the accounts the sign-in reaches, * on the one in use. */
export async function accountsCommand({ env: vars }: Settings): Promise<number> {
  const config = configFromSettings(vars);
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
      const usable = isSupported(a) ? ` ${PRODUCT_NAMES[a.product]}` : ' (not Basecamp or Basecamp 2: not usable here)';
      say(`${a.id === selected && isSupported(a) ? '*' : ' '} ${a.id}  ${a.name}  [${a.product}]${usable}`);
    }
    if (selected === undefined) say(`No account selected: set BASECAMP_ACCOUNT_ID or run \`${shellCommand('login --account ID')}\`.`);
    return 0;
  } finally {
    await service.close();
  }
}

/** `logout`: deletes the token file without reading it (a corrupt one too); through a symlink, the file and the link. */
export function logoutCommand({ env: vars }: Settings): number {
  const config = configFromSettings(vars, { ignoreTokenFile: true });
  const removed = new TokenStore(config.tokenFile).remove();
  say(removed.length ? `Signed out: deleted ${removed.join(' and the link ')}.` : `Nothing to do: there is no token file at ${config.tokenFile}.`);
  if (vars.BASECAMP_ACCESS_TOKEN) say('Note: BASECAMP_ACCESS_TOKEN is still set in this environment.');
  return 0;
}
