import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tools as registry } from '../src/tools/index.js';
import type { ToolResult } from './helpers.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

/** The real thing: the built CLI spawned over stdio, driven by the SDK's Client, against the embedded sandbox. */
describe('stdio: the built CLI with --sandbox', () => {
  let client: Client;
  let stderr = '';
  beforeAll(async () => {
    if (!existsSync(cli)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it)');
    const transport = new StdioClientTransport({ command: process.execPath, args: [cli, 'serve', '--sandbox'], stderr: 'pipe', env: { PATH: process.env.PATH ?? '' } });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    client = new Client({ name: 'e2e', version: '1.0.0' });
    await client.connect(transport);
  });
  afterAll(async () => {
    await client?.close();
  });

  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as ToolResult;

  it('lists every tool and says on stderr that it runs on the sandbox', async () => {
    expect((await client.listTools()).tools).toHaveLength(registry.length);
    expect(stderr).toMatch(/SANDBOX/);
  });

  it('every tool works end to end', async () => {
    const people = await call('list_people', { role: 'admin' });
    expect(people.isError).toBeFalsy();
    expect((people.structuredContent as { total: number }).total).toBeGreaterThan(0);
    expect((await call('get_person', { email: 'jan@acme.example' })).structuredContent).toMatchObject({ person: { id: 1000003 } });
    expect((await call('get_account')).structuredContent).toMatchObject({ account: { name: 'Acme Co (sandbox)' } });
    const projects = (await call('list_projects', { query: 'Launch' })).structuredContent as { projects: { id: number }[] };
    const launch = projects.projects[0]!.id;
    const invited = await call('invite_person', { name: 'Dana Doe', email_address: 'dana@acme.example', project_id: launch });
    expect(invited.structuredContent).toMatchObject({ created: true, project_id: launch });
    // This client cannot ask a human: a revocation answers with its plan and a plan_token, and runs with it.
    const asked = await call('update_project_access', { project_id: launch, revoke: ['dana@acme.example'] });
    expect(asked.isError).toBe(true);
    expect(asked.content[0]!.text).toContain('"error":"confirmation_required"');
    const revokeToken = (asked.structuredContent as { plan_token: string }).plan_token;
    const access = await call('update_project_access', { project_id: launch, revoke: ['dana@acme.example'], plan_token: revokeToken });
    expect((access.structuredContent as { revoked: unknown[] }).revoked).toHaveLength(1);
    const plan = await call('trash_person', { email: 'jan@acme.example', dry_run: true });
    expect(plan.structuredContent).toMatchObject({ status: 'planned', account_removed: false });
    const refused = await call('trash_person', { email: 'jan@acme.example' });
    expect(refused.isError).toBe(true);
    expect(refused.content[0]!.text).toContain('"error":"confirmation_required"');
    const done = await call('trash_person', { email: 'jan@acme.example', plan_token: (plan.structuredContent as { plan_token: string }).plan_token });
    expect(done.structuredContent).toMatchObject({ status: 'done' });
    const after = await call('trash_person', { email: 'jan@acme.example', dry_run: true });
    expect((after.structuredContent as { projects: unknown[] }).projects).toHaveLength(0);
  });

  it('bad input is an isError result, not a crash', async () => {
    const r = await call('get_person', { email: 'nope' });
    expect(r.isError).toBe(true);
    expect(r.content[0]!.text).toMatch(/email/i);
  });
});

describe('stdio: stdout carries JSON-RPC only', () => {
  it('every line the server writes to stdout is a JSON-RPC message', async () => {
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [cli, 'serve', '--sandbox'], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '', BASECAMP_LOG_LEVEL: 'debug' } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const send = (m: unknown) => child.stdin.write(`${JSON.stringify(m)}\n`);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_people', arguments: { limit: 2 } } });
    send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'get_person', arguments: { person_id: 42 } } });
    // Requests run concurrently: wait for both answers, in whatever order they come.
    for (let i = 0; i < 400 && !(/"id":2\}/.test(out) && /"id":3\}/.test(out)); i++) await new Promise((r) => setTimeout(r, 25));
    child.kill('SIGTERM');
    const lines = out.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(lines.map((l) => (JSON.parse(l) as { id?: number }).id)).toEqual(expect.arrayContaining([1, 2, 3]));
  });
});
