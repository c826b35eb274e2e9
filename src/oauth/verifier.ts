import { OAuthError, OAuthErrorCode, type AuthInfo, type OAuthTokenVerifier } from '@modelcontextprotocol/server';
import type { Provider } from 'oidc-provider';
import { callerAuthInfo, type Caller } from '../caller.js';
import { emailAllowed } from './interaction.js';
import { personKey, type OAuthStore, type PersonRecord } from './store.js';

/**
 * An access token → the caller it stands for (src/caller.ts): the signed-in person, role `admin` (Basecamp's own
 * permissions limit them), named by their email. Refused (401 invalid_token): unknown, expired or revoked tokens, a
 * token whose grant is gone, a person whose Basecamp tokens are no longer stored (signed out, or their Launchpad
 * grant died), and a person MCP_OAUTH_ALLOWED no longer lets in (the list narrowed since they signed in): the client
 * then signs in again. The SDK's verifyBearerToken checks the audience and expiry after this.
 */
export function oauthVerifier(provider: Provider, store: OAuthStore, allowed?: readonly string[]): OAuthTokenVerifier {
  const refuse = (why: string) => new OAuthError(OAuthErrorCode.InvalidToken, why);
  return {
    async verifyAccessToken(token: string): Promise<AuthInfo> {
      const found = await provider.AccessToken.find(token).catch(() => undefined);
      if (!found || found.isExpired) throw refuse('The access token is unknown, expired or revoked: sign in again.');
      const id = /^bc:(\d{1,15})$/.exec(found.accountId)?.[1];
      if (!id || !(await provider.Grant.find(found.grantId))) throw refuse('This sign-in has ended: sign in again.');
      const raw = await store.get(personKey(Number(id)));
      if (!raw) throw refuse('This sign-in has ended: sign in again.');
      const person = JSON.parse(raw) as PersonRecord;
      if (!emailAllowed(person.identity.email, allowed)) throw refuse('MCP_OAUTH_ALLOWED no longer lets this person in.');
      const caller: Caller = { name: person.identity.email ?? `basecamp:${id}`, role: 'admin', identity: { id: Number(id), email: person.identity.email } };
      const audience = Array.isArray(found.aud) ? found.aud[0] : found.aud;
      return { ...callerAuthInfo(caller), expiresAt: found.exp, ...(audience ? { resource: new URL(audience) } : {}) };
    },
  };
}
