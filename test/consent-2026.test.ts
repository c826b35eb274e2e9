import { createHash } from 'node:crypto';
import { STDIO_CALLER } from '../src/caller.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Client, InMemoryTransport, StreamableHTTPClientTransport, type Transport } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { Client as Client2025 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as Http2025 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport as InMemory2025 } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../src/config.js';
import type { AuditLine } from '../src/governance/audit-log.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { createMcpServer } from '../src/server.js';
import type { Service } from '../src/service.js';
import { serveHttp } from '../src/transports/http.js';
import { singleService } from '../src/service-source.js';
import { ABANDONED, ADAM, JAN, kindOf, LAUNCH, OWNER, PLAN_SECRET, sandboxService, structured, text, writes, type ToolResult } from './helpers.js';

/**
 * Consent in the MCP 2026-07-28 era (issue 19): a client pinned to 2026-07-28 is asked through an `input_required`
 * form (one boolean, `confirm`) with a sealed requestState, over stdio, stateful HTTP and stateless HTTP alike; the
 * plan is re-checked when the answer comes back; a forged or replayed requestState is refused with nothing written.
 * At the end, the 2025-era path beside it (elicitation/create over stdio and in HTTP sessions; the plan token over
 * stateless HTTP), unchanged. test/tools/consent.test.ts has the rest of the 2025-era consent answers.
 */

const MODERN = '2026-07-28';
const WEBSITE = 2000006; // Jan is not on it
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => undefined);
});

type Mode = 'stdio' | 'stateful HTTP' | 'stateless HTTP';
type Answer = 'accept' | 'decline' | 'cancel' | 'unchecked';

interface World {
  sb: Sandbox;
  service: Service;
  /** Every question a human was asked. */
  asked: string[];
  audit: () => AuditLine[];
  /** A 2026-07-28 client; `answer` undefined: it declares no elicitation. `before` runs between the question and the answer. */
  client(answer?: Answer, before?: () => void | Promise<void>): Promise<Client>;
  /** The HTTP endpoint (HTTP modes only). */
  url?: string;
}

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bpm-consent26-'));
  cleanup.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function world(mode: Mode, config: Partial<Config> = {}, shared?: { dir: string }): Promise<World> {
  const dir = shared?.dir ?? scratch();
  const file = join(dir, 'audit.jsonl');
  const sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
  const service = sandboxService(sb, { config: { rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: file, planSecret: PLAN_SECRET, ...config } });
  cleanup.push(() => sb.close(), () => service.close());
  const asked: string[] = [];
  let connect: () => Transport;
  let url: string | undefined;
  if (mode === 'stdio') {
    // The in-process equivalent of `serve` on stdio (src/transports/stdio.ts): the SDK's serveStdio, era per connection.
    connect = () => {
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
      const handle = serveStdio(({ era }) => createMcpServer(service, { era, caller: STDIO_CALLER }), { transport: serverSide });
      cleanup.push(() => handle.close());
      return clientSide;
    };
  } else {
    const http = await serveHttp(singleService(service), { port: 0, stateless: mode === 'stateless HTTP' });
    cleanup.push(() => http.drain(100));
    url = http.url;
    connect = () => new StreamableHTTPClientTransport(new URL(http.url));
  }
  const audit = () => {
    try {
      return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as AuditLine);
    } catch {
      return [];
    }
  };
  return {
    sb,
    service,
    asked,
    audit,
    url,
    async client(answer, before) {
      const client = new Client(
        { name: 'consent-2026', version: '1.0.0' },
        { versionNegotiation: { mode: { pin: MODERN } }, capabilities: answer ? { elicitation: { form: {} } } : {} },
      );
      if (answer) {
        client.setRequestHandler('elicitation/create', async (req) => {
          asked.push(req.params.message);
          await before?.();
          if (answer === 'accept') return { action: 'accept', content: { confirm: true } };
          if (answer === 'unchecked') return { action: 'accept', content: { confirm: false } };
          return { action: answer };
        });
      }
      await client.connect(connect());
      cleanup.push(() => client.close());
      expect(client.getNegotiatedProtocolVersion()).toBe(MODERN);
      return client;
    },
  };
}

