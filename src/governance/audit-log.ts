import { randomUUID } from 'node:crypto';
import { chmod, mkdir, open, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AuditUnavailableError } from '../basecamp/errors.js';
import { log } from '../log.js';

/**
 * The audit trail: one JSON line per event, appended to BASECAMP_AUDIT_LOG (0600, in a 0700 folder). A write's
 * intent is appended before the write is sent and its outcome after it; an intent that cannot be recorded stops
 * the write (fail closed). Each line is one `write()` on a file opened for append, so several processes can share
 * the file without their lines interleaving. Never holds a secret: tool arguments carry none, and a plan token is
 * recorded by its id only.
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

export class AuditLog {
  private prepared: Promise<void> | undefined;
  constructor(readonly path: string) {}

  newId(): string {
    return randomUUID();
  }

  /** Appends one line; throws AuditUnavailableError (with the path and the reason) when it cannot. */
  async append(line: AuditLine): Promise<void> {
    try {
      await (this.prepared ??= this.prepare());
      const handle = await open(this.path, 'a', 0o600);
      try {
        await handle.write(`${JSON.stringify(line)}\n`);
      } finally {
        await handle.close();
      }
    } catch (error) {
      this.prepared = undefined; // a folder created meanwhile is found on the next try
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      throw new AuditUnavailableError(
        `The audit trail ${this.path} cannot be written (${code}), so the change was not sent: every write is recorded first. ` +
          'Fix the file or folder permissions, point BASECAMP_AUDIT_LOG at a writable file, or set BASECAMP_AUDIT_LOG=off.',
        { cause: error },
      );
    }
  }

  /** Every line recorded, oldest first; a line that is not JSON (a torn write from a crash) is skipped. */
  async read(): Promise<AuditLine[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new AuditUnavailableError(`The audit trail ${this.path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { cause: error });
    }
    return text.split('\n').flatMap((l) => {
      if (!l.trim()) return [];
      try {
        return [JSON.parse(l) as AuditLine];
      } catch {
        return [];
      }
    });
  }

  /** Whether any write was already made under this plan token (by any process sharing the file). */
  async usedPlanToken(id: string): Promise<boolean> {
    return (await this.read()).some((l) => l.phase === 'intent' && l.plan_token_id === id);
  }

  /** The folder (0700) and, for a file made by someone else, a warning when others may read it. */
  private async prepare(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const info = await stat(this.path).catch(() => undefined);
    if (info && (info.mode & 0o077) !== 0) {
      await chmod(this.path, 0o600).catch(() => log.warn(`The audit trail ${this.path} is readable by others and could not be made 0600.`));
    }
  }
}
