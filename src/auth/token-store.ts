import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readlinkSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigurationError } from '../errors.js';
import { log } from '../log.js';
import { readTokenFile, type TokenFile } from '../config.js';
import { shellCommand } from '../cli-command.js';

/** What `login` stores: the token file plus the OAuth client it belongs to (needed to refresh). */
export interface StoredToken extends TokenFile {
  /** Kept so a refresh works months later without asking again; the file is 0600. */
  client_secret?: string;
}

/**
 * Writes a secret to `target` atomically: a temp file in the same directory created 0600 ('wx': it exists only ever
 * as owner-read/write, the secret written after), synced, then renamed over the target. The temp file never stays
 * behind (it holds the secret), whatever fails. The token file and the OAuth store are written this way.
 */
export function writeSecretFile(target: string, text: string): void {
  const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(tmp);
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(tmp, target);
  } catch (error) {
    unlinkSync(tmp); // e.g. a directory where the file should be
    throw error;
  }
}

/** Paths already warned about being readable by others: one warning per file per process. */
const warnedReadable = new Set<string>();

/**
 * Where a path really leads: symlinks followed (even a dangling one, to where it points), so the token is
 * written to and deleted from the file the link names, and the link itself stays as the operator made it.
 */
export function resolveSymlinks(path: string): string {
  let current = path;
  for (let hops = 0; hops < 40; hops++) {
    let st;
    try {
      st = lstatSync(current);
    } catch {
      return current; // missing (or unreachable): written there, or reported there
    }
    if (!st.isSymbolicLink()) return current;
    current = resolve(dirname(current), readlinkSync(current));
  }
  throw new ConfigurationError(`The token file ${path} is a chain of more than 40 symbolic links (a loop?). Point BASECAMP_TOKEN_FILE at a real file.`);
}

/**
 * The token file on disk. Writes are atomic (a temp file in the same directory, then rename), the file is
 * created 0600 (never chmod-ed after the secret is in it) and its directory is 0700. Reads notice when
 * another process (a second `login`, another server) replaced the file. A symlinked path is written
 * through to its target (atomically, in the target's directory) so the link keeps pointing at fresh data.
 */
export class TokenStore {
  private cached: { mtimeMs: number; ino: number; size: number; token: StoredToken | undefined } | undefined;

  constructor(readonly path: string) {}

  /** The stored token, re-read only when the file changed on disk. Throws ConfigurationError when it is unusable. */
  read(): StoredToken | undefined {
    let st;
    try {
      st = statSync(this.path);
    } catch (error) {
      this.cached = undefined;
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new ConfigurationError(
        `The token file ${this.path} cannot be read (${code ?? (error as Error).message}). Fix its permissions or BASECAMP_TOKEN_FILE, or run \`${shellCommand('login')}\`.`,
      );
    }
    const c = this.cached;
    if (c && c.mtimeMs === st.mtimeMs && c.ino === st.ino && c.size === st.size) return c.token;
    this.warnIfReadableByOthers(st.mode);
    const token: StoredToken | undefined = readTokenFile(this.path);
    this.cached = { mtimeMs: st.mtimeMs, ino: st.ino, size: st.size, token };
    return token;
  }

  /** It holds the refresh token and the client secret: anyone else who can read it can act as you. */
  private warnIfReadableByOthers(mode: number): void {
    if (process.platform === 'win32' || (mode & 0o077) === 0 || warnedReadable.has(this.path)) return;
    warnedReadable.add(this.path);
    log.warn(
      `the token file ${this.path} is readable by other users (mode ${(mode & 0o777).toString(8)}); it holds your refresh token and client secret. Run: chmod 600 ${this.path}`,
    );
  }

  /** Refuses a path that can never hold the token (a directory), before a sign-in is spent on it or a logout tries it. */
  assertFilePath(): void {
    const target = resolveSymlinks(this.path);
    let isDirectory = false;
    try {
      isDirectory = statSync(target).isDirectory();
    } catch {
      return; // missing: written there; unreadable: reported when used
    }
    if (isDirectory) {
      throw new ConfigurationError(
        `The token file ${target === this.path ? this.path : `${this.path} (leading to ${target})`} is a directory, not a file; nothing was changed. Point BASECAMP_TOKEN_FILE at a file path (e.g. ${join(target, 'token.json')}).`,
      );
    }
  }

  write(token: StoredToken): void {
    const target = resolveSymlinks(this.path);
    const dir = dirname(target);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Our own directory may predate us with wider bits; tighten it. A directory the user chose (e.g. /tmp) is left alone.
    if (basename(dir) === 'basecamp-people-mcp' && (statSync(dir).mode & 0o077) !== 0) chmodSync(dir, 0o700);
    writeSecretFile(target, `${JSON.stringify(token, null, 2)}\n`);
    this.cached = undefined;
  }

  /**
   * Deletes the token: the file itself and, when the path is a symlink, the link too (the secret lives in
   * the target; a link left behind would dangle). Returns what was deleted, empty when there was nothing.
   */
  remove(): string[] {
    this.assertFilePath();
    const target = resolveSymlinks(this.path);
    const removed: string[] = [];
    for (const path of target === this.path ? [target] : [target, this.path]) {
      try {
        unlinkSync(path);
        removed.push(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
    this.cached = undefined;
    return removed;
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
