import { request as httpRequest } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { tools as registry } from '../src/tools/index.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { serveHttp, type HttpServeOptions, type HttpServer } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { sandboxService, type ToolResult } from './helpers.js';

const TOKEN = 'mcp-client-token-for-tests-0123456789';
let sb: Sandbox | undefined;
let service: Service | undefined;
let http: HttpServer | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await http?.drain(100);
  await service?.close();
  await sb?.close();
  http = service = sb = undefined;
});

async function start(options: HttpServeOptions = {}, people = 120) {
  sb = await startSandbox({ people, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  http = await serveHttp(singleService(service), { port: 0, token: TOKEN, ...options });
  return { sb, http };
}

async function connect(url: string, token: string | undefined = TOKEN): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined,
  });
  const client = new Client({ name: 'http-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** A raw POST with full control of Host and other headers. */
function rawPost(url: string, headers: Record<string, string>, body = initBody): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('streamable HTTP', () => {
  it('serves the same tools as stdio, with the token', async () => {
    const { http } = await start();
    const { client } = await connect(http.url);
    expect((await client.listTools()).tools).toHaveLength(registry.length);
    const r = (await client.callTool({ name: 'get_person', arguments: { email: 'jan@acme.example' } })) as ToolResult;
    expect(r.structuredContent).toMatchObject({ person: { id: 1000003 } });
  });

  it('never forwards the client bearer token to Basecamp', async () => {
    const { sb, http } = await start();
    const { client } = await connect(http.url);
    await client.callTool({ name: 'list_people', arguments: {} });
    const sent = sb.apiRequests().map((r) => r.authorization);
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((a) => a === `Bearer ${sb.token}`)).toBe(true);
  });

  it('401 with WWW-Authenticate for a missing or wrong token, in constant-time comparison', async () => {
    const { http } = await start();
    const none = await rawPost(http.url, {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="basecamp-people-mcp"');
    const wrong = await rawPost(http.url, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    await expect(connect(http.url, 'wrong-token')).rejects.toThrow(/401|Unauthorized/);
    expect((await rawPost(http.url, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('403 for a foreign Origin, on by default; own origin and MCP_ALLOWED_ORIGINS pass', async () => {
    const { http } = await start({ allowedOrigins: ['https://agents.example'] });
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await rawPost(http.url, { ...auth, origin: 'http://evil.example' })).status).toBe(403);
    expect((await rawPost(http.url, { ...auth, origin: 'null' })).status).toBe(403);
    expect((await rawPost(http.url, { ...auth, origin: new URL(http.url).origin })).status).toBe(200);
    expect((await rawPost(http.url, { ...auth, origin: 'https://agents.example' })).status).toBe(200);
  });

  it('403 for a foreign Host (DNS rebinding)', async () => {
    const { http } = await start();
    const port = new URL(http.url).port;
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await rawPost(http.url, { ...auth, host: `evil.example:${port}` })).status).toBe(403);
    expect((await rawPost(http.url, { ...auth, host: `localhost:${port}` })).status).toBe(200);
  });

  it('413 for an oversize body', async () => {
    const { http } = await start({ maxBodyBytes: 2_000 });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5_000) } });
    const r = await rawPost(http.url, { authorization: `Bearer ${TOKEN}` }, big);
    expect(r.status).toBe(413);
  });

  it('refuses to start off loopback without MCP_HTTP_TOKEN', async () => {
    sb = await startSandbox();
    service = sandboxService(sb);
    await expect(serveHttp(singleService(service), { host: '0.0.0.0', port: 0 })).rejects.toThrow(/without MCP_HTTP_TOKEN/);
  });

  it('serves unauthenticated on loopback without a token', async () => {
    const { http } = await start({ token: undefined });
    const { client } = await connect(http.url, undefined);
    expect((await client.listTools()).tools.length).toBe(registry.length);
  });

  it('/healthz answers without auth and without calling Basecamp', async () => {
    const { sb, http } = await start();
    const r = await request(http.url.replace('/mcp', '/healthz'));
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toMatchObject({ status: 'ok' });
    expect(sb.apiRequests()).toHaveLength(0);
  });

  it('sessions: secure random ids, 404 for an unknown one, DELETE ends one', async () => {
    const { http } = await start();
    const { client, transport } = await connect(http.url);
    const id = transport.sessionId!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(http.sessions()).toBe(1);
    const unknown = await rawPost(http.url, { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': 'not-a-session' }, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }));
    expect(unknown.status).toBe(404);
    await transport.terminateSession();
    expect(http.sessions()).toBe(0);
    const after = await rawPost(http.url, { authorization: `Bearer ${TOKEN}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' }, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'ping' }));
    expect(after.status).toBe(404);
    await client.close().catch(() => undefined);
  });

  it('limits live sessions and expires idle ones', async () => {
    const { http } = await start({ maxSessions: 2, sessionIdleMs: 400 });
    await connect(http.url);
    await connect(http.url);
    expect(http.sessions()).toBe(2);
    const third = await rawPost(http.url, { authorization: `Bearer ${TOKEN}` });
    expect(third.status).toBe(503);
    await new Promise((r) => setTimeout(r, 1_600));
    expect(http.sessions()).toBe(0);
    expect((await rawPost(http.url, { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
  });

  it('stateless mode: no session id, a fresh server per request, GET refused', async () => {
    const { http } = await start({ stateless: true });
    const { client, transport } = await connect(http.url);
    expect(transport.sessionId).toBeUndefined();
    expect(((await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult).isError).toBeFalsy();
    const { client: other } = await connect(http.url);
    expect((await other.listTools()).tools).toHaveLength(registry.length);
    expect(http.sessions()).toBe(0);
    const get = await request(http.url, { headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' } });
    expect(get.statusCode).toBe(405);
    await get.body.dump();
  });

  it('progress notifications reach the client over HTTP', async () => {
    const { http } = await start();
    const { client } = await connect(http.url);
    const progress: number[] = [];
    const r = (await client.callTool({ name: 'trash_person', arguments: { email: 'jan@acme.example', dry_run: true } }, undefined, {
      onprogress: (p) => progress.push(p.progress),
    })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect(progress.length).toBeGreaterThan(3);
  });

  it('cancellation over HTTP stops the work: later pages are never requested', async () => {
    const { sb, http } = await start({}, 500);
    sb.intercept((req) => (req.path.includes('/people.json') ? { delayMs: 500 } : undefined));
    const { client } = await connect(http.url);
    const controller = new AbortController();
    const pending = client.callTool({ name: 'list_people', arguments: {} }, undefined, { signal: controller.signal });
    setTimeout(() => controller.abort(), 700);
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 1_500));
    const pages = sb.requests.filter((r) => r.path.includes('/people.json')).length;
    expect(pages).toBeLessThanOrEqual(3); // 500 people are 8 pages (5 by now without cancellation); it stopped
  });

  it('draining lets an in-flight call finish, then refuses new connections', async () => {
    const { sb, http } = await start();
    sb.intercept((req) => (req.path.includes('/account.json') ? { delayMs: 600 } : undefined));
    const { client } = await connect(http.url);
    const slow = client.callTool({ name: 'get_account', arguments: {} });
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    const drained = http.drain(5_000);
    const result = (await slow) as ToolResult;
    expect(result.isError).toBeFalsy();
    await drained;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await expect(request(http.url.replace('/mcp', '/healthz'))).rejects.toThrow();
    clients.splice(0);
  });
});
