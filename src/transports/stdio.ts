import { serveStdio as serveEras } from '@modelcontextprotocol/server/stdio';
import { createMcpServer, type ServerOptions } from '../server.js';
import type { ServiceSource } from '../service-source.js';
import { log } from '../log.js';
import { STDIO_CALLER } from '../caller.js';

/**
 * stdio: stdout carries JSON-RPC only; everything else goes to stderr. The SDK's `serveStdio` pins the era per
 * connection from the client's opening message: a 2025-era `initialize` gets a 2025 server (sessions, elicitation),
 * a 2026-07-28 `server/discover` or enveloped request a 2026 one. Resolves when the client closes stdin.
 */
export async function serveStdio(services: ServiceSource, options: ServerOptions): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  const handle = serveEras(async ({ era }) => createMcpServer(await services.for(STDIO_CALLER), { ...options, era, caller: STDIO_CALLER }), {
    onerror: (error) => log.debug(`stdio: ${error.message}`),
  });
  await closed;
  await handle.close().catch(() => undefined);
}
