import { describe, expect, it } from 'vitest';
import { SessionPool } from '../src/transports/session-pool.js';

/** A pool of named sessions on a clock the test moves; `closed` lists what the pool ended, in order. */
function pool(options: { maxSessions?: number; maxPerOwner?: number; idleMs?: number; evictGraceMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const closed: string[] = [];
  const p = new SessionPool<string>(
    { maxSessions: options.maxSessions ?? 2, maxPerOwner: options.maxPerOwner, idleMs: options.idleMs ?? 600_000, evictGraceMs: options.evictGraceMs ?? 60_000, now: () => clock.now },
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
    p.add('a', 'A', 'k');
    expect(p.makeRoom('k')).toBeUndefined();
    expect(p.size).toBe(1);
    expect(closed).toEqual([]);
  });

  it('full: the idlest session idle past the grace is ended for the newcomer', () => {
    const { p, closed, tick } = pool({ maxSessions: 2, evictGraceMs: 60_000 });
    p.add('a', 'A', 'k');
    tick(10_000);
    p.add('b', 'B', 'k');
    tick(60_000); // a idle 70 s, b 60 s: both past the grace, a the idlest
    expect(p.makeRoom('k')).toBeUndefined();
    expect(closed).toEqual(['A']);
    expect(p.get('a')).toBeUndefined();
    expect(p.get('b')).toBe('B');
  });

  it('full, the idlest not yet past the grace: Retry-After is the time until it is, in whole seconds (at least 1)', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000 });
    p.add('a', 'A', 'k');
    tick(45_500);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 14_500, retryAfterSeconds: 15 });
    tick(14_400);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 100, retryAfterSeconds: 1 });
    expect(closed).toEqual([]);
  });

  it('a session with a request in flight is never ended; its idle time starts when the request ends', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000, idleMs: 120_000 });
    p.add('a', 'A', 'k');
    const done = p.begin('a', true);
    tick(500_000);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 60_000, retryAfterSeconds: 60 }); // every session busy: the full grace
    p.expireIdle();
    expect(closed).toEqual([]);
    done();
    done(); // twice is once
    tick(59_000);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom('k')).toBeUndefined();
    expect(closed).toEqual(['A']);
  });

  it('a GET (an SSE stream listening) touches the session but does not make it busy', () => {
    const { p, closed, tick } = pool({ maxSessions: 1, evictGraceMs: 60_000 });
    p.add('a', 'A', 'k');
    tick(50_000);
    p.begin('a', false);
    tick(59_000);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom('k')).toBeUndefined();
    expect(closed).toEqual(['A']);
  });

  it('the grace is capped at the idle time: a session idle that long is evictable', () => {
    const { p, tick } = pool({ maxSessions: 1, evictGraceMs: 600_000, idleMs: 30_000 });
    p.add('a', 'A', 'k');
    tick(29_000);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 1_000, retryAfterSeconds: 1 });
    tick(1_000);
    expect(p.makeRoom('k')).toBeUndefined();
  });

  it('expireIdle ends sessions idle longer than idleMs with nothing in flight, and only those', () => {
    const { p, closed, tick } = pool({ maxSessions: 10, idleMs: 30_000 });
    p.add('old', 'OLD', 'k');
    p.add('busy', 'BUSY', 'k');
    p.begin('busy', true);
    tick(20_000);
    p.add('new', 'NEW', 'k');
    tick(10_001);
    p.expireIdle();
    expect(closed).toEqual(['OLD']);
    expect(p.size).toBe(2);
  });

  it('forget drops a session that ended by itself without closing it; closeAll ends the rest', async () => {
    const { p, closed } = pool({ maxSessions: 10 });
    p.add('a', 'A', 'k');
    p.add('b', 'B', 'k');
    p.forget('a');
    expect(p.size).toBe(1);
    await p.closeAll();
    expect(closed).toEqual(['B']);
    expect(p.size).toBe(0);
  });
});

