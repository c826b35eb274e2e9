import { createHash, timingSafeEqual } from 'node:crypto';

/** 127.0.0.0/8, localhost and ::1 (bracketed or not): where plain http and unauthenticated serving are allowed. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase();
  return h === 'localhost' || h === '::1' || h === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Constant-time equality of two secrets; hashing first makes the comparison independent of their lengths. */
export function secretsEqual(presented: string, expected: string): boolean {
  const digest = (v: string) => createHash('sha256').update(v).digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
