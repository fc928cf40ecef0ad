import { describe, expect, it } from 'vitest';
import { defaultScaling, nextPollerCount } from '../../src/engine/scaling-policy.ts';

const obs = (o: Partial<Parameters<typeof nextPollerCount>[2]>) => ({
  fullPolls: 0,
  emptyPolls: 0,
  partialPolls: 0,
  failedBatches: 0,
  okBatches: 0,
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

  it('grows while polls come back full', () => {
    expect(nextPollerCount(5, s, obs({ fullPolls: 8, partialPolls: 1 }))).toBe(10);
  });

  it('shrinks by one when most polls are empty, holds when mixed', () => {
    expect(nextPollerCount(10, s, obs({ emptyPolls: 8, partialPolls: 1 }))).toBe(9);
    expect(nextPollerCount(10, s, obs({ emptyPolls: 2, partialPolls: 5 }))).toBe(10);
  });

  it('backs off on function errors', () => {
    expect(nextPollerCount(20, s, obs({ fullPolls: 10, failedBatches: 6, okBatches: 4 }))).toBe(18);
  });
});
