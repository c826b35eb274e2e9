import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readTokenFile, type TokenFile } from '../config.js';

/** What `login` stores: the token file plus the OAuth client it belongs to (needed to refresh). */
export interface StoredToken extends TokenFile {
  /** Kept so a refresh works months later without asking again; the file is 0600. */
  client_secret?: string;
}

/**
 * The token file on disk. Writes are atomic (a temp file in the same directory, then rename), the file is
 * created 0600 (never chmod-ed after the secret is in it) and its directory is 0700. Reads notice when
 * another process (a second `login`, another server) replaced the file.
 */
export class TokenStore {
  private cached: { mtimeMs: number; ino: number; size: number; token: StoredToken | undefined } | undefined;

  constructor(readonly path: string) {}

  /** The stored token, re-read only when the file changed on disk. */
  read(): StoredToken | undefined {
    let st;
    try {
      st = statSync(this.path);
    } catch {
      this.cached = undefined;
      return undefined;
    }
    const c = this.cached;
    if (c && c.mtimeMs === st.mtimeMs && c.ino === st.ino && c.size === st.size) return c.token;
    const token = readTokenFile(this.path) as StoredToken | undefined;
    this.cached = { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size, token };
    return token;
  }

  write(token: StoredToken): void {
    const dir = dirname(this.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Our own directory may predate us with wider bits; tighten it. A directory the user chose (e.g. /tmp) is left alone.
    if (basename(dir) === 'basecamp-people-mcp' && (statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    // 'wx' + 0o600: the file exists only ever as owner-read/write; the secret is written after.
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(token, null, 2)}\n`);
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      unlinkSync(tmp);
      throw error;
    }
    closeSync(fd);
    renameSync(tmp, this.path);
    this.cached = undefined;
  }

  /** Deletes the file; true when there was one. */
  remove(): boolean {
    try {
      unlinkSync(this.path);
      this.cached = undefined;
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }
}

/** expires_at as epoch ms (accepts ISO-8601 or epoch seconds). */
export function expiresAtMs(token: TokenFile): number | undefined {
  const v = token.expires_at;
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}
