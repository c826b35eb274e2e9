import { randomUUID } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readFile, realpath, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AuditUnavailableError } from '../errors.js';
import { log } from '../log.js';
import { PLAN_TOKEN_LIFETIME_MS, type PlanClaimStore } from './plan-token.js';

/**
 * The audit trail: one JSON line per event, appended to BASECAMP_AUDIT_LOG (0600, in a 0700 folder). A write's
 * intent is appended before the write is sent and its outcome after it; an intent that cannot be recorded whole
 * stops the write (fail closed: a short write counts as not recorded). Each line is one `write()` on a file opened
 * for append, so several processes can share the file without their lines interleaving; a line cut short (a crash,
 * a full disk) is closed off before the next one, so no entry is ever glued to it. Never holds a secret: tool
 * arguments carry none, and a plan token is recorded by its id only.
 */

export type AuditOutcome = 'applied' | 'failed' | 'unknown' | 'ignored' | 'refused' | 'cancelled' | 'planned';

/** One person (or the project itself) in one write. */
export interface AuditChange {
  /** A person id, or an email for someone being created; absent for a change to the project itself. */
  person?: number | string;
  project_id?: number;
  /** grant, revoke, create, enroll, enable_clients. */
  action: string;
  outcome?: AuditOutcome;
  error?: string;
  /** What Basecamp said of it, e.g. created / existing for an enrollment. */
  detail?: string;
}

export interface AuditLine {
  time: string;
  /** One write attempt (its intent and outcome share it), or one decision. */
  id: string;
  /** intent: about to send; outcome: what came back; decision: planned, refused or cancelled before any write. */
  phase: 'intent' | 'outcome' | 'decision';
  /** Who called (src/caller.ts): a key's name, MCP_HTTP_TOKEN, anonymous or stdio. (Lines written before callers were recorded lack it.) */
  caller: string;
  tool: string;
  identity: { id: number; email_address: string | null } | null;
  account: number | null;
  arguments: Record<string, unknown>;
  plan_token_id?: string;
  /** The request, e.g. "PUT /projects/1/people/users.json". */
  request?: string;
  request_id?: string;
  changes: AuditChange[];
  note?: string;
}

/** What the trail does with its open file (a FileHandle). */
export interface AuditFile {
  stat(): Promise<Stats>;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Buffer, offset: number, length: number): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}
/** How the trail opens its file (a seam: tests inject a handle whose writes fall short or fail). */
export type OpenAuditFile = (path: string, flags: number, mode: number) => Promise<AuditFile>;

/**
 * Read and append, create if missing; never block: a FIFO without a reader fails at once (ENXIO) instead of
 * hanging the call, and anything that is not a regular file is then refused by its type.
 */
const APPEND_FLAGS = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NONBLOCK ?? 0);
/** Appended after a line cut short before the next line: the torn line is never valid JSON, so it is skipped. */
const TORN = ' (cut short)\n';
const NEWLINE = 0x0a;

export class AuditLog implements PlanClaimStore {
  private prepared: Promise<void> | undefined;
  private readonly openFile: OpenAuditFile;
  private lastPrune = 0;

  constructor(
    readonly path: string,
    options: { open?: OpenAuditFile } = {},
  ) {
    this.openFile = options.open ?? open;
  }

  newId(): string {
    return randomUUID();
  }

  /** Appends one whole line; throws AuditUnavailableError (with the path, the reason, and what was and was not sent) when it cannot. */
  async append(line: AuditLine): Promise<void> {
    try {
      await (this.prepared ??= this.prepare());
      const handle = await this.openFile(this.path, APPEND_FLAGS, 0o600);
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw Object.assign(new Error(`not a regular file but ${typeName(info)}`), { code: `not a regular file: ${typeName(info)}` });
        const bytes = Buffer.from(`${(await endsTorn(handle, info.size)) ? TORN : ''}${JSON.stringify(line)}\n`, 'utf8');
        const { bytesWritten } = await handle.write(bytes, 0, bytes.length);
        // A short write left part of a line: it is not recorded (and the next line closes it off).
        if (bytesWritten !== bytes.length) throw Object.assign(new Error('short write'), { code: `short write: ${bytesWritten} of ${bytes.length} bytes` });
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.prepared = undefined; // a folder created meanwhile is found on the next try
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AuditUnavailableError(`${this.consequence(line, code)} Fix the file or folder (permissions, free space), point BASECAMP_AUDIT_LOG at a writable file, or set BASECAMP_AUDIT_LOG=off.`, {
        cause: error,
      });
    }
  }

