import type { IncomingHttpHeaders } from 'node:http';

/** What the fake Basecamp and the fake Launchpad see of a request: already read whole, nothing to stream. */
export interface SandboxRequest {
  method: string;
  /** Parsed against a placeholder origin: only the path and query are the client's. */
  url: URL;
  headers: IncomingHttpHeaders;
  body: string;
  /** The sandbox's own origin, for the absolute URLs the real services hand out (Link, href). */
  baseUrl: string;
}

/** An answer, written by the server: `body` becomes JSON; none is sent for 204 and 304. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Both APIs' answer to a token they cannot use: expired (Basecamp's own wording) or unknown. */
export function unauthorized(auth: 'expired' | undefined): Reply {
  return auth === 'expired'
    ? { status: 401, body: { error: 'OAuth token expired (old age). Refresh your token or acquire a new one at https://launchpad.37signals.com/authorization/new' } }
    : { status: 401, body: { error: 'OAuth token is invalid' }, headers: { 'WWW-Authenticate': 'Bearer realm="Basecamp"' } };
}
