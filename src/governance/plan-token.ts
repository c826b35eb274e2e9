import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';
import { secretsEqual } from '../security.js';

/**
 * Plan tokens: what a dry run hands out so that a later real run can prove it executes exactly the plan that was
 * shown. A token is sealed with HMAC-SHA256 by the server (unforgeable without BASECAMP_PLAN_SECRET; every
 * instance of a fleet that shares the secret can verify it) and binds the tool, the account, the caller it was made
 * for, the subject and the exact changes. It is not secret (a model may hold it) and it is not consent by itself: it guarantees the plan
 * was produced by this server, is unexpired, and is the one executed.
 *
 * A token runs its plan once: `redeem` claims it in this process in the same synchronous step as the check (of
 * overlapping calls with one token exactly one gets past it), then in every shared store (the audit trail's
 * claim files, Redis): another process that claimed it first wins. A claimed token stays used even when the run
 * then fails before sending anything; the caller asks for a fresh plan.
 */

export const PLAN_TOKEN_LIFETIME_MS = 15 * 60_000;

export interface Plan {
  tool: string;
  account: number;
  /**
   * Who the plan was made for (callerKey, src/caller.ts): a key's role and name, or a signed-in person's identity
   * under MCP_AUTH=oauth. Another caller's plan is not theirs to apply.
   */
  caller: string;
  /** Who the plan is about (a person id, or a project id for a project's access). */
  subject: string;
  /** The exact changes, in a canonical order (the caller sorts). */
  changes: unknown;
  /** A digest of the call's arguments (argumentsDigest), so a refusal can tell "other arguments" from "the account changed". */
  arguments?: string;
}

interface Sealed extends Plan {
  /** The token's id (recorded in the audit trail instead of the token). */
  id: string;
  /** Expiry, ms since the epoch. */
  exp: number;
}

export type Verdict = { ok: true; id: string; exp: number } | { ok: false; why: string };

/** Where a fleet records the tokens it has used (the audit trail's claim files, Redis). */
export interface PlanClaimStore {
  /** true: claimed now, by this call; false: already used. Throws (a ToolError) when it cannot tell: the run stops. */
  claim(id: string, expiresAt: number, signal?: AbortSignal): Promise<boolean>;
}

const USED: Verdict = { ok: false, why: 'the plan_token was already used (a token runs its plan once)' };

/** What a request state's MAC covers besides its body: a plan token's MAC covers the body alone. */
const STATE_LABEL = 'basecamp-people-mcp/request-state/v1\n';

/** A plan as one digest (key order aside): what a 2026-era consent question is bound to, and re-checked against. */
export function planDigest(plan: Plan): string {
  return createHash('sha256').update(canonical(plan)).digest('base64url');
}