  /** Every line recorded, oldest first; a line that is not JSON (cut short by a crash or a full disk) is skipped. */
  async read(): Promise<AuditLine[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AuditUnavailableError(`The audit trail ${this.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { cause: error });
    }
    const lines = text.split('\n');
    lines.pop(); // after the last newline: empty, or a line not (yet) finished, which is not recorded
    return lines.flatMap((l) => {
      if (!l.trim()) return [];
      try {
        return [JSON.parse(l) as AuditLine];
      } catch {
        return [];
      }
    });
  }

  /**
   * Claims a plan token for every process sharing this trail: one file per used token beside it, created
   * exclusively (O_EXCL), so of several processes exactly one creates it. Kept until the token has long expired.
   */
  async claim(id: string, expiresAt: number): Promise<boolean> {
    const folder = this.claimFolder();
    if (!/^[A-Za-z0-9-]{1,64}$/.test(id)) throw new AuditUnavailableError(`A plan token id ${JSON.stringify(id)} cannot name a claim file; nothing was sent.`);
    try {
      await mkdir(folder, { recursive: true, mode: 0o700 });
      const handle = await open(join(folder, id), 'wx', 0o600);
      try {
        await handle.write(`${new Date(expiresAt).toISOString()}\n`);
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AuditUnavailableError(
        `The audit trail's record of used plan tokens (${folder}) cannot be written (${code}), so this plan_token cannot be claimed and was not run: nothing was sent. ` +
          'It will not be accepted again: once the folder is writable, call again without plan_token (or with dry_run) for a fresh plan.',
        { cause: error },
      );
    }
    this.pruneClaims();
    return true;
  }

  private claimFolder(): string {
    return `${this.path}.used-plan-tokens`;
  }

  /** Claim files of tokens expired long ago are removed, at most every few minutes, never holding up a call. */
  private pruneClaims(): void {
    const now = Date.now();
    if (now - this.lastPrune < 5 * 60_000) return;
    this.lastPrune = now;
    const folder = this.claimFolder();
    void (async () => {
      for (const name of await readdir(folder)) {
        const info = await stat(join(folder, name)).catch(() => undefined);
        if (info && info.mtimeMs < now - 2 * PLAN_TOKEN_LIFETIME_MS) await unlink(join(folder, name)).catch(() => undefined);
      }
    })().catch(() => undefined);
  }

  /** What a line that could not be written means for the change it is about. */
  private consequence(line: AuditLine, code: string): string {
    const cannot = `The audit trail ${this.path} cannot be written (${code})`;
    if (line.phase === 'intent') return `${cannot}, so the change was not sent${line.request ? ` (${line.request})` : ''}: every write is recorded first.`;
    if (line.phase === 'decision') return `${cannot}, so this plan cannot be recorded: nothing was sent to Basecamp, and no plan_token is handed out (a plan is recorded before its token).`;
    const outcomes = [...new Set(line.changes.map((c) => c.outcome ?? 'unknown'))];
    const sent = outcomes.some((o) => o === 'applied' || o === 'ignored' || o === 'unknown');
    return `${line.request ?? 'The write'} ${sent ? 'WAS sent to Basecamp' : 'was attempted'} (outcome: ${outcomes.join(', ')}), but ${cannot.slice(0, 1).toLowerCase()}${cannot.slice(1)}: its outcome is not recorded, and list_changes shows it as unknown.`;
  }

  /** The folder (0700); a file others may read is made 0600, but a symbolic link's target is left alone (warned). */
  private async prepare(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const link = await lstat(this.path).catch(() => undefined);
    if (link?.isSymbolicLink()) {
      const target = await stat(this.path).catch(() => undefined);
      if (target && (target.mode & 0o077) !== 0) {
        const where = await realpath(this.path).catch(() => 'its target');
        log.warn(`The audit trail ${this.path} is a symbolic link to ${where}, which others may read (mode ${(target.mode & 0o777).toString(8)}); it is written through and its mode left as it is: make it 0600 yourself.`);
      }
      return;
    }
    // Only a regular file: a device or FIFO given by mistake is refused when written to, never changed.
    if (link?.isFile() && (link.mode & 0o077) !== 0) {
      await chmod(this.path, 0o600).catch(() => log.warn(`The audit trail ${this.path} is readable by others and could not be made 0600.`));
    }
  }
}

/**
 * Whether the file's last byte is not a newline: the previous line was cut short. Another process's line may be
 * half copied into the file at this very moment (the size grows as the copy goes), which looks the same for an
 * instant: only a tail that stays without its newline while the size stays put is a line cut short.
 */
async function endsTorn(handle: AuditFile, size: number): Promise<boolean> {
  for (let look = 0; ; look++) {
    if (size === 0) return false;
    const last = Buffer.alloc(1);
    const { bytesRead } = await handle.read(last, 0, 1, size - 1);
    if (bytesRead !== 1 || last[0] === NEWLINE) return false;
    if (look === 3) return true;
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = (await handle.stat()).size;
    if (now === size) return true;
    size = now;
  }
}

function typeName(info: Stats): string {
  if (info.isDirectory()) return 'a directory';
  if (info.isFIFO()) return 'a FIFO (named pipe)';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  return 'something other than a file';
}

/**
 * At start: the audit trail's path must be a regular file (or not exist yet). A FIFO would block every write, a
 * device like /dev/null would swallow the trail, a directory cannot be appended to. Throws an Error naming
 * BASECAMP_AUDIT_LOG; a symbolic link to a regular file is fine (written through).
 */
export async function checkAuditPath(path: string): Promise<void> {
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw new Error(`BASECAMP_AUDIT_LOG: the audit trail ${path} cannot be checked (${error.code ?? error.message}). Point BASECAMP_AUDIT_LOG at a writable file, or set BASECAMP_AUDIT_LOG=off.`);
  });
  if (info && !info.isFile()) {
    throw new Error(
      `BASECAMP_AUDIT_LOG: the audit trail ${path} is ${typeName(info)}, not a regular file, so it cannot keep the trail. ` +
        'Point BASECAMP_AUDIT_LOG at a file (it is created if missing), or set BASECAMP_AUDIT_LOG=off.',
    );
  }
}
