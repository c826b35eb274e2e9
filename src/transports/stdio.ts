import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer, type ServerOptions } from '../server.js';
import type { Service } from '../service.js';

/** stdio: stdout carries JSON-RPC only; everything else goes to stderr. */
export async function serveStdio(service: Service, options: ServerOptions): Promise<void> {
  const server = createMcpServer(service, options);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.connect(transport);
  await closed;
  await server.close().catch(() => undefined);
}
