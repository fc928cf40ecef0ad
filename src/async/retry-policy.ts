/**
 * Lambda's retry rules for asynchronous invocation, as pure functions of the event's history,
 * its config, the time and a random number (so tests pin every branch).
 *
 * - A function error is retried `maximumRetryAttempts` times (0–2), `retryDelaysMs[n-1]` after
 *   the n-th error (the last delay repeats).
 * - Throttles and engine errors (the environment could not start, the engine failed) do not use
 *   up those retries: they back off from 1 s doubling to 5 min, with jitter, for as long as the
 *   event is younger than `maximumEventAgeMs`.
 * - An event that would only be retried after its age limit fails now with `EventAgeExceeded`
 *   rather than sitting in the queue for a retry it can never get.
 * - Reserved concurrency 0 sends the event straight to failure handling.
 */

export type InvocationCondition = 'Success' | 'RetriesExhausted' | 'EventAgeExceeded';

/** How one attempt ended. */
export type AttemptOutcome =
  | 'success'
  | 'function-error'
  | 'throttled'
  | 'engine-error'
  /** Reserved concurrency 0: the function may not run at all. */
  | 'concurrency-zero';

/** The part of the async config the policy reads. */
export interface RetryLimits {
  maximumRetryAttempts: number;
  maximumEventAgeMs: number;
  retryDelaysMs: readonly number[];
}

/** The event's history after the attempt being decided on. */
export interface RetryHistory {
  /** Invokes that ran and returned a result, this one included. */
  attempts: number;
  /** Throttle / engine-error backoffs taken before this attempt. */
  backoffs: number;
  firstReceivedAtMs: number;
}

export type RetryDecision =
  | { action: 'finish'; condition: InvocationCondition }
  | { action: 'retry'; atMs: number; backoffs: number };

export const BACKOFF_INITIAL_MS = 1000;
export const BACKOFF_MAX_MS = 5 * 60_000;

/**
 * Backoff before throttle/engine-error retry number `n` (0-based): 1 s · 2ⁿ capped at 5 min, with
 * "equal jitter" (half fixed, half random) so a burst of throttled events does not come back as
 * one burst, yet no delay shrinks below half its step.
 */
export function backoffDelayMs(n: number, random: number): number {
  const step = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.min(n, 30));
  return Math.round(step / 2 + (step / 2) * random);
}

/** Whether an event is too old to be invoked at all (checked when it is picked up). */
export function isExpired(firstReceivedAtMs: number, limits: RetryLimits, nowMs: number): boolean {
  return nowMs - firstReceivedAtMs > limits.maximumEventAgeMs;
}

/** Decides what happens to an event after an attempt. */
export function decideRetry(
  outcome: AttemptOutcome,
  history: RetryHistory,
  limits: RetryLimits,
  nowMs: number,
  random: number,
): RetryDecision {
  const deadline = history.firstReceivedAtMs + limits.maximumEventAgeMs;
  switch (outcome) {
    case 'success':
      return { action: 'finish', condition: 'Success' };
    case 'concurrency-zero':
      return { action: 'finish', condition: 'RetriesExhausted' };
    case 'function-error': {
      // attempts counts the first invoke too: retries used = attempts - 1.
      if (history.attempts - 1 >= limits.maximumRetryAttempts) {
        return { action: 'finish', condition: 'RetriesExhausted' };
      }
      const delays = limits.retryDelaysMs;
      const delay = delays[Math.min(history.attempts - 1, delays.length - 1)] ?? 0;
      const atMs = nowMs + delay;
      if (atMs > deadline) return { action: 'finish', condition: 'EventAgeExceeded' };
      return { action: 'retry', atMs, backoffs: history.backoffs };
    }
    case 'throttled':
    case 'engine-error': {
      const atMs = nowMs + backoffDelayMs(history.backoffs, random);
      if (atMs > deadline) return { action: 'finish', condition: 'EventAgeExceeded' };
      return { action: 'retry', atMs, backoffs: history.backoffs + 1 };
    }
  }
}
