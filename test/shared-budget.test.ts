import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RateBudgetUnavailableError } from '../src/errors.js';
import { CancelledError, RateLimitedError } from '../src/basecamp/errors.js';
import type { RateBudget } from '../src/basecamp/rate-budget.js';
import { connectSharedBudget, redactRedisUrl, type SharedBudget, type SharedBudgetOptions } from '../src/basecamp/shared-budget.js';
import { startSandbox, type Sandbox } from '../src/sandbox/server.js';
import { freePort, hasRedis, maxInWindow, startRedis } from './helpers.js';

/**
 * The shared (Redis) budget against a real redis-server of our own (random port, temp dir) and a sandbox
 * whose rate limit is exactly the budget: a grant past the budget shows up as a 429. Skipped only when
 * redis-server is missing outside CI.
 */
const MAX = 5;
const WINDOW = 600;


const dir = mkdtempSync(join(tmpdir(), 'shared-budget-'));


async function stopRedis(redis: ChildProcess): Promise<void> {
  if (redis.exitCode !== null || redis.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    redis.once('exit', () => resolve());
    redis.kill('SIGKILL');
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('redactRedisUrl (REDIS_URL in logs and tool results)', () => {
  it('hides the password, in the user info and in the query (ioredis reads ?password= too)', () => {
    expect(redactRedisUrl('redis://u:hunter2@127.0.0.1:6379/0')).toBe('redis://u:***@127.0.0.1:6379/0');
    const queried = redactRedisUrl('redis://127.0.0.1:6379/?password=hunter2&db=1');
    expect(queried).not.toContain('hunter2');
    expect(queried).toContain('db=1');
    expect(redactRedisUrl('rediss://127.0.0.1/?Password=hunter2')).not.toContain('hunter2');
    expect(redactRedisUrl('not a url hunter2')).not.toContain('hunter2');
  });
});

describe.skipIf(!hasRedis && !process.env.CI)('the shared (Redis) rate budget', () => {
  let port: number;
  let redis: ChildProcess;
  let admin: Redis;
  let sb: Sandbox;
  const open: SharedBudget[] = [];
  let n = 0;

  beforeAll(async () => {
    if (!hasRedis) throw new Error('redis-server is not installed (CI must install it: see .ci/run)');
    port = await freePort();
    redis = await startRedis(port, dir);
    admin = new Redis(port, { lazyConnect: true, maxRetriesPerRequest: 1 });
    admin.on('error', () => undefined);
    await admin.connect();
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
    await sb?.close();
  });
  afterAll(async () => {
    admin?.disconnect();
    if (redis) await stopRedis(redis);
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => `redis://127.0.0.1:${port}`;
  async function shared(options: SharedBudgetOptions & { id?: string; max?: number; windowMs?: number } = {}): Promise<RateBudget> {
    const s = await connectSharedBudget(url(), options.id ?? `test-${++n}`, { max: options.max ?? MAX, windowMs: options.windowMs ?? WINDOW }, 5_000, options);
    open.push(s);
    return s.budget;
  }
  async function sandbox(max = MAX, windowMs = WINDOW): Promise<Sandbox> {
    sb = await startSandbox({ people: 3, rateLimit: { max, windowMs } });
    return sb;
  }
  /** One Basecamp request through the budget; the sandbox's answer status. */
  async function call(budget: RateBudget): Promise<number> {
    await budget.acquire();
    const res = await fetch(`${sb.url}/${sb.accountId}/my/profile.json`, {
      headers: { authorization: `Bearer ${sb.token}`, 'user-agent': 'shared-budget-test (https://example.test)' },
    });
    await res.arrayBuffer();
    return res.status;
  }
  const burst = (budget: RateBudget, count: number) => Promise.all(Array.from({ length: count }, () => call(budget)));
  function expectWithinBudget(): void {
    expect(sb.throttled).toBe(0);
    expect(maxInWindow(sb.apiRequests().map((r) => r.at), WINDOW)).toBeLessThanOrEqual(MAX);
  }

  it('keeps the window across a FLUSHALL between calls: calls succeed, no 429, no window over budget', async () => {
    await sandbox();
    const budget = await shared();
    expect(await burst(budget, MAX)).toEqual(Array(MAX).fill(200));
    await admin.flushall();
    const statuses = await burst(budget, 2 * MAX);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expectWithinBudget();
  });

  it('recovers when Redis restarts empty: calls in between fail clearly, then succeed with no 429 and no window over budget', async () => {
    await sandbox();
    const budget = await shared();
    expect(await burst(budget, MAX)).toEqual(Array(MAX).fill(200));
    await stopRedis(redis);
    let refused: unknown;
    try {
      await sleep(300); // let the client see the connection close
      refused = await budget.acquire().catch((e: unknown) => e);
    } finally {
      redis = await startRedis(port, dir);
    }
    expect(refused).toBeInstanceOf(RateBudgetUnavailableError);
    expect((refused as Error).message).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+\/? is not connected/);
    // ioredis reconnects by itself (its back-off is at most 2 s between tries).
    for (let tries = 0; ; tries++) {
      try {
        expect(await call(budget)).toBe(200);
        break;
      } catch (error) {
        expect(error).toBeInstanceOf(RateBudgetUnavailableError);
        expect(tries).toBeLessThan(100);
        await sleep(100);
      }
    }
    await admin.ping().catch(() => undefined); // the admin client reconnects too
    const statuses = await burst(budget, 2 * MAX);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expectWithinBudget();
  });

  it('recovers after its keys expired while idle (shortened key TTL)', async () => {
    await sandbox();
    const id = `test-idle-${++n}`;
    const budget = await shared({ id, keyTtlMs: 700 });
    expect(await burst(budget, MAX)).toEqual(Array(MAX).fill(200));
    await sleep(1_200);
    expect(await admin.exists(`${id}:grants`)).toBe(0);
    const statuses = await burst(budget, 2 * MAX);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expectWithinBudget();
  });

  it('two instances together never exceed the budget, and queued requests are served in order', async () => {
    await sandbox();
    const [a, b] = [await shared({ id: 'fleet-order' }), await shared({ id: 'fleet-order' })];
    const order: number[] = [];
    const calls = Array.from({ length: 12 }, (_, i) => call(i % 2 ? a : b).then((s) => (order.push(i), s)));
    expect((await Promise.all(calls)).every((s) => s === 200)).toBe(true);
    expectWithinBudget();
    // Within one instance, first come first served.
    for (const parity of [0, 1]) {
      const mine = order.filter((i) => i % 2 === parity);
      expect(mine).toEqual([...mine].sort((x, y) => x - y));
    }
  });

  it('a cancelled waiter gives its place back', async () => {
    const budget = await shared({ max: 1, windowMs: 400 });
    await budget.acquire();
    const controller = new AbortController();
    const cancelled = budget.acquire(controller.signal);
    const next = budget.acquire();
    await sleep(50); // both are queued behind the held slot
    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    await next;
    expect(budget.granted).toBe(2);
  });

  it('a Redis that refuses the connection fails at once, with the password redacted', async () => {
    const closed = await freePort();
    const t0 = Date.now();
    const attempt = connectSharedBudget(`redis://user:hunter2@127.0.0.1:${closed}`, 'refused', { max: 5, windowMs: 1000 }, 10_000);
    const error = await attempt.catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(RateBudgetUnavailableError);
    expect((error as Error).message).toMatch(/Cannot reach Redis at redis:\/\/user:\*\*\*@127\.0\.0\.1.*ECONNREFUSED/);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('a pause longer than the longest wait fails at once on every instance, queued requests included; a short one is waited out', async () => {
    const [a, b] = [await shared({ id: 'fleet-pause', max: 2, windowMs: 20_000 }), await shared({ id: 'fleet-pause', max: 2, windowMs: 20_000 })];
    await b.acquire();
    await b.acquire();
    const queued = [b.acquire(), b.acquire()].map((p) => p.catch((e: unknown) => e));
    await sleep(100);
    const t0 = Date.now();
    await a.pause(3_600_000);
    for (const error of await Promise.all(queued)) {
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterSeconds).toBeGreaterThan(3_500);
    }
    const fresh = await b.acquire().catch((e: unknown) => e);
    expect(fresh).toBeInstanceOf(RateLimitedError);
    expect((fresh as RateLimitedError).retryAfterSeconds).toBeGreaterThan(3_500);
    expect((fresh as Error).message).toMatch(/rate limit/i);
    expect(Date.now() - t0).toBeLessThan(5_000); // the queued ones were sleeping on a 20 s window

    const [c, d] = [await shared({ id: 'fleet-short-pause' }), await shared({ id: 'fleet-short-pause' })];
    await c.pause(500);
    const t1 = Date.now();
    await d.acquire();
    expect(Date.now() - t1).toBeGreaterThanOrEqual(400);
  });

  it('a new call on an instance whose queue is asleep fails at once when another instance begins a long pause', async () => {
    const opts = { id: 'fleet-asleep', max: 1, windowMs: 20_000, recheckMs: 30_000 };
    const [a, b] = [await shared(opts), await shared(opts)];
    await b.acquire();
    const asleep = b.acquire().catch((e: unknown) => e); // waits ~20 s for the window
    await sleep(100);
    await a.pause(3_600_000);
    const t0 = Date.now();
    await expect(b.acquire()).rejects.toBeInstanceOf(RateLimitedError);
    expect(Date.now() - t0).toBeLessThan(3_000);
    void asleep; // failed by close() after the test
  });

  it('requests already queued fail at once when Redis goes away, and nothing is granted', async () => {
    // A long window and recheck: only the connection-loss signal can end these waits quickly.
    const budget = await shared({ max: 1, windowMs: 20_000, recheckMs: 30_000 });
    await budget.acquire();
    const queued = Array.from({ length: 3 }, () => budget.acquire().catch((e: unknown) => e));
    await sleep(100);
    const t0 = Date.now();
    await stopRedis(redis);
    for (const error of await Promise.all(queued)) {
      expect(error).toBeInstanceOf(RateBudgetUnavailableError);
      expect((error as Error).message).toMatch(/shared rate budget is unavailable.*Redis/);
    }
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(budget.granted).toBe(1);
    redis = await startRedis(port, dir); // for any test after this one
  });
});
