/**
 * How many concurrent pollers (batches in flight) a mapping runs: Lambda's SQS shape — start at 5,
 * grow while the source keeps returning full batches, shrink towards the minimum when polls come
 * back empty, back off on function errors. Pure: the runner feeds it observations.
 */
export interface ScalingSettings {
  /** Pollers at start (Lambda: 5). */
  initial: number;
  /** Never fewer (Lambda: 2). */
  minimum: number;
  /** Never more: the mapping's maximumConcurrency (Lambda caps SQS at 1,250 per mapping). */
  maximum: number;
  /**
   * Pollers added per scaling step while busy. Default 5 a step with a 1 s step = 300 a minute,
   * Lambda's rate per *minute* reached in one; we have no cold fleet to protect.
   */
  stepUp: number;
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
}

export function defaultScaling(maximum: number): ScalingSettings {
  const max = Math.max(1, maximum);
  return {
    initial: Math.min(5, max),
    minimum: Math.min(2, max),
    maximum: max,
    stepUp: 5,
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
  // Busy: every poll that answered brought records and most were full → grow.
  if (o.emptyPolls === 0 && o.fullPolls > 0 && o.fullPolls >= o.partialPolls)
    return clamp(current + s.stepUp);
  // Mostly empty → shrink by one a step towards the minimum.
  if (o.emptyPolls > polls / 2) return clamp(current - 1);
  return clamp(current);
}
