import { describe, expect, it } from 'vitest';
import { SessionPool } from '../src/transports/session-pool.js';

/** A pool of named sessions on a clock the test moves; `closed` lists what the pool ended, in order. */
function pool(options: { maxSessions?: number; idleMs?: number; evictGraceMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const closed: string[] = [];
  const p = new SessionPool<string>(
    { maxSessions: options.maxSessions ?? 2, idleMs: options.idleMs ?? 600_000, evictGraceMs: options.evictGraceMs ?? 60_000, now: () => clock.now },
    async (name) => {
      closed.push(name);
    },
  );
  const tick = (ms: number) => (clock.now += ms);
  return { p, closed, tick };
}

describe('SessionPool (fake clock)', () => {
  it('below the cap there is room and nothing is ended', () => {
    const { p, closed } = pool({ maxSessions: 2 });
    p.add('a', 'A');
    expect(p.makeRoom()).toBeUndefined();
    expect(p.size).toBe(1);
    expect(closed).toEqual([]);
  });

  it('full: the idlest session idle past the grace is ended for the newcomer', () => {
    const { p, closed, tick } = pool({ maxSessions: 2, evictGraceMs: 60_000 });
    p.add('a', 'A');
    tick(10_000);
    p.add('b', 'B');
    tick(60_000); // a idle 70 s, b 60 s: both past the grace, a the idlest
    expect(p.makeRoom()).toBeUndefined();
    expect(closed).toEqual(['A']);
    expect(p.get('a')).toBeUndefined();
    expect(p.get('b')).toBe('B');
  });

  it('full, the idlest not yet past the grace: Retry-After is the time until it is, in whole seconds (at least 1)', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000 });
    p.add('a', 'A');
    tick(45_500);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 14_500, retryAfterSeconds: 15 });
    tick(14_400);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 100, retryAfterSeconds: 1 });
    expect(closed).toEqual([]);
  });

  it('a session with a request in flight is never ended; its idle time starts when the request ends', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000, idleMs: 120_000 });
    p.add('a', 'A');
    const done = p.begin('a', true);
    tick(500_000);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 60_000, retryAfterSeconds: 60 }); // every session busy: the full grace
    p.expireIdle();
    expect(closed).toEqual([]);
    done();
    done(); // twice is once
    tick(59_000);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom()).toBeUndefined();
    expect(closed).toEqual(['A']);
  });

  it('a GET (an SSE stream listening) touches the session but does not make it busy', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000 });
    p.add('a', 'A');
    tick(50_000);
    p.begin('a', false);
    tick(59_000);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom()).toBeUndefined();
    expect(closed).toEqual(['A']);
  });

  it('the grace is capped at the idle time: a session idle that long is evictable', () => {
    const { p, tick } = pool({ maxSessions: 1, evictGraceMs: 600_000, idleMs: 30_000 });
    p.add('a', 'A');
    tick(29_000);
    expect(p.makeRoom()).toEqual({ retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom()).toBeUndefined();
  });

  it('expireIdle ends sessions idle longer than idleMs with nothing in flight, and only those', () => {
    const { p, closed, tick } = pool({ maxSessions: 10, idleMs: 30_000 });
    p.add('old', 'OLD');
    p.add('busy', 'BUSY');
    p.begin('busy', true);
    tick(20_000);
    p.add('new', 'NEW');
    tick(10_001);
    p.expireIdle();
    expect(closed).toEqual(['OLD']);
    expect(p.size).toBe(2);
  });

  it('forget drops a session that ended by itself without closing it; closeAll ends the rest', async () => {
    const { p, closed } = pool({ maxSessions: 10 });
    p.add('a', 'A');
    p.add('b', 'B');
    p.forget('a');
    expect(p.size).toBe(1);
    await p.closeAll();
    expect(closed).toEqual(['B']);
    expect(p.size).toBe(0);
  });
});
