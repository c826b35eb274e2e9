import { NotConfiguredError } from '../errors.js';
import { AuthenticationError } from '../basecamp/errors.js';
import type { Credentials } from '../basecamp/http.js';
import { log } from '../log.js';
import { signInHelp } from './sign-in-help.js';
import { shellCommand } from '../cli-command.js';
import { expiresAtFrom, refreshAccessToken, type OAuthClient } from './oauth.js';
import { expiresAtMs, type StoredToken, type TokenStore } from './token-store.js';
import type { InClientSignIn } from './in-client-sign-in.js';

export interface FileCredentialsOptions {
  launchpadUrl: string;
  userAgent: string;
  /** Env BASECAMP_CLIENT_ID / BASECAMP_CLIENT_SECRET win over what `login` stored. */
  client?: Partial<OAuthClient>;
  /** Refresh this long before expiry (default 5 minutes). */
  marginMs?: number;
  /**
   * Sign-in from inside the client (an OAuth app is configured): with no token, calls get a NotSignedInError with
   * a sign-in URL instead of NotConfiguredError, and a sign-in still choosing its account holds calls back.
   */
  signIn?: InClientSignIn;
}

/**
 * Credentials from the token file written by `login`: refreshed before they expire and once after a 401
 * that says "expired"; one refresh at a time per process (concurrent callers wait for the same one); the
 * new token is written back to the file; a file replaced by another process is picked up on the next request.
 */
export class FileCredentials implements Credentials {
  private refreshing: Promise<string> | undefined;
  private readonly marginMs: number;
  /** Refreshes performed (for tests and logs). */
  refreshes = 0;
  /**
   * A refreshed token the file could not take (read-only file or directory): used instead of the file for
   * as long as the file still holds the token it replaced, so we neither lose it nor refresh again.
   */
  private unsaved: { replaces: string; token: StoredToken } | undefined;

  constructor(
    private readonly store: TokenStore,
    private readonly options: FileCredentialsOptions,
  ) {
    this.marginMs = options.marginMs ?? 5 * 60_000;
  }

  private current(): StoredToken {
    const token = this.store.read();
    if (this.unsaved && token?.access_token === this.unsaved.replaces) return this.unsaved.token;
    this.unsaved = undefined; // the file changed (a new login): it wins
    if (!token) {
      throw new NotConfiguredError(`${signInHelp()} (No token file at ${this.store.path}.)`);
    }
    return token;
  }

  private client(token: StoredToken): OAuthClient | undefined {
    const clientId = this.options.client?.clientId ?? token.client_id;
    const clientSecret = this.options.client?.clientSecret ?? token.client_secret;
    return clientId && clientSecret ? { clientId, clientSecret } : undefined;
  }

  private refreshable(token: StoredToken): boolean {
    return Boolean(token.refresh_token && this.client(token));
  }

  /** The token to use, or, with an in-client sign-in, the not-signed-in answer (before anything is sent). */
  private async signedIn(): Promise<StoredToken> {
    const signIn = this.options.signIn;
    if (!signIn) return this.current();
    if (!this.store.read()) throw await signIn.notSignedIn();
    const token = this.current();
    const choosing = signIn.awaitingChoice(token.access_token);
    if (choosing) throw choosing;
    return token;
  }

  async accessToken(): Promise<string> {
    if (this.refreshing) return this.refreshing;
    const token = await this.signedIn();
    const expires = expiresAtMs(token);
    if (expires !== undefined && expires - this.marginMs <= Date.now() && this.refreshable(token)) {
      return this.refresh(token.access_token);
    }
    return token.access_token;
  }

  async recoverFromUnauthorized(rejectedToken: string, basecampMessage: string | undefined): Promise<boolean> {
    if (this.refreshing) {
      await this.refreshing;
      return true;
    }
    const token = await this.signedIn();
    if (token.access_token !== rejectedToken) return true; // someone (another process, a refresh) already replaced it
    if (!/expired/i.test(basecampMessage ?? '') || !this.refreshable(token)) return false;
    await this.refresh(rejectedToken);
    return true;
  }

  unauthorizedAdvice(message?: string): string {
    const token = this.store.read();
    if (token && !this.refreshable(token) && /expired/i.test(message ?? '')) {
      return `The token in ${this.store.path} has expired and cannot be refreshed (no refresh token or OAuth client stored). Run \`${shellCommand('login')}\`.`;
    }
    return `Run \`${shellCommand('login')}\` to sign in again.`;
  }

  /** One refresh at a time: everyone who needs one while it runs gets its result. */
  private refresh(staleToken: string): Promise<string> {
    this.refreshing ??= this.doRefresh(staleToken).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async doRefresh(staleToken: string): Promise<string> {
    const token = this.current();
    // Another process may have refreshed already: use its token if it is fresh.
    const expires = expiresAtMs(token);
    if (token.access_token !== staleToken && (expires === undefined || expires - this.marginMs > Date.now())) return token.access_token;
    const client = this.client(token);
    if (!token.refresh_token || !client) {
      throw new AuthenticationError(`The Basecamp token expired and cannot be refreshed. Run \`${shellCommand('login')}\`.`);
    }
    let fresh;
    try {
      fresh = await refreshAccessToken(this.options.launchpadUrl, client, token.refresh_token, this.options.userAgent);
    } catch (error) {
      // The grant is over (a password change, access revoked): with an OAuth app, sign in again from the client.
      if (error instanceof AuthenticationError && error.signInAgain && this.options.signIn) {
        throw await this.options.signIn.notSignedIn(`Your Basecamp sign-in has ended (Launchpad said: ${error.basecampMessage ?? error.status ?? 'refused'}).`);
      }
      throw error;
    }
    this.refreshes++;
    const next: StoredToken = {
      ...token,
      access_token: fresh.access_token,
      // Launchpad may keep the refresh token; never lose the old one when it does.
      refresh_token: fresh.refresh_token ?? token.refresh_token,
      expires_at: expiresAtFrom(fresh.expires_in),
    };
    this.save(token, next);
    return next.access_token;
  }

  /** Writes the refreshed token back; when the file cannot take it, keeps it in memory and says how to fix that, once. */
  private save(previous: StoredToken, next: StoredToken): void {
    try {
      this.store.write(next);
      log.info(`refreshed the Basecamp access token (saved to ${this.store.path})`);
    } catch (error) {
      const warnNow = this.unsaved === undefined;
      this.unsaved = { replaces: this.unsaved?.replaces ?? previous.access_token, token: next };
      if (!warnNow) return;
      log.warn(
        `refreshed the Basecamp access token but cannot save it to ${this.store.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); ` +
          `it is kept in memory for this process only, and a restart may need \`${shellCommand('login')}\`. ` +
          'Make the file and its directory writable by this user, or point BASECAMP_TOKEN_FILE at a writable path.',
      );
    }
  }
}
