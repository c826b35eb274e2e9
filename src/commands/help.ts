import { VERSION } from '../config.js';

export const HELP = `basecamp-people-mcp ${VERSION}: an MCP server that administers the people of a Basecamp account (Basecamp 4 or Basecamp 2).

Usage:
  basecamp-people-mcp [serve] [--sandbox [--product bc3|bcx]] [--read-only] [--people N]
      Serve MCP over stdio (the default command).
      --sandbox     use the built-in simulated Basecamp account (no credentials needed)
      --product P   the sandbox account's product: bc3 (Basecamp 4, default) or bcx (Basecamp 2)
      --read-only   register only the tools that change nothing
      --people N    size of the sandbox account (default 120)
  basecamp-people-mcp serve --http [--host 127.0.0.1] [--port 8787] [--stateless] [--sandbox] [--read-only]
      Serve MCP over streamable HTTP at /mcp (health probe: /healthz). Off loopback MCP_HTTP_TOKEN is required.
      --stateless   no sessions: a fresh server per request, for load-balanced fleets
  basecamp-people-mcp sandbox [--port P] [--people N] [--product bc3|bcx]
      Serve the simulated Basecamp API alone on 127.0.0.1 (its Launchpad lists a Basecamp 4 and a Basecamp 2
      account); prints its URL, the chosen account and a token.
  basecamp-people-mcp login [--account ID] [--client-id ID] [--redirect-uri URI] [--port P] [--timeout S] [--no-browser]
      Sign in with your Basecamp OAuth app (Launchpad); writes the token file (0600) and keeps it refreshed.
      The client secret comes from BASECAMP_CLIENT_SECRET or a hidden prompt, never from the command line.
  basecamp-people-mcp accounts
      List the Basecamp accounts the sign-in reaches; * marks the one in use.
  basecamp-people-mcp logout
      Delete the stored token file (through a symlink: the file it points to, and the link).
  basecamp-people-mcp --help | --version

Environment:
  BASECAMP_ACCESS_TOKEN, BASECAMP_ACCOUNT_ID, BASECAMP_TOKEN_FILE, BASECAMP_CLIENT_ID, BASECAMP_CLIENT_SECRET,
  BASECAMP_REDIRECT_URI, BASECAMP_API_URL, BASECAMP_LAUNCHPAD_URL,
  BASECAMP_USER_AGENT, BASECAMP_RATE_LIMIT (default: 50/10s on Basecamp 4, 500/10s on Basecamp 2), BASECAMP_CACHE_TTL (seconds, default 60),
  BASECAMP_LOG_LEVEL (debug, info, warn, error, silent), BASECAMP_SANDBOX=true (same as --sandbox),
  BASECAMP_READ_ONLY=true (same as --read-only).
  Booleans accept true/false, 1/0, yes/no, on/off; an empty variable counts as unset.
  HTTP: MCP_HTTP_TOKEN, MCP_ALLOWED_ORIGINS, MCP_ALLOWED_HOSTS (comma-separated), MCP_MAX_SESSIONS,
  MCP_SESSION_IDLE_SECONDS, MCP_SESSION_EVICT_GRACE_SECONDS, REDIS_URL (one rate budget for every instance), BASECAMP_RATE_BUDGET_ID. See README.md.
`;
