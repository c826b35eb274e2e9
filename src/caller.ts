import type { AuthInfo } from '@modelcontextprotocol/server';

/**
 * WHO IS CALLING: one small concept, derived once per request and passed down to the server that serves it.
 * Its `name` is what the audit trail records (`caller`) and what `list_changes` filters by; its `role` decides
 * which tools exist for it (src/tools/roles.ts). Over HTTP the front door derives it from the bearer token
 * (src/transports/http-keys.ts) and hands it to the SDK as `authInfo` (`callerAuthInfo`), which gives it back to
 * the server factory (`callerOf`); a 2025-era session keeps the caller that opened it. Anything that must be tied
 * to "the caller" (a sealed request state, a signed-in person under OAuth) goes through `callerOf` and `callerKey`.
 */

/** reader: read-only tools; operator: reads, invitations and grants (no revoke, no offboarding); admin: everything. */
export const ROLES = ['reader', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  /**
   * A named key's name, `MCP_HTTP_TOKEN`, `anonymous` (HTTP on loopback with no key set) or `stdio`; under
   * `MCP_AUTH=oauth`, the signed-in person's email (or `basecamp:<identity id>` when Basecamp gives none).
   */
  readonly name: string;
  readonly role: Role;
  /** Under `MCP_AUTH=oauth`: the Launchpad identity signed in, whose own Basecamp credentials the call uses. */
  readonly identity?: CallerIdentity;
}

/** A person signed in through Launchpad (the identity id is Launchpad's, the same on every account). */
export interface CallerIdentity {
  readonly id: number;
  readonly email: string | null;
}

/** The one client of a stdio server: whoever started the process, with everything its settings allow. */
export const STDIO_CALLER: Caller = Object.freeze({ name: 'stdio', role: 'admin' });
/** HTTP on loopback with no key set: no way to tell clients apart, and each may do everything (as before keys). */
export const ANONYMOUS_CALLER: Caller = Object.freeze({ name: 'anonymous', role: 'admin' });
/** The caller that presents MCP_HTTP_TOKEN: one admin key. */
export const TOKEN_CALLER: Caller = Object.freeze({ name: 'MCP_HTTP_TOKEN', role: 'admin' });
/** Names no key may take: they mean the callers above. */
export const RESERVED_NAMES: readonly string[] = [STDIO_CALLER.name, ANONYMOUS_CALLER.name, TOKEN_CALLER.name];

/** Where the caller rides in the SDK's AuthInfo (`extra`). */
const CALLER_KEY = 'basecamp-people-mcp/caller';

/** The caller as the SDK's AuthInfo: set on the request (`req.auth`) so the SDK hands it to the server factory. No token is kept. */
export function callerAuthInfo(caller: Caller): AuthInfo {
  return { token: '', clientId: caller.name, scopes: [caller.role], extra: { [CALLER_KEY]: caller } };
}

/** The caller back from the AuthInfo the SDK passes on. Missing means a request that skipped the front door: a bug. */
export function callerOf(authInfo: AuthInfo | undefined): Caller {
  const caller = authInfo?.extra?.[CALLER_KEY] as Caller | undefined;
  if (!caller || typeof caller.name !== 'string' || !(ROLES as readonly string[]).includes(caller.role) || (caller.identity !== undefined && !Number.isSafeInteger(caller.identity.id))) {
    throw new Error('No caller on this request: it did not pass the front door.');
  }
  return caller;
}

/**
 * What identifies a caller for binding things to it (a session, a sealed state): the same key, name and role; a
 * signed-in person by their Launchpad identity alone (an email can change, the identity cannot; a person is the same
 * caller from every MCP client they sign in with).
 */
export function callerKey(caller: Caller): string {
  return caller.identity ? `oauth:${caller.identity.id}` : `${caller.role}:${caller.name}`;
}

/** Whether two callers are the same one. */
export function sameCaller(a: Caller, b: Caller): boolean {
  return callerKey(a) === callerKey(b);
}
