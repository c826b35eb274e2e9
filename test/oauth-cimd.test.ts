import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, StreamableHTTPClientTransport, UnauthorizedError } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { MemoryOAuthStore } from '../src/oauth/store.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { singleService } from '../src/service-source.js';
import { serveHttp, type HttpServer } from '../src/transports/http.js';
import { freePort, OWNER, sandboxService, type ToolResult } from './helpers.js';
import { browse, BrowseStopped, TestClientAuth, testProviderKeys } from './oauth-helpers.js';

/**
 * Client ID Metadata Documents (MCP 2026: a client is the https URL of its own metadata): the SDK client uses one when
 * the server advertises them, with no registration; a document whose redirect URIs break the rule (https, or http on
 * loopback), or that holds a client secret, is refused. Documents are served on 127.0.0.1 and reached through an
 * injected fetch mapping https://cimd.test/… there (oidc-provider's own fetch refuses loopback addresses).
 */

const REDIRECT = 'http://127.0.0.1:9/callback';
const CIMD = 'https://cimd.test';

let sb: Sandbox | undefined;
let service: Service | undefined;
let http: HttpServer | undefined;
let docs: Server | undefined;
const fetched: string[] = [];
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await http?.drain(100);
  await service?.close();
  await sb?.close();
  await new Promise((r) => (docs ? docs.close(r) : r(undefined)));
  sb = service = http = docs = undefined;
  fetched.length = 0;
});

const DOCUMENTS: Record<string, Record<string, unknown>> = {
  '/client.json': { redirect_uris: [REDIRECT], client_name: 'CIMD Client', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' },
  '/bad-redirect.json': { redirect_uris: ['http://evil.example/cb'], client_name: 'Bad Redirect', token_endpoint_auth_method: 'none' },
  '/secret.json': { redirect_uris: [REDIRECT], client_name: 'With Secret', token_endpoint_auth_method: 'none', client_secret: 'shh' },
};

async function start(): Promise<{ url: string; publicUrl: string }> {
  docs = createServer((req, res) => {
    const doc = DOCUMENTS[req.url ?? ''];
    fetched.push(req.url ?? '');
    if (!doc) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ client_id: `${CIMD}${req.url}`, ...doc }));
  });
  await new Promise<void>((r) => docs!.listen(0, '127.0.0.1', r));
  const docsPort = (docs.address() as AddressInfo).port;
  sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  http = await serveHttp(singleService(service), {
    port,
    oauth: {
      publicUrl,
      store: new MemoryOAuthStore(),
      keys: testProviderKeys(),
      launchpad: { url: sb.url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', userAgent: 'cimd-test' },
      accountId: sb.accountId,
      // Only cimd.test is mapped (to loopback, without oidc-provider's SSRF-guarding dispatcher); anything else fails.
      fetch: (url, init) => {
        if (!url.startsWith(`${CIMD}/`)) return Promise.reject(new Error(`unexpected fetch ${url}`));
        const { dispatcher: _dispatcher, ...rest } = init;
        return fetch(url.replace(CIMD, `http://127.0.0.1:${docsPort}`), rest);
      },
    },
  });
  return { url: http.url, publicUrl };
}

/** A client known by its metadata document's URL (no registration). */
class CimdClientAuth extends TestClientAuth {
  clientMetadataUrl = `${CIMD}/client.json`;
  constructor() {
    super(REDIRECT);
  }
  override get clientMetadata(): TestClientAuth['clientMetadata'] {
    return { ...DOCUMENTS['/client.json']!, redirect_uris: [REDIRECT] };
  }
}

describe('MCP_AUTH=oauth: Client ID Metadata Documents', () => {
  it('advertised; the SDK client signs in with its document URL as client_id, without registering', async () => {
    const s = await start();
    const as = (await (await fetch(`${s.publicUrl}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as.client_id_metadata_document_supported).toBe(true);
    const auth = new CimdClientAuth();
    const first = new Client({ name: 'cimd', version: '1.0.0' });
    const t1 = new StreamableHTTPClientTransport(new URL(s.url), { authProvider: auth });
    await expect(first.connect(t1)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(auth.authorizationUrl!.searchParams.get('client_id')).toBe(`${CIMD}/client.json`);
    const back = await browse(auth.authorizationUrl!.toString(), { stopAt: REDIRECT, as: OWNER, consent: 'allow' });
    await t1.finishAuth(back.query);
    const client = new Client({ name: 'cimd', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(s.url), { authProvider: auth }));
    closers.push(() => client.close());
    expect(((await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult).isError).toBeFalsy();
    expect(fetched).toContain('/client.json');
    expect(sb!.requests.some((r) => r.path === '/register')).toBe(false);
  });

  it.each([
    ['a redirect URI off the rule (http, not loopback)', '/bad-redirect.json'],
    ['a client secret', '/secret.json'],
  ])('a document with %s is refused at /authorize, before any consent', async (_what, path) => {
    const s = await start();
    const url = new URL(`${s.publicUrl}/authorize`);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: `${CIMD}${path}`, redirect_uri: path === '/secret.json' ? REDIRECT : 'http://evil.example/cb', scope: 'mcp', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    const attempt = browse(url.toString(), { stopAt: 'http://evil.example/', as: OWNER, consent: 'allow' });
    await expect(attempt).rejects.toBeInstanceOf(BrowseStopped);
    const stopped = (await attempt.catch((e: unknown) => e)) as BrowseStopped;
    expect(stopped.status).toBe(400);
    expect(stopped.text).toMatch(/invalid_client/);
    expect(fetched).toContain(path);
  });

  it('the consent page names a document client with the host its document came from (the name is its own claim)', async () => {
    const s = await start();
    const url = new URL(`${s.publicUrl}/authorize`);
    for (const [k, v] of Object.entries({ response_type: 'code', client_id: `${CIMD}/client.json`, redirect_uri: REDIRECT, scope: 'mcp', resource: `${s.publicUrl}/mcp`, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })) url.searchParams.set(k, v);
    const stopped = (await browse(url.toString(), { stopAt: REDIRECT, as: OWNER }).catch((e: unknown) => e)) as BrowseStopped;
    expect(stopped).toBeInstanceOf(BrowseStopped);
    expect(stopped.status).toBe(200);
    expect(stopped.text).toContain('<strong>CIMD Client, described by cimd.test</strong>');
  });
});