describe('SessionPool: each owner (caller) has its own cap (fake clock)', () => {
  it('an owner at its cap is refused with its own limit, though the pool has room, and another owner\'s idle session is left alone', () => {
    const { p, closed, tick } = pool({ maxSessions: 4, maxPerOwner: 2, evictGraceMs: 60_000 });
    p.add('admin-1', 'ADMIN-1', 'admin:ops');
    tick(600_000); // the admin's session: idle far past the grace, the idlest of all
    p.add('reader-1', 'READER-1', 'reader:bot');
    tick(10_000);
    p.add('reader-2', 'READER-2', 'reader:bot');
    tick(20_000); // reader-1 idle 30 s, reader-2 20 s: neither past the grace
    expect(p.sizeOf('reader:bot')).toBe(2);
    expect(p.makeRoom('reader:bot')).toEqual({ limit: 'owner', retryAfterMs: 30_000, retryAfterSeconds: 30 });
    expect(closed).toEqual([]);
    expect(p.get('admin-1')).toBe('ADMIN-1');
    // Another owner still gets in: the pool has room.
    expect(p.makeRoom('admin:ops')).toBeUndefined();
    expect(closed).toEqual([]);
  });

  it('an owner at its cap: its own idlest session past the grace is ended for its newcomer, never another owner\'s idler one', () => {
    const { p, closed, tick } = pool({ maxSessions: 4, maxPerOwner: 2, evictGraceMs: 60_000 });
    p.add('admin-1', 'ADMIN-1', 'admin:ops');
    tick(100_000);
    p.add('reader-1', 'READER-1', 'reader:bot');
    tick(10_000);
    p.add('reader-2', 'READER-2', 'reader:bot');
    tick(70_000); // admin-1 idle 180 s, reader-1 80 s, reader-2 70 s: all past the grace
    expect(p.makeRoom('reader:bot')).toBeUndefined();
    expect(closed).toEqual(['READER-1']);
    expect(p.get('admin-1')).toBe('ADMIN-1');
    expect(p.sizeOf('reader:bot')).toBe(1);
  });

  it('an owner at its cap with every one of its sessions busy waits the full grace; others\' sessions do not shorten it', () => {
    const { p, closed, tick } = pool({ maxSessions: 3, maxPerOwner: 1, evictGraceMs: 60_000 });
    p.add('admin-1', 'ADMIN-1', 'admin:ops');
    p.add('reader-1', 'READER-1', 'reader:bot');
    p.begin('reader-1', true);
    tick(59_000);
    expect(p.makeRoom('reader:bot')).toEqual({ limit: 'owner', retryAfterMs: 60_000, retryAfterSeconds: 60 });
    expect(closed).toEqual([]);
  });

  it('the pool full: the idlest session of an owner over its fair share goes first, not the idler one of an owner within it', () => {
    const { p, closed, tick } = pool({ maxSessions: 4, maxPerOwner: 3, evictGraceMs: 60_000 });
    p.add('admin-1', 'ADMIN-1', 'admin:ops');
    tick(50_000);
    p.add('reader-1', 'READER-1', 'reader:bot');
    p.add('reader-2', 'READER-2', 'reader:bot');
    p.add('reader-3', 'READER-3', 'reader:bot');
    tick(70_000); // every session past the grace; admin-1 the idlest, but the reader holds 3 of 4
    expect(p.makeRoom('operator:onboarding')).toBeUndefined(); // fair share: 4 / 3 owners
    expect(closed).toEqual(['READER-1']);
    expect(p.get('admin-1')).toBe('ADMIN-1');
  });

  it('the pool full and no owner over its fair share has a session past the grace: the idlest of all goes, as before', () => {
    const { p, closed, tick } = pool({ maxSessions: 4, maxPerOwner: 3, evictGraceMs: 60_000 });
    p.add('admin-1', 'ADMIN-1', 'admin:ops');
    tick(100_000);
    p.add('reader-1', 'READER-1', 'reader:bot');
    p.add('reader-2', 'READER-2', 'reader:bot');
    p.add('reader-3', 'READER-3', 'reader:bot');
    tick(30_000); // only admin-1 is past the grace
    expect(p.makeRoom('operator:onboarding')).toBeUndefined();
    expect(closed).toEqual(['ADMIN-1']);
  });

  it('an owner\'s cap above the pool\'s is the pool\'s; at the pool\'s cap one owner is answered as the pool full', () => {
    const { p, tick } = pool({ maxSessions: 2, maxPerOwner: 5, evictGraceMs: 60_000 });
    expect(p.maxPerOwner).toBe(2);
    p.add('a', 'A', 'k');
    p.add('b', 'B', 'k');
    tick(1_000);
    expect(p.makeRoom('k')).toEqual({ limit: 'pool', retryAfterMs: 59_000, retryAfterSeconds: 59 });
  });
});
