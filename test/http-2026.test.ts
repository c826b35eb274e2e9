import { request as httpRequest } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { setLogLevel } from '../src/log.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import { serveHttp, type HttpServeOptions, type HttpServer } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { peopleReads, sandboxService, type ToolResult } from './helpers.js';

/**
 * MCP 2026-07-28 requests over HTTP: the front door holds for them exactly as for 2025 clients (token, Host,
 * Origin and CORS with the new headers, body limits, draining), and a 2026 client gets progress, cancellation and
 * log messages at the level its request asks for.
 */

const MODERN = '2026-07-28';
const TOKEN = 'front-door-2026-token-0123456789';
const META = {
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw-2026', version: '1' },
};
let sb: Sandbox | undefined;
let service: Service | undefined;
let http: HttpServer | undefined;
const clients: Client[] = [];

afterEach(async () => {
  setLogLevel('warn');
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await http?.drain(100);
  await service?.close();
  await sb?.close();
  http = service = sb = undefined;
});

async function start(options: HttpServeOptions = {}, people = 30): Promise<HttpServer> {
  sb = await startSandbox({ people, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  http = await serveHttp(singleService(service), { port: 0, token: TOKEN, ...options });
  return http;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ name: 'http-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  clients.push(client);
  return client;
}

/** A raw 2026-era POST: the body's method mirrored in Mcp-Method (and the tool in Mcp-Name), the envelope in _meta. */
function post2026(url: string, method: string, params: Record<string, unknown> = {}, headers: Record<string, string> = {}, body?: string): Promise<Response> {
  const name: Record<string, string> = typeof params.name === 'string' ? { 'mcp-name': params.name } : {};
  return fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': method,
      authorization: `Bearer ${TOKEN}`,
      ...name,
      ...headers,
    },
    body: body ?? JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: META } }),
  });
}

/** The status of a 2026 tools/list POST sent with a Host header of our choosing (fetch cannot set one). */
function statusWithHost(url: string, host: string): Promise<number> {
  const u = new URL(url);
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        agent: false,
        headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': 'tools/list', authorization: `Bearer ${TOKEN}` },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('the front door for 2026-07-28 requests', () => {
  it('the bearer token: none or a wrong one is 401 before MCP sees the request; the right one is served', async () => {
    const h = await start();
    expect((await post2026(h.url, 'tools/list', {}, { authorization: '' })).status).toBe(401);
    expect((await post2026(h.url, 'tools/list', {}, { authorization: 'Bearer wrong-token-0123456789abcdef' })).status).toBe(401);
    const ok = await post2026(h.url, 'tools/list');
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { result: { tools: unknown[] } }).result.tools.length).toBe(13);
    // No session was opened by any of them.
    expect(h.sessions()).toBe(0);
  });

  it('Host and Origin: a foreign one is 403; an allowed origin gets CORS grants for Mcp-Method, Mcp-Name and the Mcp-Param-* it asks for', async () => {
    const h = await start({ allowedOrigins: ['https://app.example'] });
    expect(await statusWithHost(h.url, 'evil.example')).toBe(403);
    expect(await statusWithHost(h.url, new URL(h.url).host)).toBe(200);
    expect((await post2026(h.url, 'tools/list', {}, { origin: 'http://evil.example' })).status).toBe(403);
    const preflight = await fetch(h.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'mcp-method, mcp-name, mcp-param-person_id, x-evil' },
    });
    expect(preflight.status).toBe(204);
    const granted = (preflight.headers.get('access-control-allow-headers') ?? '').split(',').map((s) => s.trim());
    for (const header of ['mcp-method', 'mcp-name', 'mcp-protocol-version', 'mcp-param-person_id', 'authorization']) expect(granted).toContain(header);
    expect(granted).not.toContain('x-evil');
    const served = await post2026(h.url, 'tools/list', {}, { origin: 'https://app.example' });
    expect(served.status).toBe(200);
    expect(served.headers.get('access-control-allow-origin')).toBe('https://app.example');
  });

  it('bodies: over the limit is 413, not JSON is 400; headers that disagree with the body are 400 (-32020); a batch of requests is refused', async () => {
    const h = await start({ maxBodyBytes: 2_000 });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META, pad: 'x'.repeat(3_000) } });
    expect((await post2026(h.url, 'tools/list', {}, {}, big)).status).toBe(413);
    expect((await post2026(h.url, 'tools/list', {}, {}, '{"jsonrpc":')).status).toBe(400);
    const mismatch = await post2026(h.url, 'tools/list', {}, { 'mcp-method': 'server/discover' });
    expect(mismatch.status).toBe(400);
    expect(((await mismatch.json()) as { error: { code: number } }).error.code).toBe(-32020);
    const wrongTool = await post2026(h.url, 'tools/call', { name: 'get_account', arguments: {} }, { 'mcp-name': 'trash_person' });
    expect(wrongTool.status).toBe(400);
    const noCapabilities = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': MODERN } } });
    expect((await post2026(h.url, 'tools/list', {}, {}, noCapabilities)).status).toBe(400);
    const batch = JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: META } }]);
    expect((await post2026(h.url, 'tools/list', {}, {}, batch)).status).toBe(400);
    expect(sb!.apiRequests()).toHaveLength(0);
  });

  it('draining lets an in-flight 2026 call finish, then refuses new connections', async () => {
    const h = await start();
    sb!.intercept((req) => (req.path.includes('/people.json') ? { delayMs: 600 } : undefined));
    const inFlight = post2026(h.url, 'tools/call', { name: 'list_people', arguments: {} });
    await new Promise((r) => setTimeout(r, 150));
    const t0 = Date.now();
    const drained = h.drain(5_000);
    const finished = await inFlight;
    expect(finished.status).toBe(200);
    expect(await finished.text()).toMatch(/"people":\[/);
    await drained;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await expect(fetch(h.url.replace('/mcp', '/healthz'))).rejects.toThrow();
    http = undefined;
  });
});

