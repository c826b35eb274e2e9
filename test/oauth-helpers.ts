/**
 * A headless browser for OAuth tests (docs/design/oauth.md §3): follows redirects by hand (`redirect: 'manual'`)
 * with a cookie jar keyed by cookie name, says who signs in at the sandbox's Launchpad (`sandbox_person`), and stops
 * at the client's redirect URI (never listened on), returning its query. Only 127.0.0.1 is ever contacted.
 */

export interface BrowseOptions {
  /** Where the flow ends: the first URL starting with this is not fetched; its query is the answer. */
  stopAt: string;
  /** The person id to sign in as at the sandbox's Launchpad (`sandbox_person`); without it, the sandbox's default. */
  as?: number | string;
  /** At most this many hops (a loop is a failure, not a hang). */
  maxHops?: number;
}

export interface BrowseResult {
  /** The redirect URI reached, with its query. */
  url: URL;
  query: URLSearchParams;
  /** Every URL fetched on the way, in order. */
  hops: string[];
}

/** A page the browser cannot go on from (no redirect): its status and text, so a test can assert on a refusal. */
export class BrowseStopped extends Error {
  constructor(
    readonly url: string,
    readonly status: number,
    readonly text: string,
  ) {
    super(`browse stopped at ${url}: ${status} ${text.slice(0, 200)}`);
  }
}

export async function browse(start: string, options: BrowseOptions): Promise<BrowseResult> {
  const jar = new Map<string, string>();
  const hops: string[] = [];
  let next = new URL(start);
  for (let hop = 0; hop < (options.maxHops ?? 20); hop++) {
    if (next.toString().startsWith(options.stopAt)) return { url: next, query: next.searchParams, hops };
    if (next.hostname !== '127.0.0.1') throw new Error(`browse: refusing to leave 127.0.0.1 (${next.origin})`);
    if (next.pathname === '/authorization/new' && options.as !== undefined) next.searchParams.set('sandbox_person', String(options.as));
    hops.push(next.toString());
    const cookie = [...jar].map(([name, value]) => `${name}=${value}`).join('; ');
    const res = await fetch(next, { redirect: 'manual', headers: cookie ? { cookie } : {} });
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) jar.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      next = new URL(location, next);
      continue;
    }
    throw new BrowseStopped(next.toString(), res.status, await res.text());
  }
  throw new Error(`browse: more than ${options.maxHops ?? 20} hops from ${start}`);
}
