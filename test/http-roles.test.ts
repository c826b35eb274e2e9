import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as Client2025 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Transport2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as Client2026, StreamableHTTPClientTransport as Transport2026 } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { RateBudget } from '../src/basecamp/rate-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import type { Service } from '../src/service.js';
import type { HttpClientKey } from '../src/transports/http-keys.js';
import { serveHttp, type HttpServeOptions, type HttpServer } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { ADAM, JAN, LAUNCH, connectClient, kindOf, sandboxService, structured, text, type ToolResult } from './helpers.js';

/**
 * Named keys with roles (issue 20): each role's tools/list is exactly its set, in both protocol eras; every other
 * tool is refused with no request to Basecamp; an operator grants but never revokes; the audit trail names every
 * caller and list_changes filters by it; a 2025 session belongs to the key that opened it.
 */

const MODERN = '2026-07-28';
const sha = (token: string) => createHash('sha256').update(token).digest('hex');
const TOKENS = {
  reader: 'reader-key-0123456789abcdef0123456789',
  operator: 'operator-key-0123456789abcdef012345678',
  admin: 'admin-key-0123456789abcdef0123456789ab',
  root: 'mcp-http-token-0123456789abcdef01234567',
} as const;
const CLIENTS: HttpClientKey[] = [
  { name: 'nightly-report', token_sha256: sha(TOKENS.reader), role: 'reader' },
  { name: 'onboarding-bot', token_sha256: sha(TOKENS.operator).toUpperCase(), role: 'operator' },
  { name: 'ops-admin', token_sha256: sha(TOKENS.admin), role: 'admin' },
];

/** Written out here, not derived from the code under test. */
const READS = ['list_people', 'get_person', 'get_account', 'list_projects', 'list_changes', 'access_report', 'export_people', 'reconcile_people', 'people_changes'];
const ALL = [...READS, 'invite_person', 'invite_people', 'update_project_access', 'trash_person'];
const ALLOWED = {
  reader: READS,
  operator: [...READS, 'invite_person', 'invite_people', 'update_project_access'],
  admin: ALL,
} as const;
/** Arguments a tool would accept, so a refusal is about the role, not the input. */
const ARGS: Record<string, Record<string, unknown>> = {
  invite_person: { name: 'Nia Role', email_address: 'nia.role@acme.example' },
  invite_people: { people: [{ name: 'Nia Role', email_address: 'nia.role@acme.example' }] },
  update_project_access: { project_id: LAUNCH, grant: [ADAM] },
  trash_person: { person_id: JAN, dry_run: true },
};

let sb: Sandbox | undefined;
let service: Service | undefined;
let http: HttpServer | undefined;
let folder: string | undefined;
const closers: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closers.splice(0)) await close().catch(() => undefined);
  await http?.drain(100);
  await service?.close();
  await sb?.close();
  if (folder) rmSync(folder, { recursive: true, force: true });
  http = service = sb = folder = undefined;
});

async function start(options: HttpServeOptions = { token: TOKENS.root, clients: CLIENTS }): Promise<HttpServer> {
  folder = mkdtempSync(join(tmpdir(), 'roles-'));
  sb = await startSandbox({ people: 30, rateLimit: { max: 10_000, windowMs: 10_000 } });
  service = sandboxService(sb, { budget: new RateBudget({ max: 10_000, windowMs: 10_000 }), config: { auditLog: join(folder, 'audit.jsonl') } });
  http = await serveHttp(singleService(service), { port: 0, ...options });
  return http;
}

/** What both eras' clients are asked here. */
interface Caller {
  listTools(): Promise<string[]>;
  callTool(name: string, args: Record<string, unknown>): Promise<ToolResult>;
}

async function client2025(url: string, token?: string): Promise<Caller & { sessionId(): string | undefined }> {
  const transport = new Transport2025(new URL(url), { requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined });
  const client = new Client2025({ name: 'roles-2025', version: '1.0.0' });
  await client.connect(transport);
  closers.push(() => client.close());
  return {
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as ToolResult,
    sessionId: () => transport.sessionId,
  };
}

async function client2026(url: string, token?: string): Promise<Caller> {
  const client = new Client2026({ name: 'roles-2026', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } });
  await client.connect(new Transport2026(new URL(url), { requestInit: token ? { headers: { authorization: `Bearer ${token}` } } : undefined }));
  closers.push(() => client.close());
  return {
    listTools: async () => (await client.listTools()).tools.map((t) => t.name),
    callTool: async (name, args) => (await client.callTool({ name, arguments: args })) as ToolResult,
  };
}

