/**
 * The keys the authorization server signs and seals with, all derived from MCP_TOKEN_KEY (src/oauth/crypto.ts), so
 * every instance of a fleet has the same ones with nothing stored: the cookie keys of its interaction pages and
 * the private key of its JWKS (Ed25519; it issues no ID tokens, but a provider must have one).
 */
export interface ProviderKeys {
  /** Keys that sign the provider's cookies (newest first). */
  cookieKeys: string[];
  /** A private Ed25519 key as a JWK (`kty: 'OKP'`, `crv: 'Ed25519'`, `d`, `x`, `kid`, `alg: 'EdDSA'`, `use: 'sig'`). */
  signingJwk: { kty: 'OKP'; crv: 'Ed25519'; d: string; x: string; kid: string; alg: 'EdDSA'; use: 'sig' };
}
