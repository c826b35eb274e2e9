// The floor for start-up, memory and a tool call: a bare McpServer from the same SDK, seven trivial tools,
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
await server.connect(new StdioServerTransport());
