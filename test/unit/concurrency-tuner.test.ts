import { describe, expect, it } from 'vitest';
import {
  defaultTunerSettings,
  initialTunerState,
  levelAbove,
  levelBelow,
  tunerStep,
  type TunerSettings,
  type TunerState,
} from '../../src/engine/concurrency-tuner.ts';

/** Runs the tuner against a model of records/s per level with a backlog throughout. */
function run(
  s: TunerSettings,
  rateAt: (level: number) => number,
  windows: number,
  start: TunerState = initialTunerState(s),
): { state: TunerState; limits: number[] } {
  let state = start;
  const limits: number[] = [];
  for (let i = 0; i < windows; i++) {
    const records = Math.round((rateAt(state.limit) * s.windowMs) / 1000);
    state = tunerStep(state, s, { records, batches: 50, elapsedMs: s.windowMs, saturated: true });
    limits.push(state.limit);
  }
  return { state, limits };
}

/** Two cores shared by the broker, the engine and the functions: more at once only costs. */
const cpuBound = (level: number) => 50_000 / (1 + 0.15 * (level - 1));
/** A function waiting on something slow: records/s grow with every invoke in flight. */
const ioBound = (level: number) => 200 * level;

describe('concurrency tuner (throughput-seeking invoke limit)', () => {
  it('climbs a ladder of about ×1.25 a rung between the minimum and the maximum', () => {
    const s = defaultTunerSettings(100);
    const ladder = [1];
    for (let l = levelAbove(1, s); l !== undefined; l = levelAbove(l, s)) ladder.push(l);
    expect(ladder.slice(0, 9)).toEqual([1, 2, 3, 4, 5, 7, 9, 12, 15]);
    expect(ladder.at(-1)).toBe(100);
    expect(levelBelow(5, s)).toBe(4);
    expect(levelBelow(100, s)).toBe(80);
    expect(levelBelow(1, s)).toBeUndefined();
    expect(levelAbove(100, s)).toBeUndefined();
  });

  it('starts at 5 (Lambda) or the maximum when lower, and skips the first window', () => {
    expect(initialTunerState(defaultTunerSettings(50))).toMatchObject({ limit: 5, settling: true });
    expect(initialTunerState(defaultTunerSettings(3)).limit).toBe(3);
  });

  it('comes down to one invoke at a time when more at once only compete for the CPUs', () => {
    const s = defaultTunerSettings(8);
    const { limits } = run(s, cpuBound, 12);
    expect(limits.at(-1)).toBe(1);
    // Settle, measure, probe: no more than two windows a rung on the way down.
    expect(limits.indexOf(1)).toBeLessThanOrEqual(10);
  });

  it('climbs to the maximum when throughput grows with concurrency', () => {
    const s = defaultTunerSettings(100);
    const { limits } = run(s, ioBound, 80);
    expect(limits.at(-1)).toBe(100);
    expect(Math.max(...limits)).toBe(100);
  });

  it('settles at the peak when throughput rises and then falls', () => {
    const peak = (l: number) => (l <= 12 ? 1000 * l : 12_000 - 800 * (l - 12));
    const s = defaultTunerSettings(60);
    const { limits } = run(s, peak, 60);
    // The last 20 windows stay at the peak or one rung below it (a stale neighbour is re-measured).
    for (const l of limits.slice(-20)) expect([9, 12, 15]).toContain(l);
    expect(limits.slice(-20).filter((l) => l === 12).length).toBeGreaterThan(10);
  });

  it('prefers fewer invokes when more do not raise throughput', () => {
    const flat = () => 10_000;
    const s = defaultTunerSettings(20);
    const { limits } = run(s, flat, 30);
    expect(limits.at(-1)).toBeLessThan(5);
  });

  it('does not move on windows without a backlog, with too few batches, or while settling', () => {
    const s = defaultTunerSettings(8);
    const base: TunerState = { ...initialTunerState(s), settling: false };
    const idle = tunerStep(base, s, { records: 10, batches: 50, elapsedMs: 250, saturated: false });
    expect(idle).toMatchObject({ limit: 5, window: 1 });
    expect(idle.rates.size).toBe(0);
    const thin = tunerStep(base, s, { records: 10, batches: 2, elapsedMs: 250, saturated: true });
    expect(thin.rates.size).toBe(0);
    const settling = tunerStep({ ...base, settling: true }, s, {
      records: 1000,
      batches: 50,
      elapsedMs: 250,
      saturated: true,
    });
    expect(settling).toMatchObject({ limit: 5, settling: false });
    expect(settling.rates.size).toBe(0);
  });

  it('measures a neighbour again once its figure is stale, and returns if it is still worse', () => {
    const s = defaultTunerSettings(8);
    const { limits } = run(s, cpuBound, 12 + s.staleAfterWindows + 6);
    const after = limits.slice(12);
    expect(after).toContain(2);
    expect(limits.at(-1)).toBe(1);
    // Mostly at the best level: a re-probe costs a couple of windows.
    expect(after.filter((l) => l === 1).length).toBeGreaterThan(after.length * 0.8);
  });

  it('follows a function that becomes slow: a lowered figure is re-measured and the limit climbs', () => {
    const s = defaultTunerSettings(50);
    const first = run(s, cpuBound, 14);
    expect(first.state.limit).toBe(1);
    const later = run(s, ioBound, 120, first.state);
    expect(later.state.limit).toBeGreaterThanOrEqual(40);
  });

  it('holds its level through windows where most batches failed, then tunes again', () => {
    const s = defaultTunerSettings(8);
    // Tuned for an I/O-bound function: the maximum.
    let { state } = run(s, ioBound, 30);
    expect(state.limit).toBe(8);
    // The function fails every batch (nothing settles at any level) for 40 windows: without the
    // rule the zero rates would read as "every level is as fast" and walk the limit to 1.
    for (let i = 0; i < 40; i++) {
      state = tunerStep(state, s, {
        records: 0,
        batches: 50,
        failedBatches: 50,
        elapsedMs: s.windowMs,
        saturated: true,
      });
      expect(state.limit).toBe(8);
    }
    // Half failing is still not a figure; fewer than half is.
    const half = { records: 1, batches: 50, elapsedMs: s.windowMs, saturated: true };
    expect(tunerStep(state, s, { ...half, failedBatches: 25 }).rates).toBe(state.rates);
    expect(tunerStep(state, s, { ...half, failedBatches: 24 }).rates).not.toBe(state.rates);
    // Recovered: the stale figures are measured again and the limit stays where it pays.
    ({ state } = run(s, ioBound, 30, state));
    expect(state.limit).toBe(8);
  });

  it('clamps a limit above a lowered maximum', () => {
    const s = defaultTunerSettings(8);
    const state: TunerState = { ...initialTunerState(s), limit: 8, settling: false };
    const lowered = { ...s, maximum: 3 };
    const next = tunerStep(state, lowered, {
      records: 100,
      batches: 50,
      elapsedMs: 250,
      saturated: true,
    });
    expect(next).toMatchObject({ limit: 3, settling: true });
  });
});
