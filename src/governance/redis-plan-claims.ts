import type { Redis } from 'ioredis';
import { PlanClaimUnavailableError } from '../errors.js';
import type { PlanClaimStore } from './plan-token.js';

/** Kept this much past the token's expiry, for instances whose clocks run a little behind. */
const CLOCK_MARGIN_MS = 60_000;

/**
 * Used plan tokens in Redis, for instances that share Redis and BASECAMP_PLAN_SECRET but not an audit file: one
 * key per token, set with SET NX (of several instances exactly one sets it) and kept for the token's remaining
 * lifetime. Redis down: the token is not run (fail closed), and the call says so.
 */
export class RedisPlanClaims implements PlanClaimStore {
  constructor(
    private readonly client: Pick<Redis, 'set'>,
    /** Where Redis is, for messages (without its password). */
    private readonly where: string,
    private readonly now: () => number = Date.now,
  ) {}

  async claim(id: string, expiresAt: number): Promise<boolean> {
    const lifetime = Math.max(1, expiresAt - this.now()) + CLOCK_MARGIN_MS;
    try {
      return (await this.client.set(`basecamp-people-mcp:used-plan-token:${id}`, new Date(this.now()).toISOString(), 'PX', lifetime, 'NX')) === 'OK';
    } catch (error) {
      throw new PlanClaimUnavailableError(
        `Nothing was changed: Redis at ${this.where}, where this fleet records used plan tokens, did not answer (${error instanceof Error ? error.message : String(error)}), ` +
          'so this plan_token could not be claimed and was not run. This instance will not accept it again: once Redis is back, call again without ' +
          'plan_token (or with dry_run) for a fresh plan.',
        { cause: error },
      );
    }
  }
}