const call = async (client: Client, name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as unknown as ToolResult;
const person = (sb: Sandbox, id: number) => sb.data.people.get(id)!;
const eleven = () => Array.from({ length: 11 }, (_, i) => ({ email_address: `batch${i}@acme.example`, name: `Batch Person ${i}` }));
const janProjects = (sb: Sandbox) => [...sb.data.projects.values()].filter((p) => p.members.has(JAN)).map((p) => p.id);

describe.each<Mode>(['stdio', 'stateful HTTP', 'stateless HTTP'])('2026-07-28 consent over %s', (mode) => {
  it('accept: the human is asked once, with the people and projects named; then it is done', async () => {
    const w = await world(mode);
    const jan = person(w.sb, JAN);
    const janOn = [...w.sb.data.projects.values()].filter((p) => p.members.has(JAN));
    const r = await call(await w.client('accept'), 'trash_person', { person_id: JAN });
    expect(r.isError, text(r)).toBeFalsy();
    expect(structured(r)).toMatchObject({ status: 'done' });
    expect(w.asked).toHaveLength(1);
    for (const p of janOn) expect(w.asked[0]).toMatch(new RegExp(`revoke ${jan.name} <${jan.email_address}> \\(id ${JAN}\\) from ${p.name}.* \\(project ${p.id}\\)`));
    expect(janProjects(w.sb)).toEqual([]);
    expect(writes(w.sb).length).toBe(janOn.length);
  });

  it('decline and cancel: nothing written, the same "cancelled" answers as the 2025 era, recorded as cancelled', async () => {
    const w = await world(mode);
    const before = janProjects(w.sb);
    const declined = await call(await w.client('decline'), 'trash_person', { person_id: JAN });
    expect(declined.isError, text(declined)).toBeFalsy();
    expect(structured(declined)).toMatchObject({ status: 'cancelled', note: 'The person asked answered decline; nothing was changed.' });
    const cancelled = await call(await w.client('cancel'), 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(structured(cancelled)).toMatchObject({ cancelled: true, revoked: [] });
    const unchecked = await call(await w.client('unchecked'), 'invite_people', { people: eleven() });
    expect(structured(unchecked)).toMatchObject({ cancelled: true, via: 'none' });
    expect(w.asked).toHaveLength(3);
    expect(w.asked[1]).toContain(`revoke ${person(w.sb, JAN).name} <${person(w.sb, JAN).email_address}> (id ${JAN}) from Launch (project ${LAUNCH})`);
    expect(w.asked[2]).toContain('invite Batch Person 3 <batch3@acme.example> with access to Acme Co HQ (project 2000001)');
    expect(writes(w.sb)).toHaveLength(0);
    expect(janProjects(w.sb)).toEqual(before);
    expect(w.audit().filter((l) => l.phase === 'decision').map((l) => l.changes[0]!.outcome)).toEqual(['cancelled', 'cancelled', 'cancelled']);
  });

  it('the plan changed between the question and the answer: plan_changed, nothing written, the plan as it is now shown', async () => {
    const w = await world(mode);
    // Jan is added to another project while the human reads the question.
    const client = await w.client('accept', () => void w.sb.data.projects.get(WEBSITE)!.members.add(JAN));
    const r = await call(client, 'trash_person', { person_id: JAN });
    expect(kindOf(r)).toBe('plan_changed');
    expect(text(r)).toMatch(/the plan changed between the question and the answer/);
    expect(text(r)).toContain(`from Website Redesign (project ${WEBSITE})`);
    expect(w.asked).toHaveLength(1);
    expect(w.asked[0]).not.toContain('Website Redesign');
    expect(writes(w.sb)).toHaveLength(0);
    expect(w.audit().filter((l) => l.phase === 'decision').map((l) => l.changes[0]!.outcome)).toEqual(['refused']);
  });

  it('invite_people over 10 and update_project_access: asked, then done', async () => {
    const w = await world(mode);
    const client = await w.client('accept');
    const batch = await call(client, 'invite_people', { people: eleven(), project_ids: [LAUNCH] });
    expect(batch.isError, text(batch)).toBeFalsy();
    expect(w.asked[0]).toContain(`invite Batch Person 3 <batch3@acme.example> with access to Launch (project ${LAUNCH})`);
    expect([...w.sb.data.people.values()].filter((p) => p.email_address?.startsWith('batch'))).toHaveLength(11);
    const revoke = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(structured<{ revoked: { id: number }[] }>(revoke).revoked.map((p) => p.id)).toEqual([JAN]);
    expect(w.asked).toHaveLength(2);
  });

  it('a client that declared no elicitation keeps the plan_token flow; BASECAMP_CONFIRM=human refuses it and asks one that can', async () => {
    const w = await world(mode);
    const r = await call(await w.client(), 'trash_person', { person_id: JAN });
    expect(kindOf(r)).toBe('confirmation_required');
    const token = structured<{ plan_token: string }>(r).plan_token;
    const done = await call(await w.client(), 'trash_person', { person_id: JAN, plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(janProjects(w.sb)).toEqual([]);

    const strict = await world(mode, { confirm: 'human' });
    const refused = await call(await strict.client(), 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(kindOf(refused)).toBe('human_required');
    expect(writes(strict.sb)).toHaveLength(0);
    const asked = await call(await strict.client('accept'), 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(asked.isError, text(asked)).toBeFalsy();
    expect(strict.asked).toHaveLength(1);
    expect(strict.sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(false);
  });
});

describe('2026-07-28 consent: refused before the human is asked', () => {
  it('unknown and trashed projects, the owner, a batch to a trashed project: refused, nobody asked, nothing sent', async () => {
    const w = await world('stateless HTTP');
    const client = await w.client('accept');
    const refused = async (tool: string, args: Record<string, unknown>, kind: string) => {
      const r = await call(client, tool, args);
      expect(kindOf(r), `${tool}: ${text(r)}`).toBe(kind);
      expect(text(r)).not.toMatch(/plan_token/);
    };
    await refused('trash_person', { person_id: OWNER }, 'invalid_input');
    await refused('update_project_access', { project_id: 999_999, revoke: [JAN] }, 'not_found');
    await refused('update_project_access', { project_id: ABANDONED, revoke: [JAN], grant: [ADAM] }, 'invalid_input');
    await refused('invite_people', { people: eleven(), project_ids: [ABANDONED] }, 'invalid_input');
    expect(w.asked).toEqual([]);
    expect(writes(w.sb)).toHaveLength(0);
  });

  it('a plan_token from a dry run with a client that can ask: the human is still asked; the token is used up only by the round with the answer', async () => {
    const w = await world('stateless HTTP');
    const client = await w.client('accept');
    const dry = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], dry_run: true });
    const token = structured<{ plan_token: string }>(dry).plan_token;
    const done = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], plan_token: token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(w.asked).toHaveLength(1);
    expect(w.sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(false);
    // Spent: the same token again is refused.
    w.sb.data.projects.get(LAUNCH)!.members.add(JAN);
    const again = await call(client, 'update_project_access', { project_id: LAUNCH, revoke: [JAN], plan_token: token });
    expect(kindOf(again)).toBe('plan_changed');
    expect(text(again)).toMatch(/already used/);
  });
});

/** Raw 2026-07-28 tools/call requests: what a client sends, and what an attacker could send instead. */
let nextId = 1;
const envelope = (capabilities: object = { elicitation: { form: {} } }) => ({
  'io.modelcontextprotocol/protocolVersion': MODERN,
  'io.modelcontextprotocol/clientCapabilities': capabilities,
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
});
type Rpc = { result?: Record<string, unknown> & ToolResult & { resultType?: string; requestState?: string; inputRequests?: Record<string, { method: string; params: { message: string; requestedSchema: unknown } }> }; error?: { code: number; message: string } };

async function toolsCall(
  url: string,
  name: string,
  args: Record<string, unknown>,
  extra: { requestState?: string; answer?: 'accept' | 'decline'; capabilities?: object } = {},
  bearer?: string,
): Promise<Rpc> {
  const params: Record<string, unknown> = { name, arguments: args, _meta: envelope(extra.capabilities) };
  if (extra.requestState !== undefined) params.requestState = extra.requestState;
  if (extra.answer) params.inputResponses = { confirm: extra.answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' } };
  const id = nextId++;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/call',
      'mcp-name': name,
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params }),
  });
  const body = await res.text();
  // JSON, or an SSE stream whose message with our id is the answer (log notifications may come first).
  const messages = (res.headers.get('content-type') ?? '').includes('text/event-stream')
    ? body.split('\n').filter((l) => l.startsWith('data:')).map((l) => JSON.parse(l.slice(5)) as Rpc & { id?: number })
    : [JSON.parse(body) as Rpc & { id?: number }];
  const answer = messages.find((m) => m.id === id);
  if (!answer) throw new Error(`no answer to request ${id}: ${res.status} ${body}`);
  return answer;
}

/** Instances of a fleet (one sandbox, one audit trail, one BASECAMP_PLAN_SECRET), each with the bearer token given. */
/** Instances sharing one key file (MCP_HTTP_CLIENTS): each distinct token is its own named caller on every instance. */
async function fleet(tokens: string[]): Promise<{ sb: Sandbox; urls: string[] }> {
  const names = [...new Set(tokens)];
  const clients = names.map((t, i) => ({ name: `caller-${i}`, token_sha256: createHash('sha256').update(t).digest('hex'), role: 'admin' as const }));
  const dir = scratch();
  const sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
  cleanup.push(() => sb.close());
  const urls: string[] = [];
  for (let instance = 0; instance < tokens.length; instance++) {
    const service = sandboxService(sb, { config: { rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: join(dir, 'audit.jsonl'), planSecret: PLAN_SECRET } });
    const http = await serveHttp(singleService(service), { port: 0, stateless: true, clients });
    cleanup.push(() => service.close(), () => http.drain(100));
    urls.push(http.url);
  }
  return { sb, urls };
}

describe('2026-07-28 consent: the requestState', () => {
  it('the first round is input_required: one form with one boolean `confirm`, the plan in its message, and a sealed requestState', async () => {
    const w = await world('stateless HTTP');
    const r = await toolsCall(w.url!, 'trash_person', { person_id: JAN });
    expect(r.result?.resultType).toBe('input_required');
    const ask = r.result!.inputRequests!.confirm!;
    expect(ask.method).toBe('elicitation/create');
    expect(ask.params.requestedSchema).toMatchObject({ type: 'object', properties: { confirm: { type: 'boolean' } }, required: ['confirm'] });
    expect(Object.keys((ask.params.requestedSchema as { properties: object }).properties)).toEqual(['confirm']);
    expect(ask.params.message).toContain(`revoke ${person(w.sb, JAN).name} <jan@acme.example> (id ${JAN}) from Launch (project ${LAUNCH})`);
    expect(r.result!.requestState).toMatch(/^[\w-]+\.[\w-]+$/);
    expect(writes(w.sb)).toHaveLength(0);
  });

  it('what the envelope declared decides: `elicitation: {}` is a form (asked); URL mode only, or none: the plan_token flow', async () => {
    const w = await world('stateless HTTP');
    const bare = await toolsCall(w.url!, 'trash_person', { person_id: JAN }, { capabilities: { elicitation: {} } });
    expect(bare.result?.resultType).toBe('input_required');
    for (const capabilities of [{ elicitation: { url: {} } }, {}]) {
      const r = await toolsCall(w.url!, 'trash_person', { person_id: JAN }, { capabilities });
      expect(r.result?.resultType).not.toBe('input_required');
      expect(kindOf(r.result!)).toBe('confirmation_required');
    }
    expect(writes(w.sb)).toHaveLength(0);
  });

  it('forged: an altered state, a state sealed with another secret, or a plan token passed as one: -32602, nothing written', async () => {
    const w = await world('stateless HTTP');
    const state = (await toolsCall(w.url!, 'trash_person', { person_id: JAN })).result!.requestState!;
    const [body, mac] = state.split('.') as [string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const forgeries = [
      // Another plan under the old MAC.
      `${Buffer.from(JSON.stringify({ ...payload, plan: 'x' })).toString('base64url')}.${mac}`,
      // A later expiry under the old MAC.
      `${Buffer.from(JSON.stringify({ ...payload, exp: Date.now() + 3_600_000 })).toString('base64url')}.${mac}`,
      `${body}.${mac.slice(0, -2)}AA`,
      body,
      'tampered',
    ];
    const other = await world('stateless HTTP', { planSecret: 'another-secret-that-is-long-enough-0123456789' });
    forgeries.push((await toolsCall(other.url!, 'trash_person', { person_id: JAN })).result!.requestState!);
    const dry = await toolsCall(w.url!, 'trash_person', { person_id: JAN, dry_run: true });
    forgeries.push((dry.result!.structuredContent as { plan_token: string }).plan_token);
    for (const forged of forgeries) {
      const r = await toolsCall(w.url!, 'trash_person', { person_id: JAN }, { requestState: forged, answer: 'accept' });
      expect(r.error?.code, forged).toBe(-32602);
      expect(r.error?.message).toBe('Invalid or expired requestState');
    }
    expect(writes(w.sb)).toHaveLength(0);
    expect(w.sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(true);
  });

  it('expired: -32602, nothing written', async () => {
    const sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
    const service = sandboxService(sb, { config: { rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: join(scratch(), 'audit.jsonl') } });
    const http = await serveHttp(singleService(service), { port: 0, stateless: true, confirmTimeoutMs: 200 });
    cleanup.push(() => sb.close(), () => service.close(), () => http.drain(100));
    const state = (await toolsCall(http.url, 'trash_person', { person_id: JAN })).result!.requestState!;
    await new Promise((r) => setTimeout(r, 300));
    const r = await toolsCall(http.url, 'trash_person', { person_id: JAN }, { requestState: state, answer: 'accept' });
    expect(r.error?.code).toBe(-32602);
    expect(writes(sb)).toHaveLength(0);
  });

  it('replayed: an answer runs once (declined, then sent again as accepted; accepted twice): refused, nothing more written', async () => {
    const w = await world('stateless HTTP');
    const args = { project_id: LAUNCH, revoke: [JAN] };
    const first = (await toolsCall(w.url!, 'update_project_access', args)).result!.requestState!;
    const declined = await toolsCall(w.url!, 'update_project_access', args, { requestState: first, answer: 'decline' });
    expect(declined.result?.structuredContent).toMatchObject({ cancelled: true });
    const replayed = await toolsCall(w.url!, 'update_project_access', args, { requestState: first, answer: 'accept' });
    expect(replayed.result?.isError).toBe(true);
    expect(kindOf(replayed.result!)).toBe('plan_changed');
    expect(text(replayed.result!)).toMatch(/this answer was already used/);
    expect(writes(w.sb)).toHaveLength(0);

    // The same accepted answer sent twice: the second is refused, even though the plan is the same again.
    const second = (await toolsCall(w.url!, 'update_project_access', args)).result!.requestState!;
    const done = await toolsCall(w.url!, 'update_project_access', args, { requestState: second, answer: 'accept' });
    expect(done.result?.isError, text(done.result!)).toBeFalsy();
    const sent = writes(w.sb).length;
    w.sb.data.projects.get(LAUNCH)!.members.add(JAN);
    const twice = await toolsCall(w.url!, 'update_project_access', args, { requestState: second, answer: 'accept' });
    expect(kindOf(twice.result!)).toBe('plan_changed');
    expect(writes(w.sb)).toHaveLength(sent);
    expect(w.sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(true);
  });

  it('bound to the tool: a state issued for trash_person does not answer update_project_access', async () => {
    const w = await world('stateless HTTP');
    const state = (await toolsCall(w.url!, 'trash_person', { person_id: JAN })).result!.requestState!;
    const r = await toolsCall(w.url!, 'update_project_access', { project_id: LAUNCH, revoke: [JAN] }, { requestState: state, answer: 'accept' });
    expect(kindOf(r.result!)).toBe('plan_changed');
    expect(text(r.result!)).toMatch(/the answer came back for trash_person, not update_project_access/);
    // The same tool for someone else: another plan.
    const other = await toolsCall(w.url!, 'trash_person', { person_id: ADAM }, { requestState: state, answer: 'accept' });
    expect(kindOf(other.result!)).toBe('plan_changed');
    expect(text(other.result!)).toMatch(/the plan changed between the question and the answer/);
    expect(writes(w.sb)).toHaveLength(0);
  });

  it('the same accepted answer sent twice at once: exactly one runs', async () => {
    const w = await world('stateless HTTP');
    const args = { project_id: LAUNCH, revoke: [JAN] };
    const state = (await toolsCall(w.url!, 'update_project_access', args)).result!.requestState!;
    const both = await Promise.all([1, 2].map(() => toolsCall(w.url!, 'update_project_access', args, { requestState: state, answer: 'accept' })));
    expect(both.map((r) => (r.result?.isError ? kindOf(r.result) : 'done')).sort()).toEqual(['done', 'plan_changed']);
    expect(writes(w.sb).map((r) => r.method)).toEqual(['PUT']);
  });

  it('a fleet: answered on another instance; refused there for another caller; replayed on the first instance after use: refused', async () => {
    const { sb, urls } = await fleet(['token-a', 'token-a', 'token-b']);
    const [a, a2, b] = urls as [string, string, string];
    const args = { project_id: LAUNCH, revoke: [JAN] };
    const state = (await toolsCall(a, 'update_project_access', args, {}, 'token-a')).result!.requestState!;
    // Instance b, another caller (its bearer token): -32602.
    const stranger = await toolsCall(b, 'update_project_access', args, { requestState: state, answer: 'accept' }, 'token-b');
    expect(stranger.error?.code).toBe(-32602);
    expect(writes(sb)).toHaveLength(0);
    // The same caller on another instance: served (the fleet shares the secret).
    const done = await toolsCall(a2, 'update_project_access', args, { requestState: state, answer: 'accept' }, 'token-a');
    expect(done.result?.isError, JSON.stringify(done)).toBeFalsy();
    const sent = writes(sb).length;
    expect(sent).toBe(1);
    sb.data.projects.get(LAUNCH)!.members.add(JAN);
    const replayed = await toolsCall(a, 'update_project_access', args, { requestState: state, answer: 'accept' }, 'token-a');
    expect(kindOf(replayed.result!)).toBe('plan_changed');
    expect(text(replayed.result!)).toMatch(/already used/);
    expect(writes(sb)).toHaveLength(sent);
  });
});

describe('PlanSealer: request states and plan tokens are never each other', () => {
  it('a plan token does not open as a request state, nor a request state verify as a plan token', async () => {
    const { PlanSealer } = await import('../src/governance/plan-token.js');
    const sealer = new PlanSealer(PLAN_SECRET);
    const plan = { tool: 'trash_person', account: 1, caller: 'admin:stdio', subject: `person:${JAN}`, changes: [] };
    const token = sealer.seal(plan).token;
    expect(sealer.openState(token)).toMatchObject({ ok: false, why: 'the requestState is not one this server issued (or it was altered)' });
    const { state } = sealer.sealState({ ...plan, kind: 'consent' }, 60_000);
    expect(sealer.verify(state, plan)).toMatchObject({ ok: false, why: 'the plan_token is not one this server issued (or it was altered)' });
    expect(sealer.openState(state)).toMatchObject({ ok: true, kind: 'consent', tool: 'trash_person' });
  });
});

describe('the real binary on stdio (`serve --sandbox`), a 2026-07-28 client', () => {
  const spawnClient = async (answer: 'accept' | 'decline', during?: (client: Client) => Promise<unknown>) => {
    const env = { ...process.env, BASECAMP_AUDIT_LOG: join(scratch(), 'audit.jsonl'), BASECAMP_LOG_LEVEL: 'error', BASECAMP_RATE_LIMIT: '1000/10s' } as Record<string, string>;
    const client = new Client({ name: 'consent-2026-stdio', version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } }, capabilities: { elicitation: { form: {} } } });
    const asked: string[] = [];
    client.setRequestHandler('elicitation/create', async (req) => {
      asked.push(req.params.message);
      await during?.(client);
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: answer };
    });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: ['dist/cli.js', 'serve', '--sandbox'], env, stderr: 'ignore' }));
    cleanup.push(() => client.close());
    return { client, asked };
  };
  const projectsOf = async (client: Client) => structured<{ projects: { id: number }[] }>(await call(client, 'trash_person', { person_id: JAN, dry_run: true })).projects.map((p) => p.id);

  it('decline: nothing changed; accept: done; the plan changed while the human read it (through another tool): plan_changed', async () => {
    const declining = await spawnClient('decline');
    const before = await projectsOf(declining.client);
    expect(structured(await call(declining.client, 'trash_person', { person_id: JAN }))).toMatchObject({ status: 'cancelled' });
    expect(declining.asked[0]).toContain(`revoke Jan Jensen <jan@acme.example> (id ${JAN}) from Launch (project ${LAUNCH})`);
    expect(await projectsOf(declining.client)).toEqual(before);

    const changing = await spawnClient('accept', (client) => call(client, 'update_project_access', { project_id: WEBSITE, grant: [JAN] }));
    const changed = await call(changing.client, 'trash_person', { person_id: JAN });
    expect(kindOf(changed)).toBe('plan_changed');
    expect(await projectsOf(changing.client)).toEqual([...before, WEBSITE].sort((a, b) => a - b));

    const accepting = await spawnClient('accept');
    const done = await call(accepting.client, 'trash_person', { person_id: JAN });
    expect(done.isError, text(done)).toBeFalsy();
    expect(accepting.asked).toHaveLength(1);
    expect(await projectsOf(accepting.client)).toEqual([]);
  }, 60_000);
});

