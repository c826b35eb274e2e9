// The floor for start-up, memory and a tool call: a bare McpServer from the same SDK, eight trivial tools,
// stdio, same Node. It does nothing a real server must do (no HTTP client, no budget, no settings).
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'bare-floor', version: '0.0.0' });
for (const name of ['get_account', 'list_people', 'get_person', 'list_projects', 'invite_person', 'update_project_access', 'trash_person']) {
  server.registerTool(
    name,
    { description: `${name}, trivially`, inputSchema: { person_id: z.number().int().positive().optional() } },
    async (args) => ({ content: [{ type: 'text', text: `${name} ${args.person_id ?? ''}` }] }),
  );
}
// The floor of a call that takes a large roster and answers a large result (reconcile_people's job): the same
// arguments checked by zod, and an answer of the size asked for, made of nothing.
server.registerTool(
  'sized_answer',
  {
    description: 'Takes a roster and answers `bytes` characters, trivially',
    inputSchema: { roster: z.array(z.object({ email_address: z.string(), name: z.string().optional() })), bytes: z.number().int().min(0) },
  },
  async (args) => ({ content: [{ type: 'text', text: 'x'.repeat(args.bytes) }] }),
);
await server.connect(new StdioServerTransport());