const ERAS = { '2025 (session, v1 SDK client)': client2025, '2026-07-28 (v2 SDK client)': client2026 } as const;

/** The sandbox's request count (API and Launchpad): a refusal must not move it. */
const seen = () => sb!.requests.length;

describe.each(Object.entries(ERAS))('roles over HTTP, era %s', (_era, connect) => {
  it.each(['reader', 'operator', 'admin'] as const)('%s: tools/list is exactly its set, and every other tool is refused by name with 0 requests', async (role) => {
    const h = await start();
    const c = await connect(h.url, TOKENS[role]);
    expect((await c.listTools()).sort()).toEqual([...ALLOWED[role]].sort());
    for (const tool of ALL.filter((t) => !(ALLOWED[role] as readonly string[]).includes(t))) {
      const before = seen();
      await expect(c.callTool(tool, ARGS[tool] ?? {}), tool).rejects.toThrow(`Tool ${tool} not found`);
      expect(seen(), `${role} calling ${tool} reached the sandbox`).toBe(before);
    }
  });

  it('an operator grants project access, and a call with revoke (alone or with a grant) is refused with role_forbidden and 0 requests', async () => {
    const h = await start();
    const c = await connect(h.url, TOKENS.operator);
    const granted = await c.callTool('update_project_access', { project_id: LAUNCH, grant: [ADAM] });
    expect(granted.isError, text(granted)).toBeFalsy();
    expect(structured<{ granted: { id: number }[] }>(granted).granted.map((p) => p.id)).toEqual([ADAM]);
    for (const args of [{ project_id: LAUNCH, revoke: [JAN] }, { project_id: LAUNCH, grant: [ADAM], revoke: [JAN] }, { project_id: LAUNCH, revoke: [JAN], dry_run: true }]) {
      const before = seen();
      const r = await c.callTool('update_project_access', args);
      expect(r.isError, JSON.stringify(args)).toBe(true);
      expect(kindOf(r)).toBe('role_forbidden');
      expect(text(r)).toMatch(/"onboarding-bot" has the role operator.*revoke is refused\. Nothing was read or changed/);
      expect(seen(), JSON.stringify(args)).toBe(before);
    }
    // The same call from an admin key is not refused for its role.
    const admin = await connect(h.url, TOKENS.admin);
    const plan = await admin.callTool('update_project_access', { project_id: LAUNCH, revoke: [JAN], dry_run: true });
    expect(plan.isError, text(plan)).toBeFalsy();
  });

  it('the audit trail names each caller (named keys and MCP_HTTP_TOKEN), and list_changes filters by caller', async () => {
    const h = await start();
    const operator = await connect(h.url, TOKENS.operator);
    const admin = await connect(h.url, TOKENS.admin);
    const root = await connect(h.url, TOKENS.root);
    const reader = await connect(h.url, TOKENS.reader);
    expect((await operator.callTool('update_project_access', { project_id: LAUNCH, grant: [ADAM] })).isError).toBeFalsy();
    expect((await admin.callTool('update_project_access', { project_id: LAUNCH, revoke: [JAN], dry_run: true })).isError).toBeFalsy();
    expect((await root.callTool('invite_person', ARGS.invite_person!)).isError).toBeFalsy();
    type Listed = { entries: { caller: string | null; tool: string; kind: string }[]; total: number };
    const all = structured<Listed>(await reader.callTool('list_changes', {}));
    expect(all.entries.map((e) => [e.caller, e.tool]).reverse()).toEqual([
      ['onboarding-bot', 'update_project_access'],
      ['ops-admin', 'update_project_access'],
      ['MCP_HTTP_TOKEN', 'invite_person'],
    ]);
    const bot = await reader.callTool('list_changes', { caller: 'Onboarding-Bot' });
    expect(structured<Listed>(bot).entries.map((e) => [e.caller, e.kind])).toEqual([['onboarding-bot', 'write']]);
    expect(text(bot)).toMatch(/\(caller onboarding-bot\)/);
    expect(structured<Listed>(await reader.callTool('list_changes', { caller: 'ops-admin' })).entries.map((e) => e.kind)).toEqual(['decision']);
    expect(structured<Listed>(await reader.callTool('list_changes', { caller: 'nightly-report' })).total).toBe(0);
    // Every line of the file, intent, outcome and decision alike, carries its caller.
    const lines = (await service!.governance.audit!.read()).map((l) => l.caller);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    expect(lines.every((c) => ['onboarding-bot', 'ops-admin', 'MCP_HTTP_TOKEN'].includes(c))).toBe(true);
  });
});

