import { createHash } from 'node:crypto';
import { personKey, type OAuthStore } from './store.js';
import type { AdapterPayload, OidcAdapter } from 'oidc-provider';

/**
 * The authorization server's storage (oidc-provider's Adapter) over any OAuthStore: clients, grants, sessions,
 * interactions, codes, access and refresh tokens. Each record's key is `oidc:<model>:<sha256(id)>`: an opaque token's
 * id is the token itself, so no token is ever a key in clear (the backend seals the values). Indexes: `grant:<grantId>`
 * lists every record of a grant (revokeByGrantId: a refresh token reused, a sign-in revoked); `oidc-uid:<uid>` finds a
 * session by its uid. Records expire with their artifact (`expiresIn`), indexes no sooner than what they list.
 */

const hash = (id: string): string => createHash('sha256').update(id).digest('hex');

/** What is kept under a record's key: the payload, and when it expires (ms since the epoch; undefined: never). */
interface Stored {
  p: AdapterPayload;
  exp?: number;
}

export const grantIndexKey = (grantId: string): string => `grant:${grantId}`;
/** The grants a signed-in person holds (written when their sign-in finishes: interaction.ts). */
export const grantsOfKey = (identityId: number): string => `grants-of:${identityId}`;

/** Every record of a grant: its tokens, codes and the grant itself. */
export async function revokeGrant(store: OAuthStore, grantId: string): Promise<void> {
  const index = grantIndexKey(grantId);
  for (const key of await store.members(index)) await store.del(key);
  await store.del(index);
}

/**
 * A person's sign-in is over (Launchpad refused their refresh token): every grant they hold here goes, with its
 * access and refresh tokens, and their Basecamp tokens; their MCP client gets 401 and signs in again.
 */
export async function revokeSignIn(store: OAuthStore, identityId: number): Promise<void> {
  const grants = grantsOfKey(identityId);
  for (const grantId of await store.members(grants)) await revokeGrant(store, grantId);
  await store.del(grants);
  await store.del(personKey(identityId));
}

/** The Adapter class oidc-provider instantiates once per model name, over this store. */
export function adapterFor(store: OAuthStore, now: () => number = Date.now): new (name: string) => OidcAdapter {
  return class StoreAdapter implements OidcAdapter {
    constructor(private readonly name: string) {}

    private key(id: string): string {
      return `oidc:${this.name}:${hash(id)}`;
    }

    private async read(key: string): Promise<AdapterPayload | undefined> {
      const raw = await store.get(key);
      if (raw === undefined) return undefined;
      const stored = JSON.parse(raw) as Stored;
      return stored.exp !== undefined && stored.exp <= now() ? undefined : stored.p;
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
      const key = this.key(id);
      const ttlMs = expiresIn && expiresIn > 0 ? expiresIn * 1000 : undefined;
      const stored: Stored = { p: payload, ...(ttlMs ? { exp: now() + ttlMs } : {}) };
      await store.set(key, JSON.stringify(stored), ttlMs);
      if (this.name === 'Grant') await store.addToSet(grantIndexKey(id), key, ttlMs);
      if (typeof payload.grantId === 'string') await store.addToSet(grantIndexKey(payload.grantId), key, ttlMs);
      if (typeof payload.uid === 'string') await store.set(`oidc-uid:${hash(payload.uid)}`, id, ttlMs);
      if (typeof payload.userCode === 'string') await store.set(`oidc-usercode:${hash(payload.userCode)}`, id, ttlMs);
    }

    find(id: string): Promise<AdapterPayload | undefined> {
      return this.read(this.key(id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      const id = await store.get(`oidc-uid:${hash(uid)}`);
      return id === undefined ? undefined : this.find(id);
    }

    async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
      const id = await store.get(`oidc-usercode:${hash(userCode)}`);
      return id === undefined ? undefined : this.find(id);
    }

    /** Marks a code or refresh token used: presented again, oidc-provider revokes its whole grant. */
    async consume(id: string): Promise<void> {
      const key = this.key(id);
      const raw = await store.get(key);
      if (raw === undefined) return;
      const stored = JSON.parse(raw) as Stored;
      const left = stored.exp === undefined ? undefined : stored.exp - now();
      if (left !== undefined && left <= 0) return;
      stored.p.consumed = Math.floor(now() / 1000);
      await store.set(key, JSON.stringify(stored), left);
    }

    async destroy(id: string): Promise<void> {
      await store.del(this.key(id));
    }

    /** Every record of the grant, whatever its model (oidc-provider calls this once per model: the later calls find nothing). */
    revokeByGrantId(grantId: string): Promise<void> {
      return revokeGrant(store, grantId);
    }
  };
}
