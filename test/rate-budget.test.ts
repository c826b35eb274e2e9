import { describe, expect, it } from 'vitest';
import { CancelledError, RateLimitedError } from '../src/basecamp/errors.js';
import { LocalGrantLog, parseRateLimit, RateBudget } from '../src/basecamp/rate-budget.js';
import { maxInWindow } from './helpers.js';

describe('RateBudget (sliding window)', () => {
  it('parses BASECAMP_RATE_LIMIT', () => {
    expect(parseRateLimit('50/10s')).toEqual({ max: 50, windowMs: 10_000 });
    expect(parseRateLimit('5/500ms')).toEqual({ max: 5, windowMs: 500 });
    expect(parseRateLimit('100/1m')).toEqual({ max: 100, windowMs: 60_000 });
    expect(() => parseRateLimit('fifty')).toThrow(/50\/10s/);
    expect(() => parseRateLimit('0/10s')).toThrow(/positive/);
  });

  it('lets a burst up to the budget through at once and never more than max in any window', async () => {
    const budget = new RateBudget({ max: 5, windowMs: 400 });
    const grants: number[] = [];
    const start = Date.now();
    await Promise.all(Array.from({ length: 17 }, () => budget.acquire().then(() => grants.push(Date.now()))));
    // The first five went out at once...
    expect(grants.slice(0, 5).every((t) => t - start < 350)).toBe(true); // the sixth must wait > 400 ms
    // ...and no window of 400 ms ever saw more than five.
    expect(maxInWindow(grants, 400)).toBeLessThanOrEqual(5);
    // 17 grants at 5 per 400 ms need at least three more windows.
    expect(Date.now() - start).toBeGreaterThanOrEqual(3 * 400 - 20);
    await budget.stop();
  });

  it('is a sliding window, not a fixed one: a burst at the end of one window cannot add to a burst at the start of the next', async () => {
    const budget = new RateBudget({ max: 4, windowMs: 300 });
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 2 }, () => budget.acquire().then(() => grants.push(Date.now()))));
    await new Promise((r) => setTimeout(r, 200));
    await Promise.all(Array.from({ length: 6 }, () => budget.acquire().then(() => grants.push(Date.now()))));
    expect(maxInWindow(grants, 300)).toBeLessThanOrEqual(4);
    await budget.stop();
  });

  it('a pause (429) holds back every queued request, not just one', async () => {
    const budget = new RateBudget({ max: 50, windowMs: 1000 });
    await budget.pause(300);
    const start = Date.now();
    const grants: number[] = [];
    await Promise.all(Array.from({ length: 10 }, () => budget.acquire().then(() => grants.push(Date.now() - start))));
    expect(Math.min(...grants)).toBeGreaterThanOrEqual(280);
    await budget.stop();
  });

  it('a cancelled waiter rejects at once and gives its slot back', async () => {
    const budget = new RateBudget({ max: 1, windowMs: 300 });
    await budget.acquire();
    const controller = new AbortController();
    const waiting = budget.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(CancelledError);
    expect(budget.granted).toBe(1);
    await expect(budget.acquire(AbortSignal.abort())).rejects.toBeInstanceOf(CancelledError);
    await budget.stop();
  });

  it('serves queued requests in the order they came', async () => {
    const budget = new RateBudget({ max: 2, windowMs: 150 });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 8 }, (_, i) => budget.acquire().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    await budget.stop();
  });

  it('during a pause longer than the longest wait, a call fails at once with rate_limited and the seconds left', async () => {
    const budget = new RateBudget({ max: 50, windowMs: 1000 });
    await budget.pause(3_600_000);
    const t0 = Date.now();
    const error = await budget.acquire().catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).kind).toBe('rate_limited');
    expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(3_590);
    expect((error as RateLimitedError).retryAfterSeconds).toBeLessThanOrEqual(3_600);
    expect(budget.granted).toBe(0);
    await budget.stop();
  });

  it('the longest wait is an option: a pause within it is waited out, one past it is not', async () => {
    const budget = new RateBudget({ max: 50, windowMs: 1000, maxWaitMs: 500 });
    await budget.pause(300);
    await budget.acquire();
    await budget.pause(2_000);
    await expect(budget.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    await budget.stop();
  });

  it('requests already queued when a long pause begins fail at once instead of sleeping through it', async () => {
    const budget = new RateBudget({ max: 1, windowMs: 20_000, recheckMs: 30_000 });
    await budget.acquire();
    const queued = Array.from({ length: 3 }, () => budget.acquire().catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await budget.pause(3_600_000);
    for (const error of await Promise.all(queued)) expect(error).toBeInstanceOf(RateLimitedError);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(budget.granted).toBe(1);
    await budget.stop();
  });

  it('a request queued during a short pause wakes when the pause is lengthened past the longest wait', async () => {
    const budget = new RateBudget({ max: 5, windowMs: 1000, maxWaitMs: 5_000, recheckMs: 30_000 });
    await budget.pause(2_000);
    const waiting = budget.acquire().catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 50));
    await budget.pause(60_000);
    expect(await waiting).toBeInstanceOf(RateLimitedError);
    await budget.stop();
  });

  it('a cancelled waiter spends no grant: the next one in line gets the freed slot', async () => {
    const log = new LocalGrantLog(1, 350);
    let recorded = 0;
    const grantLog = { tryGrant: async () => log.tryGrant().then((a) => (a.granted && recorded++, a)), setLimit: () => undefined };
    const budget = new RateBudget({ max: 1, windowMs: 300, grantLog });
    await budget.acquire();
    const controller = new AbortController();
    const cancelled = budget.acquire(controller.signal).catch((e: unknown) => e);
    const next = budget.acquire();
    await new Promise((r) => setTimeout(r, 50));
    controller.abort();
    expect(await cancelled).toBeInstanceOf(CancelledError);
    await next;
    expect(recorded).toBe(2);
    await budget.stop();
  });
});
