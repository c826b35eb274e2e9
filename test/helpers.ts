import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { BasecampHttp, type HttpOptions } from '../src/basecamp/http.js';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { loadConfig, type Config } from '../src/config.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createMcpServer, type ServerOptions } from '../src/server.js';
import { STDIO_CALLER, type Caller } from '../src/caller.js';
import { createService, StaticCredentials, type Service, type ServiceOptions } from '../src/service.js';
import type { PeopleSnapshotStore } from '../src/governance/people-snapshots.js';

export interface Scripted {
  url: string;
  hits: { method: string; url: string; headers: IncomingMessage['headers']; body: string; at: number }[];
  close(): Promise<void>;
}

/** A tiny HTTP server on 127.0.0.1 whose every answer the test scripts. */
export async function scriptedServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string, n: number) => void | Promise<void>,
): Promise<Scripted> {
  const hits: Scripted['hits'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      hits.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, at: Date.now() });
      void handler(req, res, body, hits.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': 'req-test-1', ...headers });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    // No audit trail unless a test asks for one: tests never write to the real config folder.
    ...loadConfig({ BASECAMP_ACCESS_TOKEN: 'test-token', BASECAMP_TOKEN_FILE: '/nonexistent/token.json', BASECAMP_AUDIT_LOG: 'off' }),
    // A Basecamp 4 account unless a test says otherwise: scripted servers need not play Launchpad.
    accountProduct: 'bc3',
    // No snapshots of the people directory unless a test asks for them (a file in its scratch folder).
    snapshotFile: undefined,
    ...overrides,
  };
}

/** A service pointed at a sandbox, with fast retries so fault tests do not wait seconds. */
export function sandboxService(sandbox: Sandbox, options: ServiceOptions & { config?: Partial<Config> } = {}): Service {
  // A Basecamp 2 account is found through the sandbox's Launchpad (its API base is Launchpad's href).
  const product = sandbox.product === 'bcx' ? undefined : 'bc3';
  const config = testConfig({ apiUrl: sandbox.url, launchpadUrl: sandbox.url, accountId: sandbox.accountId, accountProduct: product, ...options.config });
  return createService(config, {
    credentials: new StaticCredentials(sandbox.token, 'test token'),
    budget: options.budget ?? new RateBudget(config.rateLimit),
    ...options,
    http: { retryBaseMs: 20, retryMaxMs: 100, ...options.http },
  });
}

/** An in-memory client of a server built for one caller (default: stdio's, an admin). */
export async function connectClient(service: Service, options: ServerOptions & { caller?: Caller } = {}, capabilities = {}): Promise<Client> {
  const server = createMcpServer(service, { ...options, caller: options.caller ?? STDIO_CALLER });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'test', version: '1.0.0' }, { capabilities });
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  return client;
}

/** Largest number of times in `times` that fall inside any window of `windowMs`. */
export function maxInWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}

export type ToolResult = { content: { type: string; text: string }[]; structuredContent?: Record<string, unknown>; isError?: boolean };

export async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

/** A Basecamp client for scripted servers: account 999, a static token, a roomy budget, fast retries. */
export function testHttpClient(url: string, opts: Partial<HttpOptions> = {}): BasecampHttp {
  return new BasecampHttp({
    accountBase: `${url}/999`,
    credentials: new StaticCredentials('secret-token', 'test token'),
    userAgent: 'basecamp-people-mcp-tests (https://example.test)',
    budget: new RateBudget({ max: 1000, windowMs: 10_000 }),
    retryBaseMs: 10,
    retryMaxMs: 50,
    ...opts,
  });
}

/**
 * For a test file against scripted servers: `serve(handler)` starts one, `client(url)` makes a test client;
 * every server and client of a test is closed after it.
 */
export function scriptedHarness() {
  const servers: Scripted[] = [];
  const clients: BasecampHttp[] = [];
  afterEach(async () => {
    for (const http of clients.splice(0)) {
      await http.close();
      await http.budget.stop();
    }
    for (const server of servers.splice(0)) await server.close();
  });
  return {
    async serve(handler: Parameters<typeof scriptedServer>[0]): Promise<Scripted> {
      const server = await scriptedServer(handler);
      servers.push(server);
      return server;
    },
    client(url: string, opts: Partial<HttpOptions> = {}): BasecampHttp {
      const http = testHttpClient(url, opts);
      clients.push(http);
      return http;
    },
  };
}

export const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

/** A free TCP port on 127.0.0.1 (for a server we start ourselves, such as redis-server). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Our own redis-server on 127.0.0.1:port, nothing persisted (in `dir` when given); resolves once it accepts connections. */
export async function startRedis(port: number, dir?: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...(dir ? ['--dir', dir] : [])];
  const redis = spawn('redis-server', args, { stdio: 'pipe' });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
    redis.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/Ready to accept connections/i.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  return redis;
}

/* What the tool tests (test/tools/*.test.ts) share. */

