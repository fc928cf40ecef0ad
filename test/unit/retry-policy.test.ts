import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  decideRetry,
  isExpired,
  type AttemptOutcome,
  type RetryDecision,
} from '../../src/async/retry-policy.ts';

const limits = {
  maximumRetryAttempts: 2,
  maximumEventAgeMs: 3_600_000,
  retryDelaysMs: [60_000, 120_000],
};
const NOW = 1_000_000;

describe('async retry policy', () => {
  const cases: {
    name: string;
    outcome: AttemptOutcome;
    attempts: number;
    backoffs?: number;
    firstReceivedAtMs?: number;
    limits?: Partial<typeof limits>;
    want: RetryDecision;
  }[] = [
    {
      name: 'success finishes',
      outcome: 'success',
      attempts: 1,
      want: { action: 'finish', condition: 'Success' },
    },
    {
      name: 'first function error → retry after delay 1',
      outcome: 'function-error',
      attempts: 1,
      want: { action: 'retry', atMs: NOW + 60_000, backoffs: 0 },
    },
    {
      name: 'second function error → retry after delay 2',
      outcome: 'function-error',
      attempts: 2,
      want: { action: 'retry', atMs: NOW + 120_000, backoffs: 0 },
    },
    {
      name: 'third function error → retries exhausted',
      outcome: 'function-error',
      attempts: 3,
      want: { action: 'finish', condition: 'RetriesExhausted' },
    },
    {
      name: 'maximumRetryAttempts 0 → the first error is final',
      outcome: 'function-error',
      attempts: 1,
      limits: { maximumRetryAttempts: 0 },
      want: { action: 'finish', condition: 'RetriesExhausted' },
    },
    {
      name: 'the last delay repeats',
      outcome: 'function-error',
      attempts: 2,
      limits: { retryDelaysMs: [5] },
      want: { action: 'retry', atMs: NOW + 5, backoffs: 0 },
    },
    {
      name: 'function-error retry past the age limit → EventAgeExceeded',
      outcome: 'function-error',
      attempts: 1,
      firstReceivedAtMs: NOW - 3_590_000,
      want: { action: 'finish', condition: 'EventAgeExceeded' },
    },
    {
      name: 'throttle backs off without using retries',
      outcome: 'throttled',
      attempts: 2,
      backoffs: 0,
      want: { action: 'retry', atMs: NOW + 1000, backoffs: 1 },
    },
    {
      name: 'engine error backs off (doubling)',
      outcome: 'engine-error',
      attempts: 0,
      backoffs: 3,
      want: { action: 'retry', atMs: NOW + 8000, backoffs: 4 },
    },
    {
      name: 'backoff caps at 5 min',
      outcome: 'engine-error',
      attempts: 0,
      backoffs: 20,
      want: { action: 'retry', atMs: NOW + 300_000, backoffs: 21 },
    },
    {
      name: 'throttle past the age limit → EventAgeExceeded',
      outcome: 'throttled',
      attempts: 0,
      backoffs: 10,
      firstReceivedAtMs: NOW - 3_500_000,
      want: { action: 'finish', condition: 'EventAgeExceeded' },
    },
    {
      name: 'reserved concurrency 0 → straight to failure',
      outcome: 'concurrency-zero',
      attempts: 0,
      want: { action: 'finish', condition: 'RetriesExhausted' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      // random = 1: the jittered backoff is its full step, so the table can pin it.
      const got = decideRetry(
        c.outcome,
        {
          attempts: c.attempts,
          backoffs: c.backoffs ?? 0,
          firstReceivedAtMs: c.firstReceivedAtMs ?? NOW,
        },
        { ...limits, ...c.limits },
        NOW,
        1,
      );
      expect(got).toEqual(c.want);
    });
  }

  it('jitter keeps every backoff between half and all of its step', () => {
    for (let n = 0; n < 12; n++) {
      const step = Math.min(300_000, 1000 * 2 ** n);
      expect(backoffDelayMs(n, 0)).toBe(step / 2);
      expect(backoffDelayMs(n, 1)).toBe(step);
      const mid = backoffDelayMs(n, 0.5);
      expect(mid).toBeGreaterThan(step / 2 - 1);
      expect(mid).toBeLessThan(step + 1);
    }
  });

  it('an event is expired only once strictly older than the limit', () => {
    expect(isExpired(0, limits, 3_600_000)).toBe(false);
    expect(isExpired(0, limits, 3_600_001)).toBe(true);
  });
});
