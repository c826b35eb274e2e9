#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig, VERSION, type Config } from './config.js';
import { log } from './log.js';
import { startSandbox, type Sandbox } from './sandbox/server.js';
import { createService, StaticCredentials, type Service } from './service.js';
import { selectTools } from './tools/index.js';
import { serveStdio } from './transports/stdio.js';

const HELP = `basecamp-people-mcp ${VERSION}: an MCP server that administers the people of a Basecamp 4 account.

Usage:
  basecamp-people-mcp [serve] [--sandbox] [--read-only] [--people N]
      Serve MCP over stdio (the default command).
      --sandbox     use the built-in simulated Basecamp account (no credentials needed)
      --read-only   register only the tools that change nothing
      --people N    size of the sandbox account (default 120)
  basecamp-people-mcp sandbox [--port P] [--people N]
      Serve the simulated Basecamp API alone on 127.0.0.1; prints its URL and a token.
  basecamp-people-mcp --help | --version

Environment:
  BASECAMP_ACCESS_TOKEN, BASECAMP_ACCOUNT_ID, BASECAMP_TOKEN_FILE, BASECAMP_API_URL, BASECAMP_LAUNCHPAD_URL,
  BASECAMP_USER_AGENT, BASECAMP_RATE_LIMIT (default 50/10s), BASECAMP_CACHE_TTL (seconds, default 60),
  BASECAMP_LOG_LEVEL (debug, info, warn, error, silent), BASECAMP_SANDBOX=true (same as --sandbox),
  BASECAMP_READ_ONLY=true (same as --read-only). See README.md.
`;

interface Parsed {
  command: string;
  values: Record<string, string | boolean | undefined>;
}

function parse(argv: string[]): Parsed {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      sandbox: { type: 'boolean' },
      'read-only': { type: 'boolean' },
      port: { type: 'string' },
      people: { type: 'string' },
    },
  });
  if (positionals.length > 1) throw new Error(`Unexpected argument: ${positionals[1]}`);
  return { command: positionals[0] ?? 'serve', values };
}

function envFlag(name: string): boolean {
  return /^(1|true|yes)$/i.test(process.env[name] ?? '');
}

function intOption(value: string | boolean | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, got ${String(value)}`);
  return n;
}

async function sandboxService(people: number): Promise<{ sandbox: Sandbox; service: Service }> {
  const sandbox = await startSandbox({ people });
  const config: Config = {
    ...loadConfig({ ...process.env, BASECAMP_ACCESS_TOKEN: sandbox.token }),
    apiUrl: sandbox.url,
    launchpadUrl: sandbox.url,
    accountId: sandbox.accountId,
    tokenSource: 'env',
  };
  const service = createService(config, { credentials: new StaticCredentials(sandbox.token, 'sandbox token') });
  return { sandbox, service };
}

async function serve(values: Parsed['values']): Promise<void> {
  // Env switches too, so an MCPB bundle's user_config can set them.
  const readOnly = values['read-only'] === true || envFlag('BASECAMP_READ_ONLY');
  let sandbox: Sandbox | undefined;
  let service: Service;
  if (values.sandbox || envFlag('BASECAMP_SANDBOX')) {
    ({ sandbox, service } = await sandboxService(intOption(values.people, 'people', 120)));
    log.info(`using the SANDBOX account (simulated, ${sandbox.data.people.size} people) at ${sandbox.url}; nothing touches a real Basecamp`);
  } else {
    service = createService(loadConfig());
    if (service.notConfigured) log.warn('not signed in to Basecamp: tools will answer with how to sign in (run `basecamp-people-mcp login`, or try `serve --sandbox`).');
  }
  const count = selectTools({ readOnly }).length;
  log.info(`serving ${count} tools over stdio${readOnly ? ' (read-only)' : ''}`);
  const shutdown = async () => {
    await service.close();
    await sandbox?.close();
  };
  process.once('SIGTERM', () => void shutdown().finally(() => process.exit(0)));
  process.once('SIGINT', () => void shutdown().finally(() => process.exit(0)));
  await serveStdio(service, { readOnly });
  await shutdown();
}

async function sandboxCommand(values: Parsed['values']): Promise<void> {
  const sandbox = await startSandbox({ port: intOption(values.port, 'port', 0), people: intOption(values.people, 'people', 120) });
  // This command is not an MCP server: stdout is for the person running it.
  process.stdout.write(
    [
      `Sandbox Basecamp account "${sandbox.data.accountName}" (${sandbox.data.people.size} people) listening.`,
      `BASECAMP_API_URL=${sandbox.url}`,
      `BASECAMP_LAUNCHPAD_URL=${sandbox.url}`,
      `BASECAMP_ACCOUNT_ID=${sandbox.accountId}`,
      `BASECAMP_ACCESS_TOKEN=${sandbox.token}`,
      `Try: curl -H "Authorization: Bearer ${sandbox.token}" -H "User-Agent: curl" ${sandbox.url}/${sandbox.accountId}/people.json`,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await sandbox.close();
}

export async function main(argv: string[]): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { command, values } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  try {
    switch (command) {
      case 'serve':
        await serve(values);
        return 0;
      case 'sandbox':
        await sandboxCommand(values);
        return 0;
      default:
        process.stderr.write(`Unknown command: ${command}\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    log.error((error as Error).message);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    log.error(String(error));
    process.exitCode = 1;
  },
);