describe('a 2026-07-28 client', () => {
  it('progress after each page of a long read, and a call cancelled mid-read stops reading pages; the next call is whole', async () => {
    const h = await start({}, 500);
    const client = await connect(h.url);
    sb!.intercept((req) => (req.path.split('?')[0]!.endsWith('/people.json') ? { delayMs: 40 } : undefined));
    const progress: number[] = [];
    const r = (await client.callTool({ name: 'export_people', arguments: {} }, { onprogress: (p) => progress.push(p.progress) })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect(peopleReads(sb!)).toHaveLength(8);
    expect(progress).toHaveLength(9);
    expect(progress.at(-1)).toBe(500);

    // Cancelled: the client aborts after the third page is asked for.
    service!.directory.invalidate();
    const controller = new AbortController();
    let reads = 0;
    sb!.intercept((req) => {
      if (!req.path.split('?')[0]!.endsWith('/people.json')) return undefined;
      if (++reads === 3) controller.abort();
      return { delayMs: 40 };
    });
    await expect(client.callTool({ name: 'export_people', arguments: { format: 'jsonl' } }, { signal: controller.signal, onprogress: () => undefined })).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 400));
    expect(reads).toBe(3);
    sb!.intercept(undefined);
    const after = (await client.callTool({ name: 'export_people', arguments: { format: 'jsonl' } })) as ToolResult;
    expect(after.isError).toBeFalsy();
    expect((after.structuredContent as { count: number }).count).toBe(498);
  }, 30_000);

  it('log messages come at the level the request asks for (its _meta log level), and none without one', async () => {
    setLogLevel('info');
    const h = await start();
    const client = await connect(h.url);
    const heard: { level: string; data: unknown }[] = [];
    client.setNotificationHandler('notifications/message', (n) => void heard.push({ level: n.params.level, data: n.params.data }));
    sb!.intercept((req) => (req.path.includes('/projects/') ? { status: 429, headers: { 'Retry-After': '3600' }, body: { error: 'slow down' } } : undefined));
    const failing = (logLevel?: string) =>
      client.callTool({ name: 'list_people', arguments: { project_id: 2000004 }, ...(logLevel ? { _meta: { 'io.modelcontextprotocol/logLevel': logLevel } } : {}) });
    await failing();
    expect(heard).toEqual([]);
    await failing('info');
    expect(heard).toContainEqual(expect.objectContaining({ level: 'info', data: expect.stringMatching(/list_people failed: Basecamp's rate limit/) }));
    heard.length = 0;
    await failing('error');
    expect(heard).toEqual([]);
    expect(JSON.stringify(heard)).not.toContain(sb!.token);
  });
});
