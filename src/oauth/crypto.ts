import { createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, hkdfSync, randomBytes } from 'node:crypto';
import { ConfigurationError } from '../errors.js';
import type { ProviderKeys } from './keys.js';

/**
 * MCP_TOKEN_KEY and what is derived from it (docs/design/oauth.md §2.2): the key that seals what the OAuth store
 * writes (SealBox), and the authorization server's cookie and signing keys (deriveProviderKeys). Each use has its
 * own HKDF-SHA256 subkey, so no two uses share a key, and every instance of a fleet derives the same ones.
 */

const HOW_TO_MAKE = 'Make one with `openssl rand -base64 32` and keep it: every instance of a fleet needs the same one, and a new key signs everyone out.';

/** MCP_TOKEN_KEY as 32 bytes: base64 (standard or URL alphabet, padded or not) or 64 hex characters. Never echoes the value. */
export function parseTokenKey(text: string): Buffer {
  const value = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(value)) return Buffer.from(value, 'hex');
  // 32 bytes are 43 base64 characters and one '=' of padding.
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) {
    const bytes = Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (bytes.length === 32) return bytes;
  }
  throw new ConfigurationError(
    `MCP_TOKEN_KEY must be 32 random bytes, written as base64 (44 characters) or as 64 hex characters (it is ${value.length ? `${value.length} characters that are neither` : 'empty'}). ${HOW_TO_MAKE}`,
  );
}

function subkey(key: Buffer, label: string, length = 32): Buffer {
  if (key.length !== 32) throw new RangeError('MCP_TOKEN_KEY must be 32 bytes (parseTokenKey).');
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `basecamp-people-mcp ${label}`, length));
}

/** A sealed value that does not open: tampered with, moved to another key, or sealed with another MCP_TOKEN_KEY. */
export class SealOpenError extends Error {
  constructor() {
    super('A sealed value did not open: it was altered, moved from another record, or sealed with another MCP_TOKEN_KEY.');
    this.name = 'SealOpenError';
  }
}

const b64url = (bytes: Buffer): string => bytes.toString('base64url');

/**
 * AES-256-GCM with a random 12-byte IV and the record's key as associated data: `v1.<iv>.<tag>.<ct>` (base64url).
 * A value moved to another key, altered, or opened with another MCP_TOKEN_KEY throws SealOpenError.
 */
export class SealBox {
  private readonly key: Buffer;
  private readonly ivKey: Buffer;

  constructor(tokenKey: Buffer) {
    this.key = subkey(tokenKey, 'bpm oauth store v1');
    this.ivKey = subkey(tokenKey, 'bpm oauth store v1 fixed iv');
  }

  seal(key: string, plaintext: string): string {
    return this.sealWith(randomBytes(12), key, plaintext);
  }

  /**
   * The same sealed text for the same key and plaintext (the IV is an HMAC of both), so a Redis set can hold sealed
   * members without duplicates. It shows only that two members are equal; use `seal` for everything else.
   */
  sealFixed(key: string, plaintext: string): string {
    const iv = createHmac('sha256', this.ivKey).update(key).update('\0').update(plaintext).digest().subarray(0, 12);
    return this.sealWith(iv, key, plaintext);
  }

  private sealWith(iv: Buffer, key: string, plaintext: string): string {
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(key, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return `v1.${b64url(iv)}.${b64url(cipher.getAuthTag())}.${b64url(ct)}`;
  }

  open(key: string, sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== 'v1') throw new SealOpenError();
    const [, iv, tag, ct] = parts.map((p) => Buffer.from(p, 'base64url')) as [Buffer, Buffer, Buffer, Buffer];
    if (iv.length !== 12 || tag.length !== 16) throw new SealOpenError();
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(key, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
    } catch {
      throw new SealOpenError();
    }
  }
}

/** PKCS#8 DER of an Ed25519 private key, up to its 32-byte seed. */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** The authorization server's cookie keys and Ed25519 signing key, from MCP_TOKEN_KEY: the same key in, the same keys out. */
export function deriveProviderKeys(key: Buffer): ProviderKeys {
  const cookieKey = b64url(subkey(key, 'oidc-cookies'));
  const seed = subkey(key, 'oidc-signing-key');
  const jwk = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' }).export({ format: 'jwk' });
  const { d, x } = jwk as { d: string; x: string };
  const kid = b64url(createHash('sha256').update(x).digest().subarray(0, 12));
  return { cookieKeys: [cookieKey], signingJwk: { kty: 'OKP', crv: 'Ed25519', d, x, kid, alg: 'EdDSA', use: 'sig' } };
}
