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
