import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { rng } from '../src/sandbox/shared/seed-kit.js';
import type { Service } from '../src/service.js';
import { hostAllowed, originAllowed, parseAuthority, requestPath, type HostRules } from '../src/transports/http-guards.js';
import { serveHttp, type HttpServeOptions, type HttpServer } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import type { HttpClientKey } from '../src/transports/http-keys.js';
import { freePort, sandboxService, type ToolResult } from './helpers.js';
import { MemoryOAuthStore } from '../src/oauth/store.js';
import { testProviderKeys } from './oauth-helpers.js';

const FOREIGN_HOST = { host: 'evil.example' };

const TOKEN = 'front-door-token-0123456789abcdef';
const auth = { authorization: `Bearer ${TOKEN}` };
let sb: Sandbox | undefined;
let service: Service | undefined;
let http: HttpServer | undefined;
let child: ChildProcessWithoutNullStreams | undefined;
const clients: Client[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  await http?.drain(100);
  await service?.close();
  await sb?.close();
  child?.kill();
  http = service = sb = child = undefined;
});

async function start(options: HttpServeOptions = {}): Promise<HttpServer> {
  sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
  http = await serveHttp(singleService(service), { port: 0, token: TOKEN, ...options });
  return http;
}

async function connect(url: string, token: string | undefined = TOKEN): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined });
  const client = new Client({ name: 'front-door-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

async function toolWorks(url: string, token: string = TOKEN): Promise<void> {
  const { client } = await connect(url, token);
  const r = (await client.callTool({ name: 'get_account', arguments: {} })) as ToolResult;
  expect(r.isError).toBeFalsy();
}

const initBody = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTP request with full control of method, path and headers (Host included). */
function send(url: string, method: string, headers: Record<string, string>, body?: string, path?: string): Promise<Reply> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path: path ?? u.pathname, method, agent: false, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const post = (url: string, headers: Record<string, string>, body = initBody) =>
  send(url, 'POST', { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body);

/** Opens a raw socket to the server's port. */
function rawSocket(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = netConnect(Number(u.port), u.hostname, () => resolve(s));
    s.on('error', reject);
    sockets.push(s);
  });
}

interface RawOutcome {
  /** The first status code seen, or undefined when the server closed without answering. */
  status: number | undefined;
  closed: boolean;
  text: string;
}

/** Writes raw bytes and waits for the first status line (or the close), at most `limitMs`. */
async function rawExchange(url: string, payload: Buffer | string, limitMs = 5_000): Promise<RawOutcome | 'hung'> {
  const s = await rawSocket(url);
  return new Promise((resolve) => {
    let text = '';
    const finish = (outcome: RawOutcome | 'hung') => {
      clearTimeout(timer);
      s.destroy();
      resolve(outcome);
    };
    const statusOf = () => {
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      return m ? Number(m[1]) : undefined;
    };
    const timer = setTimeout(() => finish('hung'), limitMs);
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (statusOf() !== undefined && text.includes('\r\n\r\n')) finish({ status: statusOf(), closed: false, text });
    });
    s.on('close', () => finish({ status: statusOf(), closed: true, text }));
    s.on('error', () => undefined);
    s.write(payload);
  });
}

/** Resolves with the ms until the socket closes (or `limitMs` if it is still open then). */
function closedWithin(s: Socket, limitMs: number): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    if (s.destroyed) return resolve(0);
    const timer = setTimeout(() => resolve(limitMs), limitMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - t0);
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------------------------

