import { describe, expect, it } from 'vitest';
import { exitByMs, shutdownMarginMs, stopBudget, within } from '../../src/app/shutdown-plan.ts';

describe('shutdown plan', () => {
  it('keeps a margin of max(500 ms, 5 %) before the deadline', () => {
    expect(shutdownMarginMs(3000)).toBe(500);
    expect(shutdownMarginMs(30_000)).toBe(1500);
    expect(exitByMs(3000)).toBe(2500);
    expect(exitByMs(10_000)).toBe(9500);
    expect(exitByMs(30_000)).toBe(28_500);
    expect(exitByMs(200)).toBe(0);
  });

  it('gives running work the time before the cleanup, and the phases end in order within the total', () => {
    for (const total of [0, 50, 400, 2500, 9500, 28_500, 900_000]) {
      const b = stopBudget(total);
      expect(b.totalMs).toBe(total);
      expect(b.drainMs).toBeGreaterThanOrEqual(0);
      expect(b.drainMs).toBeLessThanOrEqual(b.settledMs);
      expect(b.settledMs).toBeLessThanOrEqual(b.environmentsMs);
      expect(b.environmentsMs).toBeLessThanOrEqual(b.totalMs);
      expect(b.environmentGraceMs).toBeLessThanOrEqual(b.environmentsMs - b.settledMs);
    }
    expect(stopBudget(2500)).toMatchObject({ drainMs: 1875, environmentGraceMs: 250 });
    // Long deadlines: cleanup is capped at 2.5 s, the environments' grace at Lambda's 2 s.
    expect(stopBudget(28_500)).toMatchObject({ drainMs: 26_000, environmentGraceMs: 1000 });
    expect(stopBudget(900_000).drainMs).toBe(897_500);
  });

  it('within: gives the value of a phase that ends in time, and gives up on one that does not', async () => {
    await expect(within(Promise.resolve(7), 1000)).resolves.toEqual({ done: true, value: 7 });
    await expect(within(new Promise(() => undefined), 5)).resolves.toEqual({ done: false });
    await expect(within(Promise.reject(new Error('x')), 1000)).rejects.toThrow('x');
  });
});