describe('2026-07-28 consent: an answer that cannot be claimed', () => {
  it('the shared claim store cannot tell (Redis down): refused, said so, nothing written', async () => {
    const { PlanClaimUnavailableError } = await import('../src/errors.js');
    const sb = await startSandbox({ rateLimit: { max: 10_000, windowMs: 10_000 } });
    const down = { claim: () => Promise.reject(new PlanClaimUnavailableError('Nothing was changed: Redis did not answer.')) };
    const service = sandboxService(sb, { config: { rateLimit: { max: 10_000, windowMs: 10_000 }, auditLog: join(scratch(), 'audit.jsonl') }, planClaims: down });
    const http = await serveHttp(singleService(service), { port: 0, stateless: true });
    cleanup.push(() => sb.close(), () => service.close(), () => http.drain(100));
    const state = (await toolsCall(http.url, 'trash_person', { person_id: JAN })).result!.requestState!;
    const r = await toolsCall(http.url, 'trash_person', { person_id: JAN }, { requestState: state, answer: 'accept' });
    expect(kindOf(r.result!)).toBe('plan_claim_unavailable');
    expect(text(r.result!)).toMatch(/What could not be claimed was the human's answer \(requestState\); nothing was changed/);
    expect(writes(sb)).toHaveLength(0);
  });
});

/** The same three answers from a 2025-era client (the v1 SDK), over stdio and in an HTTP session: the 2025 path, unchanged. */
describe.each<Exclude<Mode, 'stateless HTTP'>>(['stdio', 'stateful HTTP'])('2025-era consent over %s (elicitation/create)', (mode) => {
  async function client2025(w: World, answer: 'accept' | 'decline', before?: () => void) {
    const client = new Client2025({ name: 'consent-2025', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, (req) => {
      w.asked.push(req.params.message);
      before?.();
      return answer === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' };
    });
    if (mode === 'stdio') {
      const [clientSide, serverSide] = InMemory2025.createLinkedPair();
      const handle = serveStdio(({ era }) => createMcpServer(w.service, { era, caller: STDIO_CALLER }), { transport: serverSide as unknown as Transport });
      cleanup.push(() => handle.close());
      await client.connect(clientSide);
    } else {
      await client.connect(new Http2025(new URL(w.url!)));
    }
    cleanup.push(() => client.close());
    return client as unknown as Client;
  }

  it('decline: nothing written; accept: done; the human shown the people and projects', async () => {
    const w = await world(mode);
    const declined = await call(await client2025(w, 'decline'), 'trash_person', { person_id: JAN });
    expect(structured(declined)).toMatchObject({ status: 'cancelled' });
    expect(writes(w.sb)).toHaveLength(0);
    const done = await call(await client2025(w, 'accept'), 'update_project_access', { project_id: LAUNCH, revoke: [JAN] });
    expect(done.isError, text(done)).toBeFalsy();
    expect(w.sb.data.projects.get(LAUNCH)!.members.has(JAN)).toBe(false);
    expect(w.asked).toHaveLength(2);
    expect(w.asked[0]).toContain(`revoke ${person(w.sb, JAN).name} <jan@acme.example> (id ${JAN}) from Launch (project ${LAUNCH})`);
  });
});

describe('2025-era consent over stateless HTTP: no human can be asked, the plan token decides', () => {
  it('confirmation_required; the token runs the plan; a token whose plan changed meanwhile is plan_changed, nothing written', async () => {
    const w = await world('stateless HTTP');
    const client = new Client2025({ name: 'consent-2025', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => {
      throw new Error('no human can be asked in stateless mode');
    });
    await client.connect(new Http2025(new URL(w.url!)));
    cleanup.push(() => client.close());
    const c = client as unknown as Client;
    const first = await call(c, 'trash_person', { person_id: JAN });
    expect(kindOf(first)).toBe('confirmation_required');
    w.sb.data.projects.get(WEBSITE)!.members.add(JAN);
    const changed = await call(c, 'trash_person', { person_id: JAN, plan_token: structured<{ plan_token: string }>(first).plan_token });
    expect(kindOf(changed)).toBe('plan_changed');
    expect(writes(w.sb)).toHaveLength(0);
    const done = await call(c, 'trash_person', { person_id: JAN, plan_token: structured<{ plan_token: string }>(changed).plan_token });
    expect(done.isError, text(done)).toBeFalsy();
    expect(janProjects(w.sb)).toEqual([]);
  });
  it('a 2025-era request whose _meta claims the 2026 capabilities key (elicitation) is not asked over a stream no answer can reach: confirmation_required at once', async () => {
    // Under --stateless an elicitation/create sent on a 2025-era POST's stream can never be answered (the answer
    // would reach another per-request server): the call would hang until confirmTimeoutMs, then fail.
    const w = await world('stateless HTTP');
    const started = Date.now();
    const res = await fetch(w.url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'trash_person', arguments: { person_id: JAN }, _meta: { 'io.modelcontextprotocol/clientCapabilities': { elicitation: { form: {} } } } },
      }),
      signal: AbortSignal.timeout(20_000),
    });
    const body = await res.text();
    expect(body).not.toContain('elicitation/create');
    expect(body).toContain('confirmation_required');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(writes(w.sb)).toHaveLength(0);
  });
});
