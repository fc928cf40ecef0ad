import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvokeLimit } from '../../src/engine/invoke-limit.ts';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** An adaptive limit of at most 8 with 100 ms windows; `moves` lists every limit it moves to. */
function tuned(): { limit: InvokeLimit; moves: number[] } {
  const moves: number[] = [];
  const limit = new InvokeLimit({
    maximum: 8,
    adaptive: true,
    tuner: { windowMs: 100, settleMs: 10 },
    onChange: (l) => moves.push(l),
  });
  return { limit, moves };
}

/** One window's traffic: `batches` invokes of `records` each, polled full or not. */
function traffic(limit: InvokeLimit, batches: number, records: number, full: boolean): void {
  for (let i = 0; i < batches; i++) {
    limit.polled(full ? 10 : 3, 10);
    limit.completed(records, true);
  }
}

describe('InvokeLimit (the gate the tuner moves)', () => {
  it('with adaptive false the limit is the maximum, unbounded included, and never moves', async () => {
    const fixed = new InvokeLimit({ maximum: 6, adaptive: false });
    expect(fixed.limit).toBe(6);
    fixed.start();
    traffic(fixed, 50, 10, true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(fixed.limit).toBe(6);
    expect(new InvokeLimit({ maximum: Number.POSITIVE_INFINITY, adaptive: false }).limit).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  it('holds a caller beyond the limit until a slot is released, and counts it as demand', async () => {
    const limit = new InvokeLimit({ maximum: 4, adaptive: true, tuner: { initial: 1 } });
    await limit.acquire();
    let second = false;
    const waiting = limit.acquire().then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(false);
    limit.release();
    await waiting;
    expect(second).toBe(true);
  });

  it('does not move without a backlog or waiting invokes: the rate says nothing then', async () => {
    const { limit, moves } = tuned();
    limit.start();
    for (let w = 0; w < 20; w++) {
      traffic(limit, 20, 10, false);
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(moves).toEqual([]);
    expect(limit.limit).toBe(5);
  });

  it('with a backlog, probes the level below after skipping the start window', async () => {
    const { limit, moves } = tuned();
    limit.start();
    // The start window: skipped however busy it is.
    traffic(limit, 20, 10, true);
    await vi.advanceTimersByTimeAsync(100);
    expect(moves).toEqual([]);
    // The first measured window: a figure for 5, then a probe of 4.
    traffic(limit, 20, 10, true);
    await vi.advanceTimersByTimeAsync(100);
    expect(moves).toEqual([4]);
    expect(limit.state.rates.get(5)?.rate).toBeCloseTo(2000, -1);
  });

  it('counts failed invokes: a window of mostly failures holds the limit', async () => {
    const { limit, moves } = tuned();
    limit.start();
    await vi.advanceTimersByTimeAsync(100); // the start window
    for (let w = 0; w < 20; w++) {
      for (let i = 0; i < 20; i++) {
        limit.polled(10, 10);
        limit.completed(10, false);
      }
      await vi.advanceTimersByTimeAsync(100);
    }
    expect(moves).toEqual([]);
    expect(limit.state.rates.size).toBe(0);
  });

  it('extends a window with too few batches instead of measuring it', async () => {
    const limit = new InvokeLimit({
      maximum: 8,
      adaptive: true,
      tuner: { windowMs: 100, settleMs: 10, minBatches: 6 },
    });
    limit.start();
    await vi.advanceTimersByTimeAsync(100); // the start window
    traffic(limit, 3, 10, true);
    await vi.advanceTimersByTimeAsync(100);
    expect(limit.state.rates.size).toBe(0);
    traffic(limit, 3, 10, true);
    await vi.advanceTimersByTimeAsync(100);
    // Six batches over the two windows: one figure, over 200 ms.
    expect(limit.state.rates.get(5)?.rate).toBeCloseTo(300, -1);
  });

  it('a lowered maximum clamps the limit at once; stop() ends the windows', async () => {
    const limit = new InvokeLimit({ maximum: 8, adaptive: true, tuner: { windowMs: 100 } });
    limit.start();
    limit.setMaximum(3);
    expect(limit.limit).toBe(3);
    limit.stop();
    limit.stop();
    traffic(limit, 50, 10, true);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(limit.state.rates.size).toBe(0);
  });
});