describe('--stateless (both eras served per request)', () => {
  it.each(Object.entries(ERAS))('%s: each role still gets exactly its tools, and the caller reaches the audit trail', async (_era, connect) => {
    const h = await start({ token: TOKENS.root, clients: CLIENTS, stateless: true });
    for (const role of ['reader', 'operator', 'admin'] as const) {
      const c = await connect(h.url, TOKENS[role]);
      expect((await c.listTools()).sort(), role).toEqual([...ALLOWED[role]].sort());
    }
    const reader = await connect(h.url, TOKENS.reader);
    const before = seen();
    await expect(reader.callTool('trash_person', ARGS.trash_person!)).rejects.toThrow('Tool trash_person not found');
    expect(seen()).toBe(before);
    const operator = await connect(h.url, TOKENS.operator);
    expect((await operator.callTool('update_project_access', { project_id: LAUNCH, grant: [ADAM] })).isError).toBeFalsy();
    expect((await service!.governance.audit!.read()).map((l) => l.caller)).toEqual(['onboarding-bot', 'onboarding-bot']);
  });
});

describe('the README says what the code does', () => {
  it('its role table lists exactly each role\'s tools', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const row = (role: string) => new RegExp(`^\\| \`${role}\` \\| (.*) \\|$`, 'm').exec(readme)?.[1] ?? '';
    const named = (text: string) => [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).filter((t) => ALL.includes(t));
    expect(named(row('reader')).sort()).toEqual([...READS].sort());
    // The operator row names the reads as "the reads", then its writes, and the one tool it lacks.
    expect(named(row('operator')).filter((t) => t !== 'trash_person').sort()).toEqual(['invite_people', 'invite_person', 'update_project_access']);
    expect(row('operator')).toMatch(/No `trash_person`/);
    expect(row('admin')).toMatch(/every tool/);
  });
});

describe('who calls without a named key', () => {
  it('HTTP on loopback with no key set: anonymous, an admin; stdio: stdio; both in the audit trail', async () => {
    const h = await start({});
    const anonymous = await client2026(h.url);
    expect((await anonymous.listTools()).sort()).toEqual([...ALL].sort());
    expect((await anonymous.callTool('update_project_access', { project_id: LAUNCH, grant: [ADAM] })).isError).toBeFalsy();
    const local = await connectClient(service!);
    closers.push(() => local.close());
    expect(((await local.callTool({ name: 'update_project_access', arguments: { project_id: LAUNCH, revoke: [JAN], dry_run: true } })) as ToolResult).isError).toBeFalsy();
    const listed = (await local.callTool({ name: 'list_changes', arguments: {} })) as ToolResult;
    expect(structured<{ entries: { caller: string }[] }>(listed).entries.map((e) => e.caller)).toEqual(['stdio', 'anonymous']);
  });
});

