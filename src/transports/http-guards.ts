/**
 * Pure rules of the HTTP front door: where a request goes, which Host and Origin values are ours, and the
 * CORS headers an allowed browser origin gets. Nothing here throws on client input.
 */

/**
 * The path of a request target, or undefined when the target is unusable (answer 400). Never uses
 * `new URL` on the raw target: the origin form is split by hand, and the absolute form is parsed guarded.
 */
export function requestPath(target: string | undefined): string | undefined {
  if (!target) return undefined;
  if (target.startsWith('/')) return target.split(/[?#]/, 1)[0];
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      return undefined;
    }
  }
  return undefined; // `*`, authority form, garbage
}

export interface Authority {
  /** Lower case, without a trailing dot; IPv6 literals keep their brackets. */
  hostname: string;
  /** undefined when the value names no port. */
  port: number | undefined;
}

/** Parses a Host header (or an origin's authority) strictly: `name`, `name:port`, `[v6]`, `[v6]:port`. */
export function parseAuthority(value: string): Authority | undefined {
  const m = /^(\[[0-9a-f:.]+\]|[a-z0-9._~%!$&'()*+,;=-]+)(?::(\d{1,5}))?$/i.exec(value.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  const hostname = m[1]!.toLowerCase().replace(/\.$/, '');
  if (!hostname || hostname.endsWith('.')) return undefined;
  return { hostname, port };
}

export interface HostRules {
  /** The address the server is bound to (as given to listen). */
  boundHost: string;
  /** The port actually bound. */
  port: number;
  /** Whether boundHost is a loopback address. */
  loopback: boolean;
  /** MCP_ALLOWED_HOSTS: `name` (any port) or `name:port`. */
  extraHosts: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];
const WILDCARD_HOSTS = ['0.0.0.0', '::', '[::]'];

function bracketed(host: string): string {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h.includes(':') && !h.startsWith('[') ? `[${h}]` : h;
}

/** Port as the client wrote it may be omitted when it is the scheme default (we cannot tell the scheme from Host). */
function portMatches(given: number | undefined, bound: number): boolean {
  return given === undefined ? bound === 80 || bound === 443 : given === bound;
}

/**
 * Whether a Host header names this server. DNS rebinding defence: a page on evil.example that resolves to
 * our address still sends `Host: evil.example`, so only our own names pass.
 */
export function hostAllowed(header: string | undefined, rules: HostRules): boolean {
  const given = parseAuthority(header ?? '');
  if (!given) return false;
  for (const entry of rules.extraHosts) {
    const allowed = parseAuthority(entry);
    if (allowed && allowed.hostname === given.hostname && (allowed.port === undefined || allowed.port === given.port)) return true;
  }
  // Off loopback with no list we cannot know the names clients use (a token is required there).
  if (!rules.loopback && rules.extraHosts.length === 0) return true;
  const bound = bracketed(rules.boundHost);
  const names = rules.loopback ? [...LOOPBACK_NAMES, bound] : WILDCARD_HOSTS.includes(bound) ? [] : [bound];
  return names.includes(given.hostname) && portMatches(given.port, rules.port);
}

/** Normalises an Origin for comparison with the allow list: lower case, no trailing slash. */
export function normaliseOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}

/**
 * Whether an Origin header may use the server: one listed in MCP_ALLOWED_ORIGINS, or the server's own
 * (http(s) with an authority that passes the Host rules).
 */
export function originAllowed(origin: string, allowedOrigins: readonly string[], rules: HostRules): boolean {
  const normal = normaliseOrigin(origin);
  if (allowedOrigins.some((o) => normaliseOrigin(o) === normal)) return true;
  const m = /^(https?):\/\/([^/?#@]+)$/.exec(normal);
  return m !== null && hostAllowed(m[2], rules);
}

export const CORS_ALLOWED_METHODS = 'GET, POST, DELETE, OPTIONS';
/** 2025-era headers, and the 2026-07-28 standard headers (Mcp-Method, Mcp-Name; Mcp-Param-* are granted as asked, below). */
export const CORS_ALLOWED_HEADERS = 'authorization, content-type, accept, mcp-session-id, mcp-protocol-version, last-event-id, mcp-method, mcp-name';
export const CORS_EXPOSED_HEADERS = 'Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate, Retry-After';
export const CORS_MAX_AGE_SECONDS = 600;

/** Headers every response to an allowed browser origin carries, so the page can read it (401s included). */
export function corsResponseHeaders(origin: string): Record<string, string> {
  return { 'access-control-allow-origin': origin, vary: 'Origin', 'access-control-expose-headers': CORS_EXPOSED_HEADERS };
}

/**
 * The answer to a CORS preflight from an allowed origin (no token needed: browsers never send one there). A 2026-07-28
 * client mirrors tool arguments into `Mcp-Param-<name>` headers (SEP-2243): those it asks for are granted by name.
 */
export function corsPreflightHeaders(origin: string, requested?: string): Record<string, string> {
  const params = (requested ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => /^mcp-param-[a-z0-9_-]{1,64}$/.test(h));
  return {
    ...corsResponseHeaders(origin),
    'access-control-allow-methods': CORS_ALLOWED_METHODS,
    'access-control-allow-headers': [CORS_ALLOWED_HEADERS, ...new Set(params)].join(', '),
    'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
  };
}
