import { AuthenticationError, TokenRefreshUnavailableError } from '../basecamp/errors.js';
import type { Credentials } from '../basecamp/http.js';
import { NotSignedInError } from '../errors.js';
import { log } from '../log.js';
import { expiresAtFrom, refreshAccessToken, type OAuthClient } from '../auth/oauth.js';
import { personKey, type OAuthStore, type PersonRecord } from './store.js';
import { revokeSignIn } from './adapter.js';
import type { CallerIdentity } from '../caller.js';

/** A sign-in through this server lasts at most this long from `signed_in_at` (docs/design/oauth.md §2.2: 30 days, absolute). */
export const SIGN_IN_LIFETIME_MS = 30 * 86_400_000;

const SIGN_IN_AGAIN = 'Sign in again from your MCP client (reconnect this server there, or sign out of it and back in).';

/**
 * The person is not signed in to this server any more (no stored Basecamp tokens: never, ended, or Launchpad refused
 * them). Their MCP client must sign in again; nothing was sent to Basecamp.
 */
export class SignedOutError extends NotSignedInError {
  constructor(
    readonly identityId: number,
    reason = 'Your Basecamp sign-in through this server has ended.',
  ) {
    super(`${reason} ${SIGN_IN_AGAIN}`);
  }
}

export interface PersonCredentialsOptions {
  store: OAuthStore;
  /** The Launchpad identity whose tokens these are (`person:<id>`). */
  identityId: number;
  launchpadUrl: string;
  /** The server's Launchpad app (BASECAMP_CLIENT_ID, BASECAMP_CLIENT_SECRET): refreshes go through it. */
  client: OAuthClient;
  userAgent: string;
  now?: () => number;
  /** Refresh this long before the token expires (default 60 s). */
  refreshSkewMs?: number;
  /** How often an instance waiting for another's refresh looks at the record again (default 250 ms). */
  pollMs?: number;
  /** How long the refresh lock lasts when its holder dies (default 30 s); a waiter gives up a little after it. */
  lockTtlMs?: number;
  /** The person's sign-in is over (Launchpad refused the refresh token): their MCP grants should go too. */
  onSignedOut?: (identityId: number) => Promise<void> | void;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * One signed-in person's own Basecamp credentials under MCP_AUTH=oauth, read from the OAuth store (`person:<id>`,
 * written at sign-in). Refreshed shortly before they expire, one refresh at a time per person across the fleet: the
 * instance that takes the store's lock `refresh:<id>` re-reads the record (another may have just refreshed),
 * refreshes and writes it back; the others watch the record until the new token is there. In one process, concurrent
 * callers share one refresh. A refresh token Launchpad refuses ends the sign-in: the record is deleted and
 * `onSignedOut` told. No token is ever logged or put in a message.
 */
export class PersonCredentials implements Credentials {
  private refreshing: { stale: string; promise: Promise<string> } | undefined;
  private readonly now: () => number;
  private readonly skewMs: number;
  private readonly pollMs: number;
  private readonly lockTtlMs: number;
  private readonly key: string;

  constructor(private readonly options: PersonCredentialsOptions) {
    this.now = options.now ?? Date.now;
    this.skewMs = options.refreshSkewMs ?? 60_000;
    this.pollMs = options.pollMs ?? 250;
    this.lockTtlMs = options.lockTtlMs ?? 30_000;
    this.key = personKey(options.identityId);
  }

  private async read(): Promise<PersonRecord | undefined> {
    const text = await this.options.store.get(this.key);
    return text === undefined ? undefined : (JSON.parse(text) as PersonRecord);
  }

  private async record(): Promise<PersonRecord> {
    const record = await this.read();
    if (!record) throw new SignedOutError(this.options.identityId);
    return record;
  }

  private expiring(record: PersonRecord): boolean {
    const expires = record.expires_at === undefined ? Number.NaN : Date.parse(record.expires_at);
    return Number.isFinite(expires) && expires - this.skewMs <= this.now();
  }

  async accessToken(signal?: AbortSignal): Promise<string> {
    if (this.refreshing) return this.refreshing.promise;
    const record = await this.record();
    if (this.expiring(record) && record.refresh_token) return this.refresh(record.access_token, signal);
    return record.access_token;
  }

  async recoverFromUnauthorized(rejectedToken: string, _basecampMessage?: string, signal?: AbortSignal): Promise<boolean> {
    if (this.refreshing) return (await this.refreshing.promise) !== rejectedToken;
    const record = await this.record();
    if (record.access_token !== rejectedToken) return true; // already replaced (a refresh here or on another instance)
    if (!record.refresh_token) return false;
    return (await this.refresh(rejectedToken, signal)) !== rejectedToken;
  }

