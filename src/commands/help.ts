import { BIN_NAME, shellCommand } from '../cli-command.js';
import { VERSION } from '../version.js';
import { flagHelp, variableHelp, type Command } from '../settings.js';

/** What each command does; its flags, their defaults and the variables come from the tables in settings.ts. */
const COMMAND_HELP: Record<Command, { usage: string; does: string[] }> = {
  serve: {
    usage: '[serve]',
    does: ['Serve MCP over stdio (the default command), or over streamable HTTP with --http.'],
  },
  sandbox: {
    usage: 'sandbox',
    does: [
      'Serve the simulated Basecamp API alone on 127.0.0.1 (its Launchpad lists a Basecamp 3/4/5 and a Basecamp 2',
      'account); prints its URL, the chosen account and a token.',
    ],
  },
  login: {
    usage: 'login',
    does: [
      'Sign in with your Basecamp OAuth app (Launchpad); writes the token file (0600) and keeps it refreshed.',
      'The client secret comes from BASECAMP_CLIENT_SECRET or a hidden prompt, never from the command line.',
    ],
  },
  accounts: { usage: 'accounts', does: ['List the Basecamp accounts the sign-in reaches; * marks the one in use.'] },
  logout: { usage: 'logout', does: ['Delete the stored token file (through a symlink: the file it points to, and the link).'] },
};

export const help = (): string => `basecamp-people-mcp ${VERSION}: an MCP server that administers the people of a Basecamp account (Basecamp 3/4/5 or Basecamp 2).

Usage:
${commands()}
  basecamp-people-mcp --help | --version

Environment (every variable this program reads; README.md "Configuration" says more):
${columns(variableHelp(), '  ')}
  Booleans accept true/false, 1/0, yes/no, on/off; an empty variable counts as unset (MCP_HTTP_TOKEN: refused).
${runAs()}`;

/** Each command: its usage line, what it does, and one line per flag. */
function commands(): string {
  return (Object.entries(COMMAND_HELP) as [Command, (typeof COMMAND_HELP)[Command]][])
    .map(([command, { usage, does }]) => {
      const flags = flagHelp(command);
      const synopsis = flags.map(([flag]) => ` [${flag}]`).join('');
      const lines = [`  basecamp-people-mcp ${usage}${synopsis}`, ...does.map((line) => `      ${line}`)];
      if (flags.length) lines.push(columns(flags, '      '));
      return lines.join('\n');
    })
    .join('\n');
}

/** Two columns: names padded to the longest. */
function columns(rows: [string, string][], indent: string): string {
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, meaning]) => `${indent}${name.padEnd(width)}  ${meaning}`).join('\n');
}

/** Where the bin name is not on the PATH, the command that runs this copy. */
function runAs(): string {
  const here = shellCommand('');
  return here === BIN_NAME ? '' : `\nThis copy runs as: ${here} (in a clone, \`npm link\` puts ${BIN_NAME} on your PATH).\n`;
}
