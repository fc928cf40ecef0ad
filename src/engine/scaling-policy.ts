/**
 * How many concurrent pollers (batches in flight) a mapping runs: Lambda's SQS shape — start at 5,
 * grow while the source keeps returning full batches (faster than Lambda by default: see
 * `growthFactor`), shrink towards the minimum when polls come back empty, back off on function
 * errors. Pure: the runner feeds it observations.
 */
import { POLLER_GROWTH_FACTOR } from '../config/defaults.ts';

export interface ScalingSettings {
  /** Pollers at start (Lambda: 5). */
  initial: number;
  /** Never fewer (Lambda: 2). */
  minimum: number;
  /** Never more: the mapping's maximumConcurrency (Lambda caps SQS at 1,250 per mapping). */
  maximum: number;
  /** Fewest pollers added per scaling step while busy. Default 5. */
  stepUp: number;
  /**
   * While busy, each step multiplies the pollers by this (adding at least `stepUp`); while polls
   * come back mostly empty, each step divides them by it (removing at least one). Default 2:
   * 5, 10, 20, 40… — 300 more pollers in about 6 s where Lambda adds up to 300 a minute; we have
   * no cold fleet to protect: the mapping's ceiling bounds them, a poll waits until the function
   * could take its batch, and they stop growing once batches wait for the function. 1 = Lambda's linear ramp (+5 a second, 300 a minute)
   * and the old decay (−1 a second).
   */
  growthFactor: number;
  /** Time between scaling decisions. Default 1000 ms. */
  intervalMs: number;
}

export interface ScalingObservation {
  /** Polls that returned a full batch since the last decision. */
  fullPolls: number;
  /** Polls that returned nothing. */
  emptyPolls: number;
  /** Polls that returned some records but not a full batch. */
  partialPolls: number;
  /** Batches whose invoke failed with a function error or throttle. */
  failedBatches: number;
  /** Batches that succeeded. */
  okBatches: number;
  /**
   * Times a poller had to wait before gathering, because as many batches already waited for an
   * invoke slot as the function may run (intake-gate.ts): the function, not the source, is the
   * bottleneck, and more pollers would only hold more records.
   */
  intakeWaits: number;
}

export function defaultScaling(maximum: number): ScalingSettings {
  const max = Math.max(1, maximum);
  return {
    initial: Math.min(5, max),
    minimum: Math.min(2, max),
    maximum: max,
    stepUp: 5,
    growthFactor: POLLER_GROWTH_FACTOR.default,
    intervalMs: 1000,
  };
}

/** The next poller count. */
export function nextPollerCount(
  current: number,
  s: ScalingSettings,
  o: ScalingObservation,
): number {
  const clamp = (n: number) => Math.max(s.minimum, Math.min(s.maximum, n));
  const polls = o.fullPolls + o.emptyPolls + o.partialPolls;
  // Function errors: shrink gradually (Lambda reduces concurrency on errors).
  if (o.failedBatches > 0 && o.failedBatches >= o.okBatches)
    return clamp(current - Math.max(1, Math.ceil(current / 10)));
  if (polls === 0) return clamp(current);
  // Busy: every poll that answered brought records and most were full → grow, unless pollers
  // waited for the function to catch up (then more of them would only hold more records).
  if (o.emptyPolls === 0 && o.fullPolls > 0 && o.fullPolls >= o.partialPolls) {
    if (o.intakeWaits > 0) return clamp(current);
    return clamp(Math.max(current + s.stepUp, Math.ceil(current * s.growthFactor)));
  }
  // Mostly empty → shrink towards the minimum as fast as the ramp grows (by one a step with
  // Lambda's linear ramp): idle pollers sit in long polls, each holding a mapping slot and a request.
  if (o.emptyPolls > polls / 2)
    return clamp(Math.min(current - 1, Math.floor(current / s.growthFactor)));
  return clamp(current);
}
