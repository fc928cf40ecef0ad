import { describe, expect, it } from 'vitest';
import { ConcurrencyController, ThrottleError } from '../../src/invoker/concurrency.ts';
import { CountingSemaphore } from '../../src/invoker/counting-semaphore.ts';

describe('CountingSemaphore', () => {
  it('hands permits to waiters in order and honours abort', async () => {
    const s = new CountingSemaphore(1);
    expect(s.tryAcquire()).toBe(true);
    const order: string[] = [];
    const a = s.acquire().then(() => order.push('a'));
    const ac = new AbortController();
    const b = s.acquire(ac.signal).catch(() => order.push('b-aborted'));
    const c = s.acquire().then(() => order.push('c'));
    ac.abort();
    await b;
    expect(s.tryAcquire()).toBe(false); // waiters go first
    s.release();
    await a;
    s.release();
    await c;
    expect(order).toEqual(['b-aborted', 'a', 'c']);
    expect(s.inUse).toBe(1);
  });

  it('tells whenAvailable callers a permit is free without taking it, after queued acquirers', async () => {
    const s = new CountingSemaphore(1);
    expect(s.tryAcquire()).toBe(true);
    const order: string[] = [];
    const watched = s.whenAvailable().then(() => order.push(`watcher saw ${s.inUse} in use`));
    const queued = s.acquire().then(() => order.push('acquirer'));
    s.release(); // the queued acquirer takes it: nothing left over for the watcher
    await queued;
    s.release();
    await watched;
    expect(order).toEqual(['acquirer', 'watcher saw 0 in use']);
    expect(s.inUse).toBe(0);
    const ac = new AbortController();
    s.tryAcquire();
    const aborted = s.whenAvailable(ac.signal);
    ac.abort();
    await expect(aborted).rejects.toBeDefined();
  });

  it('wakes waiters when the limit is raised', async () => {
    const s = new CountingSemaphore(0);
    const p = s.acquire();
    s.setLimit(1);
    await p;
    expect(s.inUse).toBe(1);
  });
});

describe('ConcurrencyController', () => {
  it('keeps a reserved function within its reservation and others within the unreserved pool', () => {
    const c = new ConcurrencyController({
      engineLimit: 12,
      reserved: { hot: 2 },
      minimumUnreserved: 10,
    });
    const held = [c.tryReserve('hot'), c.tryReserve('hot')];
    expect(() => c.tryReserve('hot')).toThrowError(ThrottleError);
    try {
      c.tryReserve('hot');
    } catch (err) {
      expect((err as ThrottleError).reason).toBe(
        'ReservedFunctionConcurrentInvocationLimitExceeded',
      );
    }
    for (let i = 0; i < 10; i++) held.push(c.tryReserve('other'));
    expect(() => c.tryReserve('third')).toThrowError(/Rate Exceeded/);
    expect(c.snapshot().inUse).toBe(12);
    held[0]?.release();
    held[0]?.release(); // idempotent
    expect(c.snapshot().inUse).toBe(11);
    expect(() => c.tryReserve('hot')).not.toThrow();
  });

  it('refuses reservations that leave too little unreserved, at start and at run time', () => {
    expect(
      () =>
        new ConcurrencyController({
          engineLimit: 100,
          reserved: { a: 50 },
          minimumUnreserved: 100,
        }),
    ).toThrow(/at least 100 must stay unreserved/);
    const c = new ConcurrencyController({ engineLimit: 200, reserved: {}, minimumUnreserved: 100 });
    expect(() => c.setReserved('a', 101)).toThrow(/below its minimum value of 100/);
    c.setReserved('a', 100);
    expect(c.snapshot().unreservedLimit).toBe(100);
    c.setReserved('a', undefined);
    expect(c.snapshot().unreservedLimit).toBe(200);
  });

  it('throttles a function with reserved concurrency 0 even when waiting', async () => {
    const c = new ConcurrencyController({
      engineLimit: 10,
      reserved: { off: 0 },
      minimumUnreserved: 1,
    });
    await expect(c.reserve('off')).rejects.toThrowError(/reserved concurrency 0/);
  });

  it('waits until a function could take a unit, taking none, and follows it to another pool', async () => {
    const c = new ConcurrencyController({
      engineLimit: 4,
      reserved: { hot: 1 },
      minimumUnreserved: 1,
    });
    const held = c.tryReserve('hot');
    let ready = false;
    const waiting = c.waitUntilAvailable('hot').then(() => (ready = true));
    await Promise.resolve();
    expect(ready).toBe(false);
    // The reservation is removed: the function draws from the unreserved pool, which has room.
    c.setReserved('hot', undefined);
    await waiting;
    expect(c.inUse('hot')).toBe(1); // only the unit taken before: waiting took none
    held.release();
    expect(c.inUse('hot')).toBe(0);
  });

  it('waiting until a function could take a unit throttles at once at reserved concurrency 0', async () => {
    const c = new ConcurrencyController({
      engineLimit: 4,
      reserved: { f: 1 },
      minimumUnreserved: 1,
    });
    c.setReserved('off', 0);
    await expect(c.waitUntilAvailable('off')).rejects.toThrowError(/reserved concurrency 0/);
    const held = c.tryReserve('f');
    const waiting = c.waitUntilAvailable('f');
    c.setReserved('f', 0);
    await expect(waiting).rejects.toThrowError(ThrottleError);
    held.release();
  });
});
