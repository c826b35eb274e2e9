import { chooseAccount, describeAccounts, PRODUCT_NAMES } from '../basecamp/launchpad.js';
import { ConfigurationError, InvalidInputError, NotSignedInError, type AccountChoice, type SignInFlow, type SignInState } from '../errors.js';
import { log } from '../log.js';
import { oneLine } from '../one-line.js';
import { assertSecureUrl, redirectUriProblem } from '../security.js';
import { DEFAULT_LOGIN_PORT } from '../settings.js';
import {
  authorizationUrl,
  listenForCallback,
  newState,
  redeemCode,
  saveSignIn,
  SIGN_IN_TIMEOUT_MS,
  type CallbackListener,
  type CallbackPage,
  type SignInGrant,
} from './code-flow.js';
import type { OAuthClient } from './oauth.js';
import type { TokenStore } from './token-store.js';

export interface InClientSignInOptions {
  launchpadUrl: string;
  userAgent: string;
  /** BASECAMP_CLIENT_ID and BASECAMP_CLIENT_SECRET. */
  client: OAuthClient;
  /** BASECAMP_REDIRECT_URI, registered with the OAuth app; http on loopback. Default http://127.0.0.1:8976/callback (login's). */
  redirectUri?: string;
  /** BASECAMP_ACCOUNT_ID: the account to use when the sign-in reaches several. */
  accountId?: number;
  store: TokenStore;
  /** How long a sign-in waits for the browser (default 5 minutes). */
  timeoutMs?: number;
}

const choice = (a: { id: number; name: string; product: string }): AccountChoice => ({ id: a.id, name: a.name, product: a.product });

/**
 * Sign-in from inside the MCP client, for a server with an OAuth app (client id and secret) and no token: the
 * authorization-code flow of `login` (./code-flow.ts), started by a tool call instead of a terminal. One sign-in
 * at a time per process: while one waits for the browser, everyone gets its URL. The callback listener runs on the
 * redirect URI's loopback port only while a sign-in waits (closed after the callback or the time limit). The code
 * is exchanged, the account chosen (BASECAMP_ACCOUNT_ID, else the only usable one; several: state `choose` until
 * `choose(id)`), and the token file written as `login` writes it; the running server then picks it up.
 */
export class InClientSignIn implements SignInFlow {
  private current: SignInState = { state: 'idle' };
  private flow: { listener: CallbackListener; timer: NodeJS.Timeout } | undefined;
  private starting: Promise<string> | undefined;
  private readonly waiters = new Set<() => void>();
  /** In state `choose`: the sign-in whose token was written without an account. */
  private choosing: { grant: SignInGrant; accounts: AccountChoice[] } | undefined;
  private readonly redirectUri: string | undefined;
  private readonly timeoutMs: number;
  private closed = false;

  constructor(private readonly options: InClientSignInOptions) {
    assertSecureUrl(options.launchpadUrl, 'BASECAMP_LAUNCHPAD_URL');
    const problem = options.redirectUri === undefined ? undefined : redirectUriProblem(options.redirectUri);
    if (problem) throw new ConfigurationError(`BASECAMP_REDIRECT_URI ${problem}.`);
    this.redirectUri = options.redirectUri;
    this.timeoutMs = options.timeoutMs ?? SIGN_IN_TIMEOUT_MS;
  }

  state(): SignInState {
    return this.current;
  }