/** The call's arguments as a short digest, key order aside; what only picks the mode of a run (dry_run) is left out. */
export function argumentsDigest(args: Record<string, unknown>): string {
  const { dry_run: _dryRun, plan_token: _planToken, ...rest } = args;
  return createHash('sha256').update(canonical(rest)).digest('base64url').slice(0, 22);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export class PlanSealer {
  private readonly key: Buffer;
  /** Tokens already used, by id, until they expire: a token runs its plan once. */
  private readonly spent = new Map<string, number>();
  constructor(
    secret?: string,
    private readonly now: () => number = Date.now,
    /** Shared records of used tokens, asked in order after this process's own. */
    private readonly shared: PlanClaimStore[] = [],
  ) {
    this.key = secret ? Buffer.from(secret, 'utf8') : randomBytes(32);
  }

  seal(plan: Plan): { token: string; id: string; expires_at: string } {
    const sealed: Sealed = { ...plan, id: randomUUID(), exp: this.now() + PLAN_TOKEN_LIFETIME_MS };
    const body = Buffer.from(JSON.stringify(sealed)).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, id: sealed.id, expires_at: new Date(sealed.exp).toISOString() };
  }

  /**
   * Verifies `token` against the plan as it is now and claims it: ok for exactly one call per token, whichever
   * process runs it. Throws when a shared store cannot tell (the token then stays used: ask for a fresh plan).
   */
  async redeem(token: string, current: Plan, signal?: AbortSignal): Promise<Verdict> {
    const verdict = this.verify(token, current);
    if (!verdict.ok) return verdict;
    // Check and claim in one synchronous step (claim's first part): overlapping calls cannot both pass.
    return (await this.claim(verdict.id, verdict.exp, signal)) ? verdict : USED;
  }

  /**
   * Claims a sealed thing's id once, for the whole fleet: here first (synchronously, so of overlapping calls in this
   * process exactly one passes), then in every shared store. false: already claimed. Throws when a store cannot tell.
   */
  async claim(id: string, expiresAt: number, signal?: AbortSignal): Promise<boolean> {
    if (!this.claimHere(id, expiresAt)) return false;
    for (const store of this.shared) if (!(await store.claim(id, expiresAt, signal))) return false;
    return true;
  }

  /**
   * Seals a 2026-era `requestState` (see src/consent-2026.ts) with the key of the plan tokens, so a fleet sharing
   * BASECAMP_PLAN_SECRET can open it anywhere. Its MAC covers a domain label: a plan token is never a request state,
   * nor the other way round. Gets an id (to claim it once) and an expiry.
   */
  sealState<T extends object>(payload: T, lifetimeMs: number): { state: string; id: string; exp: number } {
    const sealed = { ...payload, id: randomUUID(), exp: this.now() + lifetimeMs };
    const body = Buffer.from(JSON.stringify(sealed)).toString('base64url');
    return { state: `${body}.${this.mac(body, STATE_LABEL)}`, id: sealed.id, exp: sealed.exp };
  }

  /** Opens a state sealed here (or by a fleet sharing the secret): its payload, or why not (altered, expired). */
  openState<T extends object>(state: string): ({ ok: true } & T & { id: string; exp: number }) | { ok: false; why: string } {
    const [body, mac, extra] = state.split('.');
    const forged = { ok: false as const, why: 'the requestState is not one this server issued (or it was altered)' };
    if (!body || !mac || extra !== undefined || !secretsEqual(mac, this.mac(body, STATE_LABEL))) return forged;
    let sealed: T & { id: string; exp: number };
    try {
      sealed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T & { id: string; exp: number };
    } catch {
      return forged;
    }
    if (typeof sealed !== 'object' || sealed === null || typeof sealed.id !== 'string') return forged;
    if (typeof sealed.exp !== 'number' || sealed.exp <= this.now()) return { ok: false, why: 'the requestState has expired' };
    return { ...sealed, ok: true };
  }

  /** Whether `token` seals exactly `current` (the plan as it is now) and is unexpired; if not, why. Claims nothing. */
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
    // Before anything else about the plan: whoever holds another's token learns nothing of what it was for.
    if (sealed.caller !== current.caller) return { ok: false, why: 'the plan_token was made for another caller (a plan is applied only by whom it was made for)' };
    if (sealed.tool !== current.tool) return { ok: false, why: `the plan_token is for ${sealed.tool}, not ${current.tool}` };
    if (sealed.account !== current.account) return { ok: false, why: 'the plan_token is for another account' };
    if (sealed.subject !== current.subject) return { ok: false, why: 'the plan_token is for someone (or something) else' };
    if (JSON.stringify(sealed.changes) !== JSON.stringify(current.changes)) {
      if (sealed.arguments !== undefined && current.arguments !== undefined && sealed.arguments !== current.arguments) {
        return { ok: false, why: 'the plan_token was made for a call with other arguments than this one (it would do something else)' };
      }
      return { ok: false, why: 'the account changed since the plan was made (it would now do something else)' };
    }
    if (this.spent.has(sealed.id)) return USED;
    return { ok: true, id: sealed.id, exp: sealed.exp };
  }

  /** Claims a verified token in this process: false if it was already used here. Synchronous on purpose. */
  private claimHere(id: string, expiresAt: number): boolean {
    const now = this.now();
    for (const [old, exp] of this.spent) if (exp <= now) this.spent.delete(old);
    if (this.spent.has(id)) return false;
    this.spent.set(id, expiresAt);
    return true;
  }

  private mac(body: string, label = ''): string {
    return createHmac('sha256', this.key).update(label + body).digest('base64url');
  }
}