describe('a 2025 session belongs to the key that opened it', () => {
  const post = (url: string, token: string, sessionId: string, body: unknown) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify(body),
    });

  it('the same session with another valid key is answered 404 as an unknown session (a call or a DELETE), with 0 requests; with its own key it works', async () => {
    const h = await start();
    const reader = await client2025(h.url, TOKENS.reader);
    const id = reader.sessionId()!;
    expect(id).toBeTruthy();
    for (const other of [TOKENS.admin, TOKENS.operator, TOKENS.root]) {
      const before = seen();
      const r = await post(h.url, other, id, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'trash_person', arguments: { person_id: JAN, dry_run: true } } });
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/Session not found/);
      expect(seen()).toBe(before);
    }
    // Nor can another key end it.
    const ended = await fetch(h.url, { method: 'DELETE', headers: { authorization: `Bearer ${TOKENS.admin}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' } });
    expect(ended.status).toBe(404);
    const own = await post(h.url, TOKENS.reader, id, { jsonrpc: '2.0', id: 8, method: 'tools/list', params: {} });
    expect(own.status).toBe(200);
    expect(await own.text()).toMatch(/list_people/);
    // The session is still the reader's: the client goes on working.
    expect((await reader.listTools()).sort()).toEqual([...READS].sort());
  });
});

describe('each key has its own cap on 2025 sessions (MCP_MAX_SESSIONS_PER_CALLER)', () => {
  const initialize = (url: string, token: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
  const ping = (url: string, token: string, sessionId: string) =>
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${token}`,
        'mcp-session-id': sessionId,
        'mcp-protocol-version': '2025-11-25',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }),
    });

  it('a reader key at its cap (by default a quarter of the pool) cannot take the admin key\'s slot or end its session; past the grace its own idlest session makes way', async () => {
    // 8 sessions, named keys: each key may hold 2 (the default). The admin's session is the oldest, and idle throughout.
    const h = await start({ clients: CLIENTS, maxSessions: 8, sessionEvictGraceMs: 1_500 });
    const admin = await client2025(h.url, TOKENS.admin);
    const readerOne = await client2025(h.url, TOKENS.reader);
    const readerTwo = await client2025(h.url, TOKENS.reader);
    expect(h.sessions()).toBe(3);

    const refused = await initialize(h.url, TOKENS.reader);
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.text()).toMatch(/Too many sessions for this caller \(at most 2 per caller, MCP_MAX_SESSIONS_PER_CALLER\)/);
    expect(h.sessions()).toBe(3);
    // Other keys still get in: the pool has room.
    expect((await initialize(h.url, TOKENS.operator)).status).toBe(200);

    await new Promise((r) => setTimeout(r, 2_000)); // every session idle past the grace; the admin's the idlest
    await readerTwo.listTools(); // readerOne is now the reader's idlest
    expect((await initialize(h.url, TOKENS.reader)).status).toBe(200);
    expect((await ping(h.url, TOKENS.reader, readerOne.sessionId()!)).status).toBe(404);
    expect((await ping(h.url, TOKENS.admin, admin.sessionId()!)).status).toBe(200);
    expect((await admin.listTools()).sort()).toEqual([...ALL].sort());
    expect(h.sessions()).toBe(4);
  });

  it('the pool full: the reader\'s newcomer ends its own idlest session, not the admin\'s idler one; the admin\'s newcomer ends one of the reader\'s (over its fair share), not its own', async () => {
    const h = await start({ clients: CLIENTS, maxSessions: 3, maxSessionsPerCaller: 2, sessionEvictGraceMs: 1_500 });
    const admin = await client2025(h.url, TOKENS.admin);
    const readerOne = await client2025(h.url, TOKENS.reader);
    const readerTwo = await client2025(h.url, TOKENS.reader);
    expect(h.sessions()).toBe(3);
    await new Promise((r) => setTimeout(r, 2_000)); // all three idle past the grace, the admin's the idlest

    const readerThree = await initialize(h.url, TOKENS.reader);
    expect(readerThree.status).toBe(200);
    const readerThreeId = readerThree.headers.get('mcp-session-id')!;
    expect((await ping(h.url, TOKENS.reader, readerOne.sessionId()!)).status).toBe(404);
    expect((await ping(h.url, TOKENS.admin, admin.sessionId()!)).status).toBe(200);

    // Then the reader's two sessions are used (readerThree first): the admin's stays the idlest of all.
    expect((await ping(h.url, TOKENS.reader, readerThreeId)).status).toBe(200);
    expect((await ping(h.url, TOKENS.reader, readerTwo.sessionId()!)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2_000)); // all three past the grace again
    // Fair share: 3 sessions between 2 keys; the reader holds 2, so its idlest (readerThree) goes, though the admin's is idler.
    expect((await initialize(h.url, TOKENS.admin)).status).toBe(200);
    expect((await ping(h.url, TOKENS.reader, readerThreeId)).status).toBe(404);
    expect((await ping(h.url, TOKENS.admin, admin.sessionId()!)).status).toBe(200);
    expect((await ping(h.url, TOKENS.reader, readerTwo.sessionId()!)).status).toBe(200);
    expect(h.sessions()).toBe(3);
  });

  it('refuses to start with a per-caller cap above the pool\'s', async () => {
    await expect(start({ clients: CLIENTS, maxSessions: 2, maxSessionsPerCaller: 3 })).rejects.toThrow(/maxSessionsPerCaller \(3\) must be at most maxSessions \(2\)/);
  });
});
