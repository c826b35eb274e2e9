import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { secretsEqual } from '../security.js';

/**
 * Plan tokens: what a dry run hands out so that a later real run can prove it executes exactly the plan that was
 * shown. A token is sealed with HMAC-SHA256 by the server (unforgeable without BASECAMP_PLAN_SECRET; every
 * instance of a fleet that shares the secret can verify it) and binds the tool, the account, the subject and the
 * exact changes. It is not secret (a model may hold it) and it is not consent by itself: it guarantees the plan
 * was produced by this server, is unexpired, and is the one executed.
 */

export const PLAN_TOKEN_LIFETIME_MS = 15 * 60_000;

export interface Plan {
  tool: string;
  account: number;
  /** Who the plan is about (a person id, or a project id for a project's access). */
  subject: string;
  /** The exact changes, in a canonical order (the caller sorts). */
  changes: unknown;
}

interface Sealed extends Plan {
  /** The token's id (recorded in the audit trail instead of the token). */
  id: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export type Verdict = { ok: true; id: string } | { ok: false; why: string };

export class PlanSealer {
  private readonly key: Buffer;
  /** Tokens already used, by id, until they expire: a token runs its plan once. */
  private readonly spent = new Map<string, number>();
  constructor(secret?: string, private readonly now: () => number = Date.now) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  seal(plan: Plan): { token: string; id: string; expires_at: string } {
    const sealed: Sealed = { ...plan, id: randomUUID(), exp: this.now() + PLAN_TOKEN_LIFETIME_MS };
    const body = Buffer.from(JSON.stringify(sealed)).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, id: sealed.id, expires_at: new Date(sealed.exp).toISOString() };
  }

  /** Whether `token` seals exactly `current` (the plan as it is now) and is unexpired; if not, why. */
  verify(token: string, current: Plan): Verdict {
    const [body, mac, extra] = token.split('.');
    if (!body || !mac || extra !== undefined || !secretsEqual(mac, this.mac(body))) {
      return { ok: false, why: 'the plan_token is not one this server issued (or it was altered)' };
    }
    let sealed: Sealed;
    try {
      sealed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Sealed;
    } catch {
      return { ok: false, why: 'the plan_token is not one this server issued (or it was altered)' };
    }
    if (typeof sealed.exp !== 'number' || sealed.exp <= this.now()) return { ok: false, why: 'the plan_token has expired' };
    if (sealed.tool !== current.tool) return { ok: false, why: `the plan_token is for ${sealed.tool}, not ${current.tool}` };
    if (sealed.account !== current.account) return { ok: false, why: 'the plan_token is for another account' };
    if (sealed.subject !== current.subject) return { ok: false, why: 'the plan_token is for someone (or something) else' };
    if (JSON.stringify(sealed.changes) !== JSON.stringify(current.changes)) {
      return { ok: false, why: 'the account changed since the plan was made (it would now do something else)' };
    }
    if (this.spent.has(sealed.id)) return { ok: false, why: 'the plan_token was already used (a token runs its plan once)' };
    return { ok: true, id: sealed.id };
  }

  /** Marks a verified token as used, so it cannot run again (in this process; across a fleet, the audit trail tells). */
  spend(id: string): void {
    const now = this.now();
    for (const [old, exp] of this.spent) if (exp <= now) this.spent.delete(old);
    this.spent.set(id, now + PLAN_TOKEN_LIFETIME_MS);
  }

  private mac(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