  unauthorizedAdvice(): string {
    return `Basecamp no longer accepts your sign-in through this server. ${SIGN_IN_AGAIN}`;
  }

  /** Replaces `stale`: one refresh per process at a time, everyone who asks meanwhile gets its result. */
  private refresh(stale: string, signal?: AbortSignal): Promise<string> {
    if (this.refreshing) return this.refreshing.promise;
    const promise = this.refreshAcrossFleet(stale, signal).finally(() => {
      this.refreshing = undefined;
    });
    this.refreshing = { stale, promise };
    return promise;
  }

  /**
   * Takes the fleet's lock for this person and refreshes, or, while another instance holds it, watches the record
   * for the token that replaces `stale`. A holder that died lets its lock lapse (lockTtlMs): then this one refreshes.
   */
  private async refreshAcrossFleet(stale: string, signal?: AbortSignal): Promise<string> {
    const { store, identityId } = this.options;
    const giveUpAt = this.now() + this.lockTtlMs + 4 * this.pollMs;
    for (;;) {
      const release = await store.tryLock(`refresh:${identityId}`, this.lockTtlMs);
      if (release) {
        try {
          const record = await this.record();
          if (record.access_token !== stale) return record.access_token; // another instance refreshed just before
          return await this.refreshNow(record);
        } finally {
          await release().catch(() => undefined); // it lapses by itself
        }
      }
      await sleep(this.pollMs, signal);
      const record = await this.record();
      if (record.access_token !== stale) return record.access_token;
      if (this.now() >= giveUpAt) {
        throw new TokenRefreshUnavailableError(
          'The Basecamp token needs refreshing and another instance of this server has been refreshing it for too long. Your sign-in is kept; try again in a minute.',
        );
      }
    }
  }

  private async refreshNow(record: PersonRecord): Promise<string> {
    const { store, identityId } = this.options;
    const left = Date.parse(record.signed_in_at) + SIGN_IN_LIFETIME_MS - this.now();
    if (!(left > 0)) {
      await this.signOut();
      throw new SignedOutError(identityId, 'Your Basecamp sign-in through this server is more than 30 days old.');
    }
    let fresh;
    try {
      fresh = await refreshAccessToken(this.options.launchpadUrl, this.options.client, record.refresh_token!, this.options.userAgent);
    } catch (error) {
      if (error instanceof AuthenticationError && error.signInAgain) {
        await this.signOut();
        throw new SignedOutError(identityId, `Launchpad no longer accepts your Basecamp sign-in (${error.basecampMessage || error.status || 'refused'}).`);
      }
      throw error;
    }
    const next: PersonRecord = {
      ...record,
      access_token: fresh.access_token,
      // Launchpad keeps the refresh token; never lose the old one when it sends none.
      refresh_token: fresh.refresh_token ?? record.refresh_token,
      expires_at: expiresAtFrom(fresh.expires_in, this.now()),
    };
    await store.set(this.key, JSON.stringify(next), left);
    log.info(`refreshed the Basecamp access token of Launchpad identity ${identityId}`);
    return next.access_token;
  }

  /** The sign-in is over: its tokens go, and whoever keeps the person's MCP grants is told. */
  private async signOut(): Promise<void> {
    const { store, identityId, onSignedOut } = this.options;
    await store.del(this.key);
    log.warn(`the Basecamp sign-in of Launchpad identity ${identityId} has ended; they must sign in again from their MCP client`);
    try {
      await onSignedOut?.(identityId);
    } catch (error) {
      log.warn(`after the sign-in of Launchpad identity ${identityId} ended, revoking its MCP grants failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/**
 * Each signed-in person's credentials under MCP_AUTH=oauth (personServices' credentialsFor): their tokens in the OAuth
 * store, refreshed through the server's Launchpad app. When Launchpad refuses their refresh token their sign-in here
 * ends too: every grant they hold is revoked (their MCP client gets 401 and signs in again).
 */
export function personCredentialsFor(
  store: OAuthStore,
  launchpad: { url: string; clientId: string; clientSecret: string; userAgent: string },
): (identity: CallerIdentity) => Credentials {
  return (identity) =>
    new PersonCredentials({
      store,
      identityId: identity.id,
      launchpadUrl: launchpad.url,
      client: { clientId: launchpad.clientId, clientSecret: launchpad.clientSecret },
      userAgent: launchpad.userAgent,
      onSignedOut: (id) => revokeSignIn(store, id),
    });
}
