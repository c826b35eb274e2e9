// The floor: a bare McpServer from the v2 SDK family (the one ours is built on), eight trivial tools, same Node.
// It does nothing a real server must do (no budget, no settings, no retries, no record checks).
//
// `node bench/bare-server.mjs`: over stdio with `serveStdio` (era per connection). The floor for start-up, memory
// and a tool call; every tool answers without any I/O (the per-call floor adds raw HTTP to the sandbox itself).
//
// `node bench/bare-server.mjs --http '{"url":…,"token":…,"accountId":…}'`: over streamable HTTP on 127.0.0.1 (port
// chosen by the system, its URL the first line on stdout), `createMcpHandler` + `toNodeHandler` behind the Host and
// Origin checks the SDK's docs put in front of it, both eras served statelessly. The floor for HTTP throughput, so
// here get_person does the work ours does per call: it reads the person from the sandbox over HTTP (one keep-alive
// pool, as ours keeps) and answers the record as structured content with a one-line text.
import { createServer } from 'node:http';
import { createMcpHandler, McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import { localhostHostValidation, localhostOriginValidation, toNodeHandler } from '@modelcontextprotocol/node';
import { z } from 'zod';

const TOOLS = ['get_account', 'list_people', 'get_person', 'list_projects', 'invite_person', 'update_project_access', 'trash_person'];
const personArgs = z.object({ person_id: z.number().int().positive().optional() });
// The floor of a call that takes a large roster and answers a large result (reconcile_people's job): the same
// arguments checked by zod, and an answer of the size asked for, made of nothing.
const sizedArgs = z.object({ roster: z.array(z.object({ email_address: z.string(), name: z.string().optional() })), bytes: z.number().int().min(0) });

/** One server instance with the floor's tools; `getPerson` replaces the trivial get_person (HTTP mode). */
function buildServer(getPerson) {
  const server = new McpServer({ name: 'bare-floor', version: '0.0.0' });
  for (const name of TOOLS) {
    const handler = name === 'get_person' && getPerson ? getPerson : async (args) => ({ content: [{ type: 'text', text: `${name} ${args.person_id ?? ''}` }] });
    server.registerTool(name, { description: `${name}, trivially`, inputSchema: personArgs }, handler);
  }
  server.registerTool('sized_answer', { description: 'Takes a roster and answers `bytes` characters, trivially', inputSchema: sizedArgs }, async (args) => ({
    content: [{ type: 'text', text: 'x'.repeat(args.bytes) }],
  }));
  return server;
}

const httpAt = process.argv.indexOf('--http');
if (httpAt < 0) {
  serveStdio(() => buildServer());
} else {
  const { request } = await import('undici');
  const sandbox = JSON.parse(process.argv[httpAt + 1] ?? 'null');
  if (!sandbox?.url || !sandbox.token || !sandbox.accountId) throw new Error('--http needs the sandbox as JSON: {"url":…,"token":…,"accountId":…}');
  const headers = { authorization: `Bearer ${sandbox.token}`, 'user-agent': 'basecamp-people-mcp bench (bench@example.com)' };
  const getPerson = async ({ person_id: id }) => {
    const res = await request(`${sandbox.url}/${sandbox.accountId}/people/${id}.json`, { headers });
    if (res.statusCode !== 200) {
      await res.body.dump();
      return { isError: true, content: [{ type: 'text', text: `Basecamp answered ${res.statusCode}` }] };
    }
    const person = await res.body.json();
    return { content: [{ type: 'text', text: `${person.name} <${person.email_address}> (id ${person.id}).` }], structuredContent: { person } };
  };
  const handler = createMcpHandler(() => buildServer(getPerson));
  const nodeHandler = toNodeHandler(handler);
  const validateHost = localhostHostValidation();
  const validateOrigin = localhostOriginValidation();
  const server = createServer((req, res) => {
    if (!validateHost(req, res) || !validateOrigin(req, res)) return;
    void nodeHandler(req, res);
  });
  server.listen(0, '127.0.0.1', () => process.stdout.write(`http://127.0.0.1:${server.address().port}/mcp\n`));
  process.once('SIGTERM', () => void handler.close().finally(() => server.close(() => process.exit(0))));
}
