import { describe, expect, it } from 'vitest';
import { defaultScaling, nextPollerCount } from '../../src/engine/scaling-policy.ts';

const obs = (o: Partial<Parameters<typeof nextPollerCount>[2]>) => ({
  fullPolls: 0,
  emptyPolls: 0,
  partialPolls: 0,
  failedBatches: 0,
  okBatches: 0,
  intakeWaits: 0,
  ...o,
});

describe('scaling policy (Lambda SQS shape)', () => {
  const s = defaultScaling(50);

  it('starts at 5 and never leaves [minimum, maximum]', () => {
    expect(s.initial).toBe(5);
    expect(defaultScaling(3)).toMatchObject({ initial: 3, minimum: 2, maximum: 3 });
    expect(nextPollerCount(48, s, obs({ fullPolls: 10 }))).toBe(50);
    expect(nextPollerCount(2, s, obs({ emptyPolls: 10 }))).toBe(2);
  });

  it('grows while polls come back full: doubling by default, at least +5 a step', () => {
    const full = obs({ fullPolls: 8, partialPolls: 1 });
    const big = defaultScaling(1250);
    const ramp = [5];
    while (ramp.length < 8) ramp.push(nextPollerCount(ramp.at(-1) as number, big, full));
    // 300 more pollers after 6 busy seconds; Lambda adds up to 300 a minute.
    expect(ramp).toEqual([5, 10, 20, 40, 80, 160, 320, 640]);
    expect(nextPollerCount(2, s, full)).toBe(7);
  });

  it('does not grow while pollers wait for the function (the intake bound)', () => {
    const big = defaultScaling(1250);
    expect(nextPollerCount(10, big, obs({ fullPolls: 8, intakeWaits: 1 }))).toBe(10);
    expect(nextPollerCount(10, big, obs({ fullPolls: 8 }))).toBe(20);
    // Shrinking (empty polls, function errors) is not held back.
    expect(nextPollerCount(10, big, obs({ emptyPolls: 8, intakeWaits: 3 }))).toBe(5);
  });

  it("growthFactor 1 is Lambda's linear ramp: +5 a step (a second), 300 a minute", () => {
    const lambda = { ...defaultScaling(1250), growthFactor: 1 };
    let pollers = 5;
    for (let second = 0; second < 60; second++)
      pollers = nextPollerCount(pollers, lambda, obs({ fullPolls: 10 }));
    expect(pollers).toBe(305);
  });

  it('shrinks as fast as it grows when most polls are empty (by one with factor 1), holds when mixed', () => {
    const idle = obs({ emptyPolls: 8, partialPolls: 1 });
    expect(nextPollerCount(40, s, idle)).toBe(20);
    expect(nextPollerCount(3, s, idle)).toBe(2);
    expect(nextPollerCount(10, { ...s, growthFactor: 1 }, idle)).toBe(9);
    expect(nextPollerCount(10, { ...s, growthFactor: 1.5 }, idle)).toBe(6);
    expect(nextPollerCount(10, s, obs({ emptyPolls: 2, partialPolls: 5 }))).toBe(10);
  });

  it('backs off on function errors', () => {
    expect(nextPollerCount(20, s, obs({ fullPolls: 10, failedBatches: 6, okBatches: 4 }))).toBe(18);
  });
});
