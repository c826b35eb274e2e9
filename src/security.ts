import { createHash, timingSafeEqual } from 'node:crypto';
import { ConfigurationError } from './errors.js';

/** 127.0.0.0/8, localhost and ::1 (bracketed or not): where plain http and unauthenticated serving are allowed. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why a redirect URI cannot bring the OAuth callback to this program (it must be http on this machine's loopback,
 * with nothing but host, port and path), or undefined when it can.
 */
export function redirectUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be a URL such as http://127.0.0.1:8976/callback';
  }
  if (url.protocol !== 'http:' || !isLoopbackHost(url.hostname)) {
    const got = url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : url.protocol;
    return `must be http on this machine (http://127.0.0.1:PORT/..., localhost or [::1]) so the sign-in callback reaches this program; got ${got}`;
  }
  if (url.username || url.password || url.search || url.hash) return 'must hold only host, port and path (no user, query or fragment)';
  return undefined;
}

/** Constant-time equality of two secrets; hashing first makes the comparison independent of their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}

/** HTTPS everywhere except loopback (the sandbox and tests). */
export function assertSecureUrl(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigurationError(`${what} is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol === 'https:') return parsed;
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return parsed;
  throw new ConfigurationError(
    `${what} must use https (plain http is allowed only for 127.0.0.1, localhost and [::1]); got ${parsed.origin}`,
  );
}