  /** The sign-in URL: the one waiting for the browser, else a new sign-in's (a port in use: ConfigurationError). */
  async begin(): Promise<string> {
    if (this.current.state === 'pending') return this.current.url;
    if (this.closed) throw new ConfigurationError('The server is stopping; no sign-in can start.');
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  wait(signal?: AbortSignal): Promise<SignInState> {
    if (this.current.state !== 'pending' || signal?.aborted) return Promise.resolve(this.current);
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve(this.current);
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  async choose(accountId: number): Promise<AccountChoice> {
    const choosing = this.choosing;
    if (this.current.state !== 'choose' || !choosing) throw new InvalidInputError('There is no account to choose: no sign-in is waiting for one.');
    const account = choosing.grant.accounts.find((a) => a.id === accountId);
    if (!account) throw new InvalidInputError(`Account ${accountId} is not one this sign-in reaches; choose one of: ${describeAccounts(choosing.grant.accounts)}.`);
    if (this.options.store.read()?.access_token !== choosing.grant.tokens.access_token) {
      this.choosing = undefined;
      this.set({ state: 'idle' });
      throw new InvalidInputError('The token file was replaced meanwhile (another sign-in); that one is used, nothing was changed.');
    }
    saveSignIn(this.options.store, choosing.grant, this.options.client, account);
    this.choosing = undefined;
    this.set({ state: 'done', account: choice(account), ...(choosing.grant.identity ? { identity: choosing.grant.identity } : {}) });
    log.info(`signed in to Basecamp from the client: account ${account.id} (${PRODUCT_NAMES[account.product] ?? account.product}) chosen, saved to ${this.options.store.path}`);
    return choice(account);
  }

  /**
   * What a tool call answers when there is no token (or its grant is over: `why` says so): a sign-in is started (or
   * the waiting one reused) and its URL given. Throws ConfigurationError when none can start (the callback's port is in use).
   */
  async notSignedIn(why = 'Not signed in to Basecamp.'): Promise<NotSignedInError> {
    const before = this.current;
    const url = await this.begin();
    const pending = this.current;
    const expiresAt = pending.state === 'pending' ? pending.expiresAt : Date.now() + this.timeoutMs;
    const minutes = Math.max(1, Math.round((expiresAt - Date.now()) / 60_000));
    const last = before.state === 'failed' ? ` (The last sign-in did not finish: ${before.reason})` : '';
    return new NotSignedInError(
      `${why} Open this address in a browser to sign in (within ${minutes} min), then call the tool again: ${url}${last}`,
      { signInUrl: url, expiresAt, flow: this },
    );
  }

  /**
   * The error for a token written by a sign-in that still waits for its account to be chosen; undefined when the
   * token is another one (a new `login`, another process) or nothing is waiting.
   */
  awaitingChoice(accessToken: string): NotSignedInError | undefined {
    const choosing = this.choosing;
    if (!choosing || this.current.state !== 'choose') return undefined;
    if (choosing.grant.tokens.access_token !== accessToken) {
      this.choosing = undefined;
      this.set({ state: 'idle' });
      return undefined;
    }
    return new NotSignedInError(
      `Signed in to Basecamp; this sign-in reaches several accounts: ${describeAccounts(choosing.grant.accounts)}. ` +
        'Choose one: set BASECAMP_ACCOUNT_ID (the "Basecamp account id" setting of the bundle) to its id; the sign-in is kept.',
      { accounts: choosing.accounts, flow: this },
    );
  }

  /** Stops a sign-in that is waiting (the server is stopping). */
  async close(): Promise<void> {
    this.closed = true;
    await this.starting?.catch(() => undefined);
    if (this.current.state === 'pending') this.end({ state: 'failed', reason: 'The server stopped.' });
    await this.flow?.listener.close();
  }

  private set(state: SignInState): void {
    this.current = state;
    if (state.state !== 'pending') for (const wake of [...this.waiters]) wake();
  }

  /** The sign-in stops waiting for the browser: the timer and the listener end (a page being answered is still sent). */
  private end(state: SignInState): void {
    const flow = this.flow;
    this.flow = undefined;
    if (flow) {
      clearTimeout(flow.timer);
      void flow.listener.close();
    }
    this.set(state);
  }

  private async start(): Promise<string> {
    const state = newState();
    let redirectUri = '';
    const listener = await listenForCallback({
      redirectUri: this.redirectUri,
      port: DEFAULT_LOGIN_PORT,
      state,
      startAgain: 'Start again from your MCP client (call one of its Basecamp tools).',
      onWrongState: () => log.warn('refused a sign-in callback with the wrong state (not from this sign-in); still waiting for the real one'),
      portInUse: (port) =>
        new ConfigurationError(
          `Cannot sign in: port ${port} on this machine, from the redirect URI ${redirectUri || this.redirectUri || `http://127.0.0.1:${DEFAULT_LOGIN_PORT}/callback`}, is in use. ` +
            'Set BASECAMP_REDIRECT_URI to http://127.0.0.1:PORT/callback with a free port, registered as a redirect URI of your OAuth app.',
        ),
      onCallback: (callback) => this.finish(callback, redirectUri),
    });
    redirectUri = listener.redirectUri;
    const url = authorizationUrl(this.options.launchpadUrl, this.options.client.clientId, redirectUri, state);
    const expiresAt = Date.now() + this.timeoutMs;
    const timer = setTimeout(
      () => this.end({ state: 'failed', reason: `No sign-in arrived within ${Math.round(this.timeoutMs / 1000)} s; nothing was saved.` }),
      this.timeoutMs,
    );
    timer.unref();
    this.flow = { listener, timer };
    this.choosing = undefined;
    this.set({ state: 'pending', url, expiresAt });
    log.info(`sign-in from the client started: waiting up to ${Math.round(this.timeoutMs / 1000)} s for the browser to come back to ${redirectUri}`);
    return url;
  }

  /** The callback with our state: exchange the code, choose the account, write the token file; the page says how it ended. */
  private async finish(callback: { code: string } | { error: string }, redirectUri: string): Promise<CallbackPage> {
    const flow = this.flow;
    if (flow) clearTimeout(flow.timer); // it came in time: the exchange is not cut short
    const fail = (reason: string, page: Omit<CallbackPage, 'status'>): CallbackPage => {
      this.end({ state: 'failed', reason });
      log.warn(`sign-in from the client did not finish: ${oneLine(reason)}`);
      return { status: 400, ...page };
    };
    if ('error' in callback) {
      return fail(`Basecamp did not grant access (${callback.error}); nothing was saved.`, {
        title: 'Sign-in cancelled',
        text: 'Basecamp did not grant access. Nothing was saved; you can close this tab.',
      });
    }
    try {
      const grant = await redeemCode({ launchpadUrl: this.options.launchpadUrl, userAgent: this.options.userAgent, client: this.options.client, redirectUri, code: callback.code });
      const who = grant.identity ? ` as ${grant.identity}` : '';
      if (this.options.accountId === undefined && grant.accounts.length > 1) {
        // Kept now (a restart with BASECAMP_ACCOUNT_ID needs no new sign-in); the account is written once chosen.
        saveSignIn(this.options.store, grant, this.options.client);
        this.choosing = { grant, accounts: grant.accounts.map(choice) };
        this.end({ state: 'choose', accounts: this.choosing.accounts, ...(grant.identity ? { identity: grant.identity } : {}) });
        log.info(`signed in to Basecamp from the client${who}; several accounts: one is to be chosen (saved to ${this.options.store.path})`);
        return { status: 200, title: 'Signed in: choose an account', text: `You are signed in${who}. This sign-in reaches several Basecamp accounts: choose one in your MCP client. You can close this tab.` };
      }
      const account = chooseAccount(grant.auth, this.options.accountId);
      saveSignIn(this.options.store, grant, this.options.client, account);
      this.end({ state: 'done', account: choice(account), ...(grant.identity ? { identity: grant.identity } : {}) });
      log.info(`signed in to Basecamp from the client${who}: account ${account.id} (${PRODUCT_NAMES[account.product] ?? account.product}), saved to ${this.options.store.path}`);
      return { status: 200, title: 'Signed in', text: `basecamp-people-mcp has your Basecamp sign-in${who} (${account.name}). You can close this tab and go back to your MCP client.` };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail(`${message} Nothing was saved.`, { title: 'Sign-in not finished', text: `${message} Nothing was saved; start again from your MCP client.` });
    }
  }
}