describe('request targets that are not URLs (issue 7.1)', () => {
  it('requestPath never throws and rejects what is not a path', () => {
    for (const bad of ['//[', 'http://[', '//a:b@/', 'http://x:99999/', '*', 'example.com:443', '', 'http://a b/', '\u0000']) {
      expect(() => requestPath(bad)).not.toThrow();
    }
    expect(requestPath('http://[')).toBeUndefined();
    expect(requestPath('http://x:99999/mcp')).toBeUndefined();
    expect(requestPath('*')).toBeUndefined();
    expect(requestPath('/mcp?x=//[')).toBe('/mcp');
    expect(requestPath('//[')).toBe('//[');
    expect(requestPath('http://127.0.0.1:8787/mcp?q')).toBe('/mcp');
  });

  it('answers 400 (or 404) to each malformed target, without a token, and keeps serving', async () => {
    const h = await start();
    const targets = ['//[', 'http://[', '//a:b@/', 'http://a:b@/', 'http://x:65536/mcp', 'http://127.0.0.1:99999/mcp', '//[::1', 'http://%zz/', '*', 'example.com:80'];
    for (const target of targets) {
      const r = await rawExchange(h.url, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(r, target).not.toBe('hung');
      if (r === 'hung') continue;
      expect(r.status === undefined || (r.status >= 400 && r.status < 500), `${target}: ${r.text.slice(0, 40)}`).toBe(true);
    }
    const bad = await rawExchange(h.url, `POST http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n`);
    expect(bad !== 'hung' && bad.status).toBe(400);
    await toolWorks(h.url);
  });
});

// ---------------------------------------------------------------------------------------------------------------


/** Generates malformed (never fully authorised and well-formed) requests against the front door. */
function malformedRequests(seed: number, count: number, port: number, keys: readonly string[] = [TOKEN], extra: { targets?: readonly string[]; bodies?: readonly string[] } = {}): Buffer[] {
  const rnd = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const junk = (max: number) => Buffer.from(Array.from({ length: Math.floor(rnd() * max) }, () => Math.floor(rnd() * 256)));
  // Each part is usually well formed and sometimes not, so cases reach every layer (parser, router, Host,
  // Origin, token, body, session) rather than all stopping at Node's parser.
  const sometimes = <T>(good: readonly T[], bad: readonly T[], pBad = 0.2): T => (rnd() < pBad ? pick(bad) : pick(good));
  const methods = ['GET', 'POST', 'DELETE', 'OPTIONS', 'PUT', 'HEAD'];
  const badMethods = ['TRACE', 'CONNECT', 'BREW', 'get', '', 'G\u0000T', 'POST POST'];
  const targets = ['/mcp', '/mcp?x=//[', '/mcp#x', '//[', '/%zz', '/mcp/../mcp', '/', '/\u00ff', '/mcp?' + 'a'.repeat(3000), '//a:b@/', '/healthz?x=[', ...(extra.targets ?? [])];
  const badTargets = ['http://[', 'http://x:70000/', '*', 'a', 'http://', 'https://[::1/', '//[:::]', 'mailto:x@y', '\\\\', '', 'http://127.0.0.1:1/mcp', 'http://a:b@/mcp'];
  const versions = ['HTTP/1.1', 'HTTP/1.0'];
  const badVersions = ['HTTP/2.0', 'HTTP/1.1x', 'HTTP/9', '', 'http/1.1'];
  const hosts = [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST.:${port}`, `[::1]:${port}`];
  const badHosts = ['127.0.0.1', 'localhost.', '[::1', '[::1]:99999', 'evil.example', `evil.example:${port}`, '', ':', `a@b:${port}`, '\u00e9', 'x'.repeat(300)];
  const optional = [
    () => `Origin: ${pick(['null', 'http://evil.example', 'http://[', `http://127.0.0.1:${port}`, `http://localhost:${port}`, 'x'])}`,
    () => `Authorization: ${pick(['Bearer', 'Bearer x', 'Basic Zm9v', `Bearer ${pick(keys)}`, `Bearer ${pick(keys)}`, 'Bearer \u00ff', `Bearer ${sha256(pick(keys))}`])}`,
    () => `Content-Length: ${pick(['0', '5', '60', '-1', 'abc', '99999999999999', '10, 11', ''])}`,
    () => `Transfer-Encoding: ${pick(['chunked', 'gzip', 'chunked, chunked', 'x'])}`,
    () => `Mcp-Session-Id: ${pick(['', 'not-a-session', '../../', '\u00ff', '00000000-0000-0000-0000-000000000000'])}`,
    () => `Mcp-Protocol-Version: ${pick(['2025-06-18', '1999-01-01', ''])}`,
    () => `Content-Type: ${pick(['application/json', 'text/plain', ''])}`,
    () => `Accept: ${pick(['application/json, text/event-stream', 'text/event-stream', '*/*'])}`,
    () => `Access-Control-Request-Method: ${pick(['POST', 'GET', 'x'])}`,
    // MCP 2026-07-28's standard headers, right, wrong and malformed.
    () => `Mcp-Protocol-Version: ${pick(['2026-07-28', '2026-07-28', '2099-12-31', '2026-07-28, 2025-11-25'])}`,
    () => `Mcp-Method: ${pick(['tools/call', 'tools/list', 'server/discover', '', 'x'.repeat(500), '\u00ff'])}`,
    () => `Mcp-Name: ${pick(['get_account', 'trash_person', '', '../../etc', '\u00ff'])}`,
    () => `Mcp-Param-Person_id: ${pick(['1', '', '=?base64?', 'x'.repeat(1000)])}`,
    () => `Access-Control-Request-Headers: ${pick(['mcp-method, mcp-name', 'mcp-param-' + 'x'.repeat(200), 'mcp-param-a,'.repeat(100)])}`,
  ];
  const badHeaderLines = ['NoColon', ': empty-name', 'X-Bad\u0000: 1', ' folded', 'X: ' + 'v'.repeat(20_000)];
  const bodies = [
    () => Buffer.alloc(0),
    () => Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}'),
    () => Buffer.from('{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":[]}}'),
    () => Buffer.from('[{"jsonrpc":"2.0"},1,null]'),
    () => Buffer.from('{"jsonrpc":'),
    () => Buffer.from('5\r\nhello\r\n0\r\n\r\n'),
    () => Buffer.from('zz\r\nbad chunk\r\n'),
    () => junk(200),
    // 2026-07-28 requests whose envelope, method or params are wrong: each must be refused, never served.
    () => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28' } } })),
    () => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 7, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': 'x' } } })),
    () => Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': ['2026-07-28'] } } })),
    () => Buffer.from(JSON.stringify([{ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } }])),
    () => Buffer.from('{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'),
    ...(extra.bodies ?? []).map((b) => () => Buffer.from(b)),
  ];
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (rnd() < 0.05) {
      out.push(Buffer.concat([junk(100), Buffer.from('x\r\n\r\n')])); // terminated, so it is not merely a slow client
      continue;
    }
    const line = `${sometimes(methods, badMethods)} ${sometimes(targets, badTargets)} ${sometimes(versions, badVersions, 0.1)}`;
    const headers = rnd() < 0.9 ? [`Host: ${sometimes(hosts, badHosts, 0.3)}`] : [];
    for (let n = Math.floor(rnd() * 6); n > 0; n--) headers.push(pick(optional)());
    if (rnd() < 0.1) headers.push(pick(badHeaderLines));
    out.push(Buffer.concat([Buffer.from(`${line}\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`, 'latin1'), pick(bodies)()]));
  }
  return out;
}

/** The two answers a token-less request may rightly get: the health check, and a CORS preflight from our own origin. */
function legitimateSuccess(payload: Buffer, status: number): boolean {
  const text = payload.toString('latin1');
  if (status === 200) return /^GET \/healthz/.test(text);
  return status === 204 && /^OPTIONS /.test(text) && /\r\nOrigin: http:\/\/(127\.0\.0\.1|localhost):/.test(text);
}

interface FuzzReport {
  sent: number;
  answered: Record<string, number>;
  bad: string[];
}

/** Sends every case (a few at a time) and records what came back; anything but a 4xx or a plain close is bad. */
async function fuzz(url: string, cases: Buffer[], concurrency = 24, legitimate = legitimateSuccess): Promise<FuzzReport> {
  const report: FuzzReport = { sent: 0, answered: {}, bad: [] };
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const payload = cases[next++]!;
      const r = await rawExchange(url, payload, 8_000).catch(() => ({ status: undefined, closed: true, text: '' }));
      report.sent++;
      const key = r === 'hung' ? 'hung' : String(r.status ?? 'closed');
      report.answered[key] = (report.answered[key] ?? 0) + 1;
      if (r === 'hung' || (r.status !== undefined && (r.status < 400 || r.status >= 500) && !legitimate(payload, r.status))) {
        report.bad.push(`${key}: ${JSON.stringify(payload.toString('latin1').slice(0, 120))}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return report;
}

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** `serve --http --sandbox --port 0` in a child process; resolves with the URL it prints. */
function spawnServer(env: Record<string, string> = { MCP_HTTP_TOKEN: TOKEN }): Promise<{ proc: ChildProcessWithoutNullStreams; url: string; stderr: () => string }> {
  const proc = spawn(process.execPath, [cli, 'serve', '--http', '--sandbox', '--port', '0'], {
    env: { ...process.env, BASECAMP_LOG_LEVEL: 'info', ...env },
  });
  child = proc;
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed: ${err}`)), 15_000);
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+\/mcp)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ proc, url: m[1]!, stderr: () => err });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
}

describe('fuzzing the front door (issue 7.1)', () => {
  it('in-process: 2,500 malformed requests each get a 4xx or a close; an authenticated call works after', async () => {
    const h = await start({ headersTimeoutMs: 3_000, bodyIdleMs: 1_000, requestTimeoutMs: 4_000 });
    const cases = malformedRequests(0x5eed, 2_500, Number(new URL(h.url).port));
    const report = await fuzz(h.url, cases);
    expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
    expect(report.sent).toBe(2_500);
    // The generator reaches every layer, not only Node's parser.
    for (const status of ['400', '401', '403', '404']) expect(report.answered[status], status).toBeGreaterThan(20);
    await toolWorks(h.url);
  }, 30_000);

  it('process level: the served CLI survives 1,000 malformed requests and still answers an authenticated call', async () => {
    const { proc, url, stderr } = await spawnServer();
    const report = await fuzz(url, malformedRequests(0xbad, 1_000, Number(new URL(url).port)));
    expect(proc.exitCode, stderr()).toBeNull();
    expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
    await toolWorks(url);
    expect(proc.exitCode).toBeNull();
  }, 40_000);
});

/** Named keys (MCP_HTTP_CLIENTS): a reader and an admin, besides no MCP_HTTP_TOKEN. */
const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
const READER_KEY = 'front-door-reader-key-0123456789abcdef';
const ADMIN_KEY = TOKEN;
const KEYS: HttpClientKey[] = [
  { name: 'fuzz-reader', token_sha256: sha256(READER_KEY), role: 'reader' },
  { name: 'fuzz-admin', token_sha256: sha256(ADMIN_KEY), role: 'admin' },
];

describe('fuzzing the front door with named keys (MCP_HTTP_CLIENTS, issue 20)', () => {
  it('in-process: 2,500 malformed requests presenting the keys (and their hashes) each get a 4xx or a close; each key works after', async () => {
    const h = await start({ token: undefined, clients: KEYS, headersTimeoutMs: 3_000, bodyIdleMs: 1_000, requestTimeoutMs: 4_000 });
    const report = await fuzz(h.url, malformedRequests(0xc1e5, 2_500, Number(new URL(h.url).port), [READER_KEY, ADMIN_KEY]));
    expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
    expect(report.sent).toBe(2_500);
    for (const status of ['400', '401', '403', '404']) expect(report.answered[status], status).toBeGreaterThan(20);
    await toolWorks(h.url, READER_KEY);
    await toolWorks(h.url, ADMIN_KEY);
    // A key's hash is not a key.
    expect((await post(h.url, { authorization: `Bearer ${sha256(ADMIN_KEY)}` })).status).toBe(401);
  }, 30_000);

  it('process level: the CLI served with an MCP_HTTP_CLIENTS file survives 1,000 malformed requests; each key works after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'front-door-keys-'));
    const file = join(dir, 'keys.json');
    writeFileSync(file, JSON.stringify(KEYS), { mode: 0o600 });
    try {
      const { proc, url, stderr } = await spawnServer({ MCP_HTTP_CLIENTS: file });
      expect(stderr()).toMatch(/keys: fuzz-reader \(reader\), fuzz-admin \(admin\)/);
      const report = await fuzz(url, malformedRequests(0xbadc1e5, 1_000, Number(new URL(url).port), [READER_KEY, ADMIN_KEY]));
      expect(proc.exitCode, stderr()).toBeNull();
      expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
      await toolWorks(url, READER_KEY);
      await toolWorks(url, ADMIN_KEY);
      // The keys are the file's, and only they open the door.
      for (const headers of [{}, { authorization: 'Bearer not-a-key' }, { authorization: `Bearer ${sha256(READER_KEY)}` }] as Record<string, string>[]) expect((await post(url, headers)).status).toBe(401);
      expect(proc.exitCode).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);
});

// ---------------------------------------------------------------------------------------------------------------

/** Headers of a POST whose body will come later, byte by byte. */
const trickleHead = (url: string, withToken: boolean) =>
  `POST /mcp HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n` +
  `${withToken ? `Authorization: Bearer ${TOKEN}\r\n` : ''}Content-Length: 100000\r\n\r\n{`;

/** Writes a byte every `everyMs` until the socket closes. */
function trickle(s: Socket, everyMs: number): void {
  const timer = setInterval(() => (s.destroyed ? clearInterval(timer) : s.write(' ')), everyMs);
  s.once('close', () => clearInterval(timer));
}

describe('slow clients (issue 7.2)', () => {
  it('a body that pauses longer than bodyIdleMs is cut off with 408', async () => {
    const h = await start({ bodyIdleMs: 400, requestTimeoutMs: 60_000 });
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.write(trickleHead(h.url, true));
    expect(await closedWithin(s, 8_000)).toBeLessThan(8_000);
    expect(text).toMatch(/^HTTP\/1\.1 408/);
  });

  it('a body sent in chunks, each pause within bodyIdleMs, is served even when the whole takes longer than bodyIdleMs', async () => {
    const h = await start({ bodyIdleMs: 1_500, requestTimeoutMs: 60_000 });
    const u = new URL(h.url);
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    const head =
      `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/json\r\n` +
      `Accept: application/json, text/event-stream\r\nContent-Length: ${Buffer.byteLength(initBody)}\r\nConnection: close\r\n\r\n`;
    s.write(head);
    const pieces = 10; // ten pauses of 300 ms: about 3 s in all, twice bodyIdleMs
    const size = Math.ceil(initBody.length / pieces);
    for (let i = 0; i < initBody.length; i += size) {
      await sleep(300);
      s.write(initBody.slice(i, i + size));
    }
    await closedWithin(s, 10_000);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
  });

  it('a body trickled faster than bodyIdleMs is still cut off by the whole-request deadline', async () => {
    const h = await start({ bodyIdleMs: 60_000, headersTimeoutMs: 1_000, requestTimeoutMs: 1_500 });
    const s = await rawSocket(h.url);
    s.write(trickleHead(h.url, true));
    trickle(s, 100);
    expect(await closedWithin(s, 10_000)).toBeLessThan(10_000);
  });

  it('a request refused with 401 while its body trickles is answered and closed at once', async () => {
    const h = await start({ bodyIdleMs: 60_000, requestTimeoutMs: 120_000 });
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.write(trickleHead(h.url, false));
    trickle(s, 100);
    expect(await closedWithin(s, 5_000)).toBeLessThan(5_000);
    expect(text).toMatch(/^HTTP\/1\.1 401/);
    expect(text).toMatch(/connection: close/i);
  });

  it('fifty refused clients trickling their bodies are all disconnected, and the server still answers', async () => {
    const h = await start({ bodyIdleMs: 60_000, requestTimeoutMs: 120_000 });
    const all = await Promise.all(Array.from({ length: 50 }, () => rawSocket(h.url)));
    for (const s of all) {
      s.write(trickleHead(h.url, false));
      trickle(s, 200);
    }
    const waited = await Promise.all(all.map((s) => closedWithin(s, 8_000)));
    expect(waited.filter((ms) => ms >= 8_000)).toEqual([]);
    await toolWorks(h.url);
  });

  it('a request refused with 403 (foreign Host) while its body trickles is closed at once', async () => {
    const h = await start({ bodyIdleMs: 60_000, requestTimeoutMs: 120_000 });
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.write(trickleHead(h.url, true).replace(/Host: [^\r]+/, 'Host: evil.example'));
    trickle(s, 100);
    expect(await closedWithin(s, 5_000)).toBeLessThan(5_000);
    expect(text).toMatch(/^HTTP\/1\.1 403/);
  });

  it('headers trickled past headersTimeoutMs are cut off', async () => {
    const h = await start({ headersTimeoutMs: 500, requestTimeoutMs: 60_000 });
    const s = await rawSocket(h.url);
    s.write(`POST /mcp HTTP/1.1\r\nHost: ${new URL(h.url).host}\r\nX-Slow: `);
    trickle(s, 100);
    expect(await closedWithin(s, 8_000)).toBeLessThan(8_000);
  });

  it('an idle keep-alive connection is closed after keepAliveTimeoutMs', async () => {
    const h = await start({ keepAliveTimeoutMs: 300 });
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    s.write(`GET /healthz HTTP/1.1\r\nHost: ${new URL(h.url).host}\r\n\r\n`);
    expect(await closedWithin(s, 3_000)).toBeLessThan(3_000); // Node's default would keep it 5 s
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/keep-alive/i);
  });

  it('an SSE stream and a long tool call outlive the request and body timeouts', async () => {
    const h = await start({ headersTimeoutMs: 300, requestTimeoutMs: 400, bodyIdleMs: 300, keepAliveTimeoutMs: 300 });
    sb!.intercept((req) => (req.path.includes('/account.json') ? { delayMs: 1_500 } : undefined));
    const { client } = await connect(h.url);
    // A session of our own (the SDK client already holds the one SSE stream its session may have).
    const sessionId = String((await post(h.url, auth)).headers['mcp-session-id']);
    const s = await rawSocket(h.url);
    let text = '';
    s.on('data', (d: Buffer) => (text += d.toString()));
    const host = new URL(h.url).host;
    s.write(`GET /mcp HTTP/1.1\r\nHost: ${host}\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${TOKEN}\r\nMcp-Session-Id: ${sessionId}\r\nMcp-Protocol-Version: 2025-06-18\r\n\r\n`);
    const call = client.callTool({ name: 'get_account', arguments: {} }) as Promise<ToolResult>;
    expect(await closedWithin(s, 2_000)).toBe(2_000); // still open, 5x the request timeout later
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toMatch(/text\/event-stream/);
    expect((await call).isError).toBeFalsy();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('Host check (issue 7.3)', () => {
  const loop: HostRules = { boundHost: '127.0.0.1', port: 8787, loopback: true, extraHosts: [] };

  it('accepts our loopback names in any case, with a trailing dot, and [::1]', () => {
    for (const h of ['127.0.0.1:8787', 'localhost:8787', 'LOCALHOST:8787', 'localhost.:8787', '[::1]:8787', '[::1]:8787']) {
      expect(hostAllowed(h, loop), h).toBe(true);
    }
  });

  it('refuses other names, other ports, a missing port off 80/443, and malformed values', () => {
    for (const h of ['evil.example:8787', 'localhost.evil.example:8787', 'localhost:8788', 'localhost', '127.0.0.1', '', '127.0.0.1:8787:1', 'localhost..:8787', '[::1', 'a@localhost:8787', 'localhost:0', 'localhost:99999', undefined]) {
      expect(hostAllowed(h, loop), String(h)).toBe(false);
    }
  });

  it('on port 80 or 443 a Host without a port is ours; with the wrong port it is not', () => {
    expect(hostAllowed('localhost', { ...loop, port: 80 })).toBe(true);
    expect(hostAllowed('127.0.0.1', { ...loop, port: 443 })).toBe(true);
    expect(hostAllowed('localhost:80', { ...loop, port: 80 })).toBe(true);
    expect(hostAllowed('localhost:81', { ...loop, port: 80 })).toBe(false);
    expect(hostAllowed('evil.example', { ...loop, port: 80 })).toBe(false);
  });

  it('bound to another loopback address, that address is ours too', () => {
    const rules = { ...loop, boundHost: '127.0.0.2' };
    expect(hostAllowed('127.0.0.2:8787', rules)).toBe(true);
    expect(hostAllowed('127.0.0.3:8787', rules)).toBe(false);
    expect(hostAllowed('[::1]:8787', { ...loop, boundHost: '::1' })).toBe(true);
  });

  it('parseAuthority is strict about ports and brackets', () => {
    expect(parseAuthority('Example.COM.:443')).toEqual({ hostname: 'example.com', port: 443 });
    expect(parseAuthority('[::1]')).toEqual({ hostname: '[::1]', port: undefined });
    for (const bad of ['a:65536', 'a:', ':1', 'a b', '[::1', 'a/b', 'a:1:2']) expect(parseAuthority(bad), bad).toBeUndefined();
  });

  it('over real HTTP: the URL printed for --host 127.0.0.2 works, with a trailing dot and upper case too', async () => {
    const h = await start({ host: '127.0.0.2' });
    expect(h.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/mcp$/);
    await toolWorks(h.url);
    const port = new URL(h.url).port;
    expect((await post(h.url, { ...auth, host: `127.0.0.2.:${port}` })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: `LOCALHOST:${port}` })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: `evil.example:${port}` })).status).toBe(403);
    expect((await post(h.url, { ...auth, host: `127.0.0.2:${Number(port) + 1}` })).status).toBe(403);
  });

  it('over real HTTP on port 80: a Host without a port is accepted', async () => {
    let h: HttpServer;
    try {
      h = await start({ host: '127.0.0.77', port: 80 });
    } catch (error) {
      // Port 80 needs privileges this machine may not give; the pure rule is tested above.
      if (/EACCES|EADDRINUSE/.test(String(error))) return;
      throw error;
    }
    expect(h.url).toBe('http://127.0.0.77:80/mcp');
    expect((await post(h.url, { ...auth, host: '127.0.0.77' })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: 'localhost' })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: 'evil.example' })).status).toBe(403);
  });
});

describe('MCP_ALLOWED_HOSTS is honoured', () => {
  it('pure rule: a listed name (any port, or the listed port) passes; others do not, loopback or not', () => {
    const offLoop: HostRules = { boundHost: '0.0.0.0', port: 8787, loopback: false, extraHosts: ['mcp.example.com', 'proxy.example:8443'] };
    expect(hostAllowed('mcp.example.com', offLoop)).toBe(true);
    expect(hostAllowed('MCP.example.com.:9000', offLoop)).toBe(true);
    expect(hostAllowed('proxy.example:8443', offLoop)).toBe(true);
    expect(hostAllowed('proxy.example:8444', offLoop)).toBe(false);
    expect(hostAllowed('evil.example:8787', offLoop)).toBe(false);
    expect(hostAllowed('127.0.0.1:8787', offLoop)).toBe(false);
    const specific: HostRules = { ...offLoop, boundHost: '10.1.2.3' };
    expect(hostAllowed('10.1.2.3:8787', specific)).toBe(true);
    expect(hostAllowed('evil.example:8787', specific)).toBe(false);
  });

  it('over real HTTP: a listed Host is accepted, an unlisted one gets 403', async () => {
    const h = await start({ allowedHosts: ['mcp.example.com', 'proxy.example:8443'] });
    const port = new URL(h.url).port;
    expect((await post(h.url, { ...auth, host: 'mcp.example.com' })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: 'proxy.example:8443' })).status).toBe(200);
    expect((await post(h.url, { ...auth, host: `localhost:${port}` })).status).toBe(200);
    const refused = await post(h.url, { ...auth, host: 'evil.example' });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatch(/MCP_ALLOWED_HOSTS/);
    expect((await post(h.url, { ...auth, host: 'proxy.example:9999' })).status).toBe(403);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('CORS for MCP_ALLOWED_ORIGINS (issue 7.4)', () => {
  const APP = 'https://agents.example';

  it('pure rule: listed and own origins pass, others do not', () => {
    const rules: HostRules = { boundHost: '127.0.0.1', port: 8787, loopback: true, extraHosts: [] };
    expect(originAllowed('https://agents.example/', [APP], rules)).toBe(true);
    expect(originAllowed('HTTPS://AGENTS.EXAMPLE', [APP], rules)).toBe(true);
    expect(originAllowed('http://localhost:8787', [], rules)).toBe(true);
    expect(originAllowed('http://localhost:8788', [], rules)).toBe(false);
    expect(originAllowed('null', [APP], rules)).toBe(false);
    expect(originAllowed('https://agents.example.evil', [APP], rules)).toBe(false);
    expect(originAllowed('http://[', [APP], rules)).toBe(false);
  });

  it('a preflight from an allowed origin gets 204 with the CORS grants, without a token', async () => {
    const h = await start({ allowedOrigins: [APP] });
    const r = await send(h.url, 'OPTIONS', {
      origin: APP,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, mcp-session-id, mcp-protocol-version',
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe(APP);
    expect(r.headers.vary).toMatch(/Origin/);
    const methods = String(r.headers['access-control-allow-methods']);
    for (const m of ['GET', 'POST', 'DELETE', 'OPTIONS']) expect(methods).toContain(m);
    const allowed = String(r.headers['access-control-allow-headers']).toLowerCase();
    for (const name of ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'last-event-id']) expect(allowed).toContain(name);
    expect(Number(r.headers['access-control-max-age'])).toBeGreaterThan(0);
  });

  it('responses to an allowed origin carry ACAO and expose Mcp-Session-Id, 401s included', async () => {
    const h = await start({ allowedOrigins: [APP] });
    const ok = await post(h.url, { ...auth, origin: APP });
    expect(ok.status).toBe(200);
    expect(ok.headers['mcp-session-id']).toBeTruthy();
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    const exposed = String(ok.headers['access-control-expose-headers']).toLowerCase();
    expect(exposed).toContain('mcp-session-id');
    expect(exposed).toContain('www-authenticate');
    const unauthorised = await post(h.url, { origin: APP });
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers['access-control-allow-origin']).toBe(APP);
    expect(unauthorised.headers['www-authenticate']).toBeTruthy();
  });

  it('any other origin: 403 and no CORS headers, preflight included', async () => {
    const h = await start({ allowedOrigins: [APP] });
    for (const method of ['OPTIONS', 'POST']) {
      const r = method === 'POST' ? await post(h.url, { ...auth, origin: 'https://evil.example' }) : await send(h.url, 'OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
      expect(r.status, method).toBe(403);
      expect(Object.keys(r.headers).filter((k) => k.startsWith('access-control-')), method).toEqual([]);
    }
    const noOrigin = await send(h.url, 'OPTIONS', {});
    expect(noOrigin.status).toBe(401); // not a preflight: the token is still needed
    expect(noOrigin.headers['access-control-allow-origin']).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('session cap (issue 7.6)', () => {
  it('when full, the idlest session past the grace is evicted for a new client; its id then gets 404', async () => {
    const h = await start({ maxSessions: 2, sessionEvictGraceMs: 2_000 });
    const first = await connect(h.url);
    const second = await connect(h.url);
    expect(h.sessions()).toBe(2);
    const early = await post(h.url, auth);
    expect(early.status).toBe(503);
    await sleep(2_500);
    await first.client.listTools(); // first is used again; second (the younger) stays idle past the grace
    const third = await post(h.url, auth);
    expect(third.status).toBe(200);
    expect(h.sessions()).toBe(2);
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'ping' });
    const gone = await post(h.url, { ...auth, 'mcp-session-id': second.transport.sessionId!, 'mcp-protocol-version': '2025-06-18' }, ping);
    expect(gone.status).toBe(404);
    expect(((await first.client.callTool({ name: 'get_account', arguments: {} })) as ToolResult).isError).toBeFalsy();
  });

  it('concurrent initializes cannot overshoot the session cap', async () => {
    const h = await start({ maxSessions: 3 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(h.url, auth)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(3);
    expect(answers.filter((a) => a.status === 503)).toHaveLength(5);
    expect(h.sessions()).toBe(3);
  });

  it('a session idle past sessionIdleMs counts as evictable even when the grace is longer', async () => {
    const h = await start({ maxSessions: 1, sessionEvictGraceMs: 60_000, sessionIdleMs: 4_000 });
    await connect(h.url);
    const full = await post(h.url, auth);
    expect(full.status).toBe(503);
    expect(Number(full.headers['retry-after'])).toBeLessThanOrEqual(4);
  });

  it('refuses to start with a limit that is not a positive number', async () => {
    await expect(start({ bodyIdleMs: 0 })).rejects.toThrow(/bodyIdleMs must be a positive number; got 0/);
    await sb?.close();
    await service?.close();
    await expect(start({ sessionEvictGraceMs: Number.NaN })).rejects.toThrow(/sessionEvictGraceMs must be a positive number/);
  });

  it('when nothing can be evicted, Retry-After is the real time until a slot frees', async () => {
    const h = await start({ maxSessions: 2, sessionEvictGraceMs: 20_000 });
    await connect(h.url);
    await connect(h.url);
    await sleep(1_000);
    const full = await post(h.url, auth);
    expect(full.status).toBe(503);
    const retryAfter = Number(full.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(18);
    expect(retryAfter).toBeLessThanOrEqual(20);
    expect(full.body).toMatch(/19 s|20 s|18 s/);
  });

  it('a session with a request in flight is never evicted, and its idle time starts when the request ends', async () => {
    const h = await start({ maxSessions: 1, sessionEvictGraceMs: 1_500 });
    sb!.intercept((req) => (req.path.includes('/account.json') ? { delayMs: 3_500 } : undefined));
    const busy = await connect(h.url);
    const call = busy.client.callTool({ name: 'get_account', arguments: {} }) as Promise<ToolResult>;
    await sleep(2_000); // past the grace since the call started, and the call is still running
    const refused = await post(h.url, auth);
    expect(refused.status).toBe(503);
    expect((await call).isError).toBeFalsy();
    expect(h.sessions()).toBe(1);
    // Idle time counts from when the call ended, not from when it started.
    const justEnded = await post(h.url, auth);
    expect(justEnded.status).toBe(503);
    expect(Number(justEnded.headers['retry-after'])).toBeLessThanOrEqual(2);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe("the front door's order (http-front-door.ts): a request failing two checks gets the earlier one's answer", () => {
  const APP = 'https://app.example';
  const FOREIGN = { host: 'evil.example' };
  const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

  it('target, then /healthz, then the path, then Host, then Origin (and its preflight), then the token, then the body', async () => {
    const h = await start({ allowedOrigins: [APP], maxBodyBytes: 1_000 });
    const port = new URL(h.url).port;
    // 1 before everything: a target that is not a path, from a foreign Host without a token.
    expect((await send(h.url, 'GET', FOREIGN, undefined, '*')).status).toBe(400);
    // 2 before Host and token: /healthz answers a foreign Host without a token.
    expect((await send(h.url, 'GET', FOREIGN, undefined, '/healthz')).status).toBe(200);
    // 3 before Host: another path is 404 even from a foreign Host.
    expect((await send(h.url, 'GET', FOREIGN, undefined, '/other')).status).toBe(404);
    // 4 before Origin and token: a foreign Host with a foreign Origin and no token is refused for its Host.
    const hostFirst = await send(h.url, 'POST', { ...FOREIGN, ...json, origin: 'https://evil.example' }, initBody);
    expect(hostFirst.status).toBe(403);
    expect(hostFirst.body).toContain('Host');
    // 5 before the token: a foreign Origin without a token is refused for its Origin; an allowed one's preflight needs no token.
    const originFirst = await send(h.url, 'POST', { ...json, origin: 'https://evil.example' }, initBody);
    expect(originFirst.status).toBe(403);
    expect(originFirst.body).toContain('Origin');
    expect((await send(h.url, 'OPTIONS', { host: `127.0.0.1:${port}`, origin: APP, 'access-control-request-method': 'POST' })).status).toBe(204);
    // 6 before the body: no token with an oversize or unparsable body is 401.
    expect((await send(h.url, 'POST', json, 'x'.repeat(2_000))).status).toBe(401);
    expect((await send(h.url, 'POST', json, '{not json')).status).toBe(401);
    // 7 last: with the token, the body's own faults.
    expect((await send(h.url, 'POST', { ...json, ...auth }, 'x'.repeat(2_000))).status).toBe(413);
    expect((await send(h.url, 'POST', { ...json, ...auth }, '{not json')).status).toBe(400);
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe('the front door with MCP_AUTH=oauth (issue 20)', () => {
  const OAUTH_TARGETS = [
    '/.well-known/oauth-protected-resource/mcp',
    '/.well-known/oauth-authorization-server',
    '/.well-known/openid-configuration',
    '/authorize',
    '/authorize?response_type=code&client_id=x&redirect_uri=http://127.0.0.1:9/cb&code_challenge=abc&code_challenge_method=S256',
    '/authorize/not-a-uid',
    '/token',
    '/register',
    '/register/unknown',
    '/revoke',
    '/jwks',
    '/oauth/interaction/unknown',
    '/oauth/interaction/unknown/consent',
    '/oauth/interaction/unknown/done',
    '/oauth/interaction/' + 'u'.repeat(80),
    '/oauth/launchpad/callback?code=x&state=y',
    '/oauth/launchpad/callback',
  ];
  const OAUTH_BODIES = [
    '{"redirect_uris":["http://evil.example/cb"]}',
    '{"redirect_uris":"x"}',
    '{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}',
    'grant_type=authorization_code&code=x&client_id=y&code_verifier=z',
    'grant_type=refresh_token&refresh_token=x&client_id=y',
    'token=x&client_id=y',
    'csrf=x&decision=allow',
  ];

  async function startOAuth(options: HttpServeOptions = {}): Promise<{ h: HttpServer; publicUrl: string }> {
    sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
    service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }) });
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    http = await serveHttp(singleService(service), {
      port,
      token: TOKEN,
      oauth: {
        publicUrl,
        store: new MemoryOAuthStore(),
        keys: testProviderKeys(),
        launchpad: { url: sb.url, clientId: 'sandbox-client', clientSecret: 'sandbox-secret', userAgent: 'front-door-test' },
        accountId: sb.accountId,
      },
      ...options,
    });
    return { h: http, publicUrl };
  }

  it('target, /healthz, the path (OAuth routes known), Host, then OAuth routes answered without the Origin check, then Origin and the token for /mcp', async () => {
    const { h, publicUrl } = await startOAuth({ allowedOrigins: ['https://app.example'], maxBodyBytes: 1_000 });
    const json = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const metadataPath = '/.well-known/oauth-authorization-server';
    // 1, 2, 3 as in keys mode; an unknown path is still 404, even one that looks like OAuth.
    expect((await send(h.url, 'GET', FOREIGN_HOST, undefined, '*')).status).toBe(400);
    expect((await send(h.url, 'GET', FOREIGN_HOST, undefined, '/healthz')).status).toBe(200);
    expect((await send(h.url, 'GET', FOREIGN_HOST, undefined, '/userinfo')).status).toBe(404);
    expect((await send(h.url, 'GET', {}, undefined, '/oauth/elsewhere')).status).toBe(404);
    // 4: an OAuth route from a foreign Host is refused for its Host.
    const hostFirst = await send(h.url, 'GET', FOREIGN_HOST, undefined, metadataPath);
    expect(hostFirst.status).toBe(403);
    expect(hostFirst.body).toContain('Host');
    // OAuth routes skip Origin (the provider's CORS): metadata and /token answer a foreign Origin.
    const metadata = await send(h.url, 'GET', { origin: 'https://evil.example' }, undefined, metadataPath);
    expect(metadata.status).toBe(200);
    expect(JSON.parse(metadata.body)).toMatchObject({ issuer: publicUrl });
    const token = await send(h.url, 'POST', { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'grant_type=refresh_token&refresh_token=x&client_id=y', '/token');
    expect(token.status).toBe(401);
    expect(token.body).toContain('invalid_client');
    // ...except the consent form: from another Origin it is refused.
    const consent = await send(h.url, 'POST', { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'csrf=x&decision=allow', '/oauth/interaction/abc/consent');
    expect(consent.status).toBe(403);
    // 5 before the token for /mcp: a foreign Origin without a token is refused for its Origin.
    const originFirst = await send(h.url, 'POST', { ...json, origin: 'https://evil.example' }, initBody);
    expect(originFirst.status).toBe(403);
    expect(originFirst.body).toContain('Origin');
    // 6: no token → 401 naming the protected-resource metadata; the named key is still accepted.
    const unauthorised = await send(h.url, 'POST', json, 'x'.repeat(2_000));
    expect(unauthorised.status).toBe(401);
    expect(unauthorised.headers['www-authenticate']).toContain(`resource_metadata="${publicUrl}/.well-known/oauth-protected-resource/mcp"`);
    expect((await send(h.url, 'POST', { ...json, authorization: 'Bearer not-a-token' }, '{not json')).status).toBe(401);
    // 7 last: with a key, the body's own faults.
    expect((await send(h.url, 'POST', { ...json, ...auth }, 'x'.repeat(2_000))).status).toBe(413);
    expect((await send(h.url, 'POST', { ...json, ...auth }, '{not json')).status).toBe(400);
    await toolWorks(h.url);
  });

  it('in-process: 2,500 malformed requests, OAuth routes and bodies among them, never get a 500 or crash it; the key works after', async () => {
    const { h } = await startOAuth({ headersTimeoutMs: 3_000, bodyIdleMs: 1_000, requestTimeoutMs: 4_000 });
    const cases = malformedRequests(0x0a07, 2_500, Number(new URL(h.url).port), [TOKEN], { targets: OAUTH_TARGETS, bodies: OAUTH_BODIES });
    // OAuth routes may rightly answer 2xx/3xx (metadata, preflights, a redirect back with an error): only 5xx or a hang is bad.
    const report = await fuzz(h.url, cases, 24, (_payload, status) => status < 500);
    expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
    expect(report.sent).toBe(2_500);
    for (const status of ['400', '403', '404']) expect(report.answered[status], status).toBeGreaterThan(20);
    expect(report.answered['401']).toBeGreaterThan(0);
    await toolWorks(h.url);
  }, 40_000);

  it('process level: the CLI served with MCP_AUTH=oauth survives 1,000 malformed requests, OAuth routes among them; the key works after', async () => {
    const { proc, url, stderr } = await spawnServer({ MCP_HTTP_TOKEN: TOKEN, MCP_AUTH: 'oauth', MCP_PUBLIC_URL: 'http://127.0.0.1:8787', MCP_TOKEN_KEY: 'ab'.repeat(32) });
    const report = await fuzz(url, malformedRequests(0x0a08, 1_000, Number(new URL(url).port), [TOKEN], { targets: OAUTH_TARGETS, bodies: OAUTH_BODIES }), 24, (_payload, status) => status < 500);
    expect(proc.exitCode, stderr()).toBeNull();
    expect(report.bad, JSON.stringify(report.answered)).toEqual([]);
    await toolWorks(url);
    expect(stderr()).not.toMatch(/Parse Error|at .*node_modules/);
    expect(proc.exitCode).toBeNull();
  }, 40_000);
});
