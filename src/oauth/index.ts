/**
 * Everything of MCP_AUTH=oauth that serve.ts and the HTTP transport load, through this one module: imported only
 * when OAuth is on, so the whole of it (oidc-provider, Koa, the stores, the person credentials) is one chunk of the
 * bundle that stdio and keys mode never load.
 */
export { createOAuthServer, type OAuthServeOptions, type OAuthServer } from './server.js';
export { openOAuthStore } from './open-store.js';
export { deriveProviderKeys } from './crypto.js';
export { personCredentialsFor } from './person-credentials.js';
