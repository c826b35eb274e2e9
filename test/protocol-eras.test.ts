import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client as Client2026 } from '@modelcontextprotocol/client';
import { StreamableHTTPClientTransport as Http2026 } from '@modelcontextprotocol/client';
import { StdioClientTransport as Stdio2026 } from '@modelcontextprotocol/client/stdio';
import { Client as Client2025 } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport as Stdio2025 } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport as Http2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { serveHttp, type HttpServer } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import type { Service } from '../src/service.js';
import { ADAM, JAN, LAUNCH, sandboxService, writes } from './helpers.js';

/**
 * Both protocol eras on one binary: a 2025-11-25 client (the v1 SDK) and a 2026-07-28 client (the v2 SDK, pinned)
 * see the same tools and can call every one, over stdio (the era pinned per connection) and over HTTP (sessions for
 * 2025 clients, stateless 2026 requests; --stateless serves 2025 clients per request too).
 */

const MODERN = '2026-07-28';
type AnyClient = Pick<Client2025, 'listTools' | 'callTool' | 'close'>;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

/** One call per tool: reads, two invitations (real, in the sandbox) and the two destructive tools' dry runs. */
const EVERY_TOOL: [string, Record<string, unknown>][] = [
  ['get_account', {}],
  ['list_people', {}],
  ['get_person', { person_id: JAN }],
  ['list_projects', {}],
  ['access_report', {}],
  ['list_changes', {}],
  ['export_people', {}],
  ['reconcile_people', { roster: [{ email_address: 'jan@acme.example' }] }],
  ['people_changes', {}],
  ['invite_person', { name: 'Dana Era', email_address: 'dana.era@acme.example' }],
  ['invite_people', { people: [{ name: 'Eve Era', email_address: 'eve.era@acme.example' }] }],
  ['update_project_access', { project_id: LAUNCH, grant: [ADAM], dry_run: true }],
  ['trash_person', { person_id: JAN, dry_run: true }],
];

const listing = async (client: AnyClient) =>
  (await client.listTools()).tools.map((t) => ({ name: t.name, title: t.title, inputSchema: t.inputSchema, outputSchema: t.outputSchema, annotations: t.annotations }));

async function callsEveryTool(client: AnyClient): Promise<void> {
  const names = (await client.listTools()).tools.map((t) => t.name).sort();
  expect(names).toEqual(EVERY_TOOL.map(([n]) => n).sort());
  for (const [name, args] of EVERY_TOOL) {
    const r = (await client.callTool({ name, arguments: args })) as { isError?: boolean; content: { text?: string }[]; structuredContent?: unknown };
    expect(r.isError, `${name}: ${r.content[0]?.text}`).toBeFalsy();
    expect(r.structuredContent, name).toBeTruthy();
  }
}

/** A scratch folder for this test's audit trail and snapshots (list_changes and people_changes need them). */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpm-eras-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const cli = ['dist/cli.js', 'serve', '--sandbox'];
const cliEnv = () => ({ ...process.env, BASECAMP_AUDIT_LOG: join(scratch(), 'audit.jsonl'), BASECAMP_LOG_LEVEL: 'error', BASECAMP_RATE_LIMIT: '1000/10s' }) as Record<string, string>;

describe('stdio: the era is pinned per connection', () => {
  it('a 2025 client and a 2026-07-28 client list the same tools and call every one', async () => {
    const env = cliEnv();
    const old = new Client2025({ name: 'era-2025', version: '1.0.0' });
    await old.connect(new Stdio2025({ command: process.execPath, args: cli, env, stderr: 'ignore' }));
    cleanup.push(() => old.close());
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await modern.connect(new Stdio2026({ command: process.execPath, args: cli, env, stderr: 'ignore' }));
    cleanup.push(() => modern.close());
    expect(old.getServerVersion()?.name).toBe('basecamp-people-mcp');
    expect(modern.getProtocolEra()).toBe('modern');
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(await listing(modern as unknown as AnyClient)).toEqual(await listing(old));
    await callsEveryTool(old);
    await callsEveryTool(modern as unknown as AnyClient);
  }, 60_000);
});

describe('streamable HTTP: both eras at /mcp', () => {
  let sb: Sandbox;
  let service: Service;
  let http: HttpServer;

  async function start(stateless: boolean): Promise<void> {
    sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
    const dir = scratch();
    service = sandboxService(sb, {
      config: { rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: join(dir, 'audit.jsonl'), snapshotFile: join(dir, 'snapshots.jsonl') },
    });
    http = await serveHttp(singleService(service), { port: 0, stateless });
    cleanup.push(() => sb.close(), () => service.close(), () => http.drain(100));
  }

  async function clients(): Promise<{ old: Client2025; modern: Client2026 }> {
    const old = new Client2025({ name: 'era-2025', version: '1.0.0' });
    await old.connect(new Http2025(new URL(http.url)));
    cleanup.push(() => old.close());
    const modern = new Client2026({ name: 'era-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
    await modern.connect(new Http2026(new URL(http.url)));
    cleanup.push(() => modern.close());
    return { old, modern };
  }

  it('stateful (the default): the 2025 client gets a session, the 2026 client none; same tools, every one callable', async () => {
    await start(false);
    const { old, modern } = await clients();
    expect(http.sessions()).toBe(1);
    expect(modern.getNegotiatedProtocolVersion()).toBe(MODERN);
    expect(await listing(modern as unknown as AnyClient)).toEqual(await listing(old));
    await callsEveryTool(old);
    await callsEveryTool(modern as unknown as AnyClient);
    // The 2026 requests opened no session; the only writes were the two clients' invitations (dry runs sent nothing).
    expect(http.sessions()).toBe(1);
    expect(writes(sb).map((w) => `${w.method} ${w.path}`)).toEqual(Array(4).fill(`POST /${sb.accountId}/account/enrollments/people.json`));
  }, 60_000);

  it('--stateless: both eras served per request, no sessions; same tools, every one callable', async () => {
    await start(true);
    const { old, modern } = await clients();
    expect(http.sessions()).toBe(0);
    expect(await listing(modern as unknown as AnyClient)).toEqual(await listing(old));
    await callsEveryTool(old);
    await callsEveryTool(modern as unknown as AnyClient);
    expect(http.sessions()).toBe(0);
  }, 60_000);

  it('server/discover answers a 2026 client with our name, version and the revisions spoken; lists carry ttlMs and cacheScope', async () => {
    await start(false);
    const post = (body: unknown, method: string) =>
      fetch(http.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': MODERN, 'mcp-method': method },
        body: JSON.stringify(body),
      });
    const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {}, 'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' } };
    const discover = await post({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: { _meta: meta } }, 'server/discover');
    expect(discover.status).toBe(200);
    const d = (await discover.json()) as { result: Record<string, unknown> };
    expect(JSON.stringify(d.result)).toContain('basecamp-people-mcp');
    expect(JSON.stringify(d.result)).toContain(MODERN);
    const list = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: meta } }, 'tools/list');
    const l = (await list.json()) as { result: { ttlMs: number; cacheScope: string; tools: unknown[] } };
    expect(l.result.tools).toHaveLength(EVERY_TOOL.length);
    expect(l.result.ttlMs).toBe(300_000);
    expect(l.result.cacheScope).toBe('private');
  }, 30_000);
});