/** People and projects of the sandbox's fixed account that the tool tests name. */
export const OWNER = 1000001; // olivia@acme.example
export const ADAM = 1000002; // an admin who is not the owner
export const JAN = 1000003; // jan@acme.example
export const TOMBSTONE = 1000007;
export const CLIENT = 1000009; // rosa.petrov@client.example
export const HQ = 2000001;
export const LAUNCH = 2000004;
export const WEBSITE = 2000006;
export const OLD_WEBSITE = 2000011; // archived
export const ABANDONED = 2000013; // trashed

export const structured = <T = Record<string, unknown>>(r: { structuredContent?: Record<string, unknown> }) => r.structuredContent as T;
export const text = (r: ToolResult) => r.content[0]!.text;
/** Every request the sandbox saw that was not a GET. */
export const writes = (s: Sandbox) => s.apiRequests().filter((r) => r.method !== 'GET');
/** Requests for `path` (by default any people list, the account's or a project's). */
export const peopleRequests = (s: Sandbox, path = '/people.json') => s.apiRequests().filter((r) => r.path.split('?')[0]!.endsWith(path));
/** Reads of the account's people directory (not a project's people). */
export const peopleReads = (s: Sandbox) => s.apiRequests().filter((r) => r.path.split('?')[0]!.endsWith('/people.json') && !r.path.includes('/projects/'));

export interface ToolSetupOptions {
  /** People in the sandbox (120). */
  people?: number;
  /** Client capabilities ({}). */
  capabilities?: Record<string, unknown>;
  /** Shorthand for capabilities { elicitation: {} }. */
  elicitation?: boolean;
  /** A human who says yes to every confirmation (elicitation declared and answered accept). */
  autoConfirm?: boolean;
  readOnly?: boolean;
  /** Directory cache lifetime (60 s). */
  cacheTtlMs?: number;
  /** Sign in as this person instead of the owner. */
  signInAs?: number;
  /** The sandbox account's product: bc3 (Basecamp 4, default) or bcx (Basecamp 2, found through the sandbox's Launchpad). */
  product?: 'bc3' | 'bcx';
  /** Where the people snapshots are kept (default: a file in a scratch folder removed after the test). */
  snapshotFile?: string;
  /** Instead of a file: this store (Redis). */
  snapshots?: PeopleSnapshotStore;
}

/**
 * For a tool test file: `setup()` starts a sandbox (roomy rate limit), a service and a connected client;
 * `track()` registers anything else a test opens. All of it is closed after each test, newest first.
 */
export function toolHarness() {
  let open: { close(): unknown }[] = [];
  afterEach(async () => {
    const closing = open.reverse();
    open = [];
    for (const thing of closing) await thing.close();
  });
  const track = <T extends { close(): unknown }>(thing: T): T => {
    open.push(thing);
    return thing;
  };
  async function setup(opts: ToolSetupOptions = {}): Promise<{ sb: Sandbox; client: Client }> {
    const sb = track(await startSandbox({ people: opts.people ?? 120, rateLimit: { max: 10_000, windowMs: 10_000 }, product: opts.product }));
    const credentials = opts.signInAs ? new StaticCredentials(sb.issueToken(opts.signInAs).access_token, 'test token') : undefined;
    let snapshotFile = opts.snapshotFile;
    if (!snapshotFile && !opts.snapshots) {
      const folder = mkdtempSync(join(tmpdir(), 'bpm-snapshots-'));
      track({ close: () => rmSync(folder, { recursive: true, force: true }) });
      snapshotFile = join(folder, 'audit.jsonl.people-snapshots.jsonl');
    }
    const service = track(
      sandboxService(sb, {
        config: { cacheTtlMs: opts.cacheTtlMs ?? 60_000, snapshotFile },
        ...(opts.snapshots ? { snapshots: opts.snapshots } : {}),
        budget: new RateBudget({ max: 10_000, windowMs: 10_000 }),
        ...(credentials ? { credentials } : {}),
      }),
    );
    const client = track(
      await connectClient(service, { readOnly: opts.readOnly }, opts.capabilities ?? (opts.elicitation || opts.autoConfirm ? { elicitation: {} } : {})),
    );
    if (opts.autoConfirm) client.setRequestHandler(ElicitRequestSchema, () => ({ action: 'accept', content: { confirm: true } }));
    return { sb, client };
  }
  return { setup, track };
}

/** The secret the governance tests seal plan tokens with. */
export const PLAN_SECRET = 'a-plan-secret-that-is-long-enough-0123456789';

/** The wire kind of an isError result (the `error` field of its JSON line). */
export const kindOf = (r: { content: { text?: string }[] }) => /"error":"([a-z_]+)"/.exec(r.content[0]!.text ?? '')?.[1];

/**
 * For a test file that opens servers and clients and makes scratch folders: `track()` registers what to close,
 * `scratch()` makes a folder under the system's temp folder; after each test all are closed (newest first) and removed.
 */
export function scratchHarness(prefix: string) {
  const open: { close(): unknown }[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const t of open.splice(0).reverse()) await t.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const track = <T extends { close(): unknown }>(t: T): T => (open.push(t), t);
  const scratch = () => {
    const d = mkdtempSync(join(tmpdir(), `bpm-${prefix}-`));
    dirs.push(d);
    return d;
  };
  return { track, scratch };
}
