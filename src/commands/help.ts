import { BIN_NAME, shellCommand } from '../cli-command.js';
import { VERSION } from '../config.js';
import { VARIABLE_HELP } from '../settings.js';

export const help = (): string => `basecamp-people-mcp ${VERSION}: an MCP server that administers the people of a Basecamp account (Basecamp 3/4/5 or Basecamp 2).

Usage:
  basecamp-people-mcp [serve] [--sandbox [--product bc3|bcx]] [--read-only] [--people N]
      Serve MCP over stdio (the default command).
      --sandbox     use the built-in simulated Basecamp account (no credentials needed)
      --product P   the sandbox account's product: bc3 (Basecamp 3/4/5, the default) or bcx (Basecamp 2)
      --read-only   register only the tools that change nothing
      --people N    size of the sandbox account (default 120)
  basecamp-people-mcp serve --http [--host 127.0.0.1] [--port 8787] [--stateless] [--sandbox] [--read-only]
      Serve MCP over streamable HTTP at /mcp (health probe: /healthz). Off loopback MCP_HTTP_TOKEN is required.
      --stateless   no sessions: a fresh server per request, for load-balanced fleets
  basecamp-people-mcp sandbox [--port P] [--people N] [--product bc3|bcx]
      Serve the simulated Basecamp API alone on 127.0.0.1 (its Launchpad lists a Basecamp 3/4/5 and a Basecamp 2
      account); prints its URL, the chosen account and a token.
  basecamp-people-mcp login [--account ID] [--client-id ID] [--redirect-uri URI] [--port P] [--timeout S] [--no-browser]
      Sign in with your Basecamp OAuth app (Launchpad); writes the token file (0600) and keeps it refreshed.
      The client secret comes from BASECAMP_CLIENT_SECRET or a hidden prompt, never from the command line.
  basecamp-people-mcp accounts
      List the Basecamp accounts the sign-in reaches; * marks the one in use.
  basecamp-people-mcp logout
      Delete the stored token file (through a symlink: the file it points to, and the link).
  basecamp-people-mcp --help | --version

Environment (every variable this program reads; README.md "Configuration" says more):
${variables()}
  Booleans accept true/false, 1/0, yes/no, on/off; an empty variable counts as unset (MCP_HTTP_TOKEN: refused).
${runAs()}`;

/** One line per variable, from the settings themselves, so a new variable cannot be missing here. */
function variables(): string {
  const width = Math.max(...Object.keys(VARIABLE_HELP).map((k) => k.length));
  return Object.entries(VARIABLE_HELP)
    .map(([name, meaning]) => `  ${name.padEnd(width)}  ${meaning}`)
    .join('\n');
}

/** Where the bin name is not on the PATH, the command that runs this copy. */
function runAs(): string {
  const here = shellCommand('');
  return here === BIN_NAME ? '' : `\nThis copy runs as: ${here} (in a clone, \`npm link\` puts ${BIN_NAME} on your PATH).\n`;
}
